//! The whole HTTP stack of a tier, assembled in one place.
//!
//! Order, outermost first, and why:
//! 1. **guard** (Host, Origin, VPC endpoint → 403): first, so a DNS-rebinding page or a foreign origin
//!    learns nothing and costs nothing else;
//! 2. **CORS** (allowlist): answers preflights for allowed origins and decorates responses;
//!    it only ever sees origins the guard let through;
//! 3. **admission** (`admission/`): caller identity (401) → content type (415) → body cap
//!    (413) → JSON-RPC framing (400) → in-flight cap (503, at once) → rate limit (429 +
//!    `Retry-After`; in the replica or shared through Redis, `admission/rate.rs`). Cheap
//!    refusals come before the ones that take a permit or a token, or a round trip;
//! 4. **rmcp** Streamable HTTP service (plain stateless `tools/call` requests are answered
//!    by `direct/` with rmcp's types and the same handler method), whose handler
//!    (`handler.rs`) holds the concurrency cap (calls beyond it wait) and the per-call
//!    deadline (`timeout_ms`) around the tool itself, where they bound the work in both
//!    session and stateless mode.
//!
//! `/healthz`, `/readyz` and `/metrics` sit outside the stack.

use std::convert::Infallible;
use std::future::{Ready, ready};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures::future::Either;
use http::{HeaderValue, Method, StatusCode, header};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use tokio_util::sync::CancellationToken;
use tower::Layer;
use tower::Service;
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::admission::{Admission, AdmissionLayer};
use crate::config::VpcEndpoint;
use crate::direct::DirectCalls;
use crate::handler::McpHandler;
use crate::health::{Readiness, healthz, readyz};
use crate::jsonrpc::{RpcErrorResponse, code};
use crate::metrics::{Metrics, Rejection};

pub use mcp_slo_vocab::Mode;

/// Host and Origin validation.
pub struct Guard {
    /// Allowed `Host` names (without port); `None` accepts any host (a tier that
    /// authenticates its callers and listens publicly).
    pub allowed_hosts: Option<Vec<String>>,
    /// Allowed `Origin` values, lowercase `scheme://host[:port]`. Requests without an
    /// `Origin` (non-browser clients) pass.
    pub allowed_origins: Vec<String>,
    /// Also accept origins whose host is a loopback name (any scheme and port).
    pub allow_loopback_origins: bool,
    /// The VPC endpoint requests must have come through, if any (`VpcEndpoint`).
    pub vpc_endpoint: Option<VpcEndpoint>,
    pub metrics: Arc<Metrics>,
}

