//! Every refusal of the admission stack, and the one place it becomes an HTTP answer: a
//! JSON-RPC error with the request's id where it has one, its status, and the headers a
//! client acts on (`Retry-After`, `WWW-Authenticate`).

use std::num::{NonZeroU32, NonZeroUsize};

use http::StatusCode;
use serde_json::Value;

use crate::admission::AuthFailure;
use crate::admitted::BodyError;
use crate::jsonrpc::{RpcErrorResponse, code};
use crate::metrics::Rejection;

#[derive(Debug, thiserror::Error)]
pub enum AdmissionError {
    /// No or a wrong caller identity: 401.
    #[error("{}", .0.message)]
    Unauthenticated(AuthFailure),
    /// A POST whose body is not declared JSON: 415.
    #[error("Content-Type must be application/json")]
    ContentType,
    /// Over the body cap (413) or unreadable (400).
    #[error(transparent)]
    Body(#[from] BodyError),
    /// Not a JSON-RPC message this server takes: 400 with -32700 (not JSON) or -32600.
    #[error("{message}")]
    Malformed {
        code: i32,
        message: String,
        id: Value,
    },
    /// A `tools/call` whose params are not `{"name": ..., "arguments": {...}}`: 400, -32602.
    #[error("{why}")]
    CallShape { why: String, id: Value },
    /// Over the in-flight cap: 503 at once, `Retry-After: 1`.
    #[error("server overloaded: {cap} requests already in flight")]
    Overloaded { cap: NonZeroUsize, id: Value },
    /// The peer failed authentication too often: 429 with `Retry-After` until its window
    /// ends, whatever it sends.
    #[error(
        "too many failed authentications from this address ({failures} a minute): retry in {wait_s} s"
    )]
    AuthLocked { wait_s: u64, failures: u32 },
    /// Over the global or the caller's rate limit: 429 with `Retry-After`.
    #[error("rate limited: over {per_second} tool calls per second; retry in {wait_ms} ms")]
    RateLimited {
        wait_ms: u64,
        per_second: NonZeroU32,
        id: Value,
    },
    /// The shared rate limit's store did not answer and the policy is `closed`: 503,
    /// `Retry-After: 1`.
    #[error("rate limit store unreachable: tool calls are refused until it answers")]
    RateStoreUnavailable { id: Value },
}

impl AdmissionError {
    /// What `/metrics` counts it as.
    pub fn rejection(&self) -> Rejection {
        match self {
            AdmissionError::Unauthenticated(_) => Rejection::Unauthenticated,
            AdmissionError::AuthLocked { .. } => Rejection::AuthLocked,
            AdmissionError::ContentType => Rejection::ContentType,
            AdmissionError::Body(BodyError::TooLarge { .. }) => Rejection::BodyTooLarge,
            AdmissionError::Body(BodyError::Unreadable(_))
            | AdmissionError::Malformed { .. }
            | AdmissionError::CallShape { .. } => Rejection::Malformed,
            AdmissionError::Overloaded { .. } => Rejection::Overloaded,
            AdmissionError::RateLimited { .. } => Rejection::RateLimited,
            AdmissionError::RateStoreUnavailable { .. } => Rejection::RateStoreUnavailable,
        }
    }

