//! Admission of MCP requests: caller identity, body cap, JSON-RPC framing, the in-flight
//! cap and the rate limit. The order these run in is fixed in `stack.rs`; what a request
//! let in carries on is [`crate::admitted`].
//!
//! What is limited:
//! - the in-flight cap counts every JSON-RPC *request* POSTed to `/mcp` (not notifications,
//!   not the long-lived GET stream); its permit lives until the response body has been sent
//!   and the handler is done, so it bounds real work in both session (SSE) and stateless
//!   (JSON) mode. Over the cap: 503 at once.
//! - the rate limit counts `tools/call` requests (the MCP specification's "rate-limit tool
//!   invocations"); two `governor` GCRA limiters, one global at the tier's
//!   `rate_limit_per_second` and one keyed per caller at `rate_limit_per_caller_per_second`
//!   (the principal when authenticated, else the peer address). Over either: 429 with
//!   `Retry-After`.

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::SystemTime;

use axum::BoxError;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures::FutureExt as _;
use futures::future::BoxFuture;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota, RateLimiter};
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use http_body::Frame;
use http_body_util::BodyExt;
use tokio::sync::Semaphore;
use tokio::time::Instant;
use tower::Service;

use crate::admitted::call::common_call;
use crate::admitted::{Admitted, InflightGuard, Seen, is_json};
use crate::audit::{AuditRecord, AuditSink, Outcome, SecurityContext};
use crate::caller::Caller;
use crate::config::{Tier, TierLimits};
use crate::direct::DirectCalls;
use crate::jsonrpc::{RpcErrorResponse, code};
use crate::metrics::{Metrics, Rejection};

mod message;

use message::{Message, ToolCallPeek, call_shape, undeserializable};

/// Identifies callers (the AWS tier's bearer tokens); without one, callers are anonymous
/// and keyed by peer address.
pub trait Authenticator: Send + Sync + 'static {
    fn authenticate(&self, headers: &HeaderMap) -> Result<Caller, AuthFailure>;
}

#[derive(Debug, Clone)]
pub struct AuthFailure {
    pub message: String,
    pub www_authenticate: HeaderValue,
}

pub struct Admission {
    tier: Tier,
    limits: TierLimits,
    inflight: Arc<Semaphore>,
    global: DefaultDirectRateLimiter,
    per_caller: DefaultKeyedRateLimiter<Arc<str>>,
    clock: DefaultClock,
    metrics: Arc<Metrics>,
    audit: AuditSink,
    auth: Option<Arc<dyn Authenticator>>,
    /// The last peer address and its caller id (see `peer_name`).
    last_peer: Mutex<Option<(IpAddr, Arc<str>)>>,
}

impl Admission {
    pub fn new(
        tier: Tier,
        limits: TierLimits,
        metrics: Arc<Metrics>,
        audit: AuditSink,
        auth: Option<Arc<dyn Authenticator>>,
    ) -> Self {
        let quota = |rate: NonZeroU32| Quota::per_second(rate).allow_burst(rate);
        Admission {
            tier,
            inflight: Arc::new(Semaphore::new(limits.max_inflight_requests.get())),
            global: RateLimiter::direct(quota(limits.rate_limit_per_second)),
            per_caller: RateLimiter::keyed(quota(limits.rate_limit_per_caller_per_second)),
            clock: DefaultClock::default(),
            limits,
            metrics,
            audit,
            auth,
            last_peer: Mutex::new(None),
        }
    }

    pub fn limits(&self) -> &TierLimits {
        &self.limits
    }

    /// Requests in flight right now.
    pub fn inflight(&self) -> usize {
        self.limits.max_inflight_requests.get() - self.inflight.available_permits()
    }

    fn caller(&self, request: &Request) -> Result<Caller, AuthFailure> {
        if let Some(auth) = &self.auth {
            return auth.authenticate(request.headers());
        }
        let Some(ConnectInfo(peer)) = request.extensions().get::<ConnectInfo<SocketAddr>>() else {
            return Ok(Caller::anonymous("in-process"));
        };
        Ok(Caller::anonymous(self.peer_name(peer.ip())))
    }

    /// The peer address as a caller id. The last one is kept, since calls mostly come
    /// from the same few addresses: no formatting and no allocation per request.
    fn peer_name(&self, ip: IpAddr) -> Arc<str> {
        let Ok(mut last) = self.last_peer.lock() else {
            return ip.to_string().into();
        };
        match &*last {
            Some((known, name)) if *known == ip => name.clone(),
            _ => {
                let name: Arc<str> = ip.to_string().into();
                *last = Some((ip, name.clone()));
                name
            }
        }
    }

