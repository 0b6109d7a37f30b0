//! The servers the OAuth tests run against: a token endpoint implementing the client
//! credentials grant, and an MCP server (the engine's calibration server behind a gate) that
//! takes only current tokens, as the token endpoint issued them or as an authorization
//! server's introspection endpoint (RFC 7662) judges them.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::header::{
    ACCEPT, AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE, HeaderMap, WWW_AUTHENTICATE,
};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, post};
use base64::Engine as _;
use mcp_slo_engine::calibration::CalibrationServer;
use mcp_slo_engine::reqwest;
use serde_json::{Value, json};

/// How long an issued token is accepted.
pub const LIFETIME: Duration = Duration::from_secs(2);
/// The client that authenticates with HTTP Basic (its id from `${OAUTH_TEST_CLIENT}`;
/// both need form-encoding inside the Basic value) and the one that posts its credentials
/// in the form.
pub const BASIC_CLIENT: (&str, &str) = ("load:tester", "s3cret/+=");
pub const POST_CLIENT: (&str, &str) = ("poster", "p0st-secret");
pub const SCOPE: &str = "mcp:tools";

/// The in-test authorization server.
pub struct Issuer {
    clients: Vec<(String, String)>,
    /// The MCP server's URL: the only RFC 8707 resource tokens are issued for.
    resource: String,
    /// Each token with when it expires.
    tokens: Mutex<HashMap<String, Instant>>,
    /// Tokens issued per client id.
    issued: Mutex<HashMap<String, u64>>,
    /// Requests the token endpoint refused.
    pub refused_grants: AtomicU64,
    next: AtomicU64,
}

impl Issuer {
    pub fn issued(&self, client: &str) -> u64 {
        self.issued
            .lock()
            .unwrap()
            .get(client)
            .copied()
            .unwrap_or(0)
    }

    fn current(&self, token: &str) -> bool {
        let tokens = self.tokens.lock().unwrap();
        tokens.get(token).is_some_and(|e| Instant::now() < *e)
    }
}

/// How the gate judges a token.
pub enum Validator {
    Issuer(Arc<Issuer>),
    /// RFC 7662: asked for every request, authenticated with HTTP Basic as (id, secret).
    Introspection {
        url: String,
        client: (String, String),
    },
}

/// The gated MCP server's counters.
#[derive(Default)]
pub struct GateCounts {
    /// MCP requests that arrived, and those refused for want of a current token.
    pub requests: AtomicU64,
    pub refused: AtomicU64,
}

struct Gate {
    validator: Validator,
    counts: Arc<GateCounts>,
    upstream: String,
    client: reqwest::Client,
}

pub struct Servers {
    pub mcp_url: String,
    /// The in-test token endpoint's URL and state.
    pub token_url: String,
    pub issuer: Arc<Issuer>,
    pub gate: Arc<GateCounts>,
}

/// Starts the in-test token endpoint and the gated calibration server on free ports, in
/// their own runtime thread (they live as long as the test process). The gate judges tokens
/// with `validator`, by default the in-test token endpoint.
pub fn start(validator: Option<Validator>) -> Servers {
    crate::common::on_own_runtime(move |tx| async move {
        let calibration = CalibrationServer::start(Duration::ZERO).await.unwrap();
        let token_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mcp_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let token_url = format!(
            "http://{}/oauth/token",
            token_listener.local_addr().unwrap()
        );
        let mcp_url = format!("http://{}/mcp", mcp_listener.local_addr().unwrap());
        let issuer = Arc::new(Issuer {
            clients: [BASIC_CLIENT, POST_CLIENT]
                .iter()
                .map(|(id, secret)| (id.to_string(), secret.to_string()))
                .collect(),
            resource: mcp_url.clone(),
            tokens: Mutex::default(),
            issued: Mutex::default(),
            refused_grants: AtomicU64::new(0),
            next: AtomicU64::new(0),
        });
        let counts = Arc::new(GateCounts::default());
        let gate = Arc::new(Gate {
            validator: validator.unwrap_or_else(|| Validator::Issuer(issuer.clone())),
            counts: counts.clone(),
            upstream: calibration.url.clone(),
            client: reqwest::Client::new(),
        });
        let token_app = Router::new()
            .route("/oauth/token", post(token))
            .with_state(issuer.clone());
        let mcp_app = Router::new().route("/mcp", any(mcp)).with_state(gate);
        tokio::spawn(async move { axum::serve(token_listener, token_app).await });
        tokio::spawn(async move { axum::serve(mcp_listener, mcp_app).await });
        tx.send(Servers {
            mcp_url,
            token_url,
            issuer,
            gate: counts,
        })
        .unwrap();
        let _calibration = calibration;
        std::future::pending::<()>().await;
    })
}

