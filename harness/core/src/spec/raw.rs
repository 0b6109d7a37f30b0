//! Scenario files as written (`version: mcp-slo/v1`). Unknown fields are refused. Values
//! that are validated later keep their line and column.

use std::borrow::Cow;
use std::collections::BTreeMap;

use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::Deserialize;
use serde_json::Value;

/// A value with where it was written.
#[derive(Debug, Clone, Deserialize)]
#[serde(transparent)]
pub struct Located<T>(pub serde_saphyr::Spanned<T>);

impl<T> Located<T> {
    pub fn value(&self) -> &T {
        &self.0.value
    }
    /// `line L column C`
    pub fn at(&self) -> String {
        format!(
            "line {} column {}",
            self.0.defined.line(),
            self.0.defined.column()
        )
    }
}

impl<T: JsonSchema> JsonSchema for Located<T> {
    fn schema_name() -> Cow<'static, str> {
        T::schema_name()
    }
    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        T::json_schema(generator)
    }
    fn inline_schema() -> bool {
        T::inline_schema()
    }
}

/// A load scenario.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawScenario {
    /// Always `mcp-slo/v1`.
    pub version: Located<String>,
    pub name: Located<String>,
    #[serde(default)]
    pub description: Option<String>,
    /// MCP servers under test, by name.
    pub targets: BTreeMap<String, RawTarget>,
    /// The deployment boundaries the scenario is checked against.
    #[serde(default)]
    pub boundaries: Option<RawBoundariesRef>,
    /// The load (may be left out when the scenario only runs probes).
    #[serde(default)]
    pub load: Option<RawLoad>,
    /// What the load calls, with relative weights.
    #[serde(default)]
    pub mix: Vec<RawOp>,
    /// Service level objectives; each is a pass/fail line of the verdict.
    #[serde(default)]
    pub slo: Vec<RawObjective>,
    /// What is made to go wrong during the load, and when.
    #[serde(default)]
    pub faults: Vec<super::faults::RawFault>,
    /// TCP proxies the harness runs in front of backends, for delay faults.
    #[serde(default)]
    pub proxies: BTreeMap<String, super::faults::RawProxy>,
    /// Checks that the target holds its deployment boundaries, run after the load.
    #[serde(default)]
    pub probes: Option<super::probes::RawProbes>,
    /// CloudWatch-style alarms evaluated over the run's time series.
    #[serde(default)]
    pub alarms: Option<super::alarm_checks::RawAlarms>,
    /// A stored result to compare the run with (the regression gate as a verdict line).
    #[serde(default)]
    pub baseline: Option<RawBaseline>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawBaseline {
    /// A result.json, relative to the scenario file (then to the working directory).
    pub file: String,
    /// How much worse each measure may get, e.g. `{ p99: 10%, rate: 5% }` (defaults: p50,
    /// p95, p99 10%; error_rate 0.1 points; rate 5%).
    #[serde(default)]
    pub tolerances: BTreeMap<String, Located<String>>,
}

/// Where a target is: a URL, or a server the harness starts and stops.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawTarget {
    /// e.g. `http://127.0.0.1:8080/mcp`
    #[serde(default)]
    pub url: Option<Located<String>>,
    #[serde(default)]
    pub spawn: Option<RawSpawn>,
    /// `session` (default) or `stateless`.
    #[serde(default)]
    pub mode: Option<Located<String>>,
    /// MCP protocol revision: `auto` (default: `server/discover` at 2026-07-28, else
    /// `initialize`), `2026-07-28`, `2025-11-25`, `2025-06-18` or `2025-03-26`.
    #[serde(default)]
    pub protocol_version: Option<Located<String>>,
    /// Environment variable holding a bearer token for this target.
    #[serde(default)]
    pub token_env: Option<String>,
    /// A bearer token from an OAuth 2.1 token endpoint (client credentials grant), fetched
    /// before the load and refreshed before it expires; instead of `token_env`.
    #[serde(default)]
    pub oauth: Option<RawOAuth>,
    /// Extra HTTP headers for every request, e.g. `{ X-Api-Key: "${API_KEY}" }`: `${VAR}`
    /// is replaced by the environment variable at start (a missing one stops the run).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Call the server of another target (URL or spawned) under this target's own
    /// protocol revision: the same server under two revisions side by side.
    #[serde(default)]
    pub same_server_as: Option<Located<String>>,
}

