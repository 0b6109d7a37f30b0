//! `/healthz` (the process is alive) and `/readyz` (its backends answer).

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use futures::future::BoxFuture;
use http::StatusCode;
use serde::Serialize;

/// One backend's state.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub name: String,
    pub ok: bool,
    pub detail: String,
}

/// A tier's backends, checked on each `/readyz`.
pub trait Readiness: Send + Sync + 'static {
    fn check(&self) -> BoxFuture<'_, Vec<Check>>;
}

/// For a server with no backends.
pub struct AlwaysReady;

impl Readiness for AlwaysReady {
    fn check(&self) -> BoxFuture<'_, Vec<Check>> {
        Box::pin(async { Vec::new() })
    }
}

pub async fn healthz() -> &'static str {
    "ok\n"
}

#[derive(Serialize)]
struct ReadyBody {
    ready: bool,
    checks: Vec<Check>,
}

pub async fn readyz(State(readiness): State<Arc<dyn Readiness>>) -> Response {
    let checks = readiness.check().await;
    let ready = checks.iter().all(|c| c.ok);
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(ReadyBody { ready, checks })).into_response()
}
