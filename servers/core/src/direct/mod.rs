//! Stateless `tools/call` and `tools/list` answered straight from the handler.
//!
//! In stateless JSON mode rmcp serves every POST by building a whole service for it: a
//! one-message transport, a serve loop task, a handler task, a response task, channels and
//! a cancellation-token tree, all torn down after one answer. For the call that carries the
//! load (`tools/call`) that machinery costs more server CPU than our whole admission stack.
//! This service answers such a call itself, with rmcp's own message types and the same
//! handler method rmcp would call (`McpHandler::call`), a `tools/list` (agents list
//! before they call, and the list grows with the tools) with `McpHandler::list`, and a
//! 2026-07-28 `server/discover` (a client's first request) with `McpHandler::discovery`;
//! it hands everything else to rmcp untouched.
//!
//! It only takes a request whose answer rmcp's stateless path would compute the same way
//! (`request.rs`): a POST with `Content-Type: application/json`, an `Accept` that plainly
//! lists both `application/json` and `text/event-stream`, and a `tools/call` body in one of
//! two forms (a `tools/list` likewise, with only `cursor` in its params, and for
//! 2026-07-28 `Mcp-Method: tools/list`):
//! - legacy: no `MCP-Protocol-Version` header or a known version older than 2026-07-28,
//!   and no protocol version in the body's `_meta`; answered as rmcp answers a peer before
//!   2026-07-28 (no `resultType`, errors with 200);
//! - 2026-07-28: that version in the header and in the body's request metadata (exactly
//!   the revision, the client's capabilities and optionally its identity), `Mcp-Method` and
//!   `Mcp-Name` saying what the body says, and a tool that mirrors no argument into a
//!   header; answered as rmcp's per-request path answers it (`resultType`, and the HTTP
//!   status rmcp gives each JSON-RPC error).
//!
//! Anything else, down to an `Accept` with quality values or a Base64-encoded name, goes to
//! rmcp, which checks and answers it. The answer is an `application/json` JSON-RPC
//! response or error, as rmcp sends it; `servers/local/tests/it/direct.rs` compares the two
//! paths for both methods and both forms.
//! The call runs in a task of its own, so a client that goes away does not cut it short:
//! it ends at its deadline at the latest and leaves its audit record. (rmcp's stateless
//! paths give each request a cancellation token that the client's disconnect cancels; a
//! tool call here runs on instead, so that no call ends without its audit record.)

use std::convert::Infallible;
use std::fmt::Display;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::BoxError;
use bytes::Bytes;
use futures::FutureExt as _;
use futures::future::{self, BoxFuture};
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode, header};
use http_body::Body;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Either, Full};
use rmcp::model::{
    ErrorCode, ErrorData, JsonRpcMessage, RequestId, ServerJsonRpcMessage, ServerResult,
};
use rmcp::transport::streamable_http_server::StreamableHttpService;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use tower::Service;

use crate::admitted::call::{Form, ParsedCall};
use crate::admitted::{Admitted, AdmittedRequest, BodyError, Seen, read_body};
use crate::handler::McpHandler;
use crate::metrics::DirectMethod;
use crate::registry::RegisteredTool;

mod request;

use request::{
    JSON, ParsedDiscover, ParsedList, common_discover, common_list, discover_taken, list_taken,
    plain_post, plain_tool_call, rmcp_call, taken,
};

/// rmcp's Streamable HTTP service as the tiers mount it.
pub type Rmcp = StreamableHttpService<McpHandler, LocalSessionManager>;

/// rmcp's response type.
pub type BoxResponse = Response<BoxBody<Bytes, Infallible>>;

/// The body of an answer to an admitted request: the direct path's JSON, or rmcp's body.
pub type AnswerBody = Either<Full<Bytes>, BoxBody<Bytes, Infallible>>;

