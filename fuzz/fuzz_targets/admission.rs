//! A POSTed body through the admission stack (the tower layer every request passes, with
//! its JSON-RPC framing, body cap and call-shape checks): never a panic; what it lets
//! through is one JSON object with a method (a request or notification) or with a result
//! or an error (a response); what it refuses gets a 4xx or 5xx answer whose body is a
//! JSON-RPC error with an integer code. (The `jsonrpc` version, numbers out of range and
//! the rest of a message are the service behind's to judge: its refusals are answered as
//! JSON-RPC too, as servers/local/tests/it/http.rs checks.)
#![no_main]

#[path = "common/mod.rs"]
mod common;

use std::convert::Infallible;
use std::num::{NonZeroU32, NonZeroUsize};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::body::Body;
use common::runtime;
use http_body_util::BodyExt;
use libfuzzer_sys::fuzz_target;
use mcp_server_core::admission::{Admission, AdmissionLayer};
use mcp_server_core::admitted::AdmittedRequest;
use mcp_server_core::audit::AuditSink;
use mcp_server_core::config::{Tier, TierLimits};
use mcp_server_core::metrics::Metrics;
use serde_json::Value;
use tower::{Layer, Service, ServiceExt};

/// Bodies over this are refused (413) before they are parsed.
const BODY_CAP: usize = 64 * 1024;

fn admission() -> Arc<Admission> {
    static ADMISSION: OnceLock<Arc<Admission>> = OnceLock::new();
    ADMISSION
        .get_or_init(|| {
            // Limits no fuzzing rate reaches: the parse is what is under test.
            let limits = TierLimits {
                max_inflight_requests: NonZeroUsize::new(1_000_000).expect("non-zero"),
                rate_limit_per_second: NonZeroU32::MAX,
                rate_limit_per_caller_per_second: NonZeroU32::MAX,
                timeout: Duration::from_secs(5),
                max_concurrent: NonZeroUsize::new(10).expect("non-zero"),
                iam_role_max_duration: None,
                max_request_body_bytes: NonZeroUsize::new(BODY_CAP).expect("non-zero"),
            };
            let metrics = Metrics::new(Arc::default());
            Arc::new(Admission::new(
                Tier::Local,
                limits,
                Default::default(),
                metrics,
                AuditSink::off(),
                None,
            ))
        })
        .clone()
}

fuzz_target!(|data: &[u8]| {
    runtime().block_on(async {
        // The stateless path parses calls at admission; the session path leaves them on.
        for parse_calls in [true, false] {
            let inner = tower::service_fn(|_: AdmittedRequest| async {
                Ok::<_, Infallible>(http::Response::new(Body::from("admitted")))
            });
            let mut service = AdmissionLayer::new(admission())
                .parsing_calls(parse_calls)
                .layer(inner);
            let request = http::Request::post("/mcp")
                .header("content-type", "application/json")
                .header("accept", "application/json, text/event-stream")
                .body(Body::from(data.to_vec()))
                .expect("a request");
            let ready = service.ready().await.expect("always ready");
            let response = ready.call(request).await.expect("infallible");
            let status = response.status();
            let body = response
                .into_body()
                .collect()
                .await
                .expect("a body in memory")
                .to_bytes();
            if status == http::StatusCode::OK && &body[..] == b"admitted" {
                // One JSON object (its values read raw: their range and the rest of the
                // message are the service behind's to judge) with a method (a request or
                // notification), or a result or an error (a response to the server).
                let message: serde_json::Map<String, Value> = serde_json::from_slice::<
                    std::collections::BTreeMap<String, Box<serde_json::value::RawValue>>,
                >(data)
                .unwrap_or_else(|e| panic!("admitted a body that is no JSON object: {e}"))
                .into_iter()
                .map(|(k, v)| (k, Value::String(v.get().to_owned())))
                .collect();
                let method_is_string = message
                    .get("method")
                    .and_then(Value::as_str)
                    .is_some_and(|raw| raw.starts_with('"'));
                assert!(
                    method_is_string
                        || message.contains_key("result")
                        || message.contains_key("error"),
                    "admitted {message:?}"
                );
                assert!(data.len() <= BODY_CAP);
                continue;
            }
            assert!(
                status.is_client_error() || status.is_server_error(),
                "refused with {status}"
            );
            let answer: Value = serde_json::from_slice(&body)
                .unwrap_or_else(|e| panic!("a refusal ({status}) that is not JSON: {e}"));
            assert_eq!(answer["jsonrpc"], "2.0", "{answer}");
            assert!(answer["error"]["code"].is_i64(), "{answer}");
        }
    });
});
