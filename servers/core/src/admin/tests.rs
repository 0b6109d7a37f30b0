use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use futures::future::BoxFuture;
use http::{HeaderMap, HeaderValue, Method, Request, StatusCode};
use http_body_util::BodyExt as _;
use serde_json::{Value, json};
use tower::ServiceExt as _;

use super::{AdminState, MAX_BODY_BYTES, router};
use crate::admission::{AuthFailure, Authenticator};
use crate::caller::Caller;
use crate::config::{Category, ParamKind, ParamSpec, Tier, ToolConfig, ToolOptions, ToolSecurity};
use crate::registry::{RegisteredTool, ToolCall, ToolError, ToolHandler, ToolOutput, ToolRegistry};

struct Echo;
impl ToolHandler for Echo {
    fn call<'a>(&'a self, call: ToolCall<'a>) -> BoxFuture<'a, Result<ToolOutput, ToolError>> {
        Box::pin(async move { Ok(ToolOutput::json(Value::Object(call.args.clone()))) })
    }
}

fn param(name: &str, kind: ParamKind, required: bool) -> ParamSpec {
    ParamSpec {
        name: name.into(),
        kind,
        description: None,
        default: None,
        required,
    }
}

fn registry() -> Arc<ToolRegistry> {
    let registry = Arc::new(ToolRegistry::new(100));
    let config = ToolConfig {
        name: "postgres_query".into(),
        description: "SQL".into(),
        category: Category::Database,
        parameters: vec![
            param("query", ParamKind::String, true),
            param("database", ParamKind::String, false),
        ],
        security: ToolSecurity::default(),
        options: ToolOptions::default(),
    };
    registry
        .register(RegisteredTool::new(Tier::Local, config, Arc::new(Echo)))
        .unwrap();
    registry
}

/// Accepts `Bearer admin-token` (principal `ops`) and `Bearer reader-token` (`reader`).
struct Tokens;
impl Authenticator for Tokens {
    fn authenticate(&self, headers: &HeaderMap) -> Result<Caller, AuthFailure> {
        match headers.get("authorization").and_then(|v| v.to_str().ok()) {
            Some("Bearer admin-token") => Ok(Caller::with_tools("ops", ["x".to_string()])),
            Some("Bearer reader-token") => Ok(Caller::with_tools("reader", ["x".to_string()])),
            _ => Err(AuthFailure {
                message: "authentication required".into(),
                www_authenticate: HeaderValue::from_static("Bearer"),
            }),
        }
    }
}