/// Answers plain stateless `tools/call` requests itself and passes the rest to rmcp.
/// With `enabled` false it only passes requests on. rmcp is shared, not cloned per
/// request: its `handle` takes `&self`, and a clone would copy its whole configuration.
///
/// Behind the admission stack it is a service of [`AdmittedRequest`]s, with the body the
/// stack collected and the call it parsed; as a service of plain requests (`--bare`: no
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

    /// Whether plain `tools/call` and `tools/list` requests are answered here (so a call is
    /// worth parsing early).
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// Answers a request the admission stack let in: its collected body and what the stack
    /// learnt of it (the call it parsed, if in the common shape). What the direct path does
    /// not take goes to rmcp with the [`Admitted`] in its extensions, where the handler
    /// finds it.
    ///
    /// Not an `async fn`: the future it returns holds only what its path needs (the tool
    /// call's task, or rmcp's boxed future), not the arguments and both paths' states.
    fn serve_admitted(
        self,
        request: AdmittedRequest,
    ) -> impl Future<Output = Response<AnswerBody>> + Send + 'static {
        let AdmittedRequest {
            mut parts,
            body,
            admitted,
            seen,
        } = request;
        match self.takes(&parts.headers, &parts.method, Some(seen), &body) {
            Some(Taken::Call(call)) => {
                let answer = self.answer(call, admitted);
                let answer = answer.map(|response| response.map(Either::Left));
                return future::Either::Left(future::Either::Left(answer));
            }
            Some(Taken::List(list)) => {
                let answer = self.list(list, &admitted).map(Either::Left);
                return future::Either::Left(future::Either::Right(future::ready(answer)));
            }
            Some(Taken::Discover(discover)) => {
                let answer = self.discover(discover).map(Either::Left);
                return future::Either::Left(future::Either::Right(future::ready(answer)));
            }
            None => {}
        }
        parts.extensions.insert(admitted);
        let request = Request::from_parts(parts, Full::new(body));
        let rmcp = self.rmcp;
        future::Either::Right(Box::pin(async move {
            rmcp.handle(request).await.map(Either::Right)
        }))
    }

    /// What this path answers, if it takes the request: the call the stack parsed, else
    /// the list, discover or call in `body` (only what the stack's `seen` leaves possible;
    /// without the stack, `None`, anything), in the form the headers admit.
    fn takes(
        &self,
        headers: &HeaderMap,
        method: &Method,
        seen: Option<Seen>,
        body: &[u8],
    ) -> Option<Taken> {
        if !self.enabled {
            return None;
        }
        let form = plain_post(method, headers)?;
        // A list or discover in the common shape: taken or not under these headers.
        let list =
            || common_list(body).map(|l| list_taken(form, &l, headers).then_some(Taken::List(l)));
        let discover = || {
            common_discover(body)
                .map(|d| discover_taken(form, headers).then_some(Taken::Discover(d)))
        };
        let call = match seen {
            Some(Seen::Call(call)) => call,
            Some(Seen::OtherCall) => rmcp_call(body)?,
            Some(Seen::List) => return list().flatten(),
            Some(Seen::Discover) => return discover().flatten(),
            Some(Seen::Other) => return None,
            None => match list().or_else(discover) {
                Some(taken) => return taken,
                None => plain_tool_call(body)?,
            },
        };
        let registry = self.handler.registry();
        taken(form, &call, headers, |name| registry.mirrors_params(name))
            .then_some(Taken::Call(call))
    }

    /// A `tools/list` page, answered at once as rmcp's handler answers it, each tool's JSON
    /// as serialized once (a page of 100 tools is some 46 KB; serializing it on every
    /// listing was most of a listing's CPU).
    fn list(&self, list: ParsedList, admitted: &Admitted) -> Response<Full<Bytes>> {
        self.handler
            .metrics()
            .direct_request(DirectMethod::ListTools, list.form == Form::Current);
        let (cursor, caller) = (list.cursor.as_deref(), &admitted.caller);
        let (page, tools) = match self.handler.list_page(cursor, caller) {
            Ok(listed) => listed,
            Err(e) => return reply(Err(e), list.id, list.form),
        };
        let page = ServerResult::ListToolsResult(page);
        let (_, message) = message(Ok(page), list.id.clone(), list.form);
        match serde_json::to_vec(&message)
            .ok()
            .and_then(|body| with_tools(body, &tools))
        {
            Some(body) => json_body(body),
            // Not expected (a tool that would not serialize): the page serialized whole.
            None => reply(
                self.handler
                    .list(cursor, caller)
                    .map(ServerResult::ListToolsResult),
                list.id,
                list.form,
            ),
        }
    }

    /// A `server/discover`, answered at once as rmcp's handler answers it.
    fn discover(&self, discover: ParsedDiscover) -> Response<Full<Bytes>> {
        self.handler
            .metrics()
            .direct_request(DirectMethod::Discover, true);
        let result = ServerResult::DiscoverResult(self.handler.discovery());
        reply(Ok(result), discover.id, Form::Current)
    }

    /// A `tools/call` answered with the handler method rmcp would call. The call runs in a
    /// task of its own, spawned at once, as under rmcp: a client that goes away drops the
    /// returned future, not the call, which still ends at its deadline and leaves its
    /// audit record.
    fn answer(
        &self,
        call: ParsedCall,
        admitted: Admitted,
    ) -> impl Future<Output = Response<Full<Bytes>>> + Send + use<> {
        let handler = self.handler.clone();
        let ParsedCall { params, id, form } = call;
        handler
            .metrics()
            .direct_request(DirectMethod::CallTool, form == Form::Current);
        let task = tokio::spawn(async move {
            let answer = handler.call(params, &admitted, &id).await;
            (answer, id)
        });
        async move {
            let Ok((answer, id)) = task.await else {
                return plain_response(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Internal Server Error: the tool call failed without an answer".to_owned(),
                );
            };
            reply(answer.map(ServerResult::from), id, form)
        }
    }
}

