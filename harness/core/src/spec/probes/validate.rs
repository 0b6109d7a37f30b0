//! Validation of the `probes:` section: one function per probe kind, each taking its
//! expected value from the probe's `expect` or else from the scenario's boundaries file.

use mcp_slo_vocab::TierLimits;

use super::raw::{
    RawCancelCheck, RawChangeRequest, RawConcurrencyProbe, RawInFlightProbe, RawListChangedProbe,
    RawProbeMetrics, RawProbeOp, RawProbes, RawRateProbe, RawTimeoutProbe,
};
use super::{
    CancelCheck, ChangeRequest, ConcurrencyProbe, InFlightProbe, ListChangedProbe, ProbeMetrics,
    ProbeOp, Probes, RateProbe, TimeoutProbe,
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
        // Given, valid or not (an invalid one has its own problem).
        let given = raw.rate.is_some()
            || raw.in_flight.is_some()
            || raw.concurrency.is_some()
            || raw.timeout.is_some()
            || raw.list_changed.is_some();
        let probes = Probes {
            target,
            pause,
            rate: raw.rate.and_then(|r| self.rate_probe(r, boundaries)),
            in_flight: raw.in_flight.and_then(|r| self.in_flight_probe(r, limits)),
            concurrency: raw
                .concurrency
                .and_then(|r| self.concurrency_probe(r, limits)),
            timeout: raw.timeout.and_then(|r| self.timeout_probe(r, limits)),
            list_changed: raw.list_changed.and_then(|r| self.list_changed_probe(r)),
            metrics: raw.metrics.map(|m| self.probe_metrics(m)),
        };
        if !given {
            self.push(
                "probes",
                "give at least one of rate, in_flight, concurrency, timeout, list_changed",
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
        let valid_multiple = multiple > 1.0 && multiple <= 20.0;
        if let Some(m) = r.multiple.as_ref().filter(|_| !valid_multiple) {
            self.at(
                &format!("{path}.multiple"),
                m,
                format!("{multiple} must be above 1 and at most 20"),
            );
        }
        let window = self.rate_window(path, r.window.as_ref(), valid_multiple.then_some(multiple));
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
        multiple: Option<f64>,
    ) -> std::time::Duration {
        // The burst (one second of the rate) is spent in 1 / (multiple - 1) seconds,
        // which are not judged; at least two seconds after that are. An invalid multiple
        // (reported already) leaves the default window and no check.
        let Some(multiple) = multiple else {
            return self.duration_or(&format!("{path}.window"), window, 5.0);
        };
        let unjudged = (1.0 / (multiple - 1.0) - 1e-9).ceil().max(1.0);
        let default_window = (unjudged + 4.0).max(5.0);
        let window = self.duration_or(&format!("{path}.window"), window, default_window);
        if window.as_secs_f64() < unjudged + 2.0 {
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

    fn list_changed_probe(&mut self, r: RawListChangedProbe) -> Option<ListChangedProbe> {
        let path = "probes.list_changed";
        let listeners = r.listeners.unwrap_or(100);
        if !(1..=1000).contains(&listeners) {
            self.push(&format!("{path}.listeners"), "must be between 1 and 1000");
        }
        let changes = r.changes.unwrap_or(10);
        if !(1..=1000).contains(&changes) {
            self.push(&format!("{path}.changes"), "must be between 1 and 1000");
        }
        let within = self.duration_or(&format!("{path}.within"), r.within.as_ref(), 0.1);
        let deadline = self.duration_or(&format!("{path}.deadline"), r.deadline.as_ref(), 5.0);
        if deadline < within {
            self.push(
                &format!("{path}.deadline"),
                format!("{deadline:?} is shorter than `within` ({within:?})"),
            );
        }
        let add = self.change_request(&format!("{path}.add"), r.add);
        let remove = match r.remove {
            Some(remove) => Some(self.change_request(&format!("{path}.remove"), remove)?),
            None => None,
        };
        Some(ListChangedProbe {
            listeners,
            changes,
            within,
            deadline,
            add: add?,
            remove,
        })
    }

    fn change_request(&mut self, path: &str, r: RawChangeRequest) -> Option<ChangeRequest> {
        let method = r
            .method
            .unwrap_or_else(|| "POST".into())
            .to_ascii_uppercase();
        let mut ok = true;
        if !["POST", "PUT", "PATCH", "DELETE"].contains(&method.as_str()) {
            self.push(
                &format!("{path}.method"),
                format!("{method:?} is not POST, PUT, PATCH or DELETE"),
            );
            ok = false;
        }
        let url = r.url.value();
        if !(url.starts_with('/') || url.starts_with("http://") || url.starts_with("https://")) {
            self.at(
                &format!("{path}.url"),
                &r.url,
                format!("{url:?} is neither an http(s) URL nor a path starting with /"),
            );
            ok = false;
        }
        ok.then(|| ChangeRequest {
            method,
            url: url.clone(),
            body: r.body,
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
