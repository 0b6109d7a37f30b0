//! Every limit of a tier, in memory: the whole HTTP stack (guard, admission, direct path,
//! rmcp, handler) driven with `oneshot`, on a paused clock, around a test tool that holds a
//! call until it is released or for a set time. No database and no socket: what is tested
//! is the limits' code, to the millisecond, not a backend's timing. (The tiers' own tests
//! hold the same limits against Postgres, MariaDB, Redis and moto over real HTTP.)

use std::net::SocketAddr;
use std::num::{NonZeroU32, NonZeroUsize};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use futures::future::BoxFuture;
use http::{Request, StatusCode};
use mcp_server_core::audit::AuditSink;
use mcp_server_core::config::{
    Category, Listener, ParamKind, ParamSpec, Tier, TierLimits, ToolConfig, ToolOptions,
    ToolSecurity, Transport,
};
use mcp_server_core::health::AlwaysReady;
use mcp_server_core::metrics::Metrics;
use mcp_server_core::registry::{
    RegisteredTool, ToolCall, ToolError, ToolHandler, ToolOutput, ToolRegistry,
};
use mcp_server_core::server::{TierParts, TierServer};
use mcp_server_core::stack::Mode;
use serde_json::{Value, json};
use tokio::sync::Semaphore;
use tokio::time::Instant;
use tower::ServiceExt as _;

/// The test tool: `{"hold_ms": N}` returns after N ms, `{"wait": true}` when released;
/// it counts the calls running and their peak.
struct Gate {
    released: Semaphore,
    running: AtomicUsize,
    peak: AtomicUsize,
}

impl Default for Gate {
    fn default() -> Self {
        Gate {
            released: Semaphore::new(0),
            running: AtomicUsize::new(0),
            peak: AtomicUsize::new(0),
        }
    }
}

impl Gate {
    fn release(&self, calls: usize) {
        self.released.add_permits(calls);
    }

    fn running(&self) -> usize {
        self.running.load(Ordering::SeqCst)
    }
}

impl ToolHandler for Gate {
    fn call<'a>(&'a self, call: ToolCall<'a>) -> BoxFuture<'a, Result<ToolOutput, ToolError>> {
        Box::pin(async move {
            let _running = Running::enter(self);
            if call.args.get("wait") == Some(&json!(true)) {
                if let Ok(permit) = self.released.acquire().await {
                    permit.forget();
                }
            } else if let Some(ms) = call.u64_arg("hold_ms") {
                tokio::time::sleep(Duration::from_millis(ms)).await;
            }
            Ok(ToolOutput::json(json!({"done": true})))
        })
    }
}

/// A call inside the gate, until it returns or is cut (dropped) at its deadline.
struct Running<'a>(&'a Gate);

impl<'a> Running<'a> {
    fn enter(gate: &'a Gate) -> Self {
        let now = gate.running.fetch_add(1, Ordering::SeqCst) + 1;
        gate.peak.fetch_max(now, Ordering::SeqCst);
        Running(gate)
    }
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.0.running.fetch_sub(1, Ordering::SeqCst);
    }
}

fn param(name: &str, kind: ParamKind) -> ParamSpec {
    ParamSpec {
        name: name.into(),
        kind,
        description: None,
        default: None,
        required: false,
    }
}

/// Limits far above what a test reaches, but for those it sets.
fn lifted() -> TierLimits {
    TierLimits {
        max_inflight_requests: NonZeroUsize::new(1000).unwrap(),
        rate_limit_per_second: NonZeroU32::new(100_000).unwrap(),
        rate_limit_per_caller_per_second: NonZeroU32::new(100_000).unwrap(),
        timeout: Duration::from_secs(60),
        max_concurrent: NonZeroUsize::new(1000).unwrap(),
        iam_role_max_duration: None,
        max_request_body_bytes: NonZeroUsize::new(64 * 1024).unwrap(),
    }
}

/// A stateless local tier with the gate as its only tool.
fn tier(limits: TierLimits, gate: Arc<Gate>) -> Router {
    let registry = Arc::new(ToolRegistry::new(100));
    let config = ToolConfig {
        name: "gate".into(),
        description: "holds a call until released or for hold_ms".into(),
        category: Category::Database,
        parameters: vec![
            param("hold_ms", ParamKind::Integer),
            param("wait", ParamKind::Boolean),
            param("timeout_ms", ParamKind::Integer),
        ],
        security: ToolSecurity::default(),
        options: ToolOptions::default(),
    };
    registry
        .register(RegisteredTool::new(Tier::Local, config, gate))
        .expect("the gate registers");
    let network = Listener {
        listen_address: "127.0.0.1:0".parse().unwrap(),
        allowed_origins: Vec::new(),
        cors_enabled: false,
        vpc_endpoint: None,
        allowed_hosts: Vec::new(),
        allow_loopback_origins: true,
        transport: Transport::default(),
        admin: Default::default(),
    };
    let server = TierServer::assemble(TierParts {
        name: "limits-test",
        tier: Tier::Local,
        limits,
        rate_store: Default::default(),
        network,
        allowed_hosts: None,
        mode: Mode::Stateless,
        registry,
        metrics: Metrics::new(Arc::default()),
        audit: AuditSink::off(),
        audit_task: tokio::spawn(async {}),
        readiness: Arc::new(AlwaysReady),
        auth: None,
        resources: None,
        bare: false,
        background: Vec::new(),
    });
    server.router
}

