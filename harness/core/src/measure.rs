//! What a run measured: latency histograms (µs) and outcomes per tool, and a per-second
//! time series. Recorders are merged, so each load worker can keep its own.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

mod beside;
pub mod file;
pub mod shards;
mod stalls;
pub use beside::{FaultWindow, Footprint, FootprintSample, MetricsPage, Resource};
pub use stalls::{STALL_US, StallReading};

/// How one call ended, classified from the response body (not the status code).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CallOutcome {
    Ok,
    /// The tool ran and failed: `isError: true` inside a 200.
    ToolError,
    /// A JSON-RPC error other than the admission ones.
    JsonRpcError,
    RateLimited,
    Overloaded,
    TimedOut,
    /// No valid answer: connection refused or reset, unparseable body, a 5xx without a
    /// JSON-RPC body.
    TransportError,
    /// 2026-07-28: the server answered `resultType: input_required` (it needs input the
    /// harness does not give, or shed the request with a `requestState` to retry).
    InputRequired,
    /// No answer before the client's own timeout: the call hung.
    Unanswered,
}

impl CallOutcome {
    pub const ALL: [CallOutcome; 9] = [
        CallOutcome::Ok,
        CallOutcome::ToolError,
        CallOutcome::JsonRpcError,
        CallOutcome::RateLimited,
        CallOutcome::Overloaded,
        CallOutcome::TimedOut,
        CallOutcome::TransportError,
        CallOutcome::InputRequired,
        CallOutcome::Unanswered,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CallOutcome::Ok => "ok",
            CallOutcome::ToolError => "tool_error",
            CallOutcome::JsonRpcError => "jsonrpc_error",
            CallOutcome::RateLimited => "rate_limited",
            CallOutcome::Overloaded => "overloaded",
            CallOutcome::TimedOut => "timed_out",
            CallOutcome::TransportError => "transport_error",
            CallOutcome::InputRequired => "input_required",
            CallOutcome::Unanswered => "unanswered",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// Counts per outcome.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
pub struct Outcomes {
    pub ok: u64,
    pub tool_error: u64,
    pub jsonrpc_error: u64,
    pub rate_limited: u64,
    pub overloaded: u64,
    pub timed_out: u64,
    pub transport_error: u64,
    #[serde(default)]
    pub input_required: u64,
    /// No answer before the client's timeout.
    #[serde(default)]
    pub unanswered: u64,
}

impl Outcomes {
    pub fn add(&mut self, outcome: CallOutcome, n: u64) {
        *self.slot(outcome) += n;
    }

    fn slot(&mut self, outcome: CallOutcome) -> &mut u64 {
        match outcome.index() {
            0 => &mut self.ok,
            1 => &mut self.tool_error,
            2 => &mut self.jsonrpc_error,
            3 => &mut self.rate_limited,
            4 => &mut self.overloaded,
            5 => &mut self.timed_out,
            6 => &mut self.transport_error,
            7 => &mut self.input_required,
            _ => &mut self.unanswered,
        }
    }

    pub fn get(&self, outcome: CallOutcome) -> u64 {
        let mut copy = *self;
        *copy.slot(outcome)
    }

    pub fn merge(&mut self, other: &Outcomes) {
        for o in CallOutcome::ALL {
            self.add(o, other.get(o));
        }
    }

    pub fn total(&self) -> u64 {
        CallOutcome::ALL.iter().map(|o| self.get(*o)).sum()
    }

    /// Every call that did not succeed counts as failed.
    pub fn failed(&self) -> u64 {
        self.total() - self.ok
    }
}

/// Highest latency recorded: 10 minutes, in µs.
pub const MAX_LATENCY_US: u64 = 600_000_000;

pub fn new_histogram(sigfig: u8) -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_LATENCY_US, sigfig).expect("valid histogram bounds")
}

/// A histogram that starts small and grows to the largest value recorded: cheaper than
/// [`new_histogram`] where there are many of them (one per tool per second).
pub fn growing_histogram(sigfig: u8) -> Histogram<u64> {
    Histogram::new(sigfig).expect("significant figures between 0 and 5")
}

