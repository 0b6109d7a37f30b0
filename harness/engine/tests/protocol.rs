//! The client and the one request path against stub servers that speak each revision the
//! way the specification allows: 2025 servers with and without session ids, sessions that
//! expire, 2026-07-28 servers that check their headers, paged lists, and refusals that a
//! retry gets past.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use mcp_slo_core::measure::CallOutcome;
use mcp_slo_core::spec::ops::{ListKind, Method};
use mcp_slo_core::spec::{Mode, Protocol, Retries, Revision, Scenario};
use mcp_slo_engine::client::{Endpoint, Http};
use mcp_slo_engine::op::{Attempts, execute_op};
use mcp_slo_engine::run::run;
use serde_json::{Value, json};

#[derive(Default)]
struct Stub {
    /// Serves 2026-07-28 (`server/discover`); else a 2025 server that answers it 400.
    modern: bool,
    /// Assigns this session id on `initialize` (2025).
    session_id: Option<&'static str>,
    /// Answers 404 for the session this many times (an expired session).
    expire_sessions: AtomicU64,
    /// `flaky` refuses (429) this many calls before answering.
    refusals_left: AtomicU64,
    /// `once_each` refuses the first attempt of each distinct argument `n`.
    seen: std::sync::Mutex<std::collections::HashSet<String>>,
    initialized: AtomicU64,
    header_mismatches: AtomicU64,
    calls: AtomicU64,
}

fn json_answer(status: StatusCode, v: Value) -> Response {
    (
        status,
        [("content-type", "application/json")],
        v.to_string(),
    )
        .into_response()
}