/// OAuth 2.1 client credentials (RFC 6749 section 4.4).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawOAuth {
    /// The authorization server's token endpoint, e.g. `https://auth.example.com/oauth/token`.
    pub token_url: Located<String>,
    /// The client's id; `${VAR}` is replaced by the environment variable at start.
    pub client_id: Located<String>,
    /// Environment variable holding the client secret (never written in the scenario).
    pub client_secret_env: Located<String>,
    /// Space-separated scopes to ask for (default: none, the server's default).
    #[serde(default)]
    pub scope: Option<Located<String>>,
    /// RFC 8707 `resource`: the URI of the MCP server the token is for.
    #[serde(default)]
    pub resource: Option<Located<String>>,
    /// `audience`, for authorization servers that ask for it instead of `resource`.
    #[serde(default)]
    pub audience: Option<Located<String>>,
    /// How the client authenticates: `basic` (HTTP Basic, client_secret_basic; the default)
    /// or `post` (in the form, client_secret_post).
    #[serde(default)]
    pub auth_method: Option<Located<String>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawSpawn {
    /// `local` (mcp-local-server) or `aws` (mcp-aws-server).
    pub server: Located<String>,
    /// Extra arguments for the server; `--listen` is chosen by the harness.
    #[serde(default)]
    pub args: Vec<String>,
    /// Environment variables for the server, over the harness's own (values may hold
    /// `${VAR}`), e.g. a `DATABASE_URL` through one of the scenario's proxies.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawBoundariesRef {
    /// Path of a deployment_boundaries.yaml, relative to the working directory.
    pub file: String,
    /// `local` or `aws_managed`.
    pub tier: Located<String>,
    /// How the tier's rate limit is meant: `global` (all callers together) or `per_caller`.
    #[serde(default)]
    pub rate_limit_scope: Option<Located<String>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawLoad {
    /// `open` (arrival rate; latency from the intended start) or `closed` (users).
    pub model: Located<String>,
    pub phases: Vec<RawPhase>,
    /// Open model: the most concurrent calls the pacer may have outstanding (default 256).
    #[serde(default)]
    pub max_users: Option<u32>,
    /// Threads the load engine runs its workers on, each a single-threaded runtime of its
    /// own (default: one per two cores, at least one).
    #[serde(default)]
    pub threads: Option<u32>,
    /// Distinct callers (each from its own loopback address, 127.0.0.N), so per-caller
    /// limits see several callers (default 1). In the open model the calls are dealt to
    /// them in turn: each offers the rate divided by `callers`, evenly spaced.
    #[serde(default)]
    pub callers: Option<u32>,
    /// Client-side timeout per call (default 30s).
    #[serde(default)]
    pub timeout: Option<Located<String>>,
    /// Seed for argument generators (default: a fixed seed, so runs repeat).
    #[serde(default)]
    pub seed: Option<u64>,
    /// Try a call again when it was refused (rate, load), timed out or lost (default: no
    /// retries). Refused tool calls that ran are never retried.
    #[serde(default)]
    pub retries: Option<RawRetries>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawPhase {
    #[serde(default)]
    pub name: Option<String>,
    /// e.g. `60s`
    pub duration: Located<String>,
    /// Open model: arrival rate, e.g. `90/s`.
    #[serde(default)]
    pub rate: Option<Located<String>>,
    /// Closed model: concurrent users.
    #[serde(default)]
    pub users: Option<u32>,
    /// Whether the phase counts in the verdict (default true; warm-ups say false).
    #[serde(default)]
    pub record: Option<bool>,
    /// This phase's own mix (e.g. to inject faults), replacing the scenario's mix.
    #[serde(default)]
    pub mix: Option<Vec<RawOp>>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawOp {
    pub target: Located<String>,
    /// A tool to call (`tools/call`); or give `method`.
    #[serde(default)]
    pub tool: Option<String>,
    /// The MCP request to send when it is not a `tools/call`: `tools/list`,
    /// `resources/list`, `resources/read`, `prompts/list`, `prompts/get`,
    /// `server/discover` or `ping`.
    #[serde(default)]
    pub method: Option<String>,
    /// `*/list`: follow `nextCursor` through every page, timed as one operation (default
    /// false: the first page only).
    #[serde(default)]
    pub walk: Option<bool>,
    /// `resources/read`: the resource's URI (may be a generator, e.g. `"{{choice a b}}"`).
    #[serde(default)]
    pub uri: Option<Value>,
    /// `prompts/get`: the prompt's name.
    #[serde(default)]
    pub name: Option<String>,
    /// The name its calls are recorded and judged under (default: the tool's name, or the
    /// method), e.g. to tell the same tool on two targets apart.
    #[serde(default)]
    pub label: Option<String>,
    #[serde(default)]
    pub weight: Option<u32>,
    /// Tool (or prompt) arguments. A string that is exactly a generator, e.g.
    /// `"{{int 1 100000}}"`, `"{{choice a b c}}"`, `"{{seq 1}}"` or `"{{uuid}}"`, becomes a
    /// fresh value per call.
    #[serde(default)]
    pub args: Option<Value>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawObjective {
    /// A name for the verdict line (default: derived from the objective).
    #[serde(default)]
    pub name: Option<String>,
    /// Restrict the objective to one tool (default: all calls).
    #[serde(default)]
    pub tool: Option<String>,
    #[serde(default)]
    pub latency: Option<RawLatency>,
    #[serde(default)]
    pub error_rate: Option<RawBelowPercent>,
    #[serde(default)]
    pub availability: Option<RawAvailability>,
    #[serde(default)]
    pub throughput: Option<RawThroughput>,
    /// How soon calls succeed again after a fault ends.
    #[serde(default)]
    pub recovery: Option<RawRecovery>,
    /// Every call got an answer: none hung past the client's timeout, none was lost.
    #[serde(default)]
    pub answered: Option<RawExcept>,
    /// Every failed call failed cleanly: a tool error or a JSON-RPC answer (overload, rate,
    /// timeout), never a reset connection or a 5xx without a JSON-RPC body.
    #[serde(default)]
    pub clean_errors: Option<RawExcept>,
    /// A figure from the target's own metrics page (Prometheus text), read before and
    /// after the load.
    #[serde(default)]
    pub server_metric: Option<RawServerMetric>,
    /// How much a sampled server process's resident memory or open descriptors grew from
    /// the start of the judged window to its end (a soak's leak check).
    #[serde(default)]
    pub growth: Option<RawGrowth>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawGrowth {
    /// `rss` (resident memory) or `fds` (open file descriptors).
    pub of: Located<String>,
    /// The growth must stay at or below this, e.g. `5%`: the climb of the judged window's
    /// second half (its Theil–Sen slope) projected over the window, against the median of
    /// the window's first tenth.
    pub below: Located<String>,
    /// A target whose process is sampled (default: every sampled process).
    #[serde(default)]
    pub target: Option<Located<String>>,
    /// The judged window starts this long after the start of the load (default: where the
    /// first recorded phase starts, after the warm-up).
    #[serde(default)]
    pub after: Option<Located<String>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawServerMetric {
    /// The target whose page is read (default: the only target).
    #[serde(default)]
    pub target: Option<Located<String>>,
    /// A URL, or `beside` (the default): `/metrics` next to the target's `/mcp`.
    #[serde(default)]
    pub url: Option<String>,
    /// A histogram's name (without `_bucket`), or a gauge's or counter's.
    pub name: Located<String>,
    /// Only the series carrying these labels (summed).
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// A histogram: this percentile of what it observed during the load, e.g. 99.
    #[serde(default)]
    pub p: Option<Located<f64>>,
    /// The percentile (or the value after the load) must be below this: a number in the
    /// metric's unit, or a duration for a metric in seconds (`200ms`).
    #[serde(default)]
    pub below: Option<Located<String>>,
    /// ... or above this.
    #[serde(default)]
    pub above: Option<Located<String>>,
    /// A histogram: at least this many observations during the load (default 1).
    #[serde(default)]
    pub min_count: Option<u64>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawRecovery {
    /// A fault's name (under `faults:`).
    pub fault: Located<String>,
    /// The first whole second at `slice_target` must start within this after the fault
    /// ended, e.g. `5s`.
    pub within: Located<String>,
    /// A second is back when at least this share of its calls succeeded (default `99%`).
    #[serde(default)]
    pub slice_target: Option<Located<String>>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawExcept {
    /// Faults whose windows are left out (e.g. a restarted target refuses connections
    /// while it is down).
    #[serde(default)]
    pub except: Vec<Located<String>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawLatency {
    /// Percentile, e.g. 99 or 99.9.
    pub p: Located<f64>,
    /// e.g. `100ms`
    pub below: Located<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawBelowPercent {
    /// e.g. `0.1%`
    pub below: Located<String>,
    /// With `load.retries`: judge each call's `final` outcome (default) or its `first`
    /// attempt's.
    #[serde(default)]
    pub attempts: Option<Located<String>>,
}

/// Retries as the design document's Q2 has them: exponential backoff from a base delay.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawRetries {
    /// Attempts per call, the first included (e.g. 3).
    pub attempts: u32,
    /// The first backoff (e.g. `100ms`), doubled after each attempt; never past the call's
    /// timeout, and at least the server's `Retry-After`.
    pub backoff: Located<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawAvailability {
    /// Share of good time slices, e.g. `99.9%`.
    pub above: Located<String>,
    /// Slice length (default `1s`).
    #[serde(default)]
    pub slice: Option<Located<String>>,
    /// A slice is good when at least this share of its calls succeeded (default `99%`).
    #[serde(default)]
    pub slice_target: Option<Located<String>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawThroughput {
    /// Achieved calls per second, e.g. `1000/s`.
    pub above: Located<String>,
}