#[derive(Debug, Clone)]
pub struct ToolMeasure {
    pub latency: Histogram<u64>,
    /// Final outcomes (after retries).
    pub outcomes: Outcomes,
    /// How the first attempt of each call ended.
    pub first_outcomes: Outcomes,
    /// Attempts beyond the first.
    pub retries: u64,
    /// List ops: pages, items and bytes over all calls.
    pub listing: ListingTotals,
}

/// What an op's list calls read, summed.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
pub struct ListingTotals {
    pub calls: u64,
    pub pages: u64,
    pub items: u64,
    pub bytes: u64,
}

impl ListingTotals {
    pub fn add(&mut self, other: &ListingTotals) {
        self.calls += other.calls;
        self.pages += other.pages;
        self.items += other.items;
        self.bytes += other.bytes;
    }
}

impl Default for ToolMeasure {
    fn default() -> Self {
        ToolMeasure {
            latency: new_histogram(3),
            outcomes: Outcomes::default(),
            first_outcomes: Outcomes::default(),
            retries: 0,
            listing: ListingTotals::default(),
        }
    }
}

impl ToolMeasure {
    fn merge(&mut self, other: &ToolMeasure) {
        let _ = self.latency.add(&other.latency);
        self.outcomes.merge(&other.outcomes);
        self.first_outcomes.merge(&other.first_outcomes);
        self.retries += other.retries;
        self.listing.add(&other.listing);
    }
}

/// How a recorded call went beyond its final outcome: its first attempt, retries, and
/// what a list op read.
#[derive(Debug, Clone, Copy, Default)]
pub struct CallDetail {
    pub first_outcome: Option<CallOutcome>,
    pub attempts: u32,
    pub listing: Option<ListingTotals>,
}

/// One tool's calls that ended in one second.
#[derive(Debug, Clone)]
pub struct ToolSecond {
    pub outcomes: Outcomes,
    /// Their latency in µs (2 significant digits, growing as needed).
    pub latency: Histogram<u64>,
}

impl Default for ToolSecond {
    fn default() -> Self {
        ToolSecond {
            outcomes: Outcomes::default(),
            latency: growing_histogram(2),
        }
    }
}

impl ToolSecond {
    fn record(&mut self, outcome: CallOutcome, latency_us: u64) {
        self.outcomes.add(outcome, 1);
        let _ = self.latency.record(latency_us);
    }

    fn merge(&mut self, other: &ToolSecond) {
        self.outcomes.merge(&other.outcomes);
        let _ = self.latency.add(&other.latency);
    }
}

/// One second of the run.
#[derive(Debug, Clone)]
pub struct Second {
    /// Calls whose intended start fell in this second.
    pub offered: u64,
    /// Calls that ended in this second, by outcome.
    pub outcomes: Outcomes,
    /// Their latency (2 significant digits: enough for a time series).
    pub latency: Histogram<u64>,
    /// The same calls by tool (per-tool alarms read these).
    pub per_tool: BTreeMap<String, ToolSecond>,
    /// The stall meter's longest wake-up lateness in this second, µs.
    pub stall_us: u64,
}

impl Default for Second {
    fn default() -> Self {
        Second {
            offered: 0,
            outcomes: Outcomes::default(),
            latency: new_histogram(2),
            per_tool: BTreeMap::new(),
            stall_us: 0,
        }
    }
}

impl Second {
    /// Adds a call to `tool`'s entry, allocating the name only for its first call.
    fn record_tool(&mut self, tool: &str, outcome: CallOutcome, latency_us: u64) {
        match self.per_tool.get_mut(tool) {
            Some(t) => t.record(outcome, latency_us),
            None => {
                let mut t = ToolSecond::default();
                t.record(outcome, latency_us);
                self.per_tool.insert(tool.to_owned(), t);
            }
        }
    }

