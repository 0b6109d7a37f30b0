//! The rate probe: offers calls at a multiple of the declared limit and records them;
//! `mcp_slo_core::verdict::probes` judges them.

use std::time::Duration;

use mcp_slo_core::result::ProbeResult;
use mcp_slo_core::spec::probes::RateProbe;
use mcp_slo_core::verdict::probes::{RatePlan, judge_rate};
use tokio::time::Instant;

use super::{Caller, ProbeError, collect};

pub(super) async fn probe(
    target: &str,
    endpoint: &crate::client::Endpoint,
    p: &RateProbe,
) -> Result<ProbeResult, ProbeError> {
    let RatePlan {
        total_limit,
        caller_rate,
        ..
    } = RatePlan::of(p);
    let mut callers = Vec::new();
    for i in 0..p.callers {
        callers.push(Caller::open("rate", endpoint, i, Duration::from_secs(15)).await?);
    }
    // Warm-up: a second at half the limit wakes the server's workers and connections
    // without spending the limiter's burst; then the bucket refills.
    let warm_start = Instant::now();
    let warm_calls = (total_limit * 0.5).ceil() as u64;
    let mut warm = Vec::new();
    for k in 0..warm_calls {
        tokio::time::sleep_until(
            warm_start + Duration::from_secs_f64(k as f64 / (total_limit * 0.5)),
        )
        .await;
        let caller = &mut callers[(k % u64::from(p.callers)) as usize];
        warm.push(caller.spawn(&p.op, 1 + k * 4, warm_start));
    }
    collect(warm).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let start = Instant::now();
    let per_caller_calls = (caller_rate * p.window.as_secs_f64()).floor() as u64;
    let mut handles = Vec::new();
    // One pacer for all callers: calls interleave evenly.
    let interval = 1.0 / (caller_rate * f64::from(p.callers));
    let total = per_caller_calls * u64::from(p.callers);
    for k in 0..total {
        let at = start + Duration::from_secs_f64(k as f64 * interval);
        tokio::time::sleep_until(at).await;
        let caller = &mut callers[(k % u64::from(p.callers)) as usize];
        handles.push(caller.spawn(&p.op, 1_000_000 + k * 4, start));
    }
    let calls = collect(handles).await;
    for c in &callers {
        c.close().await;
    }
    Ok(judge_rate(target, p, &calls))
}
