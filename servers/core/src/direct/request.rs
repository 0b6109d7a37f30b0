//! What the direct path takes: a POST whose headers rmcp's stateless path accepts without
//! a question, and a `tools/call` body parsed straight into rmcp's types.

use http::{HeaderMap, HeaderValue, Method, header};
use rmcp::model::{
    CallToolRequestMethod, CallToolRequestParams, ClientCapabilities, ClientJsonRpcMessage,
    ClientRequest, GetMeta, JsonObject, JsonRpcVersion2_0, ProtocolVersion, RequestId,
};
use serde::Deserialize;
use serde::de::IgnoredAny;

use crate::admitted::is_json;

pub(super) const JSON: &str = "application/json";
const EVENT_STREAM: &str = "text/event-stream";
const PROTOCOL_VERSION: &str = "mcp-protocol-version";
const MCP_METHOD: &str = "mcp-method";
const MCP_NAME: &str = "mcp-name";
/// How a header value that is not plain visible ASCII is sent (rmcp decodes it).
const BASE64_HEADER_PREFIX: &str = "=?base64?";

/// The request form a POST's headers allow the direct path to take.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Form {
    /// No `MCP-Protocol-Version`, or a known version from before 2026-07-28: a call
    /// without request metadata, answered in the legacy shape.
    Legacy,
    /// `MCP-Protocol-Version: 2026-07-28`: a self-contained call (its `_meta` names the
    /// same revision) with the standard headers, answered with `resultType`.
    Current,
}

/// A POST whose headers rmcp's stateless path accepts without a question, and the form
/// of call they admit: see the module docs. Anything unusual is left to rmcp, which knows
/// every rule.
pub(super) fn plain_post(method: &Method, headers: &HeaderMap) -> Option<Form> {
    if !(method == Method::POST && is_json(headers) && accepts_json_and_sse(headers)) {
        return None;
    }
    let mut values = headers.get_all(PROTOCOL_VERSION).iter();
    let Some(first) = values.next() else {
        // rmcp assumes 2025-03-26.
        return Some(Form::Legacy);
    };
    if values.next().is_some() {
        return None;
    }
    if version_is_plain(first) {
        Some(Form::Legacy)
    } else if first.as_bytes() == ProtocolVersion::V_2026_07_28.as_str().as_bytes() {
        Some(Form::Current)
    } else {
        None
    }
}

/// Whether the direct path answers `call` under headers of `form`: a legacy call under
/// legacy headers; a 2026-07-28 call whose `Mcp-Method` and `Mcp-Name` headers say what
/// its body says, to a tool whose schema mirrors no argument into an `Mcp-Param-*`
/// header (`mirrors_params`). What rmcp would refuse, or checks in ways not repeated
/// here (a Base64-encoded name, parameter headers), is rmcp's to answer.
pub(super) fn taken(
    form: Form,
    call: &ParsedCall,
    headers: &HeaderMap,
    mirrors_params: impl FnOnce(&str) -> bool,
) -> bool {
    if call.form != form {
        return false;
    }
    match form {
        Form::Legacy => true,
        Form::Current => {
            let name = call.params.name.as_ref();
            single(headers, MCP_METHOD) == Some("tools/call")
                && single(headers, MCP_NAME)
                    .is_some_and(|v| v == name && !v.starts_with(BASE64_HEADER_PREFIX))
                && !mirrors_params(name)
        }
    }
}

/// The one value of a header, if it has exactly one and it is visible ASCII.
fn single<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    let mut values = headers.get_all(name).iter();
    let first = values.next()?;
    if values.next().is_some() {
        return None;
    }
    first.to_str().ok()
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

fn version_is_plain(value: &HeaderValue) -> bool {
    let Ok(version) = value.to_str() else {
        return false;
    };
    // 2026-07-28 brings the standard headers and the request metadata: `Form::Current`.
    version < ProtocolVersion::V_2026_07_28.as_str()
        && version < ProtocolVersion::STANDARD_HEADERS.as_str()
        && ProtocolVersion::KNOWN_VERSIONS
            .iter()
            .any(|known| known.as_str() == version)
}

