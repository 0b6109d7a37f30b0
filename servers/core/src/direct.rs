//! Stateless `tools/call` answered straight from the handler.
//!
//! In stateless JSON mode rmcp serves every POST by building a whole service for it: a
//! one-message transport, a serve loop task, a handler task, a response task, channels and
//! a cancellation-token tree, all torn down after one answer. For the call that carries the
//! load (`tools/call`) that machinery costs more server CPU than our whole admission stack.
//! This service answers such a call itself, with rmcp's own message types and the same
//! handler method rmcp would call (`McpHandler::call`), and hands everything else to rmcp
//! untouched.
//!
//! It only takes a request whose answer rmcp's stateless path would compute the same way:
//! a POST with `Content-Type: application/json`, an `Accept` that plainly lists both
//! `application/json` and `text/event-stream`, no `MCP-Protocol-Version` header or a known
//! version older than the one that adds standard headers and request metadata
//! (2026-07-28), and a body that parses as a `tools/call` request without a protocol
//! version in `_meta`. Anything else, down to an `Accept` with quality values, goes to
//! rmcp, which checks and answers it. The answer is a `200 application/json` JSON-RPC
//! response or error, as rmcp sends it; `tests/direct.rs` compares the two paths.
//! As under rmcp, the call runs in a task of its own, so a client that goes away does not
//! cut it short: it ends at its deadline at the latest and leaves its audit record.

use std::convert::Infallible;
use std::fmt::Display;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::BoxError;
use bytes::Bytes;
use futures::FutureExt as _;
use futures::future::{self, BoxFuture};
use http::request::Parts;
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode, header};
use http_body::Body;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Either, Full};
use rmcp::model::{
    CallToolRequestMethod, CallToolRequestParams, ClientJsonRpcMessage, ClientRequest, GetMeta,
    JsonObject, JsonRpcMessage, JsonRpcVersion2_0, ProtocolVersion, RequestId,
    ServerJsonRpcMessage, ServerResult,
};
use rmcp::transport::streamable_http_server::StreamableHttpService;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use serde::Deserialize;
use tower::Service;

use crate::admission::{Admitted, is_json};
use crate::handler::McpHandler;

/// rmcp's Streamable HTTP service as the tiers mount it.
pub type Rmcp = StreamableHttpService<McpHandler, LocalSessionManager>;

/// rmcp's response type.
pub type BoxResponse = Response<BoxBody<Bytes, Infallible>>;

/// The body of an answer to an admitted request: the direct path's JSON, or rmcp's body.
pub type AnswerBody = Either<Full<Bytes>, BoxBody<Bytes, Infallible>>;

const JSON: &str = "application/json";
const EVENT_STREAM: &str = "text/event-stream";
const PROTOCOL_VERSION: &str = "mcp-protocol-version";

/// Answers plain stateless `tools/call` requests itself and passes the rest to rmcp.
/// With `enabled` false it only passes requests on. rmcp is shared, not cloned per
/// request: its `handle` takes `&self`, and a clone would copy its whole configuration.
///
/// Behind the admission stack it is called through [`DirectCalls::serve_admitted`], with
/// the body the stack collected and the call it parsed; as a tower service (`--bare`, no
/// stack) it reads the request itself.
#[derive(Clone)]
pub struct DirectCalls {
    handler: McpHandler,
    rmcp: Arc<Rmcp>,
    enabled: bool,
    max_body_bytes: usize,
}

impl DirectCalls {
    /// `enabled` must only be true for rmcp's stateless JSON mode without required
    /// request metadata (the default), whose answers this service reproduces.
    pub fn new(handler: McpHandler, rmcp: Rmcp, enabled: bool, max_body_bytes: usize) -> Self {
        DirectCalls {
            handler,
            rmcp: Arc::new(rmcp),
            enabled,
            max_body_bytes,
        }
    }

