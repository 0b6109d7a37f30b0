//! The verdicts of the probes that hold slow calls open: the in-flight cap and the
//! concurrency cap.

use std::collections::BTreeMap;
use std::time::Duration;

use super::{ProbeCall, ms, outcome_figures, percent, sample_messages};
use crate::measure::CallOutcome;
use crate::result::ProbeResult;
use crate::spec::probes::{ConcurrencyProbe, InFlightProbe};

/// What the in-flight probe recorded: the cap's worth of held calls, then the extra calls
/// sent while they were open. Times are since the probe started.
#[derive(Debug, Clone)]
pub struct InFlightRecord {
    pub held: Vec<ProbeCall>,
    pub extra: Vec<ProbeCall>,
    /// When the extra calls were sent.
    pub extras_sent: Duration,
    /// When the last extra call was answered.
    pub extras_done: Duration,
    /// The highest in-flight gauge the server reported before the extras were sent, when
    /// the scenario names the gauge (`probes.metrics`).
    pub server_in_flight: Option<f64>,
}

/// Judges the in-flight cap: exactly `expect` calls admitted at once, the extras refused
/// as overloaded within `at_once`; inconclusive when held calls ended before the extras
/// were answered (the op was not slow enough to hold them).
pub fn judge_in_flight(target: &str, p: &InFlightProbe, r: &InFlightRecord) -> ProbeResult {
    let held_admitted = r.held.iter().filter(|c| c.admitted()).count();
    let extra_admitted = r.extra.iter().filter(|c| c.admitted()).count();
    let overloaded: Vec<&ProbeCall> = r
        .extra
        .iter()
        .filter(|c| c.outcome == CallOutcome::Overloaded)
        .collect();
    let slowest_refusal = overloaded
        .iter()
        .map(|c| c.latency())
        .max()
        .unwrap_or_default();
    let admitted_total = held_admitted + extra_admitted;
    let cap = p.expect as usize;
    let mut failures = Vec::new();
    if extra_admitted > 0 {
        failures.push(format!(
            "in-flight cap: {admitted_total} calls admitted at once, declared max_inflight_requests {cap}: at least {extra_admitted} over ({} over the declared cap)",
            percent(extra_admitted as f64 / cap as f64),
        ));
    }
    if held_admitted < cap {
        failures.push(format!(
            "in-flight cap: only {held_admitted} of the first {cap} calls were admitted, declared max_inflight_requests {cap}: {} under; refusals: {}",
            cap - held_admitted,
            sample_messages(r.held.iter().filter(|c| !c.admitted()))
        ));
    }
    let wrong: Vec<&ProbeCall> = r
        .extra
        .iter()
        .filter(|c| !c.admitted() && c.outcome != CallOutcome::Overloaded)
        .collect();
    if !wrong.is_empty() {
        failures.push(format!(
            "{} calls over the cap were refused other than as overloaded: {}",
            wrong.len(),
            sample_messages(wrong.iter().copied())
        ));
    }
    if slowest_refusal > p.at_once {
        failures.push(format!(
            "overloaded refusals took up to {:.0} ms, expected at once (within {:.0} ms)",
            ms(slowest_refusal),
            ms(p.at_once)
        ));
    }
    // Admitted held calls that were no longer in flight when the extras were judged.
    let ended_early = r
        .held
        .iter()
        .filter(|c| c.admitted() && c.ended < r.extras_done)
        .count();
    if ended_early > 0 && extra_admitted == 0 {
        failures.push(format!(
            "inconclusive: {ended_early} held calls ended before the extra calls were answered; use a slower op"
        ));
    }
    let mut figures = BTreeMap::new();
    figures.insert("held_calls".into(), cap as f64);
    figures.insert("held_admitted".into(), held_admitted as f64);
    figures.insert("extra_calls".into(), f64::from(p.extra));
    figures.insert("extra_admitted".into(), extra_admitted as f64);
    figures.insert("extra_overloaded".into(), overloaded.len() as f64);
    figures.insert("slowest_refusal_ms".into(), ms(slowest_refusal));
    if let Some(seen) = r.server_in_flight {
        figures.insert("server_in_flight_seen".into(), seen);
    }
    figures.insert("extras_sent_at_s".into(), r.extras_sent.as_secs_f64());
    outcome_figures(&r.held, "held_", &mut figures);
    ProbeResult {
        probe: "in_flight".into(),
        target: target.into(),
        passed: failures.is_empty(),
        expected: format!(
            "{cap} admitted, {} refused as overloaded within {:.0} ms",
            p.extra,
            ms(p.at_once)
        ),
        measured: format!(
            "{admitted_total} admitted, {} refused as overloaded (slowest {:.0} ms); server gauge {}",
            overloaded.len(),
            ms(slowest_refusal),
            r.server_in_flight
                .map_or("not read".into(), |g| format!("{g:.0}"))
        ),
        expected_value: cap as f64,
        measured_value: admitted_total as f64,
        failures,
        figures,
        seconds: Vec::new(),
    }
}

