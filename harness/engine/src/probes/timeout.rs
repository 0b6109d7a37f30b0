//! The timeout probe: records one call past the deadline (and the check that its backend
//! work is gone); `mcp_slo_core::verdict::probes` judges.

use std::time::Duration;

use mcp_slo_core::measure::CallOutcome;
use mcp_slo_core::result::ProbeResult;
use mcp_slo_core::spec::probes::{CancelCheck, TimeoutProbe};
use mcp_slo_core::verdict::probes::{TimeoutRecord, judge_timeout};
use tokio::time::Instant;

use super::{Caller, ProbeError, collect};
use crate::client::Endpoint;

pub(super) async fn probe(
    target: &str,
    endpoint: &Endpoint,
    p: &TimeoutProbe,
) -> Result<ProbeResult, ProbeError> {
    // The client waits well past the deadline, so a server that never cuts the call off
    // shows up as a late answer, not as the client's own timeout.
    let client_timeout = p.expect * 2 + Duration::from_secs(5);
    let mut caller = Caller::open("timeout", endpoint, 0, client_timeout).await?;
    let start = Instant::now();
    let call = collect(vec![caller.spawn(&p.op, 1, start)]).await;
    let Some(call) = call.into_iter().next() else {
        return Err(ProbeError::Setup {
            probe: "timeout",
            message: "the probe call's task failed".into(),
        });
    };
    let cancelled = match &p.cancelled {
        Some(check) => Some(cancelled(&mut caller, check).await),
        None => None,
    };
    caller.close().await;
    Ok(judge_timeout(target, p, &TimeoutRecord { call, cancelled }))
}

/// Polls the check call until its count is 0; how long that took, or why it never was.
async fn cancelled(caller: &mut Caller, check: &CancelCheck) -> Result<Duration, String> {
    let start = Instant::now();
    loop {
        let (answer, structured) = caller.structured(&check.op).await;
        let last = match structured.as_ref().and_then(|v| v.pointer(&check.count)) {
            Some(n) if n.as_f64() == Some(0.0) => return Ok(start.elapsed()),
            Some(n) => format!("{} = {n}", check.count),
            None if answer.outcome == CallOutcome::Ok => {
                return Err(format!(
                    "the check's structured result has nothing at {}",
                    check.count
                ));
            }
            None => answer
                .message
                .unwrap_or_else(|| answer.outcome.as_str().to_owned()),
        };
        if start.elapsed() > check.within {
            return Err(format!(
                "after {:.0} ms the check still says {last}",
                check.within.as_secs_f64() * 1e3
            ));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