/// What rmcp's handler dispatch and its HTTP transport make of a handler's answer, for a
/// request of `form`.
fn reply(
    answer: Result<ServerResult, ErrorData>,
    id: RequestId,
    form: Form,
) -> Response<Full<Bytes>> {
    let (status, message) = message(answer, id, form);
    let mut response = json_response(&message);
    if response.status() == StatusCode::OK {
        *response.status_mut() = status;
    }
    response
}

/// The message rmcp sends for a handler's answer to a request of `form`, and its status.
fn message(
    answer: Result<ServerResult, ErrorData>,
    id: RequestId,
    form: Form,
) -> (StatusCode, ServerJsonRpcMessage) {
    match (answer, form) {
        (Ok(mut result), Form::Legacy) => {
            result.strip_result_type_for_legacy_peer();
            result.strip_non_object_output_for_legacy_peer();
            (StatusCode::OK, JsonRpcMessage::response(result, id))
        }
        (Ok(mut result), Form::Current) => {
            result.fill_missing_cache_hints();
            (StatusCode::OK, JsonRpcMessage::response(result, id))
        }
        (Err(error), Form::Legacy) => (StatusCode::OK, JsonRpcMessage::error(error, Some(id))),
        (Err(mut error), Form::Current) => {
            if error.code == ErrorCode::RESOURCE_NOT_FOUND {
                error.code = ErrorCode::INVALID_PARAMS;
            }
            (
                error_status(error.code),
                JsonRpcMessage::error(error, Some(id)),
            )
        }
    }
}

/// A listing's serialized message (its page without tools) with `tools` written into
/// its `"tools":[]`: the last one in the message, since `tools` is the result's last field
/// and the result the message's last (whatever a request id or a cursor holds comes
/// before it).
fn with_tools(body: Vec<u8>, tools: &[Arc<RegisteredTool>]) -> Option<Vec<u8>> {
    const EMPTY: &[u8] = b"\"tools\":[]";
    let at = body.windows(EMPTY.len()).rposition(|w| w == EMPTY)? + EMPTY.len() - 1;
    let json: Vec<&str> = tools
        .iter()
        .map(|t| t.descriptor_json())
        .collect::<Option<_>>()?;
    let size: usize = json.iter().map(|j| j.len() + 1).sum();
    let mut out = Vec::with_capacity(body.len() + size);
    out.extend_from_slice(&body[..at]);
    for (i, tool) in json.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(tool.as_bytes());
    }
    out.extend_from_slice(&body[at..]);
    Some(out)
}

/// The HTTP status rmcp's per-request (2026-07-28) path gives a JSON-RPC error; before
/// 2026-07-28 every error is sent with 200.
fn error_status(code: ErrorCode) -> StatusCode {
    match code {
        ErrorCode::UNSUPPORTED_PROTOCOL_VERSION
        | ErrorCode::MISSING_REQUIRED_CLIENT_CAPABILITY
        | ErrorCode::HEADER_MISMATCH => StatusCode::BAD_REQUEST,
        ErrorCode::METHOD_NOT_FOUND => StatusCode::NOT_FOUND,
        _ => StatusCode::OK,
    }
}