    /// Whether plain `tools/call` requests are answered here (so worth parsing early).
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// Answers a request the admission stack let in: `body` is its collected body and
    /// `call` the `tools/call` the stack parsed from it, if it had the common shape.
    /// What the direct path does not take goes to rmcp with `admitted` in its extensions,
    /// where the handler finds it.
    ///
    /// Not an `async fn`: the future it returns holds only what its path needs (the tool
    /// call's task, or rmcp's boxed future), not the arguments and both paths' states.
    pub(crate) fn serve_admitted(
        self,
        mut parts: Parts,
        body: Bytes,
        admitted: Admitted,
        call: Option<ParsedCall>,
    ) -> impl Future<Output = Response<AnswerBody>> + Send + 'static {
        if self.enabled && plain_post(&parts.method, &parts.headers) {
            let parsed = match call {
                Some(ParsedCall { params, id }) => Some((params, id)),
                None => plain_tool_call(&body),
            };
            if let Some((call, id)) = parsed {
                let answer = self.answer(call, id, admitted);
                return future::Either::Left(answer.map(|response| response.map(Either::Left)));
            }
        }
        parts.extensions.insert(admitted);
        let request = Request::from_parts(parts, Full::new(body));
        let rmcp = self.rmcp;
        future::Either::Right(Box::pin(async move {
            rmcp.handle(request).await.map(Either::Right)
        }))
    }

    /// A `tools/call` answered with the handler method rmcp would call. The call runs in a
    /// task of its own, spawned at once, as under rmcp: a client that goes away drops the
    /// returned future, not the call, which still ends at its deadline and leaves its
    /// audit record.
    fn answer(
        &self,
        call: CallToolRequestParams,
        id: RequestId,
        admitted: Admitted,
    ) -> impl Future<Output = Response<Full<Bytes>>> + Send + use<> {
        let handler = self.handler.clone();
        let task = tokio::spawn(async move {
            let answer = handler.call(call, &admitted, &id).await;
            (answer, id)
        });
        async move {
            let Ok((answer, id)) = task.await else {
                return plain_response(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Internal Server Error: the tool call failed without an answer".to_owned(),
                );
            };
            let message: ServerJsonRpcMessage = match answer {
                Ok(answer) => {
                    // What rmcp's handler dispatch does for a peer before 2026-07-28, the
                    // only kind this path takes.
                    let mut result = ServerResult::from(answer);
                    result.strip_result_type_for_legacy_peer();
                    result.strip_non_object_output_for_legacy_peer();
                    JsonRpcMessage::response(result, id)
                }
                Err(error) => JsonRpcMessage::error(error, Some(id)),
            };
            json_response(&message)
        }
    }
}

impl<B> Service<Request<B>> for DirectCalls
where
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Display + Into<BoxError>,
{
    type Response = BoxResponse;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<BoxResponse, Infallible>>;

    /// Always ready, as rmcp's service is.
    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let this = self.clone();
        if !(self.enabled && plain_post(request.method(), request.headers())) {
            return Box::pin(async move { Ok(this.rmcp.handle(request).await) });
        }
        Box::pin(async move {
            let (parts, body) = request.into_parts();
            let bytes = match collect(body, this.max_body_bytes).await {
                Ok(bytes) => bytes,
                Err(response) => return Ok(response.map(BodyExt::boxed)),
            };
            let Some((call, id)) = plain_tool_call(&bytes) else {
                let request = Request::from_parts(parts, Full::new(bytes));
                return Ok(Box::pin(this.rmcp.handle(request)).await);
            };
            let admitted = Admitted::of(&parts);
            Ok(this.answer(call, id, admitted).await.map(BodyExt::boxed))
        })
    }
}

/// A POST whose headers rmcp's stateless path accepts without a question: see the module
/// docs. Anything unusual is left to rmcp, which knows every rule.
fn plain_post(method: &Method, headers: &HeaderMap) -> bool {
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

/// The body, read up to the cap; over it, the answer rmcp gives.
async fn collect<B>(body: B, max: usize) -> Result<Bytes, Response<Full<Bytes>>>
where
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    match http_body_util::Limited::new(body, max).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(plain_response(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("Payload Too Large: request body exceeds {max} bytes"),
        )),
        Err(e) => Err(plain_response(
            StatusCode::BAD_REQUEST,
            format!("Bad Request: failed to read request body: {e}"),
        )),
    }
}

/// The call and its id, when the body is a `tools/call` request without per-request
/// protocol metadata.
fn plain_tool_call(body: &[u8]) -> Option<(CallToolRequestParams, RequestId)> {
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

fn json_response(message: &ServerJsonRpcMessage) -> Response<Full<Bytes>> {
    match serde_json::to_vec(message) {
        Ok(body) => {
            let mut response = Response::new(Full::new(Bytes::from(body)));
            response
                .headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static(JSON));
            response
        }
        Err(e) => plain_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("Internal Server Error: serialize json response: {e}"),
        ),
    }
}

fn plain_response(status: StatusCode, text: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(text)));
    *response.status_mut() = status;
    response
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
