//! Validation of the `probes:` section: one function per probe kind, each taking its
//! expected value from the probe's `expect` or else from the scenario's boundaries file.

use mcp_slo_vocab::TierLimits;

use super::raw::{
    RawCancelCheck, RawConcurrencyProbe, RawInFlightProbe, RawProbeMetrics, RawProbeOp, RawProbes,
    RawRateProbe, RawTimeoutProbe,
};
use super::{
    CancelCheck, ConcurrencyProbe, InFlightProbe, ProbeMetrics, ProbeOp, Probes, RateProbe,
    TimeoutProbe,
};
use crate::spec::raw::Located;
use crate::spec::validate::Validator;
use crate::spec::{BoundariesRef, RateScope, ops};
use crate::units::{parse_duration, parse_rate};

impl Validator {
    pub(in crate::spec) fn probes(
        &mut self,
        raw: RawProbes,
        targets: &[String],
        boundaries: Option<&BoundariesRef>,
    ) -> Option<Probes> {
        let target = self.probe_target(raw.target.as_ref(), targets)?;
        let pause = self.duration_or("probes.pause", raw.pause.as_ref(), 2.0);
        let limits = boundaries.map(|b| &b.limits);
        let probes = Probes {
            target,
            pause,
            rate: raw.rate.and_then(|r| self.rate_probe(r, boundaries)),
            in_flight: raw.in_flight.and_then(|r| self.in_flight_probe(r, limits)),
            concurrency: raw
                .concurrency
                .and_then(|r| self.concurrency_probe(r, limits)),
            timeout: raw.timeout.and_then(|r| self.timeout_probe(r, limits)),
            metrics: raw.metrics.map(|m| self.probe_metrics(m)),
        };
        if probes.count() == 0 {
            self.push(
                "probes",
                "give at least one of rate, in_flight, concurrency, timeout",
            );
        }
        Some(probes)
    }

    /// The target named, or the only one.
    fn probe_target(
        &mut self,
        target: Option<&Located<String>>,
        targets: &[String],
    ) -> Option<String> {
        match (target, targets) {
            (Some(t), _) if targets.contains(t.value()) => Some(t.value().clone()),
            (Some(t), _) => {
                self.at(
                    "probes.target",
                    t,
                    format!("{:?} is not a target ({})", t.value(), targets.join(", ")),
                );
                None
            }
            (None, [only]) => Some(only.clone()),
            (None, _) => {
                self.push(
                    "probes.target",
                    "missing (the scenario has several targets)",
                );
                None
            }
        }
    }

    /// A probe without `expect` and no boundaries file to take `what` from.
    fn expect_missing(&mut self, path: &str, what: &str) {
        self.push(
            &format!("{path}.expect"),
            format!("missing: give it, or a `boundaries` file to take {what} from"),
        );
    }

    fn rate_probe(
        &mut self,
        r: RawRateProbe,
        boundaries: Option<&BoundariesRef>,
    ) -> Option<RateProbe> {
        let path = "probes.rate";
        let scope = boundaries.map_or(RateScope::Global, |b| b.scope);
        let op = self.probe_op(&format!("{path}.op"), r.op);
        let expect = match &r.expect {
            Some(e) => self.located(&format!("{path}.expect"), e, |t| parse_rate(t)),
            None => match (boundaries.map(|b| &b.limits), scope) {
                (Some(l), RateScope::Global) => Some(f64::from(l.rate_limit_per_second.get())),
                (Some(l), RateScope::PerCaller) => {
                    Some(f64::from(l.rate_limit_per_caller_per_second.get()))
                }
                (None, _) => {
                    self.expect_missing(path, "rate_limit_per_second");
                    None
                }
            },
        };
        let multiple = r.multiple.as_ref().map_or(3.0, |m| *m.value());
        if !(multiple > 1.0 && multiple <= 20.0) {
            self.push(
                &format!("{path}.multiple"),
                format!("{multiple} must be above 1 and at most 20"),
            );
        }
        let window = self.rate_window(path, r.window.as_ref(), multiple);
        let callers = r.callers.unwrap_or(2);
        if !(1..=250).contains(&callers) {
            self.push(&format!("{path}.callers"), "must be between 1 and 250");
        }
        let tolerance = self.percent_or(&format!("{path}.tolerance"), r.tolerance.as_ref(), 0.05);
        Some(RateProbe {
            op: op?,
            multiple,
            window,
            callers,
            tolerance,
            expect: expect?,
            scope,
        })
    }

    /// How long the rate probe offers its load: long enough that two seconds after the
    /// limiter's burst are judged.
    fn rate_window(
        &mut self,
        path: &str,
        window: Option<&Located<String>>,
        multiple: f64,
    ) -> std::time::Duration {
        // The burst (one second of the rate) is spent in 1 / (multiple - 1) seconds,
        // which are not judged; at least two seconds after that are.
        let unjudged = (1.0 / (multiple - 1.0) - 1e-9).ceil().max(1.0);
        let default_window = (unjudged + 4.0).max(5.0);
        let window = self.duration_or(&format!("{path}.window"), window, default_window);
        if multiple > 1.0 && window.as_secs_f64() < unjudged + 2.0 {
            self.push(
                &format!("{path}.window"),
                format!(
                    "must be at least {}s: at {multiple}x the limit the burst takes the first {unjudged}s, and two seconds after it are judged",
                    unjudged + 2.0
                ),
            );
        }
        window
    }