    fn rate_check(&self, caller: &Caller) -> Result<(), u64> {
        let wait = match self.per_caller.check_key(&caller.id) {
            Err(not_until) => Some(not_until.wait_time_from(self.clock.now())),
            Ok(()) => self
                .global
                .check()
                .err()
                .map(|not_until| not_until.wait_time_from(self.clock.now())),
        };
        match wait {
            None => Ok(()),
            Some(wait) => Err(wait.as_millis() as u64),
        }
    }

    fn audit_rejection(
        &self,
        caller: &Caller,
        seen: &Message<'_>,
        outcome: Outcome,
        message: &str,
    ) {
        if !self.audit.is_on() {
            return;
        }
        // A call parsed in its common shape is borrowed; any other is read from its params.
        let parsed: ToolCallPeek;
        let (name, arguments) = match seen {
            Message::Call(call) => (&*call.params.name, call.params.arguments.as_ref()),
            Message::Other(peek) => {
                let Some(raw) = peek.params else { return };
                parsed = serde_json::from_str(raw.get()).unwrap_or_default();
                (
                    parsed.name.as_deref().unwrap_or_default(),
                    parsed.arguments.as_ref(),
                )
            }
        };
        self.audit.record(&AuditRecord {
            tool_name: name,
            duration: std::time::Duration::ZERO,
            parameters: arguments,
            timestamp: SystemTime::now(),
            security: SecurityContext {
                local: self.tier == Tier::Local,
                aws_iam: self.tier == Tier::AwsManaged,
                rate_limited: outcome == Outcome::RateLimited,
                iam_role: None,
            },
            outcome,
            error: Some(message),
            caller: &caller.id,
            principal: caller.principal.as_deref(),
            request_id: &seen.request_id(),
            trace_id: None,
            attempts: None,
        });
    }

    fn refuse(&self, why: Rejection, response: RpcErrorResponse) -> Response {
        self.metrics.reject(why);
        response.into_response()
    }
}

/// The admission stack as a tower service in front of the direct path and rmcp (see the
/// module docs for what it limits). They get the collected body and the admitted caller
/// straight from it: nothing is read, parsed or boxed twice.
#[derive(Clone)]
pub struct AdmissionService {
    pub admission: Arc<Admission>,
    pub inner: DirectCalls,
}

impl Service<Request> for AdmissionService {
    type Response = Response;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response, Infallible>>;

    /// Always ready, as the direct path is.
    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let this = self.clone();
        Box::pin(async move { Ok(admit(&this.admission, request, this.inner).await) })
    }
}