/// What a request got: its status, `Retry-After`, and its body.
struct Answer {
    status: StatusCode,
    retry_after: Option<String>,
    body: Value,
}

impl Answer {
    fn error_code(&self) -> Option<i64> {
        self.body["error"]["code"].as_i64()
    }
}

fn post(body: &Value, peer: Option<&str>) -> Request<Body> {
    let mut request = Request::post("/mcp")
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body(Body::from(body.to_string()))
        .unwrap();
    if let Some(peer) = peer {
        let addr: SocketAddr = peer.parse().unwrap();
        request.extensions_mut().insert(ConnectInfo(addr));
    }
    request
}

async fn send(app: &Router, request: Request<Body>) -> Answer {
    let response = app.clone().oneshot(request).await.expect("infallible");
    let status = response.status();
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .expect("a body");
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Answer {
        status,
        retry_after,
        body,
    }
}

fn call(arguments: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
        "params": {"name": "gate", "arguments": arguments}})
}

/// Lets the other tasks run, without the clock moving, until `running` calls are inside the
/// gate.
async fn until_running(gate: &Gate, running: usize) {
    for _ in 0..10_000 {
        if gate.running() == running {
            return;
        }
        tokio::task::yield_now().await;
    }
    panic!("{} calls running, not {running}", gate.running());
}

