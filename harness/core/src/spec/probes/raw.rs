//! The `probes:` section as written (parsed with line and column, not yet validated).

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

use crate::spec::raw::Located;

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
    #[serde(default)]
    pub list_changed: Option<RawListChangedProbe>,
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

/// Clients listening for `notifications/tools/list_changed` (a `subscriptions/listen`
/// stream on 2026-07-28, a session's GET stream on 2025 revisions) while the probe changes
/// the tool list through the server's own interface: the time from each change to its
/// notification at every listener.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawListChangedProbe {
    /// Listening clients, each on its own connection (default 100).
    #[serde(default)]
    pub listeners: Option<u32>,
    /// Changes made, one at a time (default 10): `add`, then `remove` when given, in turn.
    #[serde(default)]
    pub changes: Option<u32>,
    /// The 99th percentile of the time from a change's request to its notification must
    /// be below this (default `100ms`).
    #[serde(default)]
    pub within: Option<Located<String>>,
    /// A notification not there this long after its change counts as missed (default
    /// `5s`).
    #[serde(default)]
    pub deadline: Option<Located<String>>,
    /// The request that adds a tool.
    pub add: RawChangeRequest,
    /// The request that removes the tool `add` added (the same `{n}`).
    #[serde(default)]
    pub remove: Option<RawChangeRequest>,
}

/// An HTTP request that changes the target's tool list, sent with the target's headers
/// and credentials. `{n}` in the URL and in the body's strings becomes the change's number
/// (an add and the remove after it share one).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawChangeRequest {
    /// `POST`, `PUT`, `PATCH` or `DELETE` (default `POST`).
    #[serde(default)]
    pub method: Option<String>,
    /// An http(s) URL, or a path on the target's origin (e.g. `/admin/tools/probe_{n}`).
    pub url: Located<String>,
    /// A JSON body.
    #[serde(default)]
    pub body: Option<Value>,
}
