//! The OAuth token's refresher against a real token endpoint whose answers are scripted: a
//! refresh that fails is counted and tried again while the current token is still sent,
//! and the refresher stops once the token is dropped.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use mcp_slo_core::spec::ClientAuth;
use mcp_slo_engine::client::oauth::{OAuthConfig, OAuthToken, TokenLog};
use serde_json::json;

/// The answers to give, in order (the last one repeated), and what was asked.
struct Script {
    answers: Mutex<VecDeque<(StatusCode, serde_json::Value)>>,
    requests: AtomicU64,
    last_form: Mutex<String>,
    last_authorization: Mutex<String>,
}

async fn token(State(script): State<Arc<Script>>, headers: HeaderMap, body: Bytes) -> Response {
    script.requests.fetch_add(1, Ordering::Relaxed);
    *script.last_form.lock().unwrap() = String::from_utf8_lossy(&body).into_owned();
    *script.last_authorization.lock().unwrap() = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let mut answers = script.answers.lock().unwrap();
    let (status, body) = if answers.len() > 1 {
        answers.pop_front().unwrap()
    } else {
        answers[0].clone()
    };
    (status, axum::Json(body)).into_response()
}

async fn endpoint(answers: Vec<(StatusCode, serde_json::Value)>) -> (String, Arc<Script>) {
    let script = Arc::new(Script {
        answers: Mutex::new(answers.into()),
        requests: AtomicU64::new(0),
        last_form: Mutex::default(),
        last_authorization: Mutex::default(),
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/token", listener.local_addr().unwrap());
    let app = Router::new()
        .route("/token", post(token))
        .with_state(script.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, script)
}

fn config(url: &str, auth_method: ClientAuth) -> OAuthConfig {
    OAuthConfig {
        token_url: url.to_owned(),
        client_id: "load test".to_owned(),
        client_secret: "s:cret".to_owned(),
        scope: Some("mcp:tools mcp:read".to_owned()),
        resource: Some("http://127.0.0.1:1/mcp".to_owned()),
        audience: None,
        auth_method,
    }
}

fn issued(token: &str, expires_in: u64) -> (StatusCode, serde_json::Value) {
    (
        StatusCode::OK,
        json!({"access_token": token, "token_type": "Bearer", "expires_in": expires_in}),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_refresh_is_counted_and_tried_again_while_the_token_is_still_sent() {
    let (url, script) = endpoint(vec![
        issued("first", 1),
        (
            StatusCode::SERVICE_UNAVAILABLE,
            json!({"error": "temporarily_unavailable", "error_description": "try later"}),
        ),
        issued("second", 3600),
    ])
    .await;
    let logged = Arc::new(Mutex::new(Vec::<String>::new()));
    let sink = logged.clone();
    let log: TokenLog = Arc::new(move |line: &str| sink.lock().unwrap().push(line.to_owned()));
    let (token, lifetime) = OAuthToken::start(config(&url, ClientAuth::Basic), log)
        .await
        .unwrap();
    assert_eq!(lifetime, Some(Duration::from_secs(1)));
    assert_eq!(token.header().to_str().unwrap(), "Bearer first");
    assert!(token.header().is_sensitive());
    assert_eq!(
        *script.last_form.lock().unwrap(),
        "grant_type=client_credentials&scope=mcp%3Atools+mcp%3Aread&resource=http%3A%2F%2F127.0.0.1%3A1%2Fmcp"
    );
    // "load test" and "s:cret" form-encoded, then Basic.
    assert_eq!(
        *script.last_authorization.lock().unwrap(),
        "Basic bG9hZCt0ZXN0OnMlM0FjcmV0"
    );
    // The refresh at 0.5 s fails; the next try, 0.5 s later, succeeds.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while token.fetches() < 2 && tokio::time::Instant::now() < deadline {
        if token.failures() == 1 {
            assert_eq!(token.header().to_str().unwrap(), "Bearer first");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!((token.fetches(), token.failures()), (2, 1));
    assert_eq!(token.header().to_str().unwrap(), "Bearer second");
    let logged = logged.lock().unwrap().clone();
    assert_eq!(logged.len(), 1, "{logged:?}");
    assert!(
        logged[0].contains("token refresh failed (1 so far), next try in 500ms")
            && logged[0].contains("refused (HTTP 503): temporarily_unavailable: try later"),
        "{logged:?}"
    );
    assert_eq!(script.requests.load(Ordering::Relaxed), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_secret_post_sends_the_credentials_in_the_form_and_drop_stops_refreshing() {
    let (url, script) = endpoint(vec![issued("t", 0)]).await;
    let log: TokenLog = Arc::new(|_: &str| {});
    let (token, _) = OAuthToken::start(config(&url, ClientAuth::Post), log)
        .await
        .unwrap();
    assert_eq!(*script.last_authorization.lock().unwrap(), "");
    assert!(
        script
            .last_form
            .lock()
            .unwrap()
            .ends_with("&client_id=load+test&client_secret=s%3Acret"),
        "{}",
        script.last_form.lock().unwrap()
    );
    // A token that expires at once is fetched again every 100 ms, until it is dropped.
    tokio::time::sleep(Duration::from_millis(350)).await;
    let clone = token.clone();
    drop(token);
    assert!(clone.fetches() >= 3, "{}", clone.fetches());
    drop(clone);
    // A fetch already on the wire may still arrive.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let after_drop = script.requests.load(Ordering::Relaxed);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(script.requests.load(Ordering::Relaxed), after_drop);
}