/// The call and its id, when the body is a `tools/call` request: in the common shape
/// (either form), or any other shape without request metadata (through rmcp's parse).
pub(super) fn plain_tool_call(body: &[u8]) -> Option<ParsedCall> {
    common_call(body).or_else(|| rmcp_call(body))
}

/// The shape nearly every call has, parsed straight into rmcp's types: exactly `jsonrpc`,
/// `id`, `method` and `params`; in `params` only `name`, `arguments` and, for a
/// 2026-07-28 call, `_meta` with exactly that revision's request metadata. rmcp's own
/// parse buffers the body and tries each message kind and each request method in turn,
/// which cost a tenth of the server's CPU per call; for this shape it yields the same
/// call (`tests::the_common_parse_agrees_with_rmcp`). Any other shape, a duplicate key or
/// other `_meta` included, is left to [`rmcp_call`].
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
    #[serde(rename = "_meta")]
    meta: Option<RequestMetadata>,
}

/// A 2026-07-28 request's metadata, as rmcp reads it: the revision and the client's
/// capabilities (required, and well-formed), the client's identity (optional; rmcp
/// does not judge it for a tool call).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RequestMetadata {
    #[serde(rename = "io.modelcontextprotocol/protocolVersion")]
    protocol_version: ProtocolVersion,
    #[serde(rename = "io.modelcontextprotocol/clientCapabilities")]
    _client_capabilities: ClientCapabilities,
    #[serde(rename = "io.modelcontextprotocol/clientInfo")]
    _client_info: Option<IgnoredAny>,
}

pub(crate) fn common_call(body: &[u8]) -> Option<ParsedCall> {
    let call: CommonCall = serde_json::from_slice(body).ok()?;
    let form = match call.params.meta {
        None => Form::Legacy,
        Some(meta) if meta.protocol_version == ProtocolVersion::V_2026_07_28 => Form::Current,
        Some(_) => return None,
    };
    let mut params = CallToolRequestParams::new(call.params.name);
    params.arguments = call.params.arguments;
    Some(ParsedCall {
        params,
        id: call.id,
        form,
    })
}

/// A `tools/call` parsed from a request's body, in the form its body has; the admission
/// stack parses it with [`common_call`] and hands it on, so that the body is parsed once.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct ParsedCall {
    pub params: CallToolRequestParams,
    pub id: RequestId,
    pub form: Form,
}