async fn mcp(State(stub): State<Arc<Stub>>, headers: HeaderMap, body: String) -> Response {
    let request: Value = serde_json::from_str(&body).unwrap_or_default();
    let id = request["id"].clone();
    let method = request["method"].as_str().unwrap_or_default().to_owned();
    let header = |k: &str| {
        headers
            .get(k)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let ok = |result: Value| {
        json_answer(
            StatusCode::OK,
            json!({"jsonrpc": "2.0", "id": id, "result": result}),
        )
    };
    if id.is_null() {
        return StatusCode::ACCEPTED.into_response();
    }
    let modern_request =
        request["params"]["_meta"]["io.modelcontextprotocol/protocolVersion"] == "2026-07-28";
    if modern_request {
        if !stub.modern {
            return (
                StatusCode::BAD_REQUEST,
                "Bad Request: Server not initialized",
            )
                .into_response();
        }
        let name_ok = match method.as_str() {
            "tools/call" => {
                header("mcp-name").as_deref() == request["params"]["name"].as_str()
                    && (request["params"]["name"] != "e"
                        || header("mcp-param-region").as_deref()
                            == request["params"]["arguments"]["region"].as_str())
            }
            _ => true,
        };
        if header("mcp-method").as_deref() != Some(method.as_str())
            || header("mcp-protocol-version").as_deref() != Some("2026-07-28")
            || !name_ok
        {
            stub.header_mismatches.fetch_add(1, Ordering::Relaxed);
            return json_answer(
                StatusCode::BAD_REQUEST,
                json!({"jsonrpc": "2.0", "id": id, "error": {"code": -32020, "message": "header mismatch"}}),
            );
        }
    } else if method != "initialize" {
        if let Some(sid) = stub.session_id {
            if header("mcp-session-id").as_deref() != Some(sid) {
                return (StatusCode::BAD_REQUEST, "Bad Request: no session").into_response();
            }
            let left = stub.expire_sessions.load(Ordering::Relaxed);
            if left > 0 {
                stub.expire_sessions.fetch_sub(1, Ordering::Relaxed);
                return (StatusCode::NOT_FOUND, "Not Found: Session not found").into_response();
            }
        } else if header("mcp-session-id").is_some() {
            return (StatusCode::BAD_REQUEST, "Bad Request: unknown session").into_response();
        }
    }
    match method.as_str() {
        "initialize" => {
            stub.initialized.fetch_add(1, Ordering::Relaxed);
            let mut response = ok(json!({
                "protocolVersion": request["params"]["protocolVersion"],
                "capabilities": {"tools": {}},
                "serverInfo": {"name": "stub", "version": "1"},
            }));
            if let Some(sid) = stub.session_id {
                response
                    .headers_mut()
                    .insert("mcp-session-id", sid.parse().unwrap());
            }
            response
        }
        "server/discover" => ok(json!({
            "resultType": "complete", "supportedVersions": ["2026-07-28"],
            "capabilities": {"tools": {}}, "ttlMs": 0, "cacheScope": "public",
        })),
        "tools/list" => {
            // Three pages of two tools.
            let (tools, next) = match request["params"]["cursor"].as_str() {
                None => (["a", "b"], Some("p2")),
                Some("p2") => (["c", "d"], Some("p3")),
                Some("p3") => (["e", "f"], None),
                Some(_) => {
                    return ok_error(id, -32602, "invalid cursor");
                }
            };
            // `e` mirrors its `region` argument into `Mcp-Param-Region`.
            let tools: Vec<Value> = tools
                .iter()
                .map(|n| match *n {
                    "e" => json!({"name": n, "inputSchema": {"type": "object", "properties": {
                        "region": {"type": "string", "x-mcp-header": "Region"}}}}),
                    _ => json!({"name": n, "inputSchema": {"type": "object"}}),
                })
                .collect();
            let mut result = json!({"resultType": "complete", "tools": tools, "ttlMs": 0, "cacheScope": "public"});
            if let Some(n) = next {
                result["nextCursor"] = json!(n);
            }
            ok(result)
        }
        "tools/call" => {
            stub.calls.fetch_add(1, Ordering::Relaxed);
            if request["params"]["name"] == "flaky" {
                let left = stub.refusals_left.load(Ordering::Relaxed);
                if left > 0 {
                    stub.refusals_left.fetch_sub(1, Ordering::Relaxed);
                    return (
                        StatusCode::TOO_MANY_REQUESTS,
                        [("retry-after", "0")],
                        json!({"jsonrpc": "2.0", "id": id, "error": {"code": -32029, "message": "rate limited"}}).to_string(),
                    )
                        .into_response();
                }
            }
            if request["params"]["name"] == "once_each" {
                let n = request["params"]["arguments"]["n"].to_string();
                if stub.seen.lock().unwrap().insert(n) {
                    return json_answer(
                        StatusCode::TOO_MANY_REQUESTS,
                        json!({"jsonrpc": "2.0", "id": id, "error": {"code": -32029, "message": "rate limited"}}),
                    );
                }
            }
            if request["params"]["name"] == "refused" {
                return json_answer(
                    StatusCode::TOO_MANY_REQUESTS,
                    json!({"jsonrpc": "2.0", "id": id, "error": {"code": -32029, "message": "rate limited"}}),
                );
            }
            ok(json!({"content": [{"type": "text", "text": "x"}], "isError": false}))
        }
        "ping" => ok(json!({})),
        _ => ok_error(id, -32601, "method not found"),
    }
}

fn ok_error(id: Value, code: i64, message: &str) -> Response {
    json_answer(
        StatusCode::OK,
        json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}}),
    )
}

async fn start(stub: Arc<Stub>) -> String {
    let app = Router::new()
        .route("/mcp", post(mcp).delete(|| async { StatusCode::ACCEPTED }))
        .with_state(stub);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}/mcp")
}

fn client() -> Http {
    Http::from(
        reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap(),
    )
}

async fn call(
    endpoint: &Endpoint,
    method: &Method,
    attempts: Attempts,
) -> mcp_slo_engine::client::Answer {
    let client = client();
    let mut session = endpoint.initialize(&client).await.expect("session");
    execute_op(&client, endpoint, &mut session, method, json!({}), attempts).await
}

