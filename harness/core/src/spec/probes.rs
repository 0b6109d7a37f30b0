//! The `probes:` section: checks that a target holds the limits its deployment boundaries
//! declare (rate, in-flight, concurrency, timeout). Expected values come from the
//! scenario's `boundaries` file unless a probe gives `expect`.

use std::time::Duration;

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

use super::args::ArgTemplate;
use super::raw::Located;
use super::{BoundariesRef, RateScope};
use crate::units::{parse_duration, parse_percent, parse_rate};

/// Boundary probes, run one after another against one target.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawProbes {
    /// The target to probe (default: the only target).
    #[serde(default)]
    pub target: Option<Located<String>>,
    /// Quiet time before each probe, so one probe's traffic does not count against the next
    /// (default `2s`: the rate limiter's bucket refills in one second).
    #[serde(default)]
    pub pause: Option<Located<String>>,
    #[serde(default)]
    pub rate: Option<RawRateProbe>,
    #[serde(default)]
    pub in_flight: Option<RawInFlightProbe>,
    #[serde(default)]
    pub concurrency: Option<RawConcurrencyProbe>,
    #[serde(default)]
    pub timeout: Option<RawTimeoutProbe>,
    /// The server's Prometheus metrics, when it has them: the probes then also read its own
    /// gauges. Without this they judge from the wire alone (refusals and answer times).
    #[serde(default)]
    pub metrics: Option<RawProbeMetrics>,
}

/// Where a server's Prometheus metrics are and which gauges count what.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawProbeMetrics {
    /// e.g. `http://127.0.0.1:8080/metrics`; `/metrics` beside the MCP endpoint when it
    /// ends in `/mcp` and this is `beside`.
    pub url: String,
    /// A gauge of requests in flight (ours: `mcp_requests_in_flight`).
    #[serde(default)]
    pub in_flight: Option<String>,
    /// A gauge of the most tool executions at once (ours: `mcp_tool_executions_peak`).
    #[serde(default)]
    pub executions_peak: Option<String>,
}

/// The call a probe makes: a tool (`tools/call`), or another method as in a mix entry.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawProbeOp {
    #[serde(default)]
    pub tool: Option<String>,
    /// As in a mix entry: `tools/list`, `resources/read`, `server/discover`, ...
    #[serde(default)]
    pub method: Option<String>,
    #[serde(default)]
    pub walk: Option<bool>,
    #[serde(default)]
    pub uri: Option<Value>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub args: Option<Value>,
}

/// Offers a multiple of the rate limit; admitted calls must match the limit.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawRateProbe {
    /// A quick call (each admitted call runs; refused ones do not).
    pub op: RawProbeOp,
    /// Offered load as a multiple of the limit (default 3).
    #[serde(default)]
    pub multiple: Option<Located<f64>>,
    /// How long to offer it (default `5s`, longer below 2x). Seconds after the limiter's
    /// burst is spent (1 / (multiple - 1) seconds, at least one) are judged.
    #[serde(default)]
    pub window: Option<Located<String>>,
    /// Callers, each from its own loopback address (default 2).
    #[serde(default)]
    pub callers: Option<u32>,
    /// Allowed deviation of each second's admitted calls from the limit (default `5%`).
    #[serde(default)]
    pub tolerance: Option<Located<String>>,
    /// The limit, e.g. `100/s` (default: the boundaries file; per caller when the scope is
    /// `per_caller`).
    #[serde(default)]
    pub expect: Option<Located<String>>,
}

/// Holds more slow calls than the in-flight cap; the excess must be refused at once.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawInFlightProbe {
    /// A call that stays in flight for several seconds (e.g. `SELECT pg_sleep(4)`).
    pub op: RawProbeOp,
    /// Calls beyond the cap (default: a tenth of the cap, at least 5).
    #[serde(default)]
    pub extra: Option<u32>,
    /// A refusal must arrive within this (default `500ms`).
    #[serde(default)]
    pub at_once: Option<Located<String>>,
    /// The cap (default: the boundaries file's max_inflight_requests).
    #[serde(default)]
    pub expect: Option<u32>,
}

/// N calls of known duration through a concurrency cap take ceil(N/c) rounds.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawConcurrencyProbe {
    /// A call that takes `duration` (e.g. `SELECT pg_sleep(1)`).
    pub op: RawProbeOp,
    /// How long one call of `op` takes.
    pub duration: Located<String>,
    /// Calls to make at once (default 3 × the cap).
    #[serde(default)]
    pub calls: Option<u32>,
    /// Allowed deviation of the total time (default `10%`).
    #[serde(default)]
    pub tolerance: Option<Located<String>>,
    /// The cap (default: the boundaries file's max_concurrent).
    #[serde(default)]
    pub expect: Option<u32>,
}