    fn merge_tools(&mut self, other: &Second) {
        for (tool, t) in &other.per_tool {
            match self.per_tool.get_mut(tool) {
                Some(mine) => mine.merge(t),
                None => {
                    self.per_tool.insert(tool.clone(), t.clone());
                }
            }
        }
    }
}

/// Everything one worker (or the whole run, after merging) measured.
#[derive(Debug, Clone)]
pub struct Recorder {
    pub per_tool: BTreeMap<String, ToolMeasure>,
    pub seconds: Vec<Second>,
    /// Open model: calls that started more than 1 ms after their intended time (every
    /// worker was busy, or the machine could not run the pacer or a worker in time).
    pub late_starts: u64,
    pub max_lateness_us: u64,
    /// Open model: how late the pacer handed each call to a worker against the moment it
    /// meant to (the instrument's timer), µs.
    pub pacer_lateness: Histogram<u64>,
    /// Open model: how late each call started, from its intended start to the moment a
    /// worker began sending it: the pacer's lateness, the hand-over to a worker, and any
    /// wait for a free worker. All of it is inside the measured latency.
    pub start_lateness: Histogram<u64>,
    /// When the last call of a recorded phase ended, in µs since the run started.
    pub last_recorded_end_us: u64,
    /// Sessions opened again because the server had ended one (HTTP 404).
    pub sessions_reopened: u64,
    /// How late the stall meter woke over the load, µs (see [`stalls`]).
    pub machine_stalls: Histogram<u64>,
}

impl Default for Recorder {
    fn default() -> Self {
        Recorder {
            per_tool: BTreeMap::new(),
            seconds: Vec::new(),
            late_starts: 0,
            max_lateness_us: 0,
            pacer_lateness: growing_histogram(2),
            start_lateness: growing_histogram(2),
            last_recorded_end_us: 0,
            sessions_reopened: 0,
            machine_stalls: growing_histogram(2),
        }
    }
}

impl Recorder {
    fn second(&mut self, index: usize) -> &mut Second {
        if self.seconds.len() <= index {
            self.seconds.resize_with(index + 1, Second::default);
        }
        &mut self.seconds[index]
    }

    /// A call whose intended start fell in second `offered_at`.
    pub fn offered(&mut self, offered_at: usize) {
        self.second(offered_at).offered += 1;
    }

    /// A finished call. `recorded` is false in warm-up phases: those calls appear in the
    /// time series but not in the verdict's histograms.
    pub fn record(
        &mut self,
        tool: &str,
        outcome: CallOutcome,
        latency_us: u64,
        ended_at: usize,
        recorded: bool,
    ) {
        let latency_us = latency_us.clamp(1, MAX_LATENCY_US);
        let second = self.second(ended_at);
        second.outcomes.add(outcome, 1);
        let _ = second.latency.record(latency_us);
        second.record_tool(tool, outcome, latency_us);
        if recorded {
            let measure = self.per_tool.entry(tool.to_owned()).or_default();
            measure.outcomes.add(outcome, 1);
            measure.first_outcomes.add(outcome, 1);
            let _ = measure.latency.record(latency_us);
        }
    }

    /// Adds what [`Recorder::record`] does not see: the first attempt's outcome when it
    /// differs from the final one, retries and a list op's reading. Call it right after
    /// `record` for the same call.
    pub fn detail(&mut self, tool: &str, outcome: CallOutcome, detail: CallDetail, recorded: bool) {
        if !recorded {
            return;
        }
        let Some(measure) = self.per_tool.get_mut(tool) else {
            return;
        };
        if let Some(first) = detail.first_outcome.filter(|f| *f != outcome) {
            *measure.first_outcomes.slot(outcome) -= 1;
            measure.first_outcomes.add(first, 1);
        }
        measure.retries += u64::from(detail.attempts.saturating_sub(1));
        if let Some(l) = detail.listing {
            measure.listing.add(&l);
        }
    }