impl Guard {
    pub const LOOPBACK: [&'static str; 3] = ["localhost", "127.0.0.1", "[::1]"];

    fn host_allowed(&self, request: &Request) -> bool {
        let Some(allowed) = &self.allowed_hosts else {
            return true;
        };
        let host = request
            .headers()
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .or_else(|| request.uri().authority().map(|a| a.as_str()));
        let Some(host) = host else { return false };
        let (name, _) = split_port(host);
        allowed
            .iter()
            .any(|a| a.eq_ignore_ascii_case(name) || a.eq_ignore_ascii_case(host))
    }

    fn origin_allowed(&self, request: &Request) -> Result<(), String> {
        let Some(origin) = request.headers().get(header::ORIGIN) else {
            return Ok(());
        };
        let origin = origin.to_str().unwrap_or("").to_ascii_lowercase();
        if self.allowed_origins.contains(&origin)
            || (self.allow_loopback_origins && is_loopback_origin(&origin))
        {
            Ok(())
        } else {
            Err(origin)
        }
    }

    /// Why the request did not come through the tier's VPC endpoint, if it did not.
    fn vpc_endpoint_refusal(&self, request: &Request) -> Option<String> {
        let endpoint = self.vpc_endpoint.as_ref()?;
        let mut through = request.headers().get_all(VpcEndpoint::HEADER).iter();
        match (through.next(), through.next()) {
            (Some(id), None) if id.as_bytes() == endpoint.id.as_bytes() => None,
            (None, _) if !endpoint.required => None,
            (None, _) => Some(format!(
                "requests must come through VPC endpoint {} ({} missing)",
                endpoint.id,
                VpcEndpoint::HEADER
            )),
            (Some(_), Some(_)) => Some(format!("more than one {} header", VpcEndpoint::HEADER)),
            (Some(id), None) => Some(format!(
                "request came through VPC endpoint {:?}, not {}",
                String::from_utf8_lossy(id.as_bytes()),
                endpoint.id
            )),
        }
    }

    /// The 403 for a request whose Host, Origin or VPC endpoint is not allowed.
    fn refusal(&self, request: &Request) -> Option<Response> {
        let (why, message) = if !self.host_allowed(request) {
            (
                Rejection::Host,
                "Host not allowed (DNS rebinding protection)".to_owned(),
            )
        } else if let Some(message) = self.vpc_endpoint_refusal(request) {
            (Rejection::VpcEndpoint, message)
        } else if let Err(origin) = self.origin_allowed(request) {
            (
                Rejection::Origin,
                format!("Origin {origin:?} is not allowed"),
            )
        } else {
            return None;
        };
        self.metrics.reject(why);
        let response = RpcErrorResponse::new(
            StatusCode::FORBIDDEN,
            code::FORBIDDEN,
            message,
            why.as_str(),
        );
        Some(response.into_response())
    }
}

/// `http(s)://` and a loopback name, with an optional port and nothing else.
fn is_loopback_origin(origin: &str) -> bool {
    let Some(rest) = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
    else {
        return false;
    };
    let (host, port) = split_port(rest);
    let port_ok = port.is_none_or(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    port_ok && Guard::LOOPBACK.contains(&host)
}

/// `host[:port]` split at the port's colon (an IPv6 literal keeps its brackets), without
/// allocating: the guard runs on every request.
fn split_port(authority: &str) -> (&str, Option<&str>) {
    match authority.rfind(':') {
        Some(i) if !authority[i..].contains(']') => (&authority[..i], Some(&authority[i + 1..])),
        _ => (authority, None),
    }
}

/// The guard as a tower service. Its check is synchronous, so it adds no allocation.
#[derive(Clone)]
struct GuardService<S> {
    guard: Arc<Guard>,
    inner: S,
}

impl<S> Service<Request> for GuardService<S>
where
    S: Service<Request, Response = Response, Error = Infallible>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Either<Ready<Result<Response, Infallible>>, S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        match self.guard.refusal(&request) {
            Some(refused) => Either::Left(ready(Ok(refused))),
            None => Either::Right(self.inner.call(request)),
        }
    }
}

/// CORS for the requests it concerns: those with an `Origin` (browsers send one on every
/// cross-origin request and preflight). Others skip the layer and its `Vary` and
/// `Access-Control-Expose-Headers` response headers, which no client of theirs reads.
/// The CORS service is built only for such a request: the router clones this service for
/// every request, and a built one would copy the whole CORS configuration each time.
#[derive(Clone)]
struct CorsForOrigins<S> {
    cors: Option<Arc<CorsLayer>>,
    inner: S,
}

impl<S, B> Service<Request> for CorsForOrigins<S>
where
    S: Service<Request, Response = Response<B>> + Clone,
    B: Default,
{
    type Response = Response<B>;
    type Error = S::Error;
    type Future = Either<tower_http::cors::ResponseFuture<S::Future>, S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        match &self.cors {
            Some(cors) if request.headers().contains_key(header::ORIGIN) => {
                // The standard swap: the ready service serves, its clone waits for the
                // next `poll_ready`. CORS only wraps it (its own readiness is the inner's).
                let clone = self.inner.clone();
                let ready = std::mem::replace(&mut self.inner, clone);
                Either::Left(cors.layer(ready).call(request))
            }
            _ => Either::Right(self.inner.call(request)),
        }
    }
}