    fn in_flight_probe(
        &mut self,
        r: RawInFlightProbe,
        limits: Option<&TierLimits>,
    ) -> Option<InFlightProbe> {
        let path = "probes.in_flight";
        let op = self.probe_op(&format!("{path}.op"), r.op);
        let expect = r
            .expect
            .or_else(|| limits.map(|l| l.max_inflight_requests.get() as u32));
        if expect.is_none() {
            self.expect_missing(path, "max_inflight_requests");
        }
        if expect == Some(0) || r.extra == Some(0) {
            self.push(path, "expect and extra must be at least 1");
        }
        let extra = r.extra.unwrap_or_else(|| (expect.unwrap_or(0) / 10).max(5));
        let at_once = self.duration_or(&format!("{path}.at_once"), r.at_once.as_ref(), 0.5);
        Some(InFlightProbe {
            op: op?,
            extra,
            at_once,
            expect: expect?,
            rate_limit: limits.map(|l| f64::from(l.rate_limit_per_second.get())),
        })
    }

    fn concurrency_probe(
        &mut self,
        r: RawConcurrencyProbe,
        limits: Option<&TierLimits>,
    ) -> Option<ConcurrencyProbe> {
        let path = "probes.concurrency";
        let op = self.probe_op(&format!("{path}.op"), r.op);
        let duration = self.located(&format!("{path}.duration"), &r.duration, |t| {
            parse_duration(t)
        });
        let expect = r
            .expect
            .or_else(|| limits.map(|l| l.max_concurrent.get() as u32));
        if expect.is_none() {
            self.expect_missing(path, "max_concurrent");
        }
        if expect == Some(0) || r.calls == Some(0) {
            self.push(path, "expect and calls must be at least 1");
        }
        let calls = r.calls.unwrap_or_else(|| expect.unwrap_or(0) * 3);
        let tolerance = self.percent_or(&format!("{path}.tolerance"), r.tolerance.as_ref(), 0.1);
        if let (Some(l), Some(d), Some(c)) = (limits, duration, expect) {
            let rounds = calls.div_ceil(c.max(1));
            let longest = d * rounds;
            if longest >= l.timeout {
                self.push(
                    path,
                    format!(
                        "{calls} calls of {d:?} through {c} slots take {longest:?}, not within the {:?} deadline: use fewer calls or a shorter op",
                        l.timeout
                    ),
                );
            }
        }
        Some(ConcurrencyProbe {
            op: op?,
            duration: duration?,
            calls,
            tolerance,
            expect: expect?,
        })
    }

    fn timeout_probe(
        &mut self,
        r: RawTimeoutProbe,
        limits: Option<&TierLimits>,
    ) -> Option<TimeoutProbe> {
        let path = "probes.timeout";
        let op = self.probe_op(&format!("{path}.op"), r.op);
        let expect = match &r.expect {
            Some(e) => self.located(&format!("{path}.expect"), e, |t| parse_duration(t)),
            None => match limits {
                Some(l) => Some(l.timeout),
                None => {
                    self.expect_missing(path, "timeout_ms");
                    None
                }
            },
        };
        let tolerance = self.duration_or(&format!("{path}.tolerance"), r.tolerance.as_ref(), 0.25);
        let cancelled = r.cancelled.and_then(|c| self.cancel_check(path, c));
        Some(TimeoutProbe {
            op: op?,
            tolerance,
            expect: expect?,
            cancelled,
        })
    }

    /// The timeout probe's check that the backend work was cancelled.
    fn cancel_check(&mut self, probe_path: &str, c: RawCancelCheck) -> Option<CancelCheck> {
        let path = format!("{probe_path}.cancelled");
        let op = self.probe_op(&format!("{path}.op"), c.op);
        if !c.count.starts_with('/') {
            self.push(
                &format!("{path}.count"),
                format!("{:?} is not a JSON pointer (e.g. /rows/0/n)", c.count),
            );
        }
        let within = self.duration_or(&format!("{path}.within"), c.within.as_ref(), 2.0);
        Some(CancelCheck {
            op: op?,
            count: c.count,
            within,
        })
    }

    fn probe_metrics(&mut self, m: RawProbeMetrics) -> ProbeMetrics {
        let url_ok =
            m.url == "beside" || m.url.starts_with("http://") || m.url.starts_with("https://");
        if !url_ok {
            self.push(
                "probes.metrics.url",
                format!("{:?} is not an http(s) URL or `beside`", m.url),
            );
        }
        ProbeMetrics {
            url: m.url,
            in_flight: m.in_flight,
            executions_peak: m.executions_peak,
        }
    }

    fn probe_op(&mut self, path: &str, raw: RawProbeOp) -> Option<ProbeOp> {
        let (method, args) = ops::call(
            path,
            ops::RawCall {
                tool: raw.tool.as_deref(),
                method: raw.method.as_deref(),
                walk: raw.walk,
                uri: raw.uri.as_ref(),
                name: raw.name.as_deref(),
                args: raw.args.as_ref(),
            },
            &mut self.issues,
        )?;
        Some(ProbeOp {
            tool: method.label(),
            method,
            args,
        })
    }
}