    /// An open-model call's start: the pacer's lateness and the whole start lateness
    /// (µs); `late` when it counts as a late start.
    pub fn start_lateness(&mut self, pacer_us: u64, start_us: u64, late: bool) {
        let _ = self
            .pacer_lateness
            .record(pacer_us.clamp(1, MAX_LATENCY_US));
        let _ = self
            .start_lateness
            .record(start_us.clamp(1, MAX_LATENCY_US));
        self.max_lateness_us = self.max_lateness_us.max(start_us);
        if late {
            self.late_starts += 1;
        }
    }

    pub fn merge(&mut self, other: &Recorder) {
        self.merge_at(other, 0);
    }

    /// Adds `other`, whose second 0 is this recorder's second `shift` (another process's
    /// record of the same run, whose clock started `shift` seconds later).
    pub fn merge_at(&mut self, other: &Recorder, shift: usize) {
        for (tool, m) in &other.per_tool {
            self.per_tool.entry(tool.clone()).or_default().merge(m);
        }
        self.sessions_reopened += other.sessions_reopened;
        for (i, s) in other.seconds.iter().enumerate() {
            let mine = self.second(i + shift);
            mine.offered += s.offered;
            mine.outcomes.merge(&s.outcomes);
            let _ = mine.latency.add(&s.latency);
            mine.merge_tools(s);
            mine.stall_us = mine.stall_us.max(s.stall_us);
        }
        let _ = self.machine_stalls.add(&other.machine_stalls);
        self.late_starts += other.late_starts;
        self.max_lateness_us = self.max_lateness_us.max(other.max_lateness_us);
        let _ = self.pacer_lateness.add(&other.pacer_lateness);
        let _ = self.start_lateness.add(&other.start_lateness);
        self.last_recorded_end_us = self
            .last_recorded_end_us
            .max(other.last_recorded_end_us + shift as u64 * 1_000_000);
    }

    /// Notes when a recorded call ended.
    pub fn recorded_end(&mut self, since_start_us: u64) {
        self.last_recorded_end_us = self.last_recorded_end_us.max(since_start_us);
    }

    /// All tools together.
    pub fn overall(&self) -> ToolMeasure {
        let mut all = ToolMeasure::default();
        for m in self.per_tool.values() {
            all.merge(m);
        }
        all
    }
}

/// The measurements a verdict is computed from.
#[derive(Debug, Clone)]
pub struct Measurements {
    pub recorder: Recorder,
    /// Seconds of the timeline that belong to recorded phases: `[start, end)`.
    pub recorded_window: (usize, usize),
    /// Length of the recorded phases, stretched to the end of their last call when calls
    /// were still finishing after the last phase ended (rates are calls / this).
    pub recorded_seconds: f64,
}

/// What a run recorded, handed by the engine to be judged.
#[derive(Debug, Clone)]
pub struct RunRecord {
    pub measurements: Measurements,
    pub started_at: SystemTime,
    pub duration: Duration,
    pub workers: u32,
    pub offered_calls: u64,
    pub offered_rate: f64,
    /// How the calls were paced (open model), for the report's instrument line.
    pub pacer: String,
    /// The scenario's faults as they happened.
    pub faults: Vec<FaultWindow>,
    /// Servers' metrics pages, for `server_metric` objectives.
    pub metrics_pages: Vec<MetricsPage>,
    /// The sampled server processes' footprints, for `growth` objectives.
    pub footprints: Vec<Footprint>,
}

impl RunRecord {
    /// A run without load (a probes-only scenario) that started at `started_at`.
    pub fn empty(started_at: SystemTime) -> RunRecord {
        RunRecord {
            measurements: Measurements {
                recorder: Recorder::default(),
                recorded_window: (0, 0),
                recorded_seconds: 0.0,
            },
            started_at,
            duration: Duration::ZERO,
            workers: 0,
            offered_calls: 0,
            offered_rate: 0.0,
            pacer: String::new(),
            faults: Vec::new(),
            metrics_pages: Vec::new(),
            footprints: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests;