async fn send(
    state: AdminState,
    peer: &str,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: impl Into<Body>,
) -> (StatusCode, Value) {
    let mut request = Request::builder()
        .method(method)
        .uri(path)
        .header("host", "127.0.0.1:8080")
        .header("content-type", "application/json")
        .body(body.into())
        .unwrap();
    for (k, v) in headers {
        let name = http::header::HeaderName::from_bytes(k.as_bytes()).unwrap();
        request
            .headers_mut()
            .insert(name, HeaderValue::from_str(v).unwrap());
    }
    let peer: SocketAddr = peer.parse().unwrap();
    request
        .extensions_mut()
        .insert(axum::extract::ConnectInfo(peer));
    let response = router(state).oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

fn open(registry: &Arc<ToolRegistry>) -> AdminState {
    AdminState {
        registry: registry.clone(),
        auth: None,
        principals: Vec::new(),
    }
}

const LOOPBACK: &str = "127.0.0.1:5555";

async fn post(registry: &Arc<ToolRegistry>, body: Value) -> (StatusCode, Value) {
    let body = body.to_string();
    send(
        open(registry),
        LOOPBACK,
        Method::POST,
        "/admin/tools",
        &[],
        body,
    )
    .await
}

#[tokio::test]
async fn a_preset_is_added_with_its_arguments_fixed_and_removed_again() {
    let registry = registry();
    let (status, body) = post(
        &registry,
        json!({"name": "agents_sql", "base": "postgres_query", "preset": {"database": "agents"}}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["base"], "postgres_query");
    assert_eq!(body["version"], 2);
    let tool = registry.get("agents_sql", &Caller::anonymous("t")).unwrap();
    let schema = Value::Object((*tool.descriptor.input_schema).clone());
    assert_eq!(
        schema["properties"].as_object().unwrap().len(),
        1,
        "{schema}"
    );
    assert_eq!(tool.preset.as_ref().unwrap().args["database"], "agents");
    let meta = tool.descriptor.meta.as_ref().unwrap();
    assert_eq!(meta.0["io.mcp-slo/tier"], "local");
    assert_eq!(meta.0["io.mcp-slo/base"], "postgres_query");
    // A caller allowed the base tool may use its presets; others may not.
    assert!(tool.usable_by(&Caller::with_tools("a", ["postgres_query".to_string()])));
    assert!(!tool.usable_by(&Caller::with_tools("b", ["file_read".to_string()])));
    // A preset of the preset is flattened onto the configured tool.
    let (status, body) = post(
        &registry,
        json!({"name": "agents_sql_2", "base": "agents_sql", "preset": {"query": "SELECT 1"}}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let nested = registry
        .get("agents_sql_2", &Caller::anonymous("t"))
        .unwrap();
    let preset = nested.preset.as_ref().unwrap();
    assert_eq!(preset.base, "postgres_query");
    assert_eq!(preset.args.len(), 2);
    let remove = |name: &str| {
        let path = format!("/admin/tools/{name}");
        let state = open(&registry);
        async move { send(state, LOOPBACK, Method::DELETE, &path, &[], Body::empty()).await }
    };
    let (status, body) = remove("agents_sql").await;
    assert_eq!(
        (status, body["removed"].clone()),
        (StatusCode::OK, json!("agents_sql"))
    );
    let (status, body) = remove("agents_sql").await;
    assert_eq!(
        (status, body["error"]["code"].clone()),
        (StatusCode::NOT_FOUND, json!("unknown_tool"))
    );
    let (status, body) = remove("postgres_query").await;
    assert_eq!(
        (status, body["error"]["code"].clone()),
        (StatusCode::CONFLICT, json!("configured_tool"))
    );
    assert!(registry.contains("postgres_query"));
}

#[tokio::test]
async fn bad_input_gets_a_json_error_naming_the_problem() {
    let registry = registry();
    let cases = [
        (
            json!({"name": "postgres_query", "base": "postgres_query", "preset": {"database": "a"}}),
            409,
            "duplicate_name",
        ),
        (
            json!({"name": "x", "base": "nope", "preset": {"database": "a"}}),
            422,
            "unknown_base",
        ),
        (
            json!({"name": "bad name", "base": "postgres_query", "preset": {"database": "a"}}),
            422,
            "invalid_name",
        ),
        (
            json!({"name": "x", "base": "postgres_query", "preset": {}}),
            422,
            "empty_preset",
        ),
        (
            json!({"name": "x", "base": "postgres_query", "preset": {"db": "a"}}),
            422,
            "invalid_preset",
        ),
        (
            json!({"name": "x", "base": "postgres_query", "preset": {"database": 5}}),
            422,
            "invalid_preset",
        ),
        (
            json!({"name": "x", "base": "postgres_query", "preset": {"database": null}}),
            422,
            "invalid_preset",
        ),
        (
            json!({"name": "x", "base": "postgres_query", "extra": 1}),
            400,
            "invalid_json",
        ),
        (json!([1, 2]), 400, "invalid_json"),
    ];
    for (body, status, code) in cases {
        let (got, answer) = post(&registry, body.clone()).await;
        assert_eq!(
            (got.as_u16(), answer["error"]["code"].as_str()),
            (status, Some(code)),
            "{body}: {answer}"
        );
        assert!(
            answer["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty())
        );
    }
    let (status, answer) = send(
        open(&registry),
        LOOPBACK,
        Method::POST,
        "/admin/tools",
        &[],
        "{not json",
    )
    .await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_json"))
    );
    let huge = format!("{{\"name\": \"{}\"}}", "x".repeat(MAX_BODY_BYTES));
    let (status, answer) = send(
        open(&registry),
        LOOPBACK,
        Method::POST,
        "/admin/tools",
        &[],
        huge,
    )
    .await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, Some("body_too_large"))
    );
    let (status, _) = send(
        open(&registry),
        LOOPBACK,
        Method::POST,
        "/admin/tools",
        &[("content-type", "text/plain")],
        "{}",
    )
    .await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(registry.len(), 1);
    assert_eq!(
        registry.version(),
        1,
        "nothing refused changed the registry"
    );
}

#[tokio::test]
async fn only_loopback_non_browser_admin_callers_get_in() {
    let registry = registry();
    let body =
        json!({"name": "agents_sql", "base": "postgres_query", "preset": {"database": "agents"}})
            .to_string();
    type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], u16);
    let cases: [Case; 3] = [
        ("10.1.2.3:4000", &[], 403),
        (LOOPBACK, &[("origin", "http://127.0.0.1:8080")], 403),
        (LOOPBACK, &[("host", "evil.example:8080")], 403),
    ];
    for (peer, headers, status) in cases {
        let (got, answer) = send(
            open(&registry),
            peer,
            Method::POST,
            "/admin/tools",
            headers,
            body.clone(),
        )
        .await;
        assert_eq!(got.as_u16(), status, "{peer} {headers:?}: {answer}");
        assert_eq!(answer["error"]["code"], "forbidden");
    }
    let authenticating = || AdminState {
        registry: registry.clone(),
        auth: Some(Arc::new(Tokens)),
        principals: vec!["ops".into()],
    };
    let (status, _) = send(
        authenticating(),
        LOOPBACK,
        Method::POST,
        "/admin/tools",
        &[],
        body.clone(),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let reader = [("authorization", "Bearer reader-token")];
    let (status, _) = send(
        authenticating(),
        LOOPBACK,
        Method::POST,
        "/admin/tools",
        &reader,
        body.clone(),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = send(
        authenticating(),
        LOOPBACK,
        Method::DELETE,
        "/admin/tools/postgres_query",
        &[],
        Body::empty(),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(registry.version(), 1);
    let admin = [("authorization", "Bearer admin-token")];
    let (status, _) = send(
        authenticating(),
        "[::ffff:127.0.0.1]:9",
        Method::POST,
        "/admin/tools",
        &admin,
        body,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
}

#[test]
fn the_admin_setting_is_off_by_default_and_checked_per_tier() {
    use crate::config::{AdminAccess, NetworkIsolation};
    let load = |local: &str, aws: &str| {
        let text = format!(
            "network:\n  local_server:\n    listen_address: \"127.0.0.1:8080\"\n{local}  aws_server:\n    listen_address: \"0.0.0.0:8081\"\n{aws}"
        );
        NetworkIsolation::from_yaml(std::path::Path::new("n.yaml"), &text)
    };
    let plain = load("", "").unwrap();
    assert_eq!(plain.local_server.admin, AdminAccess::default());
    let on = load(
        "    admin: {enabled: true}\n",
        "    admin: {enabled: true, principals: [console]}\n",
    )
    .unwrap();
    assert!(on.local_server.admin.enabled);
    assert_eq!(on.aws_server.admin.principals, vec!["console".to_string()]);
    let err = load(
        "    admin: {enabled: true, principals: [x], enable: true}\n",
        "    admin: {enabled: true}\n",
    )
    .unwrap_err();
    let messages = err.messages();
    assert_eq!(
        messages,
        vec![
            "network.local_server.admin.enable: unknown field".to_string(),
            "network.local_server.admin.principals: this tier authenticates no callers: loopback access is the only check".to_string(),
            "network.aws_server.admin.principals: list the caller principals that may use the admin endpoint".to_string(),
        ]
    );
}
