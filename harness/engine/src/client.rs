//! A minimal MCP client over JSON-RPC/HTTP for load: `initialize` + `initialized` per
//! worker (session id kept), `MCP-Protocol-Version` on every request, JSON and SSE answers
//! both parsed, outcomes classified from the body, session closed at the end.
//!
//! It speaks raw JSON-RPC through reqwest rather than through the rmcp client, which is
//! about half as fast and caps itself at 16 requests in flight per transport.

use std::time::Duration;

use bytes::Bytes;
use mcp_slo_core::measure::CallOutcome;
use mcp_slo_core::spec::Mode;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderValue};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;

/// JSON-RPC error codes the reference servers use for admission refusals.
pub const RATE_LIMITED: i64 = -32029;
pub const OVERLOADED: i64 = -32003;
pub const TIMED_OUT: i64 = -32001;

/// Where and how to talk to one MCP server.
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub url: String,
    pub mode: Mode,
    pub protocol_version: String,
    pub token: Option<String>,
}

/// One worker's session with an endpoint.
#[derive(Debug, Default, Clone)]
pub struct Session {
    pub id: Option<HeaderValue>,
    next_id: u64,
}

impl Session {
    /// The same session for another task, numbering its requests from `first_id` so
    /// concurrent requests never share a JSON-RPC id.
    pub fn fork(&self, first_id: u64) -> Session {
        Session {
            id: self.id.clone(),
            next_id: first_id,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("{url}: {message}")]
    Unreachable { url: String, message: String },
    #[error("{url}: initialize failed: {message}")]
    Handshake { url: String, message: String },
}

/// A classified answer.
#[derive(Debug, Clone)]
pub struct Answer {
    pub outcome: CallOutcome,
    pub status: u16,
    /// The JSON-RPC error message or transport error, when there is one.
    pub message: Option<String>,
    pub retry_after: Option<u64>,
}

#[derive(Serialize)]
struct Request<'a, P: Serialize> {
    jsonrpc: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<u64>,
    method: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    params: Option<P>,
}

#[derive(Serialize)]
struct CallParams<'a> {
    name: &'a str,
    arguments: &'a Value,
}

#[derive(Deserialize)]
struct Response<'a> {
    #[serde(borrow, default)]
    result: Option<&'a RawValue>,
    #[serde(default)]
    error: Option<RpcError>,
}

#[derive(Deserialize)]
struct RpcError {
    code: i64,
    #[serde(default)]
    message: String,
}

#[derive(Deserialize)]
struct ToolResult {
    #[serde(rename = "isError", default)]
    is_error: Option<bool>,
}

impl Endpoint {
    fn headers(&self, session: &Session) -> HeaderMap {
        let mut h = HeaderMap::with_capacity(6);
        h.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        h.insert(
            ACCEPT,
            HeaderValue::from_static("application/json, text/event-stream"),
        );
        if let Ok(v) = HeaderValue::from_str(&self.protocol_version) {
            h.insert("mcp-protocol-version", v);
        }
        if let Some(id) = &session.id {
            h.insert("mcp-session-id", id.clone());
        }
        if let Some(token) = &self.token
            && let Ok(v) = HeaderValue::from_str(&format!("Bearer {token}"))
        {
            h.insert(AUTHORIZATION, v);
        }
        h
    }

    async fn post(
        &self,
        client: &reqwest::Client,
        session: &Session,
        body: Vec<u8>,
    ) -> Result<(u16, HeaderMap, Bytes), String> {
        let response = client
            .post(&self.url)
            .headers(self.headers(session))
            .body(body)
            .send()
            .await
            .map_err(describe)?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.map_err(describe)?;
        Ok((status, headers, bytes))
    }