/// `application/x-www-form-urlencoded` decoding of one name or value.
fn form_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    let mut response = (
        status,
        [(CACHE_CONTROL, "no-store")],
        axum::Json(json!({"error": error, "error_description": description})),
    )
        .into_response();
    if status == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(
            WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"token\""),
        );
    }
    response
}

/// The token endpoint: the client credentials grant.
async fn token(State(issuer): State<Arc<Issuer>>, headers: HeaderMap, body: Bytes) -> Response {
    let refuse = |status, error, description| {
        issuer.refused_grants.fetch_add(1, Ordering::Relaxed);
        oauth_error(status, error, description)
    };
    let is_form = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return refuse(StatusCode::BAD_REQUEST, "invalid_request", "not a form");
    }
    let form: Vec<(String, String)> = String::from_utf8_lossy(&body)
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (form_decode(k), form_decode(v))
        })
        .collect();
    let field = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    // RFC 6749 section 2.3.1: the id and secret are form-encoded inside the Basic value.
    let basic = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok()?.strip_prefix("Basic "))
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|pair| {
            let (id, secret) = pair.split_once(':')?;
            Some((form_decode(id), form_decode(secret)))
        });
    let posted = field("client_id").zip(field("client_secret"));
    let client = match (basic, posted) {
        (Some(c), None) | (None, Some(c)) => c,
        _ => {
            return refuse(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "authenticate with exactly one method",
            );
        }
    };
    if !issuer.clients.contains(&client) {
        return refuse(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "client authentication failed",
        );
    }
    if field("grant_type").as_deref() != Some("client_credentials") {
        return refuse(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "only client_credentials",
        );
    }
    if let Some(scope) = field("scope")
        && scope.split(' ').any(|s| s != SCOPE)
    {
        return refuse(StatusCode::BAD_REQUEST, "invalid_scope", "unknown scope");
    }
    if let Some(resource) = field("resource")
        && resource != issuer.resource
    {
        return refuse(
            StatusCode::BAD_REQUEST,
            "invalid_target",
            "unknown resource",
        );
    }
    let n = issuer.next.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let access_token = format!("tok-{n}-{nanos:x}");
    issuer
        .tokens
        .lock()
        .unwrap()
        .insert(access_token.clone(), Instant::now() + LIFETIME);
    *issuer.issued.lock().unwrap().entry(client.0).or_default() += 1;
    (
        [(CACHE_CONTROL, "no-store")],
        axum::Json(json!({
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": LIFETIME.as_secs(),
            "scope": SCOPE,
        })),
    )
        .into_response()
}

impl Gate {
    async fn current(&self, token: &str) -> bool {
        match &self.validator {
            Validator::Issuer(issuer) => issuer.current(token),
            Validator::Introspection { url, client } => {
                let answer = self
                    .client
                    .post(url)
                    .basic_auth(&client.0, Some(&client.1))
                    .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .body(format!("token={token}"))
                    .send()
                    .await;
                let Ok(answer) = answer else { return false };
                let body: Value = answer.json().await.unwrap_or_default();
                body["active"] == true
            }
        }
    }
}

/// The MCP server: a request with a current token goes on to the calibration server.
async fn mcp(
    State(gate): State<Arc<Gate>>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    gate.counts.requests.fetch_add(1, Ordering::Relaxed);
    let token = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok()?.strip_prefix("Bearer "))
        .map(str::to_owned);
    let valid = match &token {
        Some(t) => gate.current(t).await,
        None => false,
    };
    if !valid {
        gate.counts.refused.fetch_add(1, Ordering::Relaxed);
        return (
            StatusCode::UNAUTHORIZED,
            [(WWW_AUTHENTICATE, "Bearer error=\"invalid_token\"")],
        )
            .into_response();
    }
    let mut request = gate.client.request(method, &gate.upstream).body(body);
    for (name, value) in &headers {
        if name == CONTENT_TYPE || name == ACCEPT || name.as_str().starts_with("mcp-") {
            request = request.header(name, value);
        }
    }
    let Ok(answer) = request.send().await else {
        return StatusCode::BAD_GATEWAY.into_response();
    };
    let status = answer.status();
    let mut kept = HeaderMap::new();
    for (name, value) in answer.headers() {
        if name == CONTENT_TYPE || name.as_str().starts_with("mcp-") {
            kept.insert(name.clone(), value.clone());
        }
    }
    let body = answer.bytes().await.unwrap_or_default();
    (status, kept, body).into_response()
}
