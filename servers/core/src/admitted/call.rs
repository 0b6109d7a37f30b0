//! The common parse of a request body: a `tools/call` in the shape nearly every call has,
//! parsed once, straight into rmcp's types, by the admission stack and handed on with the
//! admitted request; and the request form (legacy, or 2026-07-28's self-contained one)
//! that a body's request metadata gives it.

use rmcp::model::{
    CallToolRequestMethod, CallToolRequestParams, ClientCapabilities, JsonObject,
    JsonRpcVersion2_0, ProtocolVersion, RequestId,
};
use serde::Deserialize;
use serde::de::IgnoredAny;

/// The form of a request: what its headers allow, and what its body's metadata says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Form {
    /// No `MCP-Protocol-Version`, or a known version from before 2026-07-28: a call
    /// without request metadata, answered in the legacy shape.
    Legacy,
    /// `MCP-Protocol-Version: 2026-07-28`: a self-contained call (its `_meta` names the
    /// same revision) with the standard headers, answered with `resultType`.
    Current,
}

/// The shape nearly every call has, parsed straight into rmcp's types: exactly `jsonrpc`,
/// `id`, `method` and `params`; in `params` only `name`, `arguments` and, for a
/// 2026-07-28 call, `_meta` with exactly that revision's request metadata. rmcp's own
/// parse buffers the body and tries each message kind and each request method in turn,
/// which cost a tenth of the server's CPU per call; for this shape it yields the same
/// call (`direct/request/tests.rs`: `the_common_parse_agrees_with_rmcp`). Any other shape, a duplicate key or
/// other `_meta` included, is left to rmcp's parse (the direct path's `rmcp_call`).
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
pub(crate) struct RequestMetadata {
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
pub(crate) fn form_of(meta: Option<RequestMetadata>) -> Option<Form> {
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
