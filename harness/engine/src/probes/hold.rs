//! Probes that hold slow calls open: the in-flight cap and the concurrency cap.

use std::collections::BTreeMap;
use std::time::Duration;

use mcp_slo_core::measure::CallOutcome;
use mcp_slo_core::result::ProbeResult;
use mcp_slo_core::spec::probes::{ConcurrencyProbe, InFlightProbe, ProbeMetrics};
use tokio::time::Instant;

use super::{Caller, ProbeError, collect, outcome_figures, percent, read_metric, sample_messages};
use crate::client::Endpoint;

/// Share of the rate limit the held calls are paced at, so none is rate limited.
const PACE: f64 = 0.8;

fn pace(rate_limit: Option<f64>) -> Duration {
    rate_limit.map_or(Duration::ZERO, |r| {
        Duration::from_secs_f64(1.0 / (r * PACE))
    })
}

pub(super) async fn in_flight(
    target: &str,
    endpoint: &Endpoint,
    p: &InFlightProbe,
    metrics: Option<&ProbeMetrics>,
) -> Result<ProbeResult, ProbeError> {
    let mut caller = Caller::open("in_flight", endpoint, 0, Duration::from_secs(120)).await?;
    let mut extra_caller = Caller::open("in_flight", endpoint, 1, Duration::from_secs(120)).await?;
    let start = Instant::now();
    let step = pace(p.rate_limit);
    let mut held = Vec::new();
    for k in 0..u64::from(p.expect) {
        tokio::time::sleep_until(start + step * k as u32).await;
        held.push(caller.spawn(&p.op, 1 + k * 4, start));
    }
    // Until the server reports the cap in flight (or, without a declared gauge, a moment
    // for the last held calls to arrive).
    let mut peak_seen = 0.0_f64;
    let settle = Instant::now();
    loop {
        let now = read_metric(caller.client.reqwest(), endpoint, metrics, |m| {
            m.in_flight.as_ref()
        })
        .await;
        peak_seen = peak_seen.max(now.unwrap_or(0.0));
        if now.is_none_or(|n| n >= f64::from(p.expect)) || settle.elapsed() > Duration::from_secs(3)
        {
            if now.is_none() {
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let extras_sent = start.elapsed();
    let extra: Vec<_> = (0..u64::from(p.extra))
        .map(|k| extra_caller.spawn(&p.op, 1 + k * 4, start))
        .collect();
    let extra = collect(extra).await;
    let extras_done = start.elapsed();
    let held = collect(held).await;
    caller.close().await;
    extra_caller.close().await;

    let held_admitted = held.iter().filter(|c| c.admitted()).count();
    let extra_admitted = extra.iter().filter(|c| c.admitted()).count();
    let extra_overloaded: Vec<_> = extra
        .iter()
        .filter(|c| c.outcome == CallOutcome::Overloaded)
        .collect();
    let slowest_refusal = extra_overloaded
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
            sample_messages(held.iter().filter(|c| !c.admitted()))
        ));
    }
    let wrong: Vec<_> = extra
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
            slowest_refusal.as_secs_f64() * 1e3,
            p.at_once.as_secs_f64() * 1e3
        ));
    }
    let ended_early = held.iter().filter(|c| c.ended < extras_done).count();
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
    figures.insert("extra_overloaded".into(), extra_overloaded.len() as f64);
    figures.insert(
        "slowest_refusal_ms".into(),
        slowest_refusal.as_secs_f64() * 1e3,
    );
    figures.insert("server_in_flight_seen".into(), peak_seen);
    figures.insert("extras_sent_at_s".into(), extras_sent.as_secs_f64());
    outcome_figures(&held, "held_", &mut figures);
    Ok(ProbeResult {
        probe: "in_flight".into(),
        target: target.into(),
        passed: failures.is_empty(),
        expected: format!(
            "{cap} admitted, {} refused as overloaded within {:.0} ms",
            p.extra,
            p.at_once.as_secs_f64() * 1e3
        ),
        measured: format!(
            "{admitted_total} admitted, {} refused as overloaded (slowest {:.0} ms); server gauge {peak_seen:.0}",
            extra_overloaded.len(),
            slowest_refusal.as_secs_f64() * 1e3
        ),
        expected_value: cap as f64,
        measured_value: admitted_total as f64,
        failures,
        figures,
        seconds: Vec::new(),
    })
}

pub(super) async fn concurrency(
    target: &str,
    endpoint: &Endpoint,
    p: &ConcurrencyProbe,
    metrics: Option<&ProbeMetrics>,
) -> Result<ProbeResult, ProbeError> {
    let mut caller = Caller::open("concurrency", endpoint, 0, Duration::from_secs(120)).await?;
    let peak_before = read_metric(caller.client.reqwest(), endpoint, metrics, |m| {
        m.executions_peak.as_ref()
    })
    .await;
    let start = Instant::now();
    let mut handles = Vec::new();
    // All at once: the calls beyond the cap must queue inside the server.
    for k in 0..u64::from(p.calls) {
        handles.push(caller.spawn(&p.op, 1 + k * 4, start));
    }
    let calls = collect(handles).await;
    let took = calls.iter().map(|c| c.ended).max().unwrap_or_default();
    let peak = read_metric(caller.client.reqwest(), endpoint, metrics, |m| {
        m.executions_peak.as_ref()
    })
    .await;
    caller.close().await;

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
            p.duration.as_secs_f64() * 1e3,
            took.as_secs_f64(),
            expected.as_secs_f64(),
            p.expect,
            p.tolerance * 100.0,
            percent(deviation),
            p.expect
        ));
    }
    if let Some(peak) = peak
        && peak > f64::from(p.expect)
    {
        failures.push(format!(
            "concurrency cap: the server's own gauge mcp_tool_executions_peak reached {peak:.0}, declared max_concurrent {} ({:+.0})",
            p.expect,
            peak - f64::from(p.expect)
        ));
    }
    let bad: Vec<_> = calls
        .iter()
        .filter(|c| c.outcome != CallOutcome::Ok)
        .collect();
    if !bad.is_empty() {
        failures.push(format!(
            "{} of {} calls did not succeed: {}",
            bad.len(),
            calls.len(),
            sample_messages(bad.iter().copied())
        ));
    }
    let mut figures = BTreeMap::new();
    figures.insert("calls".into(), f64::from(p.calls));
    figures.insert("call_duration_ms".into(), p.duration.as_secs_f64() * 1e3);
    figures.insert("took_s".into(), took.as_secs_f64());
    figures.insert("expected_s".into(), expected.as_secs_f64());
    figures.insert("effective_concurrency".into(), effective);
    if let Some(peak) = peak {
        figures.insert("server_peak".into(), peak);
    }
    if let Some(before) = peak_before {
        figures.insert("server_peak_before".into(), before);
    }
    outcome_figures(&calls, "outcome_", &mut figures);
    Ok(ProbeResult {
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
            peak.map_or("not read".into(), |p| format!("{p:.0}"))
        ),
        expected_value: expected.as_secs_f64(),
        measured_value: took.as_secs_f64(),
        failures,
        figures,
        seconds: Vec::new(),
    })
}