    /// The answer a client gets.
    pub fn response(self) -> RpcErrorResponse {
        let message = self.to_string();
        let kind = self.rejection().as_str();
        let error = |status, code| RpcErrorResponse::new(status, code, message, kind);
        match self {
            AdmissionError::Unauthenticated(failure) => {
                let mut response = error(StatusCode::UNAUTHORIZED, code::UNAUTHORIZED);
                response.www_authenticate = Some(failure.www_authenticate);
                response
            }
            AdmissionError::AuthLocked { wait_s, .. } => {
                error(StatusCode::TOO_MANY_REQUESTS, code::RATE_LIMITED)
                    .with_data("retryAfterMs", (wait_s * 1000).into())
                    .retry_after(wait_s)
            }
            AdmissionError::ContentType => {
                error(StatusCode::UNSUPPORTED_MEDIA_TYPE, code::INVALID_REQUEST)
            }
            AdmissionError::Body(BodyError::TooLarge { .. }) => {
                error(StatusCode::PAYLOAD_TOO_LARGE, code::INVALID_REQUEST)
            }
            AdmissionError::Body(BodyError::Unreadable(_)) => {
                error(StatusCode::BAD_REQUEST, code::INVALID_REQUEST)
            }
            AdmissionError::Malformed { code, id, .. } => {
                error(StatusCode::BAD_REQUEST, code).with_id(id)
            }
            AdmissionError::CallShape { id, .. } => {
                error(StatusCode::BAD_REQUEST, code::INVALID_PARAMS).with_id(id)
            }
            AdmissionError::Overloaded { cap, id } => {
                error(StatusCode::SERVICE_UNAVAILABLE, code::OVERLOADED)
                    .with_id(id)
                    .with_data("maxInflightRequests", cap.get().into())
                    .retry_after(1)
            }
            AdmissionError::RateLimited {
                wait_ms,
                per_second,
                id,
            } => error(StatusCode::TOO_MANY_REQUESTS, code::RATE_LIMITED)
                .with_id(id)
                .with_data("retryAfterMs", wait_ms.into())
                .with_data("ratePerSecond", per_second.get().into())
                .retry_after(wait_ms.div_ceil(1000)),
            AdmissionError::RateStoreUnavailable { id } => {
                error(StatusCode::SERVICE_UNAVAILABLE, code::OVERLOADED)
                    .with_id(id)
                    .retry_after(1)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;
    use serde_json::json;

    #[test]
    fn each_refusal_has_its_status_code_and_headers() {
        let cap = NonZeroUsize::new(100).unwrap();
        let per_second = NonZeroU32::new(100).unwrap();
        let cases = [
            (
                AdmissionError::Unauthenticated(AuthFailure {
                    message: "no token".into(),
                    www_authenticate: HeaderValue::from_static("Bearer"),
                }),
                401,
                code::UNAUTHORIZED,
                "unauthenticated",
            ),
            (
                AdmissionError::ContentType,
                415,
                code::INVALID_REQUEST,
                "content_type",
            ),
            (
                BodyError::TooLarge { max: 10 }.into(),
                413,
                code::INVALID_REQUEST,
                "body_too_large",
            ),
            (
                AdmissionError::Malformed {
                    code: code::PARSE_ERROR,
                    message: "invalid JSON".into(),
                    id: Value::Null,
                },
                400,
                code::PARSE_ERROR,
                "malformed",
            ),
            (
                AdmissionError::CallShape {
                    why: "no name".into(),
                    id: json!(3),
                },
                400,
                code::INVALID_PARAMS,
                "malformed",
            ),
            (
                AdmissionError::Overloaded { cap, id: json!(4) },
                503,
                code::OVERLOADED,
                "overloaded",
            ),
            (
                AdmissionError::RateLimited {
                    wait_ms: 1500,
                    per_second,
                    id: json!("r"),
                },
                429,
                code::RATE_LIMITED,
                "rate_limited",
            ),
            (
                AdmissionError::RateStoreUnavailable { id: json!(5) },
                503,
                code::OVERLOADED,
                "rate_limit_store_unavailable",
            ),
        ];
        for (error, status, code, kind) in cases {
            let message = error.to_string();
            let response = error.response();
            assert_eq!(response.status.as_u16(), status, "{message}");
            assert_eq!(response.code, code, "{message}");
            assert_eq!(response.message, message);
            assert_eq!(response.data["kind"], kind, "{message}");
            match status {
                401 => assert!(response.www_authenticate.is_some()),
                503 => assert_eq!(response.retry_after_secs, Some(1)),
                429 => {
                    assert_eq!(response.retry_after_secs, Some(2), "1.5 s rounds up");
                    assert_eq!(response.id, json!("r"));
                    assert_eq!(response.data["ratePerSecond"], 100);
                }
                _ => assert_eq!(response.retry_after_secs, None),
            }
        }
    }
}
