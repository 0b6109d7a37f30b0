//! The one request path: goose workers, boundary probes and tests all call a tool through
//! `execute_op`.

use mcp_slo_core::measure::CallOutcome;
use serde_json::Value;

use crate::client::{Answer, Endpoint, Session};

/// Calls `tool` once. A session the server has ended is reopened first, so one lost session
/// costs one failed call, not the rest of the run.
pub async fn execute_op(
    client: &reqwest::Client,
    endpoint: &Endpoint,
    session: &mut Option<Session>,
    tool: &str,
    args: &Value,
) -> Answer {
    let needs_session = session
        .as_ref()
        .is_none_or(|s| s.id.is_none() && endpoint.mode == mcp_slo_core::spec::Mode::Session);
    if needs_session {
        match endpoint.initialize(client).await {
            Ok(s) => *session = Some(s),
            Err(e) => {
                return Answer {
                    outcome: CallOutcome::TransportError,
                    status: 0,
                    message: Some(e.to_string()),
                    retry_after: None,
                };
            }
        }
    }
    let Some(s) = session.as_mut() else {
        return Answer {
            outcome: CallOutcome::TransportError,
            status: 0,
            message: Some("no session".into()),
            retry_after: None,
        };
    };
    endpoint.call_tool(client, s, tool, args).await
}
