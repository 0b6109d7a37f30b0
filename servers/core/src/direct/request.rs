//! What the direct path takes: a POST whose headers rmcp's stateless path accepts without
//! a question, and a `tools/call` body parsed straight into rmcp's types.

use http::{HeaderMap, HeaderValue, Method, header};
use rmcp::model::{
    ClientJsonRpcMessage, ClientRequest, DiscoverRequestMethod, GetMeta, JsonRpcVersion2_0,
    ListToolsRequestMethod, ProtocolVersion, RequestId,
};
use serde::Deserialize;

use crate::admitted::call::{Form, ParsedCall, common_call};
use crate::admitted::call::{RequestMetadata, form_of};
use crate::admitted::is_json;

pub(super) const JSON: &str = "application/json";
const EVENT_STREAM: &str = "text/event-stream";
const PROTOCOL_VERSION: &str = "mcp-protocol-version";
const MCP_METHOD: &str = "mcp-method";
const MCP_NAME: &str = "mcp-name";
/// How a header value that is not plain visible ASCII is sent (rmcp decodes it).
const BASE64_HEADER_PREFIX: &str = "=?base64?";

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
