//! The run result (`result.json`), versioned. Histograms are stored serialized so runs can
//! be merged and compared later.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::alarms::{AlarmTimeline, BurnRateResult, Datapoint};
use crate::measure::Outcomes;

mod shards;
mod targets;
pub use shards::{MergedShard, MergedShards, ShardMark};
pub use targets::{
    BackendInfo, BackendSource, BuildProfile, OAuthInfo, TargetInfo, describe_backends,
};

pub const RESULT_SCHEMA: &str = "mcp-slo/result/v1";

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct RunResult {
    /// Always `mcp-slo/result/v1`.
    #[schemars(extend("const" = "mcp-slo/result/v1"))]
    pub schema: String,
    pub scenario: ScenarioInfo,
    /// RFC 3339, UTC.
    pub started_at: String,
    pub duration_s: f64,
    pub targets: Vec<TargetInfo>,
    pub load: LoadInfo,
    pub overall: Summary,
    pub tools: BTreeMap<String, Summary>,
    pub timeline: Vec<TimelinePoint>,
    pub objectives: Vec<ObjectiveResult>,
    pub verdict: Verdict,
    pub findings: Vec<Finding>,
    /// Deprecated: the first entry of `costs`, kept for readers of older results.
    #[schemars(extend("deprecated" = true))]
    pub cost: Option<Cost>,
    /// What each sampled server process spent: every spawned target, and `--target-pid`.
    #[serde(default)]
    pub costs: Vec<TargetCost>,
    /// HdrHistogram V2 (deflate) serializations, base64: `overall` and one per tool; values
    /// in µs.
    pub histograms: BTreeMap<String, String>,
    pub harness: HarnessInfo,
    /// Boundary probes, in the order they ran.
    #[serde(default)]
    pub probes: Vec<ProbeResult>,
    /// CloudWatch-style alarms evaluated over the run.
    #[serde(default)]
    pub alarms: Option<AlarmsReport>,
    /// The scenario's faults as they happened (ms from the start of the load).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub faults: Vec<crate::measure::FaultWindow>,
    /// The sampled server processes' resident memory and open descriptors once a second.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub footprints: Vec<crate::measure::Footprint>,
    /// Set for one shard's share of a run (`run --shard`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<ShardMark>,
    /// Set for a run merged from shards (`merge`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merged: Option<MergedShards>,
}

/// Every alarm's datapoints and state timeline, and the burn-rate alerts.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct AlarmsReport {
    /// The alarms file.
    pub file: String,
    /// The period every alarm was evaluated with, when the scenario scaled them.
    pub period_override_s: Option<u32>,
    /// Alarms whose period was scaled, e.g. `high_latency 60 s → 1 s`.
    pub scaled: Vec<String>,
    pub timelines: Vec<AlarmTimeline>,
    /// Each alarm's datapoints, by alarm name.
    pub datapoints: BTreeMap<String, Vec<Datapoint>>,
    pub burn_rate: Vec<BurnRateResult>,
    /// Run seconds per SRE-workbook second.
    pub burn_rate_scale: Option<f64>,
    /// What `--publish-cloudwatch` sent and what the service says.
    #[serde(default)]
    pub published: Option<PublishedInfo>,
}

/// The run's datapoints and alarms as published to CloudWatch.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct PublishedInfo {
    pub namespace: String,
    pub endpoint: String,
    pub metric_points: u64,
    pub requests: u64,
    /// Alarms put with a period CloudWatch accepts (10 s, 30 s or a multiple of 60 s)
    /// instead of the scaled one, e.g. `high_latency 1 s → 10 s`.
    pub period_adjustments: Vec<String>,
    pub alarms: Vec<PublishedAlarmState>,
}

