//! The timeout probe.

use std::collections::BTreeMap;
use std::time::Duration;

use mcp_slo_core::measure::CallOutcome;
use mcp_slo_core::result::ProbeResult;
use mcp_slo_core::spec::probes::{CancelCheck, TimeoutProbe};
use tokio::time::Instant;

use super::{Caller, ProbeError, collect, sample_messages};
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
    let mut failures = Vec::new();
    let mut figures = BTreeMap::new();
    let Some(call) = call.first() else {
        return Err(ProbeError::Setup {
            probe: "timeout",
            message: "the probe call's task failed".into(),
        });
    };
    let took = call.latency();
    let off = took.as_secs_f64() - p.expect.as_secs_f64();
    if call.outcome != CallOutcome::TimedOut || call.lost() {
        failures.push(format!(
            "timeout: the call ended after {:.0} ms as {} ({}), expected a timeout error at the declared timeout_ms {:.0}",
            took.as_secs_f64() * 1e3,
            call.outcome.as_str(),
            sample_messages(std::iter::once(call)),
            p.expect.as_secs_f64() * 1e3
        ));
    }
    if off.abs() > p.tolerance.as_secs_f64() {
        failures.push(format!(
            "timeout: the call ended {:+.0} ms from the declared timeout_ms {:.0} (tolerance ±{:.0} ms)",
            off * 1e3,
            p.expect.as_secs_f64() * 1e3,
            p.tolerance.as_secs_f64() * 1e3
        ));
    }
    figures.insert("took_ms".into(), took.as_secs_f64() * 1e3);
    figures.insert("off_by_ms".into(), off * 1e3);
    let mut cancelled_text = String::new();
    if let Some(check) = &p.cancelled {
        match cancelled(&mut caller, check).await {
            Ok(after) => {
                figures.insert("cancelled_after_ms".into(), after.as_secs_f64() * 1e3);
                cancelled_text = format!(
                    ", backend work gone after {:.0} ms",
                    after.as_secs_f64() * 1e3
                );
            }
            Err(why) => {
                failures.push(format!(
                    "timeout: the backend work was not cancelled: {why}"
                ));
                cancelled_text = ", backend work still running".into();
            }
        }
    }
    caller.close().await;
    Ok(ProbeResult {
        probe: "timeout".into(),
        target: target.into(),
        passed: failures.is_empty(),
        expected: format!(
            "timed out at {:.0} ms ±{:.0} ms{}",
            p.expect.as_secs_f64() * 1e3,
            p.tolerance.as_secs_f64() * 1e3,
            if p.cancelled.is_some() {
                ", backend work cancelled"
            } else {
                ""
            }
        ),
        measured: format!(
            "{} after {:.0} ms{cancelled_text}",
            call.outcome.as_str(),
            took.as_secs_f64() * 1e3
        ),
        expected_value: p.expect.as_secs_f64() * 1e3,
        measured_value: took.as_secs_f64() * 1e3,
        failures,
        figures,
        seconds: Vec::new(),
    })
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
