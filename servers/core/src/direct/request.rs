//! What the direct path takes: a POST whose headers rmcp's stateless path accepts without
//! a question, and a `tools/call` body parsed straight into rmcp's types.

use http::{HeaderMap, HeaderValue, Method, header};
use rmcp::model::{
    CallToolRequestMethod, CallToolRequestParams, ClientJsonRpcMessage, ClientRequest, GetMeta,
    JsonObject, JsonRpcVersion2_0, ProtocolVersion, RequestId,
};
use serde::Deserialize;

use crate::admission::is_json;

pub(super) const JSON: &str = "application/json";
const EVENT_STREAM: &str = "text/event-stream";
const PROTOCOL_VERSION: &str = "mcp-protocol-version";

/// A POST whose headers rmcp's stateless path accepts without a question: see the module
/// docs. Anything unusual is left to rmcp, which knows every rule.
pub(super) fn plain_post(method: &Method, headers: &HeaderMap) -> bool {
    method == Method::POST
        && is_json(headers)
        && accepts_json_and_sse(headers)
        && protocol_header_is_plain(headers)
}

/// Both media types listed, each without parameters that could exclude it. A header with
/// quotes or parameters is rmcp's to parse.
fn accepts_json_and_sse(headers: &HeaderMap) -> bool {
    let (mut json, mut sse) = (false, false);
    for value in headers.get_all(header::ACCEPT) {
        let Ok(value) = value.to_str() else {
            return false;
        };
        if value.contains(['"', ';']) {
            return false;
        }
        for essence in value.split(',').map(str::trim) {
            json |= essence.eq_ignore_ascii_case(JSON);
            sse |= essence.eq_ignore_ascii_case(EVENT_STREAM);
        }
    }
    json && sse
}

/// No header (rmcp assumes 2025-03-26), or one known version from before the standard
/// headers and request metadata.
fn protocol_header_is_plain(headers: &HeaderMap) -> bool {
    let mut values = headers.get_all(PROTOCOL_VERSION).iter();
    let Some(first) = values.next() else {
        return true;
    };
    values.next().is_none() && version_is_plain(first)
}

fn version_is_plain(value: &HeaderValue) -> bool {
    let Ok(version) = value.to_str() else {
        return false;
    };
    // 2026-07-28 brings both the standard headers and the request metadata.
    version < ProtocolVersion::V_2026_07_28.as_str()
        && version < ProtocolVersion::STANDARD_HEADERS.as_str()
        && ProtocolVersion::KNOWN_VERSIONS
            .iter()
            .any(|known| known.as_str() == version)
}

/// The call and its id, when the body is a `tools/call` request without per-request
/// protocol metadata.
pub(super) fn plain_tool_call(body: &[u8]) -> Option<(CallToolRequestParams, RequestId)> {
    common_call(body).or_else(|| rmcp_call(body))
}

