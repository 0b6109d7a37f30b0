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
//!   invocations"); GCRA, one limit global at the tier's `rate_limit_per_second` and one
//!   per caller at `rate_limit_per_caller_per_second` (the principal when authenticated,
//!   else the peer address), kept in the replica or in Redis for all replicas together
//!   ([`rate`]). Over either: 429 with `Retry-After`; with the shared limit's store
//!   unreachable and the policy `closed`, 503.
//! - failed authentication (a tier with callers): a peer address that failed
//!   [`auth_failures::FAILURES_PER_WINDOW`] times within [`auth_failures::WINDOW`] is refused
//!   every request, checked before its token is, with 429 until the window ends.

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::SystemTime;

use axum::BoxError;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures::future::BoxFuture;
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use http_body::Frame;
use tokio::sync::Semaphore;
use tokio::time::Instant;
use tower::{Layer, Service};

use crate::admitted::call::common_call;
use crate::admitted::{Admitted, AdmittedRequest, InflightGuard, Seen, is_json, read_body};
use crate::audit::{AuditRecord, AuditSink, Outcome, SecurityContext};
use crate::caller::Caller;
use crate::config::{RateStore, Tier, TierLimits};
use crate::metrics::Metrics;

pub mod auth_failures;
mod error;
mod message;
pub mod rate;

pub use error::AdmissionError;
use message::{Message, ToolCallPeek, call_shape, peek, undeserializable, utf8};
use rate::{RateLimit, RateRefusal};

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
    rate: RateLimit,
    metrics: Arc<Metrics>,
    audit: AuditSink,
    auth: Option<Arc<dyn Authenticator>>,
    auth_failures: auth_failures::AuthFailures,
    /// The last peer address and its caller id (see `peer_name`).
    last_peer: Mutex<Option<(IpAddr, Arc<str>)>>,
}

impl Admission {
    /// `rate_store` says where the rate limit is kept (the replica or Redis).
    pub fn new(
        tier: Tier,
        limits: TierLimits,
        rate_store: RateStore,
        metrics: Arc<Metrics>,
        audit: AuditSink,
        auth: Option<Arc<dyn Authenticator>>,
    ) -> Self {
        Admission {
            tier,
            inflight: Arc::new(Semaphore::new(limits.max_inflight_requests.get())),
            rate: RateLimit::new(&limits, rate_store, metrics.clone()),
            limits,
            metrics,
            audit,
            auth,
            auth_failures: auth_failures::AuthFailures::default(),
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

    fn caller(&self, request: &Request) -> Result<Caller, AdmissionError> {
        let peer = request
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(peer)| peer.ip());
        if let Some(auth) = &self.auth {
            if let Some(ip) = peer
                && let Err(wait) = self.auth_failures.check(ip)
            {
                return Err(AdmissionError::AuthLocked {
                    wait_s: wait.as_secs_f64().ceil() as u64,
                    failures: self.auth_failures.limit(),
                });
            }
            return auth.authenticate(request.headers()).map_err(|failure| {
                if let Some(ip) = peer {
                    self.auth_failures.failed(ip);
                }
                AdmissionError::Unauthenticated(failure)
            });
        }
        let Some(ip) = peer else {
            return Ok(Caller::anonymous("in-process"));
        };
        Ok(Caller::anonymous(self.peer_name(ip)))
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

    fn audit_rejection(
        &self,
        caller: &Caller,
        seen: &Message<'_>,
        outcome: Outcome,
        refused: &AdmissionError,
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
            error: Some(&refused.to_string()),
            caller: &caller.id,
            principal: caller.principal.as_deref(),
            request_id: &seen.request_id(),
            trace_id: None,
            attempts: None,
        });
    }
}

/// The admission stack as a tower layer: [`AdmissionService`] around any service that takes
/// an [`AdmittedRequest`] (the direct path and rmcp behind it, in a tier).
#[derive(Clone)]
pub struct AdmissionLayer {
    admission: Arc<Admission>,
    parse_calls: bool,
}

impl AdmissionLayer {
    pub fn new(admission: Arc<Admission>) -> Self {
        AdmissionLayer {
            admission,
            parse_calls: false,
        }
    }

    /// Parse a `tools/call` in its common shape here, once, and hand it on parsed (for a
    /// service behind that takes it parsed: the stateless direct path).
    pub fn parsing_calls(mut self, parse: bool) -> Self {
        self.parse_calls = parse;
        self
    }
}

impl<S> Layer<S> for AdmissionLayer {
    type Service = AdmissionService<S>;

    fn layer(&self, inner: S) -> AdmissionService<S> {
        AdmissionService {
            admission: self.admission.clone(),
            parse_calls: self.parse_calls,
            inner,
        }
    }
}

/// The admission stack in front of `S` (see the module docs for what it limits). `S` gets
/// the collected body, the admitted caller and what was parsed: nothing is read or parsed
/// twice. A refusal is answered here and never reaches `S`.
#[derive(Clone)]
pub struct AdmissionService<S> {
    admission: Arc<Admission>,
    parse_calls: bool,
    inner: S,
}

