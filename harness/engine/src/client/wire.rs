//! What goes over the wire: request bodies, header values, and answers classified into
//! outcomes from their bodies (a tool that failed answers `isError: true` inside a 200).

use base64::Engine as _;
use bytes::Bytes;
use mcp_slo_core::measure::CallOutcome;
use mcp_slo_vocab::jsonrpc::code;
use reqwest::header::HeaderMap;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

/// JSON-RPC error codes the reference servers use for admission refusals (defined where
/// the servers take them from).
pub const RATE_LIMITED: i64 = code::RATE_LIMITED as i64;
pub const OVERLOADED: i64 = code::OVERLOADED as i64;
pub const TIMED_OUT: i64 = code::TIMED_OUT as i64;
/// 2026-07-28's codes for a request the server could not take as sent.
pub const HEADER_MISMATCH: i64 = -32020;
pub const MISSING_CLIENT_CAPABILITY: i64 = -32021;
pub const UNSUPPORTED_VERSION: i64 = -32022;

/// A list page as [`Answer::page`] reads it.
#[derive(Deserialize)]
struct PageMessage {
    result: Option<PageResult>,
}

#[derive(Deserialize)]
struct PageResult {
    #[serde(default)]
    tools: Count,
    #[serde(default)]
    resources: Count,
    #[serde(default)]
    prompts: Count,
    #[serde(rename = "nextCursor")]
    next_cursor: Option<String>,
}

/// How many elements an array holds, each skipped unread.
#[derive(Default)]
struct Count(u64);

impl<'de> Deserialize<'de> for Count {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Count, D::Error> {
        struct Counter;
        impl<'de> serde::de::Visitor<'de> for Counter {
            type Value = Count;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an array")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Count, A::Error> {
                let mut n = 0;
                while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {
                    n += 1;
                }
                Ok(Count(n))
            }
        }
        d.deserialize_seq(Counter)
    }
}

/// A classified answer: how the call ended, and what came back.
#[derive(Debug, Clone)]
pub struct Answer {
    pub outcome: CallOutcome,
    pub status: u16,
    /// The JSON-RPC error message or transport error, when there is one.
    pub message: Option<String>,
    pub retry_after: Option<u64>,
    /// The JSON-RPC error code, when the answer was one.
    pub code: Option<i64>,
    /// The response body (the last page's, for a walk).
    pub body: Bytes,
    /// How the first attempt ended (retries only change the final outcome).
    pub first_outcome: CallOutcome,
    /// Attempts made (1 without retries).
    pub attempts: u32,
    /// Sessions opened again because the server had ended one (HTTP 404).
    pub reopened: u32,
    /// A list op: pages read, items listed, bytes received.
    pub listing: Option<Listing>,
    /// When the (last) answer's last byte was read; `None` when none came.
    pub received: Option<tokio::time::Instant>,
}

/// What a `*/list` op read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Listing {
    pub pages: u32,
    pub items: u64,
    pub bytes: u64,
}

impl Answer {
    /// An answer that never reached the server (or never came back): unanswered when the
    /// client's own timeout ended the wait, a transport error otherwise.
    pub fn transport(message: String) -> Answer {
        let outcome = if message.contains("timed out") {
            CallOutcome::Unanswered
        } else {
            CallOutcome::TransportError
        };
        Answer {
            outcome,
            status: 0,
            message: Some(message),
            retry_after: None,
            code: None,
            body: Bytes::new(),
            first_outcome: outcome,
            attempts: 1,
            reopened: 0,
            listing: None,
            received: None,
        }
    }

    /// The JSON-RPC result, parsed, when the call succeeded.
    pub fn result(&self) -> Option<Value> {
        if self.outcome != CallOutcome::Ok && self.outcome != CallOutcome::ToolError {
            return None;
        }
        let mut v: Value = serde_json::from_slice(message_of(&self.body)?).ok()?;
        v.get_mut("result").map(Value::take)
    }

    /// A `*/list` page's item count (of `items`: `tools`, `resources`, `prompts`) and its
    /// `nextCursor`, read without building the page: a walk needs no more, and a page
    /// of 100 tools parsed into values took the client ~0.5 ms, which a walk's latency
    /// would carry 11 times for 1,000 tools.
    pub fn page(&self, items: &str) -> Option<(u64, Option<String>)> {
        if self.outcome != CallOutcome::Ok {
            return None;
        }
        let message: PageMessage = serde_json::from_slice(message_of(&self.body)?).ok()?;
        let result = message.result?;
        let count = match items {
            "tools" => result.tools,
            "resources" => result.resources,
            "prompts" => result.prompts,
            _ => Count(0),
        };
        Some((count.0, result.next_cursor.filter(|c| !c.is_empty())))
    }

    /// A tool's `structuredContent`, when the call succeeded.
    pub fn structured(&self) -> Option<Value> {
        if self.outcome != CallOutcome::Ok {
            return None;
        }
        self.result()?.get_mut("structuredContent").map(Value::take)
    }
}