    /// Opens a session (session mode) or checks the server answers (stateless mode).
    pub async fn initialize(&self, client: &reqwest::Client) -> Result<Session, ClientError> {
        let mut session = Session::default();
        let params = serde_json::json!({
            "protocolVersion": self.protocol_version,
            "capabilities": {},
            "clientInfo": {"name": "mcp-slo", "version": env!("CARGO_PKG_VERSION")},
        });
        let body = encode(0, "initialize", Some(&params));
        let (status, headers, bytes) =
            self.post(client, &session, body).await.map_err(|message| {
                ClientError::Unreachable {
                    url: self.url.clone(),
                    message,
                }
            })?;
        let answer = classify(status, &headers, &bytes);
        if answer.outcome != CallOutcome::Ok {
            return Err(ClientError::Handshake {
                url: self.url.clone(),
                message: answer.message.unwrap_or_else(|| format!("HTTP {status}")),
            });
        }
        if self.mode == Mode::Session {
            session.id = headers.get("mcp-session-id").cloned();
            if session.id.is_none() {
                return Err(ClientError::Handshake {
                    url: self.url.clone(),
                    message: "no Mcp-Session-Id in the answer (is the server in stateless mode?)"
                        .into(),
                });
            }
            let note = encode::<Value>(u64::MAX, "notifications/initialized", None);
            let (status, _, _) = self.post(client, &session, note).await.map_err(|message| {
                ClientError::Unreachable {
                    url: self.url.clone(),
                    message,
                }
            })?;
            if !(200..300).contains(&status) {
                return Err(ClientError::Handshake {
                    url: self.url.clone(),
                    message: format!("notifications/initialized answered HTTP {status}"),
                });
            }
        }
        session.next_id = 1;
        Ok(session)
    }

    /// One `tools/call`. Never fails: every way it can end is an outcome.
    pub async fn call_tool(
        &self,
        client: &reqwest::Client,
        session: &mut Session,
        tool: &str,
        arguments: &Value,
    ) -> Answer {
        self.call_tool_body(client, session, tool, arguments)
            .await
            .0
    }

    /// A `tools/call` whose structured result is wanted as well (probes read counts
    /// from it). `None` when the call failed or the result has no structured content.
    pub async fn call_tool_structured(
        &self,
        client: &reqwest::Client,
        session: &mut Session,
        tool: &str,
        arguments: &Value,
    ) -> (Answer, Option<Value>) {
        let (answer, body) = self.call_tool_body(client, session, tool, arguments).await;
        let structured = (answer.outcome == CallOutcome::Ok)
            .then(|| message_of(&body))
            .flatten()
            .and_then(|m| serde_json::from_slice::<Value>(m).ok())
            .and_then(|mut v| v.pointer_mut("/result/structuredContent").map(Value::take));
        (answer, structured)
    }

    async fn call_tool_body(
        &self,
        client: &reqwest::Client,
        session: &mut Session,
        tool: &str,
        arguments: &Value,
    ) -> (Answer, Bytes) {
        session.next_id += 1;
        let body = encode(
            session.next_id,
            "tools/call",
            Some(&CallParams {
                name: tool,
                arguments,
            }),
        );
        match self.post(client, session, body).await {
            Ok((status, headers, bytes)) => {
                if status == 404 && session.id.is_some() {
                    // The server ended the session; the worker opens a new one.
                    session.id = None;
                }
                (classify(status, &headers, &bytes), bytes)
            }
            Err(message) => (
                Answer {
                    outcome: if message.contains("timed out") {
                        CallOutcome::TimedOut
                    } else {
                        CallOutcome::TransportError
                    },
                    status: 0,
                    message: Some(message),
                    retry_after: None,
                },
                Bytes::new(),
            ),
        }
    }

    /// Ends the session (DELETE), best effort.
    pub async fn close(&self, client: &reqwest::Client, session: &Session) {
        if session.id.is_some() {
            let _ = client
                .delete(&self.url)
                .headers(self.headers(session))
                .timeout(Duration::from_secs(2))
                .send()
                .await;
        }
    }
}

fn encode<P: Serialize>(id: u64, method: &str, params: Option<&P>) -> Vec<u8> {
    let id = (id != u64::MAX).then_some(id);
    serde_json::to_vec(&Request {
        jsonrpc: "2.0",
        id,
        method,
        params,
    })
    .unwrap_or_default()
}

fn describe(e: reqwest::Error) -> String {
    let mut message = e.to_string();
    if e.is_timeout() {
        message = format!("timed out: {message}");
    }
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        message.push_str(": ");
        message.push_str(&s.to_string());
        source = s.source();
    }
    message
}