impl<S, B> Service<Request> for AdmissionService<S>
where
    S: Service<AdmittedRequest, Response = http::Response<B>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response, Infallible>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        // The standard swap: the ready service serves this request, its clone the next.
        let clone = self.inner.clone();
        let inner = std::mem::replace(&mut self.inner, clone);
        let admission = self.admission.clone();
        let parse_calls = self.parse_calls;
        Box::pin(async move {
            let response = match admission.admit(request, parse_calls).await {
                Ok((request, guard)) => serve(&admission, inner, request, guard).await,
                Err(refused) => admission.refuse(refused),
            };
            Ok(response)
        })
    }
}

impl Admission {
    /// Admits a request or says why not, in the order the module docs give. A request let
    /// in holds its in-flight slot (returned, for its answer's body to hold).
    async fn admit(
        &self,
        request: Request,
        parse_calls: bool,
    ) -> Result<(AdmittedRequest, Option<Arc<InflightGuard>>), AdmissionError> {
        let received = Instant::now();
        let received_at = SystemTime::now();
        let caller = self.caller(&request)?;
        let post = request.method() == Method::POST;
        if post && !is_json(request.headers()) {
            return Err(AdmissionError::ContentType);
        }
        let (parts, body) = request.into_parts();
        let body = read_body(body, self.limits.max_request_body_bytes.get()).await?;
        if !post {
            // The session stream (GET) and session end (DELETE): no JSON-RPC to admit.
            let admitted = Admitted::new(received, received_at, caller, None);
            let seen = Seen::Other;
            return Ok((
                AdmittedRequest {
                    parts,
                    body,
                    admitted,
                    seen,
                },
                None,
            ));
        }
        utf8(&body)?;
        // A call in the common shape is parsed here, once, for the service behind; anything
        // else is only peeked at and left to the service behind to parse.
        let common = parse_calls.then(|| common_call(&body)).flatten();
        let message = match common {
            Some(call) => Message::Call(call),
            None => Message::Other(peek(&body)?),
        };
        message.is_message()?;
        let is_request = message.is_request();
        let is_tool_call = message.is_tool_call();
        if is_tool_call
            && let Message::Other(peek) = &message
            && let Err(why) = call_shape(peek.params)
        {
            return Err(AdmissionError::CallShape {
                why,
                id: message.id(),
            });
        }
        // A `subscriptions/listen` stream stays open as long as the client listens: like
        // the session's GET stream, it holds no in-flight slot (connections bound it).
        let listens = matches!(&message, Message::Other(peek)
            if peek.method.as_deref() == Some("subscriptions/listen"));
        let mut guard = None;
        if is_request && !listens {
            let Ok(permit) = self.inflight.clone().try_acquire_owned() else {
                let refused = AdmissionError::Overloaded {
                    cap: self.limits.max_inflight_requests,
                    id: message.id(),
                };
                if is_tool_call {
                    self.audit_rejection(&caller, &message, Outcome::Overloaded, &refused);
                }
                return Err(refused);
            };
            guard = Some(Arc::new(InflightGuard::new(permit, self.metrics.clone())));
        }
        if is_tool_call && let Err(refusal) = self.rate.check(&caller.id).await {
            let (refused, outcome) = match refusal {
                RateRefusal::Limited { wait_ms } => (
                    AdmissionError::RateLimited {
                        wait_ms,
                        per_second: self.limits.rate_limit_per_second,
                        id: message.id(),
                    },
                    Outcome::RateLimited,
                ),
                RateRefusal::StoreUnavailable => (
                    AdmissionError::RateStoreUnavailable { id: message.id() },
                    Outcome::Overloaded,
                ),
            };
            self.audit_rejection(&caller, &message, outcome, &refused);
            return Err(refused);
        }
        // What was parsed here is not parsed again behind.
        let seen = match message {
            Message::Call(call) => Seen::Call(call),
            Message::Other(_) if is_tool_call => Seen::OtherCall,
            Message::Other(peek) if is_request => match peek.method.as_deref() {
                Some("tools/list") => Seen::List,
                Some("server/discover") => Seen::Discover,
                _ => Seen::Other,
            },
            Message::Other(_) => Seen::Other,
        };
        let admitted =
            Admitted::new(received, received_at, caller, guard.clone()).traced(&parts.headers);
        Ok((
            AdmittedRequest {
                parts,
                body,
                admitted,
                seen,
            },
            guard,
        ))
    }

    /// The one place a refusal is counted and answered.
    fn refuse(&self, refused: AdmissionError) -> Response {
        self.metrics.reject(refused.rejection());
        refused.response().into_response()
    }
}

/// Hands an admitted request on; the response body keeps the in-flight permit, if any,
/// until it has been sent.
async fn serve<S, B>(
    admission: &Admission,
    mut inner: S,
    request: AdmittedRequest,
    guard: Option<Arc<InflightGuard>>,
) -> Response
where
    S: Service<AdmittedRequest, Response = http::Response<B>, Error = Infallible>,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    let post = request.parts.method == Method::POST;
    let body = request.body.clone();
    let response = match inner.call(request).await {
        Ok(response) => response,
        Err(never) => match never {},
    };
    if post && response.status() == StatusCode::UNSUPPORTED_MEDIA_TYPE {
        // The Content-Type was checked, so this is rmcp's answer to a message it could
        // not deserialize (as `text/plain`): answered as JSON-RPC instead.
        return admission.refuse(undeserializable(&body));
    }
    response.map(|body| {
        Body::new(Guarded {
            inner: body,
            _guard: guard,
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