#[tokio::test(start_paused = true)]
async fn the_inflight_cap_refuses_every_request_beyond_it_at_once() {
    let gate = Arc::new(Gate::default());
    let limits = TierLimits {
        max_inflight_requests: NonZeroUsize::new(3).unwrap(),
        ..lifted()
    };
    let app = tier(limits, gate.clone());
    let held: Vec<_> = (0..3)
        .map(|_| {
            let app = app.clone();
            tokio::spawn(async move { send(&app, post(&call(json!({"wait": true})), None)).await })
        })
        .collect();
    until_running(&gate, 3).await;
    let started = Instant::now();
    let refused = send(&app, post(&call(json!({})), None)).await;
    assert_eq!(refused.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(refused.error_code(), Some(-32003));
    assert_eq!(refused.retry_after.as_deref(), Some("1"));
    assert_eq!(refused.body["error"]["data"]["maxInflightRequests"], 3);
    assert_eq!(started.elapsed(), Duration::ZERO, "refused at once");
    // Every JSON-RPC request counts, a listing too; a notification is no request.
    let list = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"});
    assert_eq!(send(&app, post(&list, None)).await.status, 503);
    let note = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    assert_ne!(send(&app, post(&note, None)).await.status, 503);
    gate.release(3);
    for answer in held {
        let answer = answer.await.unwrap();
        assert_eq!(answer.status, StatusCode::OK);
        assert_eq!(answer.body["result"]["isError"], false, "{}", answer.body);
    }
    // The slots were given back with the answers.
    assert_eq!(
        send(&app, post(&call(json!({})), None)).await.status,
        StatusCode::OK
    );
}

#[tokio::test(start_paused = true)]
async fn the_rate_limit_admits_its_burst_then_one_call_per_period() {
    let gate = Arc::new(Gate::default());
    let limits = TierLimits {
        rate_limit_per_second: NonZeroU32::new(5).unwrap(),
        ..lifted()
    };
    let app = tier(limits, gate);
    for i in 0..5 {
        let answer = send(&app, post(&call(json!({})), None)).await;
        assert_eq!(answer.status, StatusCode::OK, "call {i} of the burst");
    }
    let refused = send(&app, post(&call(json!({})), None)).await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(refused.error_code(), Some(-32029));
    assert_eq!(refused.retry_after.as_deref(), Some("1"));
    assert_eq!(refused.body["error"]["data"]["retryAfterMs"], 200);
    // Other requests are not rate limited.
    let list = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"});
    assert_eq!(send(&app, post(&list, None)).await.status, StatusCode::OK);
    tokio::time::advance(Duration::from_millis(199)).await;
    assert_eq!(send(&app, post(&call(json!({})), None)).await.status, 429);
    tokio::time::advance(Duration::from_millis(1)).await;
    assert_eq!(send(&app, post(&call(json!({})), None)).await.status, 200);
    assert_eq!(send(&app, post(&call(json!({})), None)).await.status, 429);
}

#[tokio::test(start_paused = true)]
async fn each_caller_has_its_own_rate_under_the_global_one() {
    let gate = Arc::new(Gate::default());
    let limits = TierLimits {
        rate_limit_per_second: NonZeroU32::new(5).unwrap(),
        rate_limit_per_caller_per_second: NonZeroU32::new(2).unwrap(),
        ..lifted()
    };
    let app = tier(limits, gate);
    let (a, b, c) = ("127.0.0.2:1000", "127.0.0.3:1000", "127.0.0.4:1000");
    for peer in [a, a, b, b] {
        assert_eq!(
            send(&app, post(&call(json!({})), Some(peer))).await.status,
            200
        );
    }
    // a and b have spent their two; c has its own two, but the global five run out first.
    assert_eq!(
        send(&app, post(&call(json!({})), Some(a))).await.status,
        429
    );
    assert_eq!(
        send(&app, post(&call(json!({})), Some(c))).await.status,
        200
    );
    assert_eq!(
        send(&app, post(&call(json!({})), Some(c))).await.status,
        429
    );
}

#[tokio::test(start_paused = true)]
async fn the_concurrency_cap_queues_calls_and_never_runs_more_than_it() {
    let gate = Arc::new(Gate::default());
    let limits = TierLimits {
        max_concurrent: NonZeroUsize::new(2).unwrap(),
        ..lifted()
    };
    let app = tier(limits, gate.clone());
    let started = Instant::now();
    let calls: Vec<_> = (0..6)
        .map(|_| {
            let app = app.clone();
            tokio::spawn(
                async move { send(&app, post(&call(json!({"hold_ms": 100})), None)).await },
            )
        })
        .collect();
    for answer in calls {
        let answer = answer.await.unwrap();
        assert_eq!(answer.body["result"]["isError"], false, "{}", answer.body);
    }
    assert_eq!(
        gate.peak.load(Ordering::SeqCst),
        2,
        "never more than two at once"
    );
    // Three rounds of two: queued, not refused.
    assert_eq!(started.elapsed(), Duration::from_millis(300));
}

#[tokio::test(start_paused = true)]
async fn a_call_is_cut_at_its_deadline_and_waiting_for_a_slot_counts() {
    let gate = Arc::new(Gate::default());
    let limits = TierLimits {
        timeout: Duration::from_millis(1000),
        max_concurrent: NonZeroUsize::new(1).unwrap(),
        ..lifted()
    };
    let app = tier(limits, gate.clone());
    let started = Instant::now();
    let holder = {
        let app = app.clone();
        tokio::spawn(async move { send(&app, post(&call(json!({"wait": true})), None)).await })
    };
    until_running(&gate, 1).await;
    // Queued behind the holder for the only slot: its wait is part of its 1000 ms.
    let queued = send(&app, post(&call(json!({"hold_ms": 1})), None)).await;
    assert_eq!(queued.error_code(), Some(-32001), "{}", queued.body);
    assert_eq!(queued.body["error"]["data"]["timeoutMs"], 1000);
    let holder = holder.await.unwrap();
    assert_eq!(holder.error_code(), Some(-32001), "{}", holder.body);
    assert_eq!(started.elapsed(), Duration::from_millis(1000));
    assert_eq!(gate.running(), 0, "the cut call no longer runs");
    // timeout_ms shortens a call's deadline (never lengthens it).
    let started = Instant::now();
    let short = send(
        &app,
        post(&call(json!({"wait": true, "timeout_ms": 250})), None),
    )
    .await;
    assert_eq!(short.error_code(), Some(-32001));
    assert_eq!(started.elapsed(), Duration::from_millis(250));
    let long = send(
        &app,
        post(&call(json!({"wait": true, "timeout_ms": 5000})), None),
    )
    .await;
    assert_eq!(long.body["error"]["data"]["timeoutMs"], 1000);
}

#[tokio::test(start_paused = true)]
async fn bad_requests_are_refused_before_any_limit_is_spent() {
    let gate = Arc::new(Gate::default());
    let limits = TierLimits {
        max_request_body_bytes: NonZeroUsize::new(1024).unwrap(),
        rate_limit_per_second: NonZeroU32::new(1).unwrap(),
        ..lifted()
    };
    let app = tier(limits, gate);
    let big = call(json!({"pad": "x".repeat(2000)}));
    assert_eq!(send(&app, post(&big, None)).await.status, 413);
    let mut text = post(&call(json!({})), None);
    text.headers_mut()
        .insert("content-type", "text/plain".parse().unwrap());
    assert_eq!(send(&app, text).await.status, 415);
    let broken = Request::post("/mcp")
        .header("content-type", "application/json")
        .body(Body::from("{\"jsonrpc\":"))
        .unwrap();
    let broken = send(&app, broken).await;
    assert_eq!(broken.status, 400);
    assert_eq!(broken.error_code(), Some(-32700));
    let shapeless = json!({"jsonrpc": "2.0", "id": 9, "method": "tools/call", "params": []});
    let shapeless = send(&app, post(&shapeless, None)).await;
    assert_eq!(shapeless.error_code(), Some(-32602));
    assert_eq!(shapeless.body["id"], 9);
    // None of them took the one call the rate allows.
    assert_eq!(send(&app, post(&call(json!({})), None)).await.status, 200);
}