/// What the concurrency probe recorded: every call, sent at once, and the server's peak
/// gauge before and after when the scenario names it.
#[derive(Debug, Clone)]
pub struct ConcurrencyRecord {
    pub calls: Vec<ProbeCall>,
    pub server_peak_before: Option<f64>,
    pub server_peak: Option<f64>,
}

/// Judges the concurrency cap: `calls` calls of `duration` through `expect` slots take
/// ceil(calls / expect) rounds of `duration` (± tolerance), the server's peak gauge (when
/// read) stays within the cap, and every call succeeds.
pub fn judge_concurrency(target: &str, p: &ConcurrencyProbe, r: &ConcurrencyRecord) -> ProbeResult {
    let took = r.calls.iter().map(|c| c.ended).max().unwrap_or_default();
    let rounds = p.calls.div_ceil(p.expect);
    let expected = p.duration * rounds;
    let deviation = (took.as_secs_f64() - expected.as_secs_f64()) / expected.as_secs_f64();
    // How many ran at once, judging by the time it took.
    let effective = f64::from(p.calls) * p.duration.as_secs_f64() / took.as_secs_f64().max(1e-3);
    let mut failures = Vec::new();
    if deviation.abs() > p.tolerance {
        failures.push(format!(
            "concurrency cap: {} calls of {:.0} ms took {:.2} s, expected {:.2} s ({rounds} rounds through {} slots) ±{:.0}%: {} off, as if about {effective:.0} ran at once, declared max_concurrent {}",
            p.calls,
            ms(p.duration),
            took.as_secs_f64(),
            expected.as_secs_f64(),
            p.expect,
            p.tolerance * 100.0,
            percent(deviation),
            p.expect
        ));
    }
    if let Some(peak) = r.server_peak
        && peak > f64::from(p.expect)
    {
        failures.push(format!(
            "concurrency cap: the server's own gauge mcp_tool_executions_peak reached {peak:.0}, declared max_concurrent {} ({:+.0})",
            p.expect,
            peak - f64::from(p.expect)
        ));
    }
    let bad: Vec<&ProbeCall> = r
        .calls
        .iter()
        .filter(|c| c.outcome != CallOutcome::Ok)
        .collect();
    if !bad.is_empty() {
        failures.push(format!(
            "{} of {} calls did not succeed: {}",
            bad.len(),
            r.calls.len(),
            sample_messages(bad.iter().copied())
        ));
    }
    let mut figures = BTreeMap::new();
    figures.insert("calls".into(), f64::from(p.calls));
    figures.insert("call_duration_ms".into(), ms(p.duration));
    figures.insert("took_s".into(), took.as_secs_f64());
    figures.insert("expected_s".into(), expected.as_secs_f64());
    figures.insert("effective_concurrency".into(), effective);
    if let Some(peak) = r.server_peak {
        figures.insert("server_peak".into(), peak);
    }
    if let Some(before) = r.server_peak_before {
        figures.insert("server_peak_before".into(), before);
    }
    outcome_figures(&r.calls, "outcome_", &mut figures);
    ProbeResult {
        probe: "concurrency".into(),
        target: target.into(),
        passed: failures.is_empty(),
        expected: format!(
            "{:.2} s ±{:.0}% ({} calls, {} slots), peak ≤ {}",
            expected.as_secs_f64(),
            p.tolerance * 100.0,
            p.calls,
            p.expect,
            p.expect
        ),
        measured: format!(
            "{:.2} s (≈{effective:.1} at once), server peak {}",
            took.as_secs_f64(),
            r.server_peak
                .map_or("not read".into(), |p| format!("{p:.0}"))
        ),
        expected_value: expected.as_secs_f64(),
        measured_value: took.as_secs_f64(),
        failures,
        figures,
        seconds: Vec::new(),
    }
}

#[cfg(test)]
mod tests;
