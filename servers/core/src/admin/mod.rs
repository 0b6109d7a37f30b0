//! The admin endpoint: tools added and removed at run time, on the tier's own listener.
//!
//! - `POST /admin/tools` with a [`preset::PresetSpec`] adds a preset tool (201);
//! - `DELETE /admin/tools/{name}` removes one added that way (200); the configured tools
//!   come from the config file and cannot be removed (409).
//!
//! Off unless the listener's `admin.enabled` is set (`network_isolation.yaml`). Answered
//! only on a loopback connection, to a request that names a loopback `Host` and carries
//! no `Origin` (a browser page, even one rebound to 127.0.0.1, always sends one with a
//! POST or DELETE), and on a tier that authenticates its callers only to a caller whose
//! principal `admin.principals` lists. Every change bumps the registry's version, so
//! connected clients get `notifications/tools/list_changed` (`handler/notify.rs`).
//! Refusals and bad input are JSON: `{"error": {"code": "...", "message": "..."}}`.

pub mod preset;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Path, Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, post};
use http::{HeaderValue, StatusCode, header};
use serde_json::json;

use crate::admission::Authenticator;
use crate::registry::{RegistryError, ToolRegistry};

/// Largest body `POST /admin/tools` reads.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Most tools a registry may hold; adding beyond is refused.
pub const MAX_TOOLS: usize = 10_000;

/// What the admin routes need.
pub struct AdminState {
    pub registry: Arc<ToolRegistry>,
    /// The tier's authenticator, if it authenticates callers.
    pub auth: Option<Arc<dyn Authenticator>>,
    /// The principals that may use the endpoint (when `auth` is set).
    pub principals: Vec<String>,
}

/// A refusal or bad input, answered as JSON with its status.
#[derive(Debug)]
pub struct AdminError {
    status: StatusCode,
    code: &'static str,
    message: String,
    /// The authenticator's challenge, for a 401.
    www_authenticate: Option<HeaderValue>,
}

impl AdminError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        AdminError {
            status,
            code,
            message: message.into(),
            www_authenticate: None,
        }
    }

    /// Input that cannot be turned into a tool (422).
    pub fn invalid(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
    }

    /// A name already taken (409).
    pub fn duplicate(name: &str) -> Self {
        Self::new(
            StatusCode::CONFLICT,
            "duplicate_name",
            format!("a tool named {name:?} is already registered"),
        )
    }

    fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }
}

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        let body = json!({ "error": { "code": self.code, "message": self.message } });
        let mut response = (self.status, axum::Json(body)).into_response();
        if let Some(challenge) = self.www_authenticate {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, challenge);
        }
        response
    }
}

/// The admin routes, to merge into the tier's router.
pub fn router(state: AdminState) -> Router {
    Router::new()
        .route("/admin/tools", post(add))
        .route("/admin/tools/{name}", delete(remove))
        .with_state(Arc::new(state))
}

async fn add(State(state): State<Arc<AdminState>>, request: Request) -> Response {
    match add_tool(&state, request).await {
        Ok(response) => response,
        Err(error) => error.into_response(),
    }
}

async fn add_tool(state: &AdminState, request: Request) -> Result<Response, AdminError> {
    let principal = check_access(state, &request)?;
    let (parts, body) = request.into_parts();
    let json = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().starts_with("application/json"));
    if !json {
        return Err(AdminError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "content_type",
            "send the tool as Content-Type: application/json",
        ));
    }
    let bytes = axum::body::to_bytes(Body::new(body), MAX_BODY_BYTES)
        .await
        .map_err(|_| {
            AdminError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body_too_large",
                format!("the body is larger than {MAX_BODY_BYTES} bytes (or was cut off)"),
            )
        })?;
    let spec: preset::PresetSpec = serde_json::from_slice(&bytes).map_err(|e| {
        AdminError::new(
            StatusCode::BAD_REQUEST,
            "invalid_json",
            format!("the body is not a preset tool ({{name, base, description?, preset}}): {e}"),
        )
    })?;
    if state.registry.len() >= MAX_TOOLS {
        return Err(AdminError::new(
            StatusCode::CONFLICT,
            "too_many_tools",
            format!("the tier holds {MAX_TOOLS} tools already"),
        ));
    }
    let tool = preset::build(spec, &state.registry)?;
    let name = tool.name().to_owned();
    let base = tool.preset.as_ref().map(|p| p.base.clone());
    state.registry.register(tool).map_err(|e| match e {
        RegistryError::Duplicate(name) => AdminError::duplicate(&name),
        other => AdminError::invalid("invalid_tool", other.to_string()),
    })?;
    let version = state.registry.version();
    tracing::info!(tool = %name, ?base, ?principal, version, "admin: tool added");
    Ok((
        StatusCode::CREATED,
        axum::Json(json!({ "name": name, "base": base, "version": version })),
    )
        .into_response())
}