#[derive(Serialize)]
struct Request<'a> {
    jsonrpc: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<u64>,
    method: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    params: Option<Params<'a>>,
}

/// A JSON-RPC request (`id` None: a notification). With `meta`, the params carry it as
/// `_meta` (2026-07-28: every request says its revision, capabilities and client).
pub fn encode(
    id: Option<u64>,
    method: &str,
    params: Option<&Value>,
    meta: Option<&Value>,
) -> Vec<u8> {
    serde_json::to_vec(&Request {
        jsonrpc: "2.0",
        id,
        method,
        params: match (params, meta) {
            (p, None) => p.map(Params::Plain),
            (p, Some(meta)) => Some(Params::WithMeta {
                fields: p.and_then(Value::as_object),
                meta,
            }),
        },
    })
    .unwrap_or_default()
}

/// A request's params as sent, `_meta` added without copying them.
enum Params<'a> {
    Plain(&'a Value),
    WithMeta {
        fields: Option<&'a Map<String, Value>>,
        meta: &'a Value,
    },
}

impl Serialize for Params<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap as _;
        match self {
            Params::Plain(v) => v.serialize(s),
            Params::WithMeta { fields, meta } => {
                let mut map = s.serialize_map(None)?;
                for (k, v) in fields.iter().flat_map(|m| m.iter()) {
                    map.serialize_entry(k, v)?;
                }
                map.serialize_entry("_meta", meta)?;
                map.end()
            }
        }
    }
}

/// A header value as 2026-07-28 sends names and parameters: as is when it is printable
/// ASCII without surrounding whitespace, else `=?base64?...?=` of its UTF-8.
pub fn header_value(text: &str) -> String {
    let plain = text.bytes().all(|b| (0x20..=0x7e).contains(&b))
        && text.trim() == text
        && !(text.starts_with("=?base64?") && text.ends_with("?="));
    if plain {
        text.to_owned()
    } else {
        format!(
            "=?base64?{}?=",
            base64::engine::general_purpose::STANDARD.encode(text)
        )
    }
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
struct ResultHead<'a> {
    #[serde(rename = "isError", default)]
    is_error: Option<bool>,
    #[serde(rename = "resultType", default, borrow)]
    result_type: Option<&'a str>,
}