#[tokio::test]
async fn auto_speaks_2026_07_28_to_a_server_that_discovers_with_every_header_it_checks() {
    let stub = Arc::new(Stub {
        modern: true,
        ..Stub::default()
    });
    let url = start(stub.clone()).await;
    let mut endpoint = Endpoint::new(url, Mode::Stateless, Protocol::Auto);
    let negotiated = endpoint.negotiate(&client()).await.expect("negotiated");
    assert_eq!(
        negotiated.revision,
        Revision::V2026_07_28,
        "{}",
        negotiated.how
    );
    let answer = call(
        &endpoint,
        &Method::CallTool("echo".into()),
        Attempts::once(Duration::from_secs(5)),
    )
    .await;
    assert_eq!(answer.outcome, CallOutcome::Ok, "{:?}", answer.message);
    // `e` is listed on the walk's third page: negotiating read it, so the run's first call
    // of `e` already carries the header its schema asks for.
    let client = client();
    let mut session = endpoint.initialize(&client).await.expect("session");
    let mirrored = execute_op(
        &client,
        &endpoint,
        &mut session,
        &Method::CallTool("e".into()),
        json!({"region": "eu-west-1"}),
        Attempts::once(Duration::from_secs(5)),
    )
    .await;
    assert_eq!(mirrored.outcome, CallOutcome::Ok, "{:?}", mirrored.message);
    let discover = call(
        &endpoint,
        &Method::Discover,
        Attempts::once(Duration::from_secs(5)),
    )
    .await;
    assert_eq!(discover.outcome, CallOutcome::Ok);
    assert_eq!(stub.header_mismatches.load(Ordering::Relaxed), 0);
    assert_eq!(
        stub.initialized.load(Ordering::Relaxed),
        0,
        "no initialize at 2026-07-28"
    );
}

#[tokio::test]
async fn auto_falls_back_to_initialize_and_a_server_may_assign_no_session_id() {
    let stub = Arc::new(Stub::default());
    let url = start(stub.clone()).await;
    let mut endpoint = Endpoint::new(url, Mode::Session, Protocol::Auto);
    let negotiated = endpoint.negotiate(&client()).await.expect("negotiated");
    assert_eq!(
        negotiated.revision,
        Revision::V2025_11_25,
        "{}",
        negotiated.how
    );
    for method in [Method::CallTool("echo".into()), Method::Ping] {
        let answer = call(&endpoint, &method, Attempts::once(Duration::from_secs(5))).await;
        assert_eq!(
            answer.outcome,
            CallOutcome::Ok,
            "{method:?}: {:?}",
            answer.message
        );
    }
}

#[tokio::test]
async fn an_expired_session_is_opened_again_and_counted() {
    let stub = Arc::new(Stub {
        session_id: Some("s-1"),
        expire_sessions: AtomicU64::new(1),
        ..Stub::default()
    });
    let url = start(stub.clone()).await;
    let endpoint = Endpoint::new(url, Mode::Session, Protocol::Fixed(Revision::V2025_11_25));
    let answer = call(
        &endpoint,
        &Method::CallTool("echo".into()),
        Attempts::once(Duration::from_secs(5)),
    )
    .await;
    assert_eq!(answer.outcome, CallOutcome::Ok, "{:?}", answer.message);
    assert_eq!(answer.reopened, 1);
    assert_eq!(
        stub.initialized.load(Ordering::Relaxed),
        2,
        "the first session and its replacement"
    );
}

#[tokio::test]
async fn a_paged_list_walk_reads_every_page_as_one_op() {
    for protocol in [Protocol::Auto, Protocol::Fixed(Revision::V2025_11_25)] {
        let stub = Arc::new(Stub {
            modern: true,
            ..Stub::default()
        });
        let mut endpoint = Endpoint::new(start(stub).await, Mode::Stateless, protocol);
        endpoint.negotiate(&client()).await.expect("negotiated");
        let walk = Method::List {
            kind: ListKind::Tools,
            walk: true,
        };
        let answer = call(&endpoint, &walk, Attempts::once(Duration::from_secs(5))).await;
        assert_eq!(answer.outcome, CallOutcome::Ok, "{:?}", answer.message);
        let listing = answer.listing.expect("a listing");
        assert_eq!((listing.pages, listing.items), (3, 6), "{protocol:?}");
        assert!(listing.bytes > 100);
        let page = Method::List {
            kind: ListKind::Tools,
            walk: false,
        };
        let first = call(&endpoint, &page, Attempts::once(Duration::from_secs(5))).await;
        assert_eq!(first.listing.map(|l| (l.pages, l.items)), Some((1, 2)));
    }
}