/// The shape nearly every call has, parsed straight into rmcp's types: exactly `jsonrpc`,
/// `id`, `method` and `params`, and in `params` only `name` and `arguments`. rmcp's own
/// parse buffers the body and tries each message kind and each request method in turn,
/// which cost a tenth of the server's CPU per call; for this shape it yields the same
/// call (`tests::the_common_parse_agrees_with_rmcp`). Any other shape, a duplicate key or
/// `_meta` included, is left to [`rmcp_call`].
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CommonCall {
    #[serde(rename = "jsonrpc")]
    _jsonrpc: JsonRpcVersion2_0,
    id: RequestId,
    #[serde(rename = "method")]
    _method: CallToolRequestMethod,
    params: CommonParams,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CommonParams {
    name: String,
    arguments: Option<JsonObject>,
}

pub(crate) fn common_call(body: &[u8]) -> Option<(CallToolRequestParams, RequestId)> {
    let call: CommonCall = serde_json::from_slice(body).ok()?;
    let mut params = CallToolRequestParams::new(call.params.name);
    params.arguments = call.params.arguments;
    Some((params, call.id))
}

/// A call the admission stack has already parsed from this request's body with
/// [`common_call`], so that the body is parsed once.
#[derive(Clone)]
pub(crate) struct ParsedCall {
    pub params: CallToolRequestParams,
    pub id: RequestId,
}

/// rmcp's parse, for every shape [`common_call`] leaves.
fn rmcp_call(body: &[u8]) -> Option<(CallToolRequestParams, RequestId)> {
    let ClientJsonRpcMessage::Request(request) = serde_json::from_slice(body).ok()? else {
        return None;
    };
    if request.request.get_meta().protocol_version().is_some() {
        return None;
    }
    match request.request {
        ClientRequest::CallToolRequest(call) => Some((call.params, request.id)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                header::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        map
    }

    #[test]
    fn only_a_plain_accept_header_is_taken() {
        let plain = |v: &[&str]| {
            let pairs: Vec<_> = v.iter().map(|v| ("accept", *v)).collect();
            accepts_json_and_sse(&headers(&pairs))
        };
        assert!(plain(&["application/json, text/event-stream"]));
        assert!(plain(&["Application/JSON", "text/event-stream"]));
        assert!(!plain(&["application/json"]));
        assert!(!plain(&["text/event-stream"]));
        assert!(!plain(&[]));
        // A quality value may exclude a type: rmcp decides.
        assert!(!plain(&["application/json;q=0, text/event-stream"]));
        assert!(!plain(&["application/json, text/event-stream;q=1"]));
        assert!(!plain(&[r#"application/json, text/event-stream, x/"y,z""#]));
    }

    #[test]
    fn only_known_versions_before_standard_headers_are_taken() {
        let plain = |v: &[&str]| {
            let pairs: Vec<_> = v.iter().map(|v| ("mcp-protocol-version", *v)).collect();
            protocol_header_is_plain(&headers(&pairs))
        };
        assert!(plain(&[]));
        assert!(plain(&["2025-11-25"]));
        assert!(plain(&["2025-06-18"]));
        assert!(plain(&["2025-03-26"]));
        assert!(!plain(&["2026-07-28"]));
        assert!(!plain(&["2099-01-01"]));
        assert!(!plain(&["2025-11-24"]));
        assert!(!plain(&["latest"]));
        assert!(!plain(&["2025-11-25", "2025-06-18"]));
    }

    #[test]
    fn the_common_parse_agrees_with_rmcp() {
        let call =
            |rest: &str| format!(r#"{{"jsonrpc":"2.0","id":7,"method":"tools/call",{rest}}}"#);
        let taken = [
            call(r#""params":{"name":"postgres_query","arguments":{"query":"SELECT $1","params":[1,2.5,-3,12345678901234567890,-9223372036854775808,1e2,true,null]}}"#),
            call(r#""params":{"name":"t","arguments":{"a":1,"a":{"b":[2]}}}"#),
            call(r#""params":{"name":"t","arguments":null}"#),
            call(r#""params":{"name":"n\u00e9\"x\n","arguments":{"k\u0000":"\ud83d\ude00"}}"#),
            call(r#""params":{"name":""}"#),
            r#"{"params":{"arguments":{},"name":"t"},"method":"tools/call","id":"a\"b","jsonrpc":"2.0"}"#.to_owned(),
            r#" {"jsonrpc":"2.0","id":1.0,"method":"tools/call","params":{"name":"t"}} "#.to_owned(),
            r#"{"jsonrpc":"2.0","id":-1e3,"method":"tools/call","params":{"name":"t"}}"#.to_owned(),
        ];
        let left = [
            call(r#""params":{"name":"t","_meta":{"progressToken":1}}"#),
            call(r#""params":{"name":"t","requestState":"s"}"#),
            call(r#""params":{"name":"t","inputResponses":{}}"#),
            call(r#""params":{"name":"t"},"extra":1"#),
            call(r#""params":{"name":"t"},"result":{}"#),
            call(r#""params":{"name":"t"},"id":8"#),
            call(r#""params":{"name":"t","name":"u"}"#),
            call(r#""params":{"name":"t","arguments":[1]}"#),
            call(r#""params":{"arguments":{}}"#),
            call(r#""params":null"#),
            r#"{"jsonrpc":"2.0","id":1.5,"method":"tools/call","params":{"name":"t"}}"#.to_owned(),
            r#"{"jsonrpc":"2.0","id":null,"method":"tools/call","params":{"name":"t"}}"#.to_owned(),
            r#"{"jsonrpc":"1.0","id":1,"method":"tools/call","params":{"name":"t"}}"#.to_owned(),
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"name":"t"}}"#.to_owned(),
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"t"}} x"#.to_owned(),
            r#"[{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"t"}}]"#.to_owned(),
        ];
        for body in &taken {
            let common = common_call(body.as_bytes());
            assert!(common.is_some(), "the common parse should take {body}");
            assert_eq!(common, rmcp_call(body.as_bytes()), "{body}");
        }
        for body in &left {
            assert!(
                common_call(body.as_bytes()).is_none(),
                "{body} is rmcp's to parse"
            );
        }
        // What the common parse leaves still reaches the direct path through rmcp's parse.
        assert!(plain_tool_call(left[0].as_bytes()).is_some());
    }

    #[test]
    fn only_tool_calls_without_request_metadata_are_taken() {
        let call = br#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"t","arguments":{"a":1}}}"#;
        let (params, id) = plain_tool_call(call).unwrap();
        assert_eq!(params.name, "t");
        assert_eq!(id, rmcp::model::NumberOrString::Number(7));
        let with_meta = br#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"t","_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}"#;
        assert!(plain_tool_call(with_meta).is_none());
        let list = br#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#;
        assert!(plain_tool_call(list).is_none());
        let notification = br#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#;
        assert!(plain_tool_call(notification).is_none());
        assert!(plain_tool_call(b"{not json").is_none());
        let no_name = br#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{}}"#;
        assert!(plain_tool_call(no_name).is_none());
    }
}
