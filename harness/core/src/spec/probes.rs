//! The `probes:` section: checks that a target holds the limits its deployment boundaries
//! declare (rate, in-flight, concurrency, timeout). Expected values come from the
//! scenario's `boundaries` file unless a probe gives `expect`.
//!
//! The section as written is in `raw.rs`, its validation (one function per probe kind) in
//! `validate.rs`, and the typed model the engine runs below.

mod raw;
mod validate;

use std::time::Duration;

pub use raw::{
    RawCancelCheck, RawChangeRequest, RawConcurrencyProbe, RawInFlightProbe, RawListChangedProbe,
    RawProbeMetrics, RawProbeOp, RawProbes, RawRateProbe, RawTimeoutProbe,
};

use super::RateScope;
use super::args::ArgTemplate;

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

/// See [`RawListChangedProbe`].
#[derive(Debug, Clone, PartialEq)]
pub struct ListChangedProbe {
    pub listeners: u32,
    pub changes: u32,
    /// The p99 goal, from a change's request to its notification.
    pub within: Duration,
    pub deadline: Duration,
    pub add: ChangeRequest,
    pub remove: Option<ChangeRequest>,
}

impl ListChangedProbe {
    /// The `n` of change `k` (0-based) and whether it adds: with `remove`, changes
    /// alternate add, remove of the same `n`; without, each adds a new one.
    pub fn change(&self, k: u32) -> (u32, bool) {
        if self.remove.is_some() {
            (k / 2, k.is_multiple_of(2))
        } else {
            (k, true)
        }
    }
}

/// See [`RawChangeRequest`].
#[derive(Debug, Clone, PartialEq)]
pub struct ChangeRequest {
    pub method: String,
    pub url: String,
    pub body: Option<serde_json::Value>,
}

impl ChangeRequest {
    /// The URL (as written: absolute, or a path on the target's origin) and body of change
    /// number `n`.
    pub fn render(&self, n: u32) -> (String, Option<serde_json::Value>) {
        let n = n.to_string();
        (
            self.url.replace("{n}", &n),
            self.body.as_ref().map(|b| with_n(b, &n)),
        )
    }
}

/// `body` with `{n}` replaced in every string.
fn with_n(body: &serde_json::Value, n: &str) -> serde_json::Value {
    use serde_json::Value;
    match body {
        Value::String(s) => Value::String(s.replace("{n}", n)),
        Value::Array(items) => Value::Array(items.iter().map(|v| with_n(v, n)).collect()),
        Value::Object(map) => {
            Value::Object(map.iter().map(|(k, v)| (k.clone(), with_n(v, n))).collect())
        }
        other => other.clone(),
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Probes {
    pub target: String,
    pub pause: Duration,
    pub rate: Option<RateProbe>,
    pub in_flight: Option<InFlightProbe>,
    pub concurrency: Option<ConcurrencyProbe>,
    pub timeout: Option<TimeoutProbe>,
    pub list_changed: Option<ListChangedProbe>,
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
            + usize::from(self.list_changed.is_some())
    }
}