#[tokio::test]
async fn refusals_are_retried_with_backoff_and_never_past_the_deadline() {
    let stub = Arc::new(Stub {
        refusals_left: AtomicU64::new(2),
        ..Stub::default()
    });
    let endpoint = Endpoint::new(
        start(stub.clone()).await,
        Mode::Stateless,
        Protocol::Fixed(Revision::V2025_11_25),
    );
    let retries = Some(Retries {
        attempts: 3,
        base: Duration::from_millis(10),
    });
    let attempts = Attempts {
        deadline: tokio::time::Instant::now() + Duration::from_secs(5),
        retries,
    };
    let answer = call(&endpoint, &Method::CallTool("flaky".into()), attempts).await;
    assert_eq!(answer.outcome, CallOutcome::Ok);
    assert_eq!(answer.first_outcome, CallOutcome::RateLimited);
    assert_eq!(answer.attempts, 3);

    let started = tokio::time::Instant::now();
    let retries = Some(Retries {
        attempts: 10,
        base: Duration::from_millis(200),
    });
    let attempts = Attempts {
        deadline: started + Duration::from_millis(500),
        retries,
    };
    let answer = call(&endpoint, &Method::CallTool("refused".into()), attempts).await;
    let took = started.elapsed();
    assert_eq!(answer.outcome, CallOutcome::RateLimited);
    // Attempts at 0, 200 ms; the next backoff (400 ms) would end past the deadline.
    assert_eq!(answer.attempts, 2, "took {took:?}");
    assert!(
        took < Duration::from_millis(500),
        "stopped before the deadline, took {took:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_reports_first_attempts_apart_from_final_outcomes() {
    let stub = Arc::new(Stub::default());
    let url = start(stub).await;
    let text = format!(
        "version: mcp-slo/v1\nname: retries\ntargets:\n  stub: {{ url: \"{url}\", mode: stateless }}\nload:\n  model: open\n  retries: {{ attempts: 2, backoff: 5ms }}\n  phases:\n    - {{ duration: 2s, rate: 20/s }}\nmix:\n  - {{ target: stub, tool: once_each, args: {{ n: \"{{{{seq 1}}}}\" }} }}\nslo:\n  - {{ error_rate: {{ below: 1% }} }}\n  - {{ error_rate: {{ below: 1%, attempts: first }} }}\n"
    );
    let s = Scenario::from_yaml(Path::new("retries.yaml"), &text).expect("valid");
    let endpoint = Endpoint::new(url, Mode::Stateless, s.targets["stub"].protocol);
    let result = run(&s, BTreeMap::from([("stub".to_owned(), endpoint)]), None)
        .await
        .expect("run");
    let m = &result.measurements;
    let flaky = &m.recorder.per_tool["once_each"];
    assert_eq!(flaky.outcomes.ok, 40, "every call succeeded in the end");
    assert_eq!(
        flaky.first_outcomes.rate_limited, 40,
        "every first attempt was refused"
    );
    assert_eq!(flaky.retries, 40);
    let final_rate = mcp_slo_core::verdict::objectives::evaluate(&s.objectives[0], m);
    let first_rate = mcp_slo_core::verdict::objectives::evaluate(&s.objectives[1], m);
    assert!(final_rate.passed, "{}", final_rate.measured);
    assert!(!first_rate.passed, "{}", first_rate.measured);
    assert!(
        first_rate.measured.contains("at their first attempt"),
        "{}",
        first_rate.measured
    );
}
