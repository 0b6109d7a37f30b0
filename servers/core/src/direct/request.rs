//! What the direct path takes: a POST whose headers rmcp's stateless path accepts without
//! a question, and a `tools/call` body parsed straight into rmcp's types.

use http::{HeaderMap, HeaderValue, Method, header};
use rmcp::model::{
    CallToolRequestMethod, CallToolRequestParams, ClientCapabilities, ClientJsonRpcMessage,
    ClientRequest, DiscoverRequestMethod, GetMeta, JsonObject, JsonRpcVersion2_0,
    ListToolsRequestMethod, ProtocolVersion, RequestId,
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
    let form = form_of(call.params.meta)?;
    let mut params = CallToolRequestParams::new(call.params.name);
    params.arguments = call.params.arguments;
    Some(ParsedCall {
        params,
        id: call.id,
        form,
    })
}

/// The form a body's request metadata gives it: none is the legacy form; 2026-07-28's is
/// the current one; any other revision is rmcp's to judge.
fn form_of(meta: Option<RequestMetadata>) -> Option<Form> {
    match meta {
        None => Some(Form::Legacy),
        Some(meta) if meta.protocol_version == ProtocolVersion::V_2026_07_28 => Some(Form::Current),
        Some(_) => None,
    }
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
pub(super) fn rmcp_call(body: &[u8]) -> Option<ParsedCall> {
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

/// A `tools/list` request in its common shape: `params` absent, or holding only `cursor`
/// and, for a 2026-07-28 request, its request metadata (as [`CommonParams`]).
#[derive(Clone, Debug, PartialEq)]
pub(super) struct ParsedList {
    pub cursor: Option<String>,
    pub id: RequestId,
    pub form: Form,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CommonList {
    #[serde(rename = "jsonrpc")]
    _jsonrpc: JsonRpcVersion2_0,
    id: RequestId,
    #[serde(rename = "method")]
    _method: ListToolsRequestMethod,
    #[serde(default)]
    params: Option<ListParams>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListParams {
    cursor: Option<String>,
    #[serde(rename = "_meta")]
    meta: Option<RequestMetadata>,
}

pub(super) fn common_list(body: &[u8]) -> Option<ParsedList> {
    let list: CommonList = serde_json::from_slice(body).ok()?;
    let (cursor, meta) = match list.params {
        Some(params) => (params.cursor, params.meta),
        None => (None, None),
    };
    Some(ParsedList {
        cursor,
        id: list.id,
        form: form_of(meta)?,
    })
}

/// Whether the direct path answers `list` under headers of `form`: the same form, and
/// for 2026-07-28 an `Mcp-Method: tools/list` header (the method names nothing else).
pub(super) fn list_taken(form: Form, list: &ParsedList, headers: &HeaderMap) -> bool {
    list.form == form && (form == Form::Legacy || single(headers, MCP_METHOD) == Some("tools/list"))
}

/// A `server/discover` request in its common shape: `params` holding only the request
/// metadata of 2026-07-28, the revision whose lifecycle it belongs to.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct ParsedDiscover {
    pub id: RequestId,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CommonDiscover {
    #[serde(rename = "jsonrpc")]
    _jsonrpc: JsonRpcVersion2_0,
    id: RequestId,
    #[serde(rename = "method")]
    _method: DiscoverRequestMethod,
    params: DiscoverParams,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DiscoverParams {
    #[serde(rename = "_meta")]
    meta: RequestMetadata,
}

pub(super) fn common_discover(body: &[u8]) -> Option<ParsedDiscover> {
    let discover: CommonDiscover = serde_json::from_slice(body).ok()?;
    (form_of(Some(discover.params.meta))? == Form::Current)
        .then_some(ParsedDiscover { id: discover.id })
}

/// Whether the direct path answers a discover under headers of `form`: 2026-07-28's, with
/// `Mcp-Method: server/discover`.
pub(super) fn discover_taken(form: Form, headers: &HeaderMap) -> bool {
    form == Form::Current && single(headers, MCP_METHOD) == Some("server/discover")
}

#[cfg(test)]
mod tests;