/// One alarm: the harness's final state beside the service's. An emulator that does not
/// evaluate alarms (moto) keeps its initial state; LocalStack evaluates them.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct PublishedAlarmState {
    pub alarm: String,
    pub harness_state: String,
    pub service_state: String,
    pub agrees: bool,
    pub service_reason: Option<String>,
    pub published_period_s: Option<u32>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ScenarioInfo {
    pub name: String,
    pub file: String,
    pub description: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct PhaseInfo {
    pub name: String,
    pub duration_s: f64,
    pub rate: Option<f64>,
    pub users: Option<u32>,
    pub record: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct LoadInfo {
    pub model: String,
    pub phases: Vec<PhaseInfo>,
    /// Calls scheduled in recorded phases.
    pub offered_calls: u64,
    /// Calls that got an answer (any outcome) in recorded phases.
    pub completed_calls: u64,
    /// Calls scheduled per second.
    pub offered_rate: f64,
    /// Calls answered (any outcome) per recorded second; `Summary::throughput` counts
    /// only the successful ones.
    pub achieved_rate: f64,
    /// Open model: calls that started late because every worker was busy.
    pub late_starts: u64,
    pub max_lateness_ms: f64,
    pub workers: u32,
    pub callers: u32,
    /// Open model: what the instrument itself added to the measured latencies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instrument: Option<InstrumentInfo>,
    /// The machine beside the load: how late a thread that sleeps 1 ms at a time woke.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub machine: Option<MachineInfo>,
}

/// The stall meter's reading (a thread beside the load that sleeps 1 ms at a time, as
/// jHiccup measures): an idle machine wakes it within about 0.1 ms; a stall of the machine
/// (a busy neighbour on a shared host, a frozen VM, memory pressure) wakes it late by the
/// stall, whatever the server does, and held the load's threads and the server's as long.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, Default, PartialEq)]
pub struct MachineInfo {
    /// How late it woke over the load, µs.
    pub wake_lateness_us: Quantiles,
    /// The recorded seconds in which it woke late by a stall (10 ms or more).
    pub stalls: Vec<Stall>,
}

/// A second of the run in which the machine stalled.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct Stall {
    /// Seconds since the start of the run.
    pub t: u32,
    /// The stall meter's longest lateness in it, µs.
    pub us: u64,
}

/// Open model: how late calls started. Latency is measured from each call's intended
/// start, so all of this is inside the reported percentiles; on an idle machine with free
/// workers it is the instrument's own cost, otherwise it includes waits for a free worker.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct InstrumentInfo {
    /// How calls are started (the engine's own description of its pacing).
    pub pacer: String,
    /// How late the pacer handed calls to workers (against its hand-over time, a little
    /// before each intended start).
    pub pacer_lateness_us: Quantiles,
    /// From the intended start to the moment a worker began sending the call.
    pub start_lateness_us: Quantiles,
}

/// A few percentiles of a distribution, µs.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema, Default, PartialEq)]
pub struct Quantiles {
    pub p50: u64,
    pub p90: u64,
    pub p99: u64,
    pub max: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, Default)]
pub struct LatencySummary {
    pub count: u64,
    pub min_us: u64,
    pub mean_us: f64,
    pub p50_us: u64,
    pub p90_us: u64,
    pub p95_us: u64,
    pub p99_us: u64,
    pub p999_us: u64,
    pub max_us: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, Default)]
pub struct Summary {
    pub outcomes: Outcomes,
    pub latency: LatencySummary,
    /// Failed calls / all calls.
    pub error_rate: f64,
    /// Successful calls per recorded second; `LoadInfo::achieved_rate` counts every
    /// answered call.
    pub throughput: f64,
    /// With retries: how the first attempts ended (`outcomes` are the final ones).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_attempts: Option<Outcomes>,
    /// Attempts beyond the first.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub retries: u64,
    /// List ops: pages, items and bytes read over all calls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listing: Option<crate::measure::ListingTotals>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct TimelinePoint {
    /// Seconds since the start of the run.
    pub t: u32,
    pub recorded: bool,
    pub offered: u64,
    pub outcomes: Outcomes,
    pub p50_us: u64,
    #[serde(default)]
    pub p95_us: u64,
    pub p99_us: u64,
    pub max_us: u64,
    /// The same second per tool (for the regression gate's per-tool noise test).
    #[serde(default)]
    pub tools: BTreeMap<String, ToolPoint>,
    /// The stall meter's longest wake-up lateness in this second, µs (see [`MachineInfo`]).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub stall_us: u64,
}

/// One tool's calls in one second.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
pub struct ToolPoint {
    pub calls: u64,
    pub failed: u64,
    pub p50_us: u64,
    pub p95_us: u64,
    pub p99_us: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ObjectiveResult {
    pub name: String,
    pub tool: Option<String>,
    pub kind: JudgedKind,
    /// The objective in words, e.g. `p99 < 100ms`.
    pub target: String,
    /// What was measured, e.g. `p99 = 12.3ms`.
    pub measured: String,
    pub target_value: f64,
    pub measured_value: f64,
    pub passed: bool,
    pub detail: Option<String>,
    /// Set on a failed line that passes without the seconds a stall of the machine touched:
    /// what the stall was and what the line measured without it. The run is inconclusive
    /// when every failed line is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inconclusive: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Pass,
    Fail,
    /// Every failed line failed only in seconds the machine stalled: run it again.
    Inconclusive,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Fail => "fail",
            Verdict::Inconclusive => "inconclusive",
        }
    }
}