async fn remove(
    State(state): State<Arc<AdminState>>,
    Path(name): Path<String>,
    request: Request,
) -> Response {
    let removed = check_access(&state, &request).and_then(|principal| {
        let anyone = crate::caller::Caller::anonymous("admin");
        match state.registry.get(&name, &anyone) {
            None => Err(AdminError::new(
                StatusCode::NOT_FOUND,
                "unknown_tool",
                format!("no tool named {name:?}"),
            )),
            Some(tool) if tool.preset.is_none() => Err(AdminError::new(
                StatusCode::CONFLICT,
                "configured_tool",
                format!(
                    "{name} comes from the tier's config file; only added tools can be removed"
                ),
            )),
            Some(_) if !state.registry.unregister(&name) => Err(AdminError::new(
                StatusCode::NOT_FOUND,
                "unknown_tool",
                format!("no tool named {name:?}"),
            )),
            Some(_) => Ok(principal),
        }
    });
    match removed {
        Ok(principal) => {
            let version = state.registry.version();
            tracing::info!(tool = %name, ?principal, version, "admin: tool removed");
            axum::Json(json!({ "removed": name, "version": version })).into_response()
        }
        Err(error) => error.into_response(),
    }
}

/// Loopback connection, loopback `Host`, no `Origin`, and an admin principal where callers
/// authenticate. Returns the principal, if any.
fn check_access(state: &AdminState, request: &Request) -> Result<Option<String>, AdminError> {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(peer)| *peer);
    if !peer.is_some_and(|p| p.ip().is_loopback() || is_mapped_loopback(&p)) {
        return Err(AdminError::forbidden(
            "the admin endpoint answers loopback connections only",
        ));
    }
    let headers = request.headers();
    if headers.contains_key(header::ORIGIN) {
        return Err(AdminError::forbidden(
            "the admin endpoint is not for browsers: a request with an Origin is refused",
        ));
    }
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    if !host.is_some_and(is_loopback_host) {
        return Err(AdminError::forbidden(
            "the admin endpoint needs a loopback Host (127.0.0.1, localhost or [::1])",
        ));
    }
    let Some(auth) = &state.auth else {
        return Ok(None);
    };
    let caller = auth.authenticate(headers).map_err(|failure| {
        let mut error =
            AdminError::new(StatusCode::UNAUTHORIZED, "unauthenticated", failure.message);
        error.www_authenticate = Some(failure.www_authenticate);
        error
    })?;
    let principal = caller.principal.as_deref().unwrap_or_default();
    if !state.principals.iter().any(|p| p == principal) {
        return Err(AdminError::forbidden(format!(
            "caller {principal:?} may not use the admin endpoint"
        )));
    }
    Ok(Some(principal.to_owned()))
}

fn is_mapped_loopback(peer: &SocketAddr) -> bool {
    match peer {
        SocketAddr::V6(v6) => v6.ip().to_ipv4_mapped().is_some_and(|v4| v4.is_loopback()),
        SocketAddr::V4(_) => false,
    }
}

/// `127.0.0.1`, `localhost` or `[::1]`, with or without a port.
fn is_loopback_host(host: &str) -> bool {
    let name = match host.rfind(':') {
        Some(i) if !host[i..].contains(']') => &host[..i],
        _ => host,
    };
    ["127.0.0.1", "localhost", "[::1]"]
        .iter()
        .any(|l| l.eq_ignore_ascii_case(name))
}

#[cfg(test)]
mod tests;
