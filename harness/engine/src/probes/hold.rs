//! Probes that hold slow calls open: the in-flight cap and the concurrency cap. They
//! record; `mcp_slo_core::verdict::probes` judges.

use std::time::Duration;

use mcp_slo_core::result::ProbeResult;
use mcp_slo_core::spec::probes::{ConcurrencyProbe, InFlightProbe, ProbeMetrics};
use mcp_slo_core::verdict::probes::{
    ConcurrencyRecord, InFlightRecord, judge_concurrency, judge_in_flight,
};
use tokio::time::Instant;

use super::{Caller, ProbeError, collect, read_metric};
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
    let mut peak_seen: Option<f64> = None;
    let settle = Instant::now();
    loop {
        let now = read_metric(caller.client.reqwest(), endpoint, metrics, |m| {
            m.in_flight.as_ref()
        })
        .await;
        if let Some(n) = now {
            peak_seen = Some(peak_seen.map_or(n, |p| p.max(n)));
        }
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
    Ok(judge_in_flight(
        target,
        p,
        &InFlightRecord {
            held,
            extra,
            extras_sent,
            extras_done,
            server_in_flight: peak_seen,
        },
    ))
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
    let peak = read_metric(caller.client.reqwest(), endpoint, metrics, |m| {
        m.executions_peak.as_ref()
    })
    .await;
    caller.close().await;

    Ok(judge_concurrency(
        target,
        p,
        &ConcurrencyRecord {
            calls,
            server_peak_before: peak_before,
            server_peak: peak,
        },
    ))
}