/// Everything a tier's router is built from.
pub struct StackParts {
    pub handler: McpHandler,
    pub admission: Arc<Admission>,
    pub guard: Guard,
    pub cors_enabled: bool,
    pub mode: Mode,
    pub readiness: Arc<dyn Readiness>,
    pub metrics: Arc<Metrics>,
    /// Cancelled after draining, to close SSE streams and sessions.
    pub sessions: CancellationToken,
    /// Leave out the guard, CORS and admission layers (cost measurements only).
    pub bare: bool,
}

/// The tier's router: `/mcp` behind the stack, plus health and metrics.
pub fn app(parts: StackParts) -> Router {
    let StackParts {
        handler,
        admission,
        guard: guard_state,
        cors_enabled,
        mode,
        readiness,
        metrics,
        sessions,
        bare,
    } = parts;
    let config = StreamableHttpServerConfig::default()
        .with_legacy_session_mode(mode == Mode::Session)
        .with_json_response(mode == Mode::Stateless)
        // Host and Origin are checked by our guard, with the tier's own lists.
        .disable_allowed_hosts()
        .with_max_request_body_bytes(admission.limits().max_request_body_bytes.get())
        .with_sse_keep_alive(Some(Duration::from_secs(15)))
        .with_cancellation_token(sessions);
    // Plain stateless tools/call requests skip rmcp's per-request service (`direct/`).
    let direct = config.json_response
        && !config.legacy_session_mode
        && !config.stateless_protocol_metadata_required;
    let max_body_bytes = config.max_request_body_bytes;
    let direct_handler = handler.clone();
    let mcp = StreamableHttpService::new(
        move || Ok(handler.clone()),
        Arc::new(LocalSessionManager::default()),
        config,
    );
    let mcp = DirectCalls::new(direct_handler, mcp, direct, max_body_bytes);
    // The layers wrap the service itself, not the route: each `Router::layer` would box
    // the service and its future once more per request.
    let mcp_route = if bare {
        Router::new().route_service("/mcp", mcp)
    } else {
        let cors = cors_enabled.then(|| {
            Arc::new(cors_layer(
                &guard_state.allowed_origins,
                guard_state.allow_loopback_origins,
            ))
        });
        let stack = GuardService {
            guard: Arc::new(guard_state),
            inner: CorsForOrigins {
                cors,
                inner: AdmissionLayer::new(admission)
                    .parsing_calls(direct)
                    .layer(mcp),
            },
        };
        Router::new().route_service("/mcp", stack)
    };
    let metrics_route = Router::new()
        .route("/metrics", get(render_metrics))
        .with_state(metrics);
    let ready_route = Router::new()
        .route("/readyz", get(readyz))
        .with_state(readiness);
    mcp_route
        .merge(metrics_route)
        .merge(ready_route)
        .route("/healthz", get(healthz))
}

async fn render_metrics(State(metrics): State<Arc<Metrics>>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        metrics.render(),
    )
        .into_response()
}

fn cors_layer(origins: &[String], loopback: bool) -> CorsLayer {
    let values: Arc<[HeaderValue]> = origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect();
    // A predicate over a shared list rather than `AllowOrigin::list`: the layer is cloned
    // for every request, and the list would be copied with it.
    CorsLayer::new()
        .allow_origin(AllowOrigin::predicate(move |origin, _| {
            values.iter().any(|v| v == origin)
                || (loopback
                    && origin
                        .to_str()
                        .is_ok_and(|o| is_loopback_origin(&o.to_ascii_lowercase())))
        }))
        .allow_methods([Method::GET, Method::POST, Method::DELETE, Method::OPTIONS])
        // The request's own header names: only the origins above get an answer at all, and
        // MCP 2026-07-28 adds one `Mcp-Param-<name>` header per declared tool parameter,
        // which no fixed list can name.
        .allow_headers(tower_http::cors::AllowHeaders::mirror_request())
        .expose_headers([header::HeaderName::from_static("mcp-session-id")])
        .max_age(Duration::from_secs(600))
}
