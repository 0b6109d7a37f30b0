//! Probe calls built by hand for the verdicts' tests.

use std::time::Duration;

use serde_json::Value;

use super::ProbeCall;
use crate::measure::CallOutcome;
use crate::spec::args::ArgTemplate;
use crate::spec::ops::Method;
use crate::spec::probes::ProbeOp;

pub fn op() -> ProbeOp {
    ProbeOp {
        tool: "slow".into(),
        method: Method::CallTool("slow".into()),
        args: ArgTemplate::Literal(Value::Object(Default::default())),
    }
}

/// A call sent at `sent_ms` and ended at `ended_ms` (since the probe started), answered
/// with the HTTP status and message an MCP server gives for `outcome`.
pub fn call(caller: u32, sent_ms: u64, ended_ms: u64, outcome: CallOutcome) -> ProbeCall {
    let (status, message, retry_after) = match outcome {
        CallOutcome::Ok => (200, None, None),
        CallOutcome::RateLimited => (429, Some("rate limited".to_owned()), Some(1)),
        CallOutcome::Overloaded => (503, Some("server overloaded".to_owned()), None),
        CallOutcome::TimedOut => (200, Some("tool call timed out".to_owned()), None),
        other => (200, Some(format!("ended as {}", other.as_str())), None),
    };
    ProbeCall {
        caller,
        sent: Duration::from_millis(sent_ms),
        ended: Duration::from_millis(ended_ms),
        outcome,
        status,
        message,
        retry_after,
    }
}

/// The same call, but no answer came (the connection failed or the client gave up).
pub fn lost(mut c: ProbeCall) -> ProbeCall {
    c.status = 0;
    c.message = Some("connection reset".to_owned());
    c
}