/// A call outliving the deadline ends at the deadline with a timeout error.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawTimeoutProbe {
    /// A call that would outlive the deadline (e.g. `SELECT pg_sleep(30)`).
    pub op: RawProbeOp,
    /// Allowed distance from the deadline (default `250ms`).
    #[serde(default)]
    pub tolerance: Option<Located<String>>,
    /// The deadline (default: the boundaries file's timeout_ms).
    #[serde(default)]
    pub expect: Option<Located<String>>,
    /// How to see that the backend work was cancelled.
    #[serde(default)]
    pub cancelled: Option<RawCancelCheck>,
}

/// A call whose structured result counts the probe's backend work still running; it must
/// reach 0.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawCancelCheck {
    pub op: RawProbeOp,
    /// JSON pointer to the count in the tool's structured result, e.g. `/rows/0/n`.
    pub count: String,
    /// How long the count may take to reach 0 after the timeout (default `2s`).
    #[serde(default)]
    pub within: Option<Located<String>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ProbeOp {
    /// The label its calls are reported under (the tool's name for a `tools/call`).
    pub tool: String,
    pub method: super::ops::Method,
    pub args: ArgTemplate,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RateProbe {
    pub op: ProbeOp,
    pub multiple: f64,
    pub window: Duration,
    pub callers: u32,
    pub tolerance: f64,
    /// Calls per second; per caller when `scope` is per_caller.
    pub expect: f64,
    pub scope: RateScope,
}

#[derive(Debug, Clone, PartialEq)]
pub struct InFlightProbe {
    pub op: ProbeOp,
    pub extra: u32,
    pub at_once: Duration,
    pub expect: u32,
    /// The rate limit, so the held calls are paced under it.
    pub rate_limit: Option<f64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ConcurrencyProbe {
    pub op: ProbeOp,
    pub duration: Duration,
    pub calls: u32,
    pub tolerance: f64,
    pub expect: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CancelCheck {
    pub op: ProbeOp,
    pub count: String,
    pub within: Duration,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TimeoutProbe {
    pub op: ProbeOp,
    pub tolerance: Duration,
    pub expect: Duration,
    pub cancelled: Option<CancelCheck>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Probes {
    pub target: String,
    pub pause: Duration,
    pub rate: Option<RateProbe>,
    pub in_flight: Option<InFlightProbe>,
    pub concurrency: Option<ConcurrencyProbe>,
    pub timeout: Option<TimeoutProbe>,
    pub metrics: Option<ProbeMetrics>,
}

/// The server's own gauges, when a scenario names them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeMetrics {
    /// A URL, or `beside` (`/metrics` next to an endpoint ending in `/mcp`).
    pub url: String,
    pub in_flight: Option<String>,
    pub executions_peak: Option<String>,
}

impl Probes {
    pub fn count(&self) -> usize {
        usize::from(self.rate.is_some())
            + usize::from(self.in_flight.is_some())
            + usize::from(self.concurrency.is_some())
            + usize::from(self.timeout.is_some())
    }
}

impl super::validate::Validator {
    pub(super) fn probes(
        &mut self,
        raw: RawProbes,
        targets: &[String],
        boundaries: Option<&BoundariesRef>,
    ) -> Option<Probes> {
        let target = match (&raw.target, targets) {
            (Some(t), _) if targets.contains(t.value()) => t.value().clone(),
            (Some(t), _) => {
                self.at(
                    "probes.target",
                    t,
                    format!("{:?} is not a target ({})", t.value(), targets.join(", ")),
                );
                return None;
            }
            (None, [only]) => only.clone(),
            (None, _) => {
                self.push(
                    "probes.target",
                    "missing (the scenario has several targets)",
                );
                return None;
            }
        };
        let pause = self.duration_or("probes.pause", raw.pause.as_ref(), 2.0);
        let limits = boundaries.map(|b| &b.limits);
        let scope = boundaries.map_or(RateScope::Global, |b| b.scope);
        let needs = |me: &mut Self, path: &str, what: &str| {
            me.push(
                &format!("{path}.expect"),
                format!("missing: give it, or a `boundaries` file to take {what} from"),
            );
        };
        let rate = raw.rate.and_then(|r| {
            let path = "probes.rate";
            let op = self.probe_op(&format!("{path}.op"), r.op);
            let expect = match &r.expect {
                Some(e) => self.located(&format!("{path}.expect"), e, |t| parse_rate(t)),
                None => match (limits, scope) {
                    (Some(l), RateScope::Global) => Some(f64::from(l.rate_limit_per_second.get())),
                    (Some(l), RateScope::PerCaller) => {
                        Some(f64::from(l.rate_limit_per_caller_per_second.get()))
                    }
                    (None, _) => {
                        needs(self, path, "rate_limit_per_second");
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
            // The burst (one second of the rate) is spent in 1 / (multiple - 1) seconds,
            // which are not judged; at least two seconds after that are.
            let unjudged = (1.0 / (multiple - 1.0) - 1e-9).ceil().max(1.0);
            let default_window = (unjudged + 4.0).max(5.0);
            let window =
                self.duration_or(&format!("{path}.window"), r.window.as_ref(), default_window);
            if multiple > 1.0 && window.as_secs_f64() < unjudged + 2.0 {
                self.push(
                    &format!("{path}.window"),
                    format!(
                        "must be at least {}s: at {multiple}x the limit the burst takes the first {unjudged}s, and two seconds after it are judged",
                        unjudged + 2.0
                    ),
                );
            }
            let callers = r.callers.unwrap_or(2);
            if !(1..=250).contains(&callers) {
                self.push(&format!("{path}.callers"), "must be between 1 and 250");
            }
            let tolerance =
                self.percent_or(&format!("{path}.tolerance"), r.tolerance.as_ref(), 0.05);
            Some(RateProbe {
                op: op?,
                multiple,
                window,
                callers,
                tolerance,
                expect: expect?,
                scope,
            })
        });
        let in_flight = raw.in_flight.and_then(|r| {
            let path = "probes.in_flight";
            let op = self.probe_op(&format!("{path}.op"), r.op);
            let expect = r
                .expect
                .or_else(|| limits.map(|l| l.max_inflight_requests.get() as u32));
            if expect.is_none() {
                needs(self, path, "max_inflight_requests");
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
        });
        let concurrency = raw.concurrency.and_then(|r| {
            let path = "probes.concurrency";
            let op = self.probe_op(&format!("{path}.op"), r.op);
            let duration = self.located(&format!("{path}.duration"), &r.duration, |t| {
                parse_duration(t)
            });
            let expect = r.expect.or_else(|| limits.map(|l| l.max_concurrent.get() as u32));
            if expect.is_none() {
                needs(self, path, "max_concurrent");
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
        });
        let timeout = raw.timeout.and_then(|r| {
            let path = "probes.timeout";
            let op = self.probe_op(&format!("{path}.op"), r.op);
            let expect = match &r.expect {
                Some(e) => self.located(&format!("{path}.expect"), e, |t| parse_duration(t)),
                None => match limits {
                    Some(l) => Some(l.timeout),
                    None => {
                        needs(self, path, "timeout_ms");
                        None
                    }
                },
            };
            let tolerance =
                self.duration_or(&format!("{path}.tolerance"), r.tolerance.as_ref(), 0.25);
            let cancelled = r.cancelled.and_then(|c| {
                let op = self.probe_op(&format!("{path}.cancelled.op"), c.op);
                if !c.count.starts_with('/') {
                    self.push(
                        &format!("{path}.cancelled.count"),
                        format!("{:?} is not a JSON pointer (e.g. /rows/0/n)", c.count),
                    );
                }
                let within =
                    self.duration_or(&format!("{path}.cancelled.within"), c.within.as_ref(), 2.0);
                Some(CancelCheck {
                    op: op?,
                    count: c.count,
                    within,
                })
            });
            Some(TimeoutProbe {
                op: op?,
                tolerance,
                expect: expect?,
                cancelled,
            })
        });
        let metrics = raw.metrics.map(|m| {
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
        });
        let probes = Probes {
            target,
            pause,
            rate,
            in_flight,
            concurrency,
            timeout,
            metrics,
        };
        if probes.count() == 0 {
            self.push(
                "probes",
                "give at least one of rate, in_flight, concurrency, timeout",
            );
        }
        Some(probes)
    }

    fn probe_op(&mut self, path: &str, raw: RawProbeOp) -> Option<ProbeOp> {
        let (method, args) = super::ops::call(
            path,
            super::ops::RawCall {
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

    pub(super) fn duration_or(
        &mut self,
        path: &str,
        value: Option<&Located<String>>,
        default_s: f64,
    ) -> Duration {
        match value {
            Some(v) => self
                .located(path, v, |t| parse_duration(t))
                .unwrap_or_default(),
            None => Duration::from_secs_f64(default_s),
        }
    }

    fn percent_or(&mut self, path: &str, value: Option<&Located<String>>, default: f64) -> f64 {
        match value {
            Some(v) => self
                .located(path, v, |t| parse_percent(t))
                .unwrap_or(default),
            None => default,
        }
    }
}