/// What an objective judged: one of the scenario's SLOs, a boundary probe, an alarm, a
/// burn-rate window, or the comparison with a baseline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum JudgedKind {
    Latency,
    ErrorRate,
    Availability,
    Throughput,
    Probe,
    Alarm,
    BurnRate,
    Baseline,
    Recovery,
    Answered,
    CleanErrors,
    ServerMetric,
    Growth,
}

impl JudgedKind {
    /// The name `result.json` gives it.
    pub fn as_str(self) -> &'static str {
        match self {
            JudgedKind::Latency => "latency",
            JudgedKind::ErrorRate => "error_rate",
            JudgedKind::Availability => "availability",
            JudgedKind::Throughput => "throughput",
            JudgedKind::Probe => "probe",
            JudgedKind::Alarm => "alarm",
            JudgedKind::BurnRate => "burn_rate",
            JudgedKind::Baseline => "baseline",
            JudgedKind::Recovery => "recovery",
            JudgedKind::Answered => "answered",
            JudgedKind::CleanErrors => "clean_errors",
            JudgedKind::ServerMetric => "server_metric",
            JudgedKind::Growth => "growth",
        }
    }
}

impl std::fmt::Display for JudgedKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Finding {
    pub severity: FindingSeverity,
    pub message: String,
}

/// How much a finding matters: an `error` stops a run before it starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FindingSeverity {
    Info,
    Warning,
    Error,
}

impl FindingSeverity {
    pub fn as_str(self) -> &'static str {
        match self {
            FindingSeverity::Info => "info",
            FindingSeverity::Warning => "warning",
            FindingSeverity::Error => "error",
        }
    }
}

impl std::fmt::Display for FindingSeverity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Deprecated (see `TargetCost`): one process's cost divided by every call of the run.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Cost {
    pub pid: u32,
    pub cpu_seconds: f64,
    /// Server CPU time divided by the calls it answered in the same window.
    pub cpu_us_per_call: Option<f64>,
    pub peak_rss_bytes: u64,
    pub samples: u32,
}

/// One server process's CPU time and memory while the load ran (warm-up included; probes
/// excluded), and its CPU per call of its own target.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct TargetCost {
    /// The target the process serves; `--target-pid N` when the run could not tell.
    pub target: String,
    pub pid: u32,
    /// As the server states it; absent when unknown.
    pub build_profile: Option<BuildProfile>,
    /// User and system CPU time of all its threads.
    pub cpu_seconds: f64,
    /// `cpu_seconds` over `calls`; absent when its calls are not known or there were none.
    pub cpu_us_per_call: Option<f64>,
    pub peak_rss_bytes: u64,
    pub samples: u32,
    /// Calls sent to this target (and to targets declared `same_server_as` it) in the sampled
    /// window, any outcome; absent when the run cannot tell its calls from another target's
    /// (the same label on both).
    pub calls: Option<u64>,
}

impl TargetCost {
    /// The deprecated single-process form.
    pub fn legacy(&self) -> Cost {
        Cost {
            pid: self.pid,
            cpu_seconds: self.cpu_seconds,
            cpu_us_per_call: self.cpu_us_per_call,
            peak_rss_bytes: self.peak_rss_bytes,
            samples: self.samples,
        }
    }
}

/// What one boundary probe measured against what the boundaries declare.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ProbeResult {
    /// `rate`, `in_flight`, `concurrency`, `timeout` or `list_changed`.
    pub probe: String,
    pub target: String,
    pub passed: bool,
    /// The declared limit, e.g. `100/s per caller ±5%`.
    pub expected: String,
    /// What the server did, e.g. `admitted 99–101/s`.
    pub measured: String,
    pub expected_value: f64,
    pub measured_value: f64,
    /// Why it failed, one line each, naming the limit and by how much.
    pub failures: Vec<String>,
    /// Counts and timings (calls, admitted, refused, lost, seconds, ...).
    pub figures: BTreeMap<String, f64>,
    /// Rate probe: each second of the window.
    #[serde(default)]
    pub seconds: Vec<ProbeSecond>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ProbeSecond {
    pub t: u32,
    /// Caller (1-based) for a per-caller probe; 0 for all callers together.
    pub caller: u32,
    pub offered: u64,
    pub admitted: u64,
    pub refused: u64,
    /// Whether this second was judged (the first is not: the limiter's burst).
    pub judged: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct HarnessInfo {
    pub version: String,
    pub cores: u32,
    /// How the harness itself was built: a debug build adds its own time to every call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build_profile: Option<BuildProfile>,
}

impl RunResult {
    pub fn json_schema() -> serde_json::Value {
        serde_json::to_value(schemars::schema_for!(RunResult)).unwrap_or_default()
    }
}
