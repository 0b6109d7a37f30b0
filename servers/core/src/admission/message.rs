//! What the admission stack reads of a POSTed message, and the JSON-RPC errors for one it
//! cannot take: a peek at the fields it needs, borrowed from the body, or a `tools/call`
//! in its common shape parsed once for the stack and the direct path.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::admission::AdmissionError;
use crate::admitted::call::ParsedCall;
use crate::jsonrpc::code;

/// The fields of a JSON-RPC message the stack needs, borrowed from the body.
#[derive(Deserialize)]
pub(super) struct Peek<'a> {
    #[serde(borrow, default)]
    pub(super) method: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub(super) id: Option<&'a RawValue>,
    #[serde(borrow, default)]
    pub(super) params: Option<&'a RawValue>,
    /// A response's (to a request the server sent): only whether there is one, `null`
    /// included (an `Option` would take `"result": null` for no result at all).
    #[serde(default, deserialize_with = "present")]
    result: bool,
    #[serde(default, deserialize_with = "present")]
    error: bool,
}

/// True for any value the field holds, `null` too (it is skipped without being built).
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    serde::de::IgnoredAny::deserialize(d).map(|_| true)
}

#[derive(Deserialize, Default)]
pub(super) struct ToolCallPeek {
    pub(super) name: Option<String>,
    pub(super) arguments: Option<Map<String, Value>>,
}

/// The shape of a `tools/call`'s params, borrowed: a name, and arguments that are an
/// object if given.
#[derive(Deserialize)]
struct CallShape<'a> {
    #[serde(borrow)]
    #[allow(dead_code, reason = "only its presence and type are checked")]
    name: Cow<'a, str>,
    #[serde(borrow, default)]
    arguments: Option<&'a RawValue>,
}

/// Why a `tools/call`'s params are not `{"name": "...", "arguments": {...}}` (-32602), if
/// they are not; checked without building the arguments.
pub(super) fn call_shape(params: Option<&RawValue>) -> Result<(), String> {
    let Some(raw) = params else {
        return Err("tools/call needs params: {\"name\": ..., \"arguments\": {...}}".to_owned());
    };
    if !raw.get().starts_with('{') {
        return Err("the params of tools/call must be an object".to_owned());
    }
    let shape: CallShape =
        serde_json::from_str(raw.get()).map_err(|e| format!("the params of tools/call: {e}"))?;
    match shape.arguments.map(RawValue::get) {
        None | Some("null") => Ok(()),
        Some(args) if args.starts_with('{') => Ok(()),
        Some(_) => Err("params.arguments of tools/call must be an object".to_owned()),
    }
}

/// What the stack reads of a POSTed message: a `tools/call` in its common shape, parsed
/// once for the stack and for the direct path after it, or a peek at any other message.
pub(super) enum Message<'a> {
    Call(ParsedCall),
    Other(Peek<'a>),
}

impl Message<'_> {
    /// Refuses what is no JSON-RPC message at all: a request or notification has a
    /// method, a response (to a request the server sent) a result or an error.
    pub(super) fn is_message(&self) -> Result<(), AdmissionError> {
        match self {
            Message::Other(p) if p.method.is_none() && !p.result && !p.error => {
                Err(AdmissionError::Malformed {
                    code: code::INVALID_REQUEST,
                    message: "not a JSON-RPC request, notification or response: no method (nor a result or an error)".to_owned(),
                    id: self.id(),
                })
            }
            _ => Ok(()),
        }
    }

    pub(super) fn is_request(&self) -> bool {
        match self {
            Message::Call(_) => true,
            Message::Other(peek) => peek.id.is_some() && peek.method.is_some(),
        }
    }

    pub(super) fn is_tool_call(&self) -> bool {
        match self {
            Message::Call(_) => true,
            Message::Other(peek) => {
                self.is_request() && peek.method.as_deref() == Some("tools/call")
            }
        }
    }

    /// The id to answer with (`null` when there is none).
    pub(super) fn id(&self) -> Value {
        match self {
            Message::Call(call) => serde_json::to_value(&call.id).unwrap_or(Value::Null),
            Message::Other(peek) => peek
                .id
                .and_then(|raw| serde_json::from_str(raw.get()).ok())
                .unwrap_or(Value::Null),
        }
    }

    /// The id as the audit trail writes it for admitted calls too: a string id as it is,
    /// a number in decimal.
    pub(super) fn request_id(&self) -> String {
        match self.id() {
            Value::String(id) => id,
            Value::Null => String::new(),
            id => id.to_string(),
        }
    }
}

/// JSON is UTF-8 (RFC 8259), and a peek skips what it does not read without checking it:
/// a body that is not is refused (-32700) before it is read.
pub(super) fn utf8(body: &[u8]) -> Result<(), AdmissionError> {
    std::str::from_utf8(body)
        .map(drop)
        .map_err(|e| AdmissionError::Malformed {
            code: code::PARSE_ERROR,
            message: format!("the body is not UTF-8: {e}"),
            id: Value::Null,
        })
}

/// A peek at a POSTed message, or why it is none: not JSON (-32700), or a batch, which
/// MCP no longer has (-32600).
pub(super) fn peek(body: &[u8]) -> Result<Peek<'_>, AdmissionError> {
    // An array is a batch whatever it holds (read as a peek, its items would be taken for
    // the fields: `["tools/call"]` as a method).
    if body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[') {
        return Err(AdmissionError::Malformed {
            code: code::INVALID_REQUEST,
            message: "JSON-RPC batches are not supported (removed in MCP 2025-06-18): send one message per POST".to_owned(),
            id: Value::Null,
        });
    }
    serde_json::from_slice(body).map_err(|e| AdmissionError::Malformed {
        code: if e.is_data() {
            code::INVALID_REQUEST
        } else {
            code::PARSE_ERROR
        },
        message: format!(
            "invalid JSON at line {} column {}: {e}",
            e.line(),
            e.column()
        ),
        id: Value::Null,
    })
}

/// The refusal of a POSTed message that is not an MCP client message: -32700 when the body
/// is not JSON that can be read (nested too deep, a lone surrogate escape, a number out of
/// range), else -32600 saying what is wrong, with the id when it is one.
pub(super) fn undeserializable(body: &[u8]) -> AdmissionError {
    let value = match serde_json::from_slice::<Value>(body) {
        Ok(value) => value,
        Err(e) => {
            return AdmissionError::Malformed {
                code: code::PARSE_ERROR,
                message: format!(
                    "invalid JSON at line {} column {}: {e}",
                    e.line(),
                    e.column()
                ),
                id: Value::Null,
            };
        }
    };
    let why = match serde_json::from_slice::<rmcp::model::ClientJsonRpcMessage>(body) {
        Err(e) => e.to_string(),
        Ok(_) => "not a message this server takes".to_owned(),
    };
    let id = match &value["id"] {
        id @ Value::String(_) => id.clone(),
        id @ Value::Number(n) if n.is_i64() || n.is_u64() => id.clone(),
        _ => Value::Null,
    };
    AdmissionError::Malformed {
        code: code::INVALID_REQUEST,
        message: format!("invalid JSON-RPC request: {why}"),
        id,
    }
}
