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
//! response or error, as rmcp sends it; `servers/local/tests/it/direct.rs` compares the two paths.
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
use http::{HeaderValue, Request, Response, StatusCode, header};
use http_body::Body;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Either, Full};
use rmcp::model::{
    CallToolRequestParams, JsonRpcMessage, RequestId, ServerJsonRpcMessage, ServerResult,
};
use rmcp::transport::streamable_http_server::StreamableHttpService;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use tower::Service;

use crate::admission::Admitted;
use crate::handler::McpHandler;

mod request;

use request::{JSON, plain_post, plain_tool_call};
pub(crate) use request::{ParsedCall, common_call};

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