/// rmcp's parse, for every shape [`common_call`] leaves that has no request metadata.
fn rmcp_call(body: &[u8]) -> Option<ParsedCall> {
    let ClientJsonRpcMessage::Request(request) = serde_json::from_slice(body).ok()? else {
        return None;
    };
    if request.request.get_meta().protocol_version().is_some() {
        return None;
    }
    match request.request {
        ClientRequest::CallToolRequest(call) => Some(ParsedCall {
            params: call.params,
            id: request.id,
            form: Form::Legacy,
        }),
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
    fn the_protocol_header_decides_the_form() {
        let form = |v: &[&str]| {
            let mut pairs: Vec<_> = v.iter().map(|v| ("mcp-protocol-version", *v)).collect();
            pairs.push(("content-type", "application/json"));
            pairs.push(("accept", "application/json, text/event-stream"));
            plain_post(&Method::POST, &headers(&pairs))
        };
        assert_eq!(form(&[]), Some(Form::Legacy));
        assert_eq!(form(&["2025-11-25"]), Some(Form::Legacy));
        assert_eq!(form(&["2025-06-18"]), Some(Form::Legacy));
        assert_eq!(form(&["2025-03-26"]), Some(Form::Legacy));
        assert_eq!(form(&["2026-07-28"]), Some(Form::Current));
        assert_eq!(form(&["2099-01-01"]), None);
        assert_eq!(form(&["2025-11-24"]), None);
        assert_eq!(form(&["latest"]), None);
        assert_eq!(form(&["2025-11-25", "2025-06-18"]), None);
        assert_eq!(form(&["2026-07-28", "2026-07-28"]), None);
        let json_only = headers(&[
            ("content-type", "application/json"),
            ("accept", "application/json"),
        ]);
        assert_eq!(plain_post(&Method::POST, &json_only), None);
        let get = headers(&[
            ("content-type", "application/json"),
            ("accept", "application/json, text/event-stream"),
        ]);
        assert_eq!(plain_post(&Method::GET, &get), None);
    }

    /// rmcp's own parse of any message: the call, its id and the revision in its `_meta`.
    fn rmcp_parse(
        body: &str,
    ) -> Option<(CallToolRequestParams, RequestId, Option<ProtocolVersion>)> {
        let ClientJsonRpcMessage::Request(request) = serde_json::from_str(body).ok()? else {
            return None;
        };
        let version = request.request.get_meta().protocol_version();
        match request.request {
            ClientRequest::CallToolRequest(call) => Some((call.params, request.id, version)),
            _ => None,
        }
    }

    const META: &str = r#""_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{},"io.modelcontextprotocol/clientInfo":{"name":"c","version":"1"}}"#;

    #[test]
    fn the_common_parse_agrees_with_rmcp() {
        let call =
            |rest: &str| format!(r#"{{"jsonrpc":"2.0","id":7,"method":"tools/call",{rest}}}"#);
        let meta = |m: &str| {
            call(&format!(
                r#""params":{{"name":"t","arguments":{{"a":1}},"_meta":{m}}}"#
            ))
        };
        let taken = [
            call(r#""params":{"name":"postgres_query","arguments":{"query":"SELECT $1","params":[1,2.5,-3,12345678901234567890,-9223372036854775808,1e2,true,null]}}"#),
            call(r#""params":{"name":"t","arguments":{"a":1,"a":{"b":[2]}}}"#),
            call(r#""params":{"name":"t","arguments":null}"#),
            call(r#""params":{"name":"n\u00e9\"x\n","arguments":{"k\u0000":"\ud83d\ude00"}}"#),
            call(r#""params":{"name":""}"#),
            r#"{"params":{"arguments":{},"name":"t"},"method":"tools/call","id":"a\"b","jsonrpc":"2.0"}"#.to_owned(),
            r#" {"jsonrpc":"2.0","id":1.0,"method":"tools/call","params":{"name":"t"}} "#.to_owned(),
            r#"{"jsonrpc":"2.0","id":-1e3,"method":"tools/call","params":{"name":"t"}}"#.to_owned(),
            // 2026-07-28: the request metadata, with or without the client's identity.
            call(&format!(r#""params":{{"name":"t","arguments":{{"a":1}},{META}}}"#)),
            call(&format!(r#""params":{{{META},"name":"t"}}"#)),
            meta(r#"{"io.modelcontextprotocol/clientCapabilities":{"elicitation":{}},"io.modelcontextprotocol/protocolVersion":"2026-07-28"}"#),
            meta(r#"{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{},"io.modelcontextprotocol/clientInfo":null}"#),
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
            // Request metadata other than exactly 2026-07-28's, or malformed: rmcp judges it.
            meta(r#"{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}"#),
            meta(
                r#"{"io.modelcontextprotocol/protocolVersion":"2025-11-25","io.modelcontextprotocol/clientCapabilities":{}}"#,
            ),
            meta(
                r#"{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":[]}"#,
            ),
            meta(
                r#"{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{},"progressToken":1}"#,
            ),
            meta(
                r#"{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}"#,
            ),
            meta(
                r#"{"io.modelcontextprotocol/protocolVersion":7,"io.modelcontextprotocol/clientCapabilities":{}}"#,
            ),
        ];
        for body in &taken {
            let common = common_call(body.as_bytes());
            let Some(common) = common else {
                panic!("the common parse should take {body}");
            };
            let (params, id, version) = rmcp_parse(body).expect("rmcp parses it");
            assert_eq!(
                (&common.params.name, &common.params.arguments, &common.id),
                (&params.name, &params.arguments, &id),
                "{body}"
            );
            let expected = match version {
                None => Form::Legacy,
                Some(v) => {
                    assert_eq!(v, ProtocolVersion::V_2026_07_28, "{body}");
                    Form::Current
                }
            };
            assert_eq!(common.form, expected, "{body}");
            if common.form == Form::Legacy {
                assert_eq!(Some(common), rmcp_call(body.as_bytes()), "{body}");
            }
        }
        for body in &left {
            assert!(
                common_call(body.as_bytes()).is_none(),
                "{body} is rmcp's to parse"
            );
        }
        // What the common parse leaves still reaches the direct path through rmcp's parse,
        // unless it carries request metadata.
        assert!(plain_tool_call(left[0].as_bytes()).is_some());
        let older_meta = &left[left.len() - 5];
        assert!(older_meta.contains("2025-11-25"));
        assert!(plain_tool_call(older_meta.as_bytes()).is_none());
        // A protocol version rmcp cannot read is no version to it: a legacy call.
        let unreadable = left.last().unwrap();
        assert_eq!(
            plain_tool_call(unreadable.as_bytes()).map(|c| c.form),
            Some(Form::Legacy)
        );
    }

    #[test]
    fn a_current_call_is_taken_only_under_matching_standard_headers() {
        let body = format!(
            r#"{{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{{"name":"postgres_query",{META}}}}}"#
        );
        let call = common_call(body.as_bytes()).unwrap();
        let legacy = common_call(
            br#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"postgres_query"}}"#,
        )
        .unwrap();
        let with = |extra: &[(&str, &str)]| headers(extra);
        let standard = [("mcp-method", "tools/call"), ("mcp-name", "postgres_query")];
        let never = |_: &str| false;
        assert!(taken(Form::Current, &call, &with(&standard), never));
        assert!(taken(Form::Legacy, &legacy, &with(&[]), never));
        // A body in the other form than its headers: rmcp's (it answers a mismatch).
        assert!(!taken(Form::Legacy, &call, &with(&standard), never));
        assert!(!taken(Form::Current, &legacy, &with(&standard), never));
        // Missing, wrong, repeated or encoded standard headers.
        assert!(!taken(Form::Current, &call, &with(&standard[..1]), never));
        assert!(!taken(Form::Current, &call, &with(&standard[1..]), never));
        assert!(!taken(
            Form::Current,
            &call,
            &with(&[("mcp-method", "tools/list"), standard[1]]),
            never
        ));
        assert!(!taken(
            Form::Current,
            &call,
            &with(&[standard[0], ("mcp-name", "file_read")]),
            never
        ));
        assert!(!taken(
            Form::Current,
            &call,
            &with(&[standard[0], standard[1], standard[1]]),
            never
        ));
        assert!(!taken(
            Form::Current,
            &call,
            &with(&[standard[0], ("mcp-name", "=?base64?cG9zdGdyZXNfcXVlcnk=?=")]),
            never
        ));
        // A tool that mirrors arguments into Mcp-Param-* headers.
        assert!(!taken(Form::Current, &call, &with(&standard), |name| name
            == "postgres_query"));
    }

    #[test]
    fn only_tool_calls_without_request_metadata_are_taken() {
        let call = br#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"t","arguments":{"a":1}}}"#;
        let parsed = plain_tool_call(call).unwrap();
        assert_eq!(parsed.params.name, "t");
        assert_eq!(parsed.id, rmcp::model::NumberOrString::Number(7));
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
