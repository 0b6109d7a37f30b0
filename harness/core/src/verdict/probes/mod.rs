//! Judging the boundary probes from what they recorded: the engine sends the calls and
//! records each one as a [`ProbeCall`] (with what else the probe saw, in a record per
//! probe); the verdict (passed, failures, figures) is reached here, where it can be tested
//! without a server.

mod hold;
mod listen;
mod rate;
mod timeout;

#[cfg(test)]
mod testing;

use std::collections::BTreeMap;
use std::time::Duration;

pub use hold::{ConcurrencyRecord, InFlightRecord, judge_concurrency, judge_in_flight};
pub use listen::{ChangeRecord, ListChangedRecord, judge_list_changed};
pub use rate::{RatePlan, burst_seconds, judge_rate};
pub use timeout::{TimeoutRecord, judge_timeout};

use crate::measure::CallOutcome;
use crate::result::{JudgedKind, ObjectiveResult, ProbeResult};

/// One probe call: who sent it, when (since the probe started), when it ended, how.
#[derive(Debug, Clone)]
pub struct ProbeCall {
    pub caller: u32,
    pub sent: Duration,
    pub ended: Duration,
    pub outcome: CallOutcome,
    /// HTTP status (0: no answer).
    pub status: u16,
    /// The JSON-RPC error message or transport error, when there is one.
    pub message: Option<String>,
    pub retry_after: Option<u64>,
}

impl ProbeCall {
    pub fn latency(&self) -> Duration {
        self.ended.saturating_sub(self.sent)
    }

    /// Got past admission: it ran, failed inside the tool, or hit the server's deadline.
    pub fn admitted(&self) -> bool {
        match self.outcome {
            CallOutcome::Ok | CallOutcome::ToolError | CallOutcome::JsonRpcError => true,
            CallOutcome::TimedOut => !self.lost(),
            _ => false,
        }
    }

    /// No answer from the server (connection error or the client's own timeout).
    pub fn lost(&self) -> bool {
        self.status == 0
    }
}

/// A probe's result as a line of the run's verdict.
pub fn line(p: &ProbeResult) -> ObjectiveResult {
    ObjectiveResult {
        name: format!("{} probe", p.probe.replace('_', "-")),
        tool: None,
        kind: JudgedKind::Probe,
        target: p.expected.clone(),
        measured: p.measured.clone(),
        target_value: p.expected_value,
        measured_value: p.measured_value,
        passed: p.passed,
        detail: (!p.failures.is_empty()).then(|| p.failures.join("; ")),
        inconclusive: None,
    }
}

/// Counts of each outcome, for the figures.
fn outcome_figures(calls: &[ProbeCall], prefix: &str, figures: &mut BTreeMap<String, f64>) {
    for c in calls {
        *figures
            .entry(format!("{prefix}{}", c.outcome.as_str()))
            .or_default() += 1.0;
    }
}

/// The first distinct messages of calls that ended in an unexpected way.
fn sample_messages<'a>(calls: impl Iterator<Item = &'a ProbeCall>) -> String {
    let mut seen: Vec<String> = Vec::new();
    for c in calls {
        let m = c
            .message
            .clone()
            .unwrap_or_else(|| c.outcome.as_str().to_owned());
        if !seen.contains(&m) {
            seen.push(m);
        }
        if seen.len() == 3 {
            break;
        }
    }
    seen.join("; ")
}

/// A duration in milliseconds.
fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// A signed fraction as a percentage (`+12.5%`).
fn percent(x: f64) -> String {
    format!("{:+.1}%", x * 100.0)
}
