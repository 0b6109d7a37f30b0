//! Objectives about faults, judged from the per-second timeline and the faults' windows:
//! `recovery` (how soon after a fault ended calls succeeded again), `answered` (no call
//! hung past the client's timeout or was lost) and `clean_errors` (every failure was a
//! clean answer: a tool error or a JSON-RPC error, never a reset connection or a bare 5xx).
//!
//! Calls are placed in the second they ended in (the timeline's resolution), so recovery
//! is measured to the second. `answered` and `clean_errors` judge every call, those that
//! ended after the last phase too; leaving a fault out (`except`) leaves out every second
//! from its start to the client's timeout after its end (calls sent during it may end up
//! to that much later).

use super::line::{Line, RunFacts};
use crate::maths::ratio;
use crate::measure::{CallOutcome, FaultWindow, Measurements, Outcomes};
use crate::result::JudgedKind;

/// One second's outcomes, of every call or of one tool's.
fn second_outcomes(m: &Measurements, s: usize, tool: Option<&str>) -> Outcomes {
    let Some(second) = m.recorder.seconds.get(s) else {
        return Outcomes::default();
    };
    match tool {
        None => second.outcomes,
        Some(t) => second
            .per_tool
            .get(t)
            .map(|ts| ts.outcomes)
            .unwrap_or_default(),
    }
}

/// The seconds from the first recorded one to the last with calls, without those the
/// `except` faults reach (from their start to the client's timeout after their end).
fn judged_seconds(m: &Measurements, facts: RunFacts, except: &[String]) -> Vec<usize> {
    let start = m.recorded_window.0;
    let end = m.recorder.seconds.len();
    let reach = facts.call_timeout.as_secs() as usize + 1;
    let left_out = |s: usize| {
        facts
            .windows
            .iter()
            .filter(|w| except.contains(&w.name))
            .any(|w| {
                let first = (w.started_ms / 1000) as usize;
                let last = w
                    .ended_ms
                    .map_or(usize::MAX, |e| (e / 1000) as usize + reach);
                (first..=last).contains(&s)
            })
    };
    (start..end).filter(|s| !left_out(*s)).collect()
}

fn sum(m: &Measurements, seconds: &[usize], tool: Option<&str>) -> Outcomes {
    let mut o = Outcomes::default();
    for s in seconds {
        o.merge(&second_outcomes(m, *s, tool));
    }
    o
}