async fn admit(adm: &Admission, request: Request, inner: DirectCalls) -> Response {
    let received = Instant::now();
    let received_at = SystemTime::now();
    let caller = match adm.caller(&request) {
        Ok(caller) => caller,
        Err(failure) => {
            let mut response = RpcErrorResponse::new(
                StatusCode::UNAUTHORIZED,
                code::UNAUTHORIZED,
                failure.message,
                "unauthenticated",
            );
            response.www_authenticate = Some(failure.www_authenticate);
            return adm.refuse(Rejection::Unauthenticated, response);
        }
    };
    let post = request.method() == Method::POST;
    if post && !is_json(request.headers()) {
        return adm.refuse(
            Rejection::ContentType,
            RpcErrorResponse::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                code::INVALID_REQUEST,
                "Content-Type must be application/json",
                "content_type",
            ),
        );
    }
    let max = adm.limits.max_request_body_bytes.get();
    let (parts, body) = request.into_parts();
    let bytes = match http_body_util::Limited::new(body, max).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) => {
            let too_large = e
                .downcast_ref::<http_body_util::LengthLimitError>()
                .is_some();
            let (why, status, message) = if too_large {
                (
                    Rejection::BodyTooLarge,
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format!("request body exceeds {max} bytes"),
                )
            } else {
                (
                    Rejection::Malformed,
                    StatusCode::BAD_REQUEST,
                    format!("request body could not be read: {e}"),
                )
            };
            return adm.refuse(
                why,
                RpcErrorResponse::new(status, code::INVALID_REQUEST, message, why.as_str()),
            );
        }
    };
    if !post {
        // The session stream (GET) and session end (DELETE): no JSON-RPC to admit.
        let admitted = Admitted::new(received, received_at, caller, None);
        return serve(inner, parts, bytes, admitted, Seen::Other, None).await;
    }
    // With the direct path behind the stack, a call in the common shape is parsed here,
    // once; anything else is only peeked at and left to the service behind to parse.
    let common = inner.enabled().then(|| common_call(&bytes)).flatten();
    let seen = match common {
        Some(call) => Message::Call(call),
        None => match serde_json::from_slice(&bytes) {
            Ok(peek) => Message::Other(peek),
            Err(e) => {
                let batch = bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[');
                let message = if batch {
                    "JSON-RPC batches are not supported (removed in MCP 2025-06-18): send one message per POST".to_owned()
                } else {
                    format!(
                        "invalid JSON at line {} column {}: {e}",
                        e.line(),
                        e.column()
                    )
                };
                let code = if batch || e.is_data() {
                    code::INVALID_REQUEST
                } else {
                    code::PARSE_ERROR
                };
                return adm.refuse(
                    Rejection::Malformed,
                    RpcErrorResponse::new(StatusCode::BAD_REQUEST, code, message, "malformed"),
                );
            }
        },
    };
    let is_request = seen.is_request();
    let is_tool_call = seen.is_tool_call();
    if is_tool_call
        && let Message::Other(peek) = &seen
        && let Err(why) = call_shape(peek.params)
    {
        return adm.refuse(
            Rejection::Malformed,
            RpcErrorResponse::new(
                StatusCode::BAD_REQUEST,
                code::INVALID_PARAMS,
                why,
                "malformed",
            )
            .with_id(seen.id()),
        );
    }
    let mut guard = None;
    if is_request {
        let Ok(permit) = adm.inflight.clone().try_acquire_owned() else {
            let cap = adm.limits.max_inflight_requests;
            let message = format!("server overloaded: {cap} requests already in flight");
            if is_tool_call {
                adm.audit_rejection(&caller, &seen, Outcome::Overloaded, &message);
            }
            return adm.refuse(
                Rejection::Overloaded,
                RpcErrorResponse::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    code::OVERLOADED,
                    message,
                    "overloaded",
                )
                .with_id(seen.id())
                .with_data("maxInflightRequests", cap.get().into())
                .retry_after(1),
            );
        };
        guard = Some(Arc::new(InflightGuard::new(permit, adm.metrics.clone())));
    }
    if is_tool_call && let Err(wait_ms) = adm.rate_check(&caller) {
        let message = format!(
            "rate limited: over {} tool calls per second; retry in {wait_ms} ms",
            adm.limits.rate_limit_per_second
        );
        adm.audit_rejection(&caller, &seen, Outcome::RateLimited, &message);
        return adm.refuse(
            Rejection::RateLimited,
            RpcErrorResponse::new(
                StatusCode::TOO_MANY_REQUESTS,
                code::RATE_LIMITED,
                message,
                "rate_limited",
            )
            .with_id(seen.id())
            .with_data("retryAfterMs", wait_ms.into())
            .with_data(
                "ratePerSecond",
                adm.limits.rate_limit_per_second.get().into(),
            )
            .retry_after(wait_ms.div_ceil(1000)),
        );
    }
    // What was parsed here is not parsed again behind.
    let seen = match seen {
        Message::Call(call) => Seen::Call(call),
        Message::Other(_) if is_tool_call => Seen::OtherCall,
        Message::Other(peek) if is_request => match peek.method.as_deref() {
            Some("tools/list") => Seen::List,
            Some("server/discover") => Seen::Discover,
            _ => Seen::Other,
        },
        Message::Other(_) => Seen::Other,
    };
    let admitted = Admitted::new(received, received_at, caller, guard.clone());
    let message = bytes.clone();
    let response = serve(inner, parts, bytes, admitted, seen, guard).await;
    if response.status() == StatusCode::UNSUPPORTED_MEDIA_TYPE {
        // The Content-Type was checked above, so this is rmcp's answer to a message it
        // could not deserialize (as `text/plain`): answered as JSON-RPC instead.
        return adm.refuse(Rejection::Malformed, undeserializable(&message));
    }
    response
}

/// Hands an admitted request on; the response body keeps the in-flight permit, if any,
/// until it has been sent.
fn serve(
    inner: DirectCalls,
    parts: http::request::Parts,
    body: Bytes,
    admitted: Admitted,
    seen: Seen,
    guard: Option<Arc<InflightGuard>>,
) -> impl Future<Output = Response> + Send + 'static {
    inner
        .serve_admitted(parts, body, admitted, seen)
        .map(|response| {
            response.map(|body| {
                Body::new(Guarded {
                    inner: body,
                    _guard: guard,
                })
            })
        })
}

pin_project_lite::pin_project! {
    /// A response body that holds the in-flight permit until it is finished or dropped.
    struct Guarded<B> {
        #[pin]
        inner: B,
        _guard: Option<Arc<InflightGuard>>,
    }
}

impl<B> http_body::Body for Guarded<B>
where
    B: http_body::Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        self.project()
            .inner
            .poll_frame(cx)
            .map_err(|e| axum::Error::new(e.into()))
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}
