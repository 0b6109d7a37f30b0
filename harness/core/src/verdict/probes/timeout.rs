//! The timeout probe's verdict.

use std::collections::BTreeMap;
use std::time::Duration;

use super::{ProbeCall, ms, sample_messages};
use crate::measure::CallOutcome;
use crate::result::ProbeResult;
use crate::spec::probes::TimeoutProbe;

/// What the timeout probe recorded: the one call that outlives the deadline, and, when the
/// scenario has a check call, how long until it showed the backend work gone (or what it
/// still said when it gave up).
#[derive(Debug, Clone)]
pub struct TimeoutRecord {
    pub call: ProbeCall,
    pub cancelled: Option<Result<Duration, String>>,
}

/// Judges the deadline: the call ended as a timeout error (an answer, not the client's own
/// timeout) within the tolerance of the declared timeout, and its backend work was
/// cancelled when the scenario checks that.
pub fn judge_timeout(target: &str, p: &TimeoutProbe, r: &TimeoutRecord) -> ProbeResult {
    let call = &r.call;
    let took = call.latency();
    let off = took.as_secs_f64() - p.expect.as_secs_f64();
    let mut failures = Vec::new();
    if call.outcome != CallOutcome::TimedOut || call.lost() {
        failures.push(format!(
            "timeout: the call ended after {:.0} ms as {} ({}), expected a timeout error at the declared timeout_ms {:.0}",
            ms(took),
            call.outcome.as_str(),
            sample_messages(std::iter::once(call)),
            ms(p.expect)
        ));
    }
    if off.abs() > p.tolerance.as_secs_f64() {
        failures.push(format!(
            "timeout: the call ended {:+.0} ms from the declared timeout_ms {:.0} (tolerance ±{:.0} ms)",
            off * 1e3,
            ms(p.expect),
            ms(p.tolerance)
        ));
    }
    let mut figures = BTreeMap::new();
    figures.insert("took_ms".into(), ms(took));
    figures.insert("off_by_ms".into(), off * 1e3);
    let cancelled_text = match &r.cancelled {
        None => String::new(),
        Some(Ok(after)) => {
            figures.insert("cancelled_after_ms".into(), ms(*after));
            format!(", backend work gone after {:.0} ms", ms(*after))
        }
        Some(Err(why)) => {
            failures.push(format!(
                "timeout: the backend work was not cancelled: {why}"
            ));
            ", backend work still running".into()
        }
    };
    ProbeResult {
        probe: "timeout".into(),
        target: target.into(),
        passed: failures.is_empty(),
        expected: format!(
            "timed out at {:.0} ms ±{:.0} ms{}",
            ms(p.expect),
            ms(p.tolerance),
            if p.cancelled.is_some() {
                ", backend work cancelled"
            } else {
                ""
            }
        ),
        measured: format!(
            "{} after {:.0} ms{cancelled_text}",
            call.outcome.as_str(),
            ms(took)
        ),
        expected_value: ms(p.expect),
        measured_value: ms(took),
        failures,
        figures,
        seconds: Vec::new(),
    }
}

#[cfg(test)]
mod tests;