/// How each fault's window went: calls that ended in it, failed ones by outcome.
fn during_faults(m: &Measurements, windows: &[FaultWindow], tool: Option<&str>) -> String {
    windows
        .iter()
        .map(|w| {
            let first = (w.started_ms / 1000) as usize;
            let last = w
                .ended_ms
                .map_or(m.recorder.seconds.len(), |e| (e / 1000) as usize + 1);
            let o = sum(m, &(first..=last).collect::<Vec<_>>(), tool);
            let failed: Vec<String> = CallOutcome::ALL
                .iter()
                .filter(|c| **c != CallOutcome::Ok && o.get(**c) > 0)
                .map(|c| format!("{} {}", o.get(*c), c.as_str()))
                .collect();
            format!(
                "{} ({}s-{}s): {} calls, {}",
                w.name,
                first,
                last,
                o.total(),
                if failed.is_empty() {
                    "none failed".to_owned()
                } else {
                    failed.join(", ")
                }
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// From the end of `fault` to the start of the first second (the one the fault ended in,
/// or a later one) whose calls met `slice_target`.
pub fn recovery(
    m: &Measurements,
    tool: Option<&str>,
    faults: RunFacts,
    (fault, within_ms, slice_target): (&str, u64, f64),
) -> Line {
    let target = format!(
        "back at >= {:.2}% within {within_ms}ms",
        slice_target * 100.0
    );
    let failed = |measured: String, detail: String| Line {
        kind: JudgedKind::Recovery,
        target: target.clone(),
        measured,
        target_value: within_ms as f64,
        measured_value: f64::INFINITY,
        passed: false,
        detail: Some(detail),
    };
    let Some(window) = faults.windows.iter().find(|w| w.name == fault) else {
        return failed(
            "the fault did not happen".into(),
            format!("no fault {fault:?} ran during the load"),
        );
    };
    let Some(ended_ms) = window.ended_ms else {
        return failed(
            "the fault never ended".into(),
            window
                .error
                .clone()
                .unwrap_or_else(|| "it was still in force when the load ended".into()),
        );
    };
    let end = m.recorder.seconds.len();
    let back = ((ended_ms / 1000) as usize..end).find_map(|s| {
        let o = second_outcomes(m, s, tool);
        (o.total() > 0 && ratio(o.ok, o.total()) >= slice_target).then_some((s, o))
    });
    let during = during_faults(m, std::slice::from_ref(window), tool);
    match back {
        Some((s, o)) => {
            let after_ms = (s as u64 * 1000).saturating_sub(ended_ms);
            Line {
                kind: JudgedKind::Recovery,
                target,
                measured: format!(
                    "{after_ms}ms (second {s}: {} of {} calls succeeded)",
                    o.ok,
                    o.total()
                ),
                target_value: within_ms as f64,
                measured_value: after_ms as f64,
                passed: after_ms <= within_ms,
                detail: Some(format!(
                    "the fault ended at {:.3}s; to the second; {during}",
                    ended_ms as f64 / 1000.0
                )),
            }
        }
        None => failed(
            "not back by the end of the run".into(),
            format!(
                "no second after {:.3}s met the target; {during}",
                ended_ms as f64 / 1000.0
            ),
        ),
    }
}

/// Every call got an answer: none hung past the client's timeout (outside `except`), and
/// every call the schedule offered was recorded.
pub fn answered(m: &Measurements, tool: Option<&str>, faults: RunFacts, except: &[String]) -> Line {
    let judged = sum(m, &judged_seconds(m, faults, except), tool);
    let unanswered = judged.unanswered;
    let recorded = m.recorder.overall().outcomes.total();
    let lost = match (tool, faults.offered_calls) {
        (None, Some(offered)) => offered.saturating_sub(recorded),
        _ => 0,
    };
    Line {
        kind: JudgedKind::Answered,
        target: "0 unanswered, 0 lost".into(),
        measured: format!(
            "{unanswered} unanswered of {} calls, {lost} lost",
            judged.total()
        ),
        target_value: 0.0,
        measured_value: (unanswered + lost) as f64,
        passed: unanswered == 0 && lost == 0 && judged.total() > 0,
        detail: (!faults.windows.is_empty())
            .then(|| during_faults(m, faults.windows, tool))
            .map(|d| excepted(d, except)),
    }
}

/// Every failure was a clean answer (outside `except`): no transport errors.
pub fn clean_errors(
    m: &Measurements,
    tool: Option<&str>,
    faults: RunFacts,
    except: &[String],
) -> Line {
    let judged = sum(m, &judged_seconds(m, faults, except), tool);
    let unclean = judged.transport_error;
    Line {
        kind: JudgedKind::CleanErrors,
        target: "0 failures without a clean answer".into(),
        measured: format!(
            "{unclean} of {} failed calls without a clean answer (reset, refused, bare 5xx)",
            judged.failed()
        ),
        target_value: 0.0,
        measured_value: unclean as f64,
        passed: unclean == 0 && judged.total() > 0,
        detail: (!faults.windows.is_empty())
            .then(|| during_faults(m, faults.windows, tool))
            .map(|d| excepted(d, except)),
    }
}

fn excepted(detail: String, except: &[String]) -> String {
    if except.is_empty() {
        detail
    } else {
        format!("{detail} (left out: {})", except.join(", "))
    }
}

#[cfg(test)]
mod tests;