impl Service<AdmittedRequest> for DirectCalls {
    type Response = Response<AnswerBody>;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response<AnswerBody>, Infallible>>;

    /// Always ready, as rmcp's service is.
    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: AdmittedRequest) -> Self::Future {
        Box::pin(self.clone().serve_admitted(request).map(Ok))
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
        if !(self.enabled && plain_post(request.method(), request.headers()).is_some()) {
            return Box::pin(async move { Ok(this.rmcp.handle(request).await) });
        }
        Box::pin(async move {
            let (parts, body) = request.into_parts();
            let bytes = match collect(body, this.max_body_bytes).await {
                Ok(bytes) => bytes,
                Err(response) => return Ok(response.map(BodyExt::boxed)),
            };
            let admitted = Admitted::of(&parts);
            match this.takes(&parts.headers, &parts.method, None, &bytes) {
                Some(Taken::Call(call)) => {
                    Ok(this.answer(call, admitted).await.map(BodyExt::boxed))
                }
                Some(Taken::List(list)) => Ok(this.list(list, &admitted).map(BodyExt::boxed)),
                Some(Taken::Discover(d)) => Ok(this.discover(d).map(BodyExt::boxed)),
                None => {
                    let request = Request::from_parts(parts, Full::new(bytes));
                    Ok(Box::pin(this.rmcp.handle(request)).await)
                }
            }
        })
    }
}

/// What the direct path answers.
enum Taken {
    Call(ParsedCall),
    List(ParsedList),
    Discover(ParsedDiscover),
}

/// The body, read up to the cap; over it, the answer rmcp gives.
async fn collect<B>(body: B, max: usize) -> Result<Bytes, Response<Full<Bytes>>>
where
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    read_body(body, max).await.map_err(|e| match e {
        BodyError::TooLarge { max } => plain_response(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("Payload Too Large: request body exceeds {max} bytes"),
        ),
        BodyError::Unreadable(e) => plain_response(
            StatusCode::BAD_REQUEST,
            format!("Bad Request: failed to read request body: {e}"),
        ),
    })
}

fn json_response(message: &ServerJsonRpcMessage) -> Response<Full<Bytes>> {
    match serde_json::to_vec(message) {
        Ok(body) => json_body(body),
        Err(e) => serialize_failed(e),
    }
}

fn json_body(body: Vec<u8>) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(JSON));
    response
}

fn serialize_failed(e: serde_json::Error) -> Response<Full<Bytes>> {
    plain_response(
        StatusCode::INTERNAL_SERVER_ERROR,
        format!("Internal Server Error: serialize json response: {e}"),
    )
}

fn plain_response(status: StatusCode, text: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(text)));
    *response.status_mut() = status;
    response
}

#[cfg(test)]
mod listing_tests {
    use super::*;
    use rmcp::model::{ListToolsResult, NumberOrString};

    /// The page rmcp would serialize whole, and the one written with each tool's JSON made
    /// once, byte for byte; a request id holding `"tools":[]` does not mislead it.
    #[test]
    fn a_listing_written_from_each_tools_json_is_what_rmcp_serializes() {
        let tools: Vec<Arc<RegisteredTool>> = ["a", "b\"quoted\"", "c"]
            .into_iter()
            .map(|n| Arc::new(crate::registry::tests::tool(n)))
            .collect();
        for id in [
            RequestId::from(NumberOrString::Number(7)),
            RequestId::from(NumberOrString::String("\"tools\":[]".into())),
        ] {
            for form in [Form::Current, Form::Legacy] {
                for count in [0, 1, 3] {
                    let mut page = ListToolsResult::with_all_items(Vec::new());
                    page.next_cursor = Some("djE6Yw".into());
                    page.ttl_ms = Some(60_000);
                    let mut whole = page.clone();
                    whole.tools = tools[..count]
                        .iter()
                        .map(|t| t.descriptor.clone())
                        .collect();
                    let bytes = |page| {
                        let (_, m) =
                            message(Ok(ServerResult::ListToolsResult(page)), id.clone(), form);
                        serde_json::to_vec(&m).unwrap()
                    };
                    assert_eq!(
                        String::from_utf8(with_tools(bytes(page), &tools[..count]).unwrap())
                            .unwrap(),
                        String::from_utf8(bytes(whole)).unwrap(),
                        "{id:?} {form:?} {count}"
                    );
                }
            }
        }
    }
}
