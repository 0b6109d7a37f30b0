//! The admitted request: what the admission stack hands on with every request it lets in
//! (when it was received, by whom, its in-flight slot, its collected body and what was
//! parsed of it), read by the direct path and the handler; and the common parse of a call
//! (`call.rs`). Its own module so that the stack, the direct path and the handler all
//! depend on it and none on another in a circle.

pub(crate) mod call;

use std::sync::Arc;
use std::time::SystemTime;

use axum::BoxError;
use bytes::Bytes;
use http::{HeaderMap, header};
use http_body_util::BodyExt as _;
use tokio::sync::OwnedSemaphorePermit;
use tokio::time::Instant;

use crate::caller::Caller;
use crate::metrics::Metrics;
use crate::telemetry::TraceParent;
use call::ParsedCall;

/// Set on every admitted request; read by the handler.
#[derive(Clone)]
pub struct Admitted {
    pub received: Instant,
    pub received_at: SystemTime,
    pub caller: Caller,
    /// The trace context of the request's headers, if it carried one.
    pub trace: Option<Arc<TraceParent>>,
    _inflight: Option<Arc<InflightGuard>>,
}

impl Admitted {
    /// A request the admission stack let in, holding its in-flight slot if it has one.
    pub(crate) fn new(
        received: Instant,
        received_at: SystemTime,
        caller: Caller,
        inflight: Option<Arc<InflightGuard>>,
    ) -> Self {
        Admitted {
            received,
            received_at,
            caller,
            trace: None,
            _inflight: inflight,
        }
    }

    /// The same request, continuing the trace its headers name (if any).
    pub(crate) fn traced(mut self, headers: &HeaderMap) -> Self {
        self.trace = TraceParent::from_headers(headers).map(Arc::new);
        self
    }

    /// What a handler sees when a request did not pass through the stack (in-process use).
    pub fn direct(caller: Caller) -> Self {
        Admitted {
            received: Instant::now(),
            received_at: SystemTime::now(),
            caller,
            trace: None,
            _inflight: None,
        }
    }

    /// What the stack admitted this request as; a request that did not pass through it
    /// (`--bare`, in-process) is an anonymous in-process caller's, received now.
    pub fn of(parts: &http::request::Parts) -> Self {
        parts
            .extensions
            .get::<Admitted>()
            .cloned()
            .unwrap_or_else(|| Admitted::direct(Caller::anonymous("in-process")))
    }
}

/// A request's slot under the in-flight cap: freed, and the gauge lowered, when the last
/// holder (the response body, the handler's task) lets go.
pub struct InflightGuard {
    _permit: OwnedSemaphorePermit,
    metrics: Arc<Metrics>,
}

impl InflightGuard {
    /// Takes a slot the admission stack acquired, raising the gauge.
    pub(crate) fn new(permit: OwnedSemaphorePermit, metrics: Arc<Metrics>) -> Self {
        metrics.inflight_gauge().inc();
        InflightGuard {
            _permit: permit,
            metrics,
        }
    }
}

impl Drop for InflightGuard {
    fn drop(&mut self) {
        self.metrics.inflight_gauge().dec();
    }
}

/// `Content-Type: application/json`, with or without parameters.
pub(crate) fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("application/json"))
}

/// What the admission stack learnt of a POSTed body, so that nothing is parsed twice: a
/// `tools/call` in the common shape (parsed), a `tools/call` in another shape, a request
/// for `tools/list` or `server/discover` (not yet parsed), or any other message.
pub(crate) enum Seen {
    Call(ParsedCall),
    OtherCall,
    List,
    Discover,
    Other,
}

/// A request the admission stack let in, as it hands it to the service behind it: the
/// request's head, its body (collected under the one body cap, [`read_body`]), who sent it
/// and when ([`Admitted`]), and what the stack parsed of it ([`Seen`]).
pub struct AdmittedRequest {
    pub parts: http::request::Parts,
    pub body: Bytes,
    pub admitted: Admitted,
    pub(crate) seen: Seen,
}

/// Why a body could not be collected.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    #[error("request body exceeds {max} bytes")]
    TooLarge { max: usize },
    #[error("request body could not be read: {0}")]
    Unreadable(String),
}

/// A request's body, read up to `max` bytes: the body cap, for the admission stack and for
/// the direct path served without it.
pub async fn read_body<B>(body: B, max: usize) -> Result<Bytes, BodyError>
where
    B: http_body::Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    match http_body_util::Limited::new(body, max).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(BodyError::TooLarge { max }),
        Err(e) => Err(BodyError::Unreadable(e.to_string())),
    }
}