/// The JSON-RPC message in a body: the body itself, or the last SSE `data:` event that is a
/// response.
fn message_of(bytes: &[u8]) -> Option<&[u8]> {
    let start = bytes.iter().position(|b| !b.is_ascii_whitespace())?;
    if bytes[start] == b'{' {
        return Some(&bytes[start..]);
    }
    bytes
        .split(|b| *b == b'\n')
        .filter_map(|line| line.strip_prefix(b"data:"))
        .map(|d| d.trim_ascii())
        .rfind(|d| d.starts_with(b"{") && d.windows(5).any(|w| w == b"\"id\":"))
}

/// Classifies an answer from its body first, the status code second.
pub fn classify(status: u16, headers: &HeaderMap, bytes: &[u8]) -> Answer {
    let retry_after = headers
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    let answer = |outcome, message: Option<String>| Answer {
        outcome,
        status,
        message,
        retry_after,
    };
    let parsed = message_of(bytes).and_then(|m| serde_json::from_slice::<Response<'_>>(m).ok());
    match parsed {
        Some(Response { error: Some(e), .. }) => {
            let outcome = match e.code {
                RATE_LIMITED => CallOutcome::RateLimited,
                OVERLOADED => CallOutcome::Overloaded,
                TIMED_OUT => CallOutcome::TimedOut,
                _ => CallOutcome::JsonRpcError,
            };
            answer(outcome, Some(format!("{} ({})", e.message, e.code)))
        }
        Some(Response {
            result: Some(r), ..
        }) => {
            let is_error = serde_json::from_str::<ToolResult>(r.get())
                .ok()
                .and_then(|t| t.is_error);
            if is_error == Some(true) {
                answer(CallOutcome::ToolError, None)
            } else {
                answer(CallOutcome::Ok, None)
            }
        }
        _ => {
            let outcome = match status {
                429 => CallOutcome::RateLimited,
                503 => CallOutcome::Overloaded,
                408 | 504 => CallOutcome::TimedOut,
                _ => CallOutcome::TransportError,
            };
            let text = String::from_utf8_lossy(&bytes[..bytes.len().min(200)]).into_owned();
            answer(outcome, Some(format!("HTTP {status}: {text}")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(status: u16, body: &str) -> CallOutcome {
        classify(status, &HeaderMap::new(), body.as_bytes()).outcome
    }

    #[test]
    fn outcomes_come_from_the_body() {
        assert_eq!(
            outcome(
                200,
                r#"{"jsonrpc":"2.0","id":1,"result":{"content":[],"isError":false}}"#
            ),
            CallOutcome::Ok
        );
        assert_eq!(
            outcome(
                200,
                r#"{"jsonrpc":"2.0","id":1,"result":{"content":[],"isError":true}}"#
            ),
            CallOutcome::ToolError
        );
        assert_eq!(
            outcome(
                429,
                r#"{"jsonrpc":"2.0","id":1,"error":{"code":-32029,"message":"rate limited"}}"#
            ),
            CallOutcome::RateLimited
        );
        assert_eq!(
            outcome(
                503,
                r#"{"jsonrpc":"2.0","id":1,"error":{"code":-32003,"message":"overloaded"}}"#
            ),
            CallOutcome::Overloaded
        );
        assert_eq!(
            outcome(
                200,
                r#"{"jsonrpc":"2.0","id":1,"error":{"code":-32001,"message":"timed out"}}"#
            ),
            CallOutcome::TimedOut
        );
        assert_eq!(
            outcome(
                200,
                r#"{"jsonrpc":"2.0","id":1,"error":{"code":-32602,"message":"unknown tool"}}"#
            ),
            CallOutcome::JsonRpcError
        );
        assert_eq!(outcome(502, "Bad Gateway"), CallOutcome::TransportError);
        assert_eq!(outcome(503, ""), CallOutcome::Overloaded);
    }

    #[test]
    fn sse_answers_are_parsed() {
        let sse = "data: \nid: 0/0\nretry: 3000\n\ndata: {\"jsonrpc\":\"2.0\",\"id\":3,\"result\":{\"content\":[],\"isError\":true}}\nid: 1/0\n\n";
        assert_eq!(outcome(200, sse), CallOutcome::ToolError);
        let notification_then_result = "data: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\",\"params\":{}}\n\ndata: {\"jsonrpc\":\"2.0\",\"id\":4,\"result\":{\"isError\":false}}\n\n";
        assert_eq!(outcome(200, notification_then_result), CallOutcome::Ok);
    }
}