/// The JSON-RPC message in a body: the body itself, or the last SSE `data:` event that is a
/// response.
pub fn message_of(bytes: &[u8]) -> Option<&[u8]> {
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
pub fn classify(status: u16, headers: &HeaderMap, body: Bytes) -> Answer {
    let retry_after = headers
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    let parsed = message_of(&body).and_then(|m| serde_json::from_slice::<Response<'_>>(m).ok());
    let (outcome, message, code) = match parsed {
        Some(Response { error: Some(e), .. }) => {
            let outcome = match e.code {
                RATE_LIMITED => CallOutcome::RateLimited,
                OVERLOADED => CallOutcome::Overloaded,
                TIMED_OUT => CallOutcome::TimedOut,
                _ => CallOutcome::JsonRpcError,
            };
            (
                outcome,
                Some(format!("{} ({})", e.message, e.code)),
                Some(e.code),
            )
        }
        Some(Response {
            result: Some(r), ..
        }) => {
            let head = serde_json::from_str::<ResultHead<'_>>(r.get()).ok();
            match head {
                Some(ResultHead {
                    result_type: Some("input_required"),
                    ..
                }) => (CallOutcome::InputRequired, None, None),
                Some(ResultHead {
                    result_type: Some(other),
                    ..
                }) if other != "complete" => (
                    CallOutcome::JsonRpcError,
                    Some(format!("unknown resultType {other:?}")),
                    None,
                ),
                Some(ResultHead {
                    is_error: Some(true),
                    ..
                }) => (CallOutcome::ToolError, None, None),
                _ => (CallOutcome::Ok, None, None),
            }
        }
        _ => {
            let outcome = match status {
                429 => CallOutcome::RateLimited,
                503 => CallOutcome::Overloaded,
                408 | 504 => CallOutcome::TimedOut,
                _ => CallOutcome::TransportError,
            };
            let text = String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned();
            (outcome, Some(format!("HTTP {status}: {text}")), None)
        }
    };
    Answer {
        outcome,
        status,
        message,
        retry_after,
        code,
        body,
        first_outcome: outcome,
        attempts: 1,
        reopened: 0,
        listing: None,
        received: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(status: u16, body: &'static str) -> CallOutcome {
        classify(
            status,
            &HeaderMap::new(),
            Bytes::from_static(body.as_bytes()),
        )
        .outcome
    }

    #[test]
    fn outcomes_come_from_the_body() {
        let cases = [
            (
                200,
                r#"{"jsonrpc":"2.0","id":1,"result":{"content":[],"isError":false}}"#,
                CallOutcome::Ok,
            ),
            (
                200,
                r#"{"jsonrpc":"2.0","id":1,"result":{"content":[],"isError":true}}"#,
                CallOutcome::ToolError,
            ),
            (
                429,
                r#"{"jsonrpc":"2.0","id":1,"error":{"code":-32029,"message":"rate limited"}}"#,
                CallOutcome::RateLimited,
            ),
            (
                503,
                r#"{"jsonrpc":"2.0","id":1,"error":{"code":-32003,"message":"overloaded"}}"#,
                CallOutcome::Overloaded,
            ),
            (
                200,
                r#"{"jsonrpc":"2.0","id":1,"error":{"code":-32001,"message":"timed out"}}"#,
                CallOutcome::TimedOut,
            ),
            (
                200,
                r#"{"jsonrpc":"2.0","id":1,"error":{"code":-32602,"message":"unknown tool"}}"#,
                CallOutcome::JsonRpcError,
            ),
            (
                200,
                r#"{"jsonrpc":"2.0","id":1,"result":{"resultType":"complete","content":[]}}"#,
                CallOutcome::Ok,
            ),
            (
                200,
                r#"{"jsonrpc":"2.0","id":1,"result":{"resultType":"input_required","requestState":"s"}}"#,
                CallOutcome::InputRequired,
            ),
            (
                200,
                r#"{"jsonrpc":"2.0","id":1,"result":{"resultType":"surprise"}}"#,
                CallOutcome::JsonRpcError,
            ),
            (502, "Bad Gateway", CallOutcome::TransportError),
            (503, "", CallOutcome::Overloaded),
        ];
        for (status, body, expected) in cases {
            assert_eq!(outcome(status, body), expected, "{status} {body}");
        }
    }

    #[test]
    fn a_list_page_is_counted_and_its_cursor_read_without_building_it() {
        let page = |body: &'static str| {
            classify(200, &HeaderMap::new(), Bytes::from_static(body.as_bytes())).page("tools")
        };
        assert_eq!(
            page(
                r#"{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"a","inputSchema":{"type":"object","properties":{"x":{"type":"array"}}}},{"name":"b"}],"nextCursor":"c2"}}"#
            ),
            Some((2, Some("c2".to_owned())))
        );
        assert_eq!(
            page(r#"{"jsonrpc":"2.0","id":1,"result":{"tools":[],"nextCursor":""}}"#),
            Some((0, None)),
            "an empty cursor ends the walk"
        );
        assert_eq!(
            page(
                "event: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"tools\":[{}]}}\n\n"
            ),
            Some((1, None))
        );
        assert_eq!(
            page(r#"{"jsonrpc":"2.0","id":1,"error":{"code":-32602,"message":"bad cursor"}}"#),
            None
        );
    }

    #[test]
    fn sse_answers_are_parsed() {
        let sse = "data: \nid: 0/0\nretry: 3000\n\ndata: {\"jsonrpc\":\"2.0\",\"id\":3,\"result\":{\"content\":[],\"isError\":true}}\nid: 1/0\n\n";
        assert_eq!(outcome(200, sse), CallOutcome::ToolError);
        let notification_then_result = "data: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\",\"params\":{}}\n\ndata: {\"jsonrpc\":\"2.0\",\"id\":4,\"result\":{\"isError\":false}}\n\n";
        assert_eq!(outcome(200, notification_then_result), CallOutcome::Ok);
    }

    #[test]
    fn meta_rides_in_the_params_of_a_self_contained_request() {
        let meta = serde_json::json!({"io.modelcontextprotocol/protocolVersion": "2026-07-28"});
        let body = encode(Some(7), "tools/list", None, Some(&meta));
        let v: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["params"]["_meta"], meta);
        assert_eq!(v["id"], 7);
        let params = serde_json::json!({"name": "echo", "arguments": {"x": 1}});
        let body = encode(Some(8), "tools/call", Some(&params), Some(&meta));
        let v: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["params"]["name"], "echo");
        assert_eq!(v["params"]["arguments"]["x"], 1);
        assert_eq!(v["params"]["_meta"], meta);
        let body = encode(Some(9), "tools/call", Some(&params), None);
        let v: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["params"], params, "no _meta on a 2025 request");
        let body = encode(None, "notifications/initialized", None, None);
        let v: Value = serde_json::from_slice(&body).unwrap();
        assert!(v.get("id").is_none() && v.get("params").is_none());
    }

    #[test]
    fn header_values_that_are_not_plain_ascii_go_as_base64() {
        assert_eq!(header_value("postgres_query"), "postgres_query");
        assert_eq!(
            header_value("Hello, 世界"),
            "=?base64?SGVsbG8sIOS4lueVjA==?="
        );
        assert_eq!(header_value(" padded "), "=?base64?IHBhZGRlZCA=?=");
        assert_eq!(
            header_value("=?base64?abc?="),
            "=?base64?PT9iYXNlNjQ/YWJjPz0=?="
        );
    }
}
