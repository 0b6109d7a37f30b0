//! The engine against stub MCP servers whose behaviour is known exactly.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::routing::post;
use mcp_slo_core::measure::CallOutcome;
use mcp_slo_core::spec::{Mode, Scenario};
use mcp_slo_core::verdict::objectives::evaluate;
use mcp_slo_engine::client::Endpoint;
use mcp_slo_engine::run::{EngineError, run};
use serde_json::{Value, json};

#[derive(Default)]
struct Stub {
    /// While set, answers wait until it is cleared.
    stalled: AtomicBool,
    tool_error: bool,
    calls: AtomicU64,
    /// The call (1-based) at which the stub stalls by itself, and for how long.
    stall_at: Option<(u64, Duration)>,
}

async fn mcp(
    State(stub): State<Arc<Stub>>,
    body: String,
) -> ([(&'static str, &'static str); 1], String) {
    let request: Value = serde_json::from_str(&body).unwrap_or_default();
    let id = request["id"].clone();
    let result = match request["method"].as_str() {
        Some("initialize") => {
            json!({"protocolVersion": "2025-11-25", "capabilities": {"tools": {}}, "serverInfo": {"name": "stub", "version": "1"}})
        }
        Some("tools/call") => {
            let n = stub.calls.fetch_add(1, Ordering::Relaxed) + 1;
            if let Some((at, stall)) = stub.stall_at
                && n == at
            {
                stub.stalled.store(true, Ordering::Relaxed);
                let stub = stub.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(stall).await;
                    stub.stalled.store(false, Ordering::Relaxed);
                });
            }
            while stub.stalled.load(Ordering::Relaxed) {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            json!({"content": [{"type": "text", "text": "x"}], "isError": stub.tool_error})
        }
        _ => json!({}),
    };
    (
        [("content-type", "application/json")],
        json!({"jsonrpc": "2.0", "id": id, "result": result}).to_string(),
    )
}

async fn start(stub: Arc<Stub>) -> String {
    let app = Router::new().route("/mcp", post(mcp)).with_state(stub);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}/mcp")
}

fn scenario(url: &str, phases: &str, slo: &str) -> Scenario {
    let text = format!(
        "version: mcp-slo/v1\nname: stub\ntargets:\n  stub: {{ url: \"{url}\", mode: stateless }}\nload:\n  model: open\n  phases:\n{phases}\nmix:\n  - {{ target: stub, tool: echo, args: {{ n: \"{{{{int 1 10}}}}\" }} }}\nslo:\n{slo}\n"
    );
    Scenario::from_yaml(Path::new("stub.yaml"), &text).expect("valid scenario")
}

fn endpoints(s: &Scenario, url: &str) -> BTreeMap<String, Endpoint> {
    let target = &s.targets["stub"];
    BTreeMap::from([(
        "stub".to_owned(),
        Endpoint::new(url, Mode::Stateless, target.protocol),
    )])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_one_second_stall_shows_in_p99_instead_of_being_hidden() {
    let stub = Arc::new(Stub::default());
    let url = start(stub.clone()).await;
    let s = scenario(
        &url,
        "    - { duration: 4s, rate: 50/s }",
        "  - { latency: { p: 99, below: 100ms } }",
    );
    let staller = {
        let stub = stub.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(1500)).await;
            stub.stalled.store(true, Ordering::Relaxed);
            tokio::time::sleep(Duration::from_secs(1)).await;
            stub.stalled.store(false, Ordering::Relaxed);
        })
    };
    let result = run(&s, endpoints(&s, &url), None).await.expect("run");
    staller.await.unwrap();
    let overall = result.measurements.recorder.overall();
    // 50/s for 1 s is 50 calls stuck behind the stall: 25% of the 200 calls wait up to 1 s,
    // measured from when they should have started, although only 8 workers were sending.
    assert_eq!(overall.outcomes.ok, 200, "every scheduled call was made");
    let p99 = overall.latency.value_at_quantile(0.99);
    let p50 = overall.latency.value_at_quantile(0.50);
    assert!(p99 >= 800_000, "p99 {p99}µs must show the 1 s stall");
    assert!(p50 < 100_000, "p50 {p50}µs stays low");
    assert!(
        result.measurements.recorder.late_starts > 0,
        "starts delayed by the stall are counted"
    );
    let verdict = evaluate(&s.objectives[0], &result.measurements);
    assert!(!verdict.passed, "{}", verdict.measured);
    assert_eq!(result.offered_calls, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tool_errors_inside_http_200_count_as_failures() {
    let stub = Arc::new(Stub {
        tool_error: true,
        ..Stub::default()
    });
    let url = start(stub.clone()).await;
    let s = scenario(
        &url,
        "    - { duration: 1s, rate: 40/s }",
        "  - { error_rate: { below: 1% } }",
    );
    let result = run(&s, endpoints(&s, &url), None).await.expect("run");
    let outcomes = result.measurements.recorder.overall().outcomes;
    assert_eq!(outcomes.get(CallOutcome::ToolError), 40);
    assert_eq!(outcomes.ok, 0);
    let verdict = evaluate(&s.objectives[0], &result.measurements);
    assert!(!verdict.passed);
    assert_eq!(verdict.measured, "100.00% (40 of 40 calls failed)");
    assert_eq!(stub.calls.load(Ordering::Relaxed), 40);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_target_is_an_infrastructure_failure_before_any_load() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}/mcp");
    let s = scenario(
        &url,
        "    - { duration: 1s, rate: 10/s }",
        "  - { error_rate: { below: 1% } }",
    );
    match run(&s, endpoints(&s, &url), None).await {
        Err(EngineError::Unreachable(message)) => assert!(message.contains(&url), "{message}"),
        Err(other) => panic!("expected Unreachable, got {other}"),
        Ok(_) => panic!("expected Unreachable, got a run"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn phases_offer_their_rates_and_warmups_stay_out_of_the_verdict() {
    let stub = Arc::new(Stub::default());
    let url = start(stub.clone()).await;
    let s = scenario(
        &url,
        "    - { name: warmup, duration: 1s, rate: 20/s, record: false }\n    - { name: steady, duration: 2s, rate: 100/s }",
        "  - { throughput: { above: 90/s } }",
    );
    let result = run(&s, endpoints(&s, &url), None).await.expect("run");
    assert_eq!(stub.calls.load(Ordering::Relaxed), 220);
    let overall = result.measurements.recorder.overall();
    assert_eq!(overall.outcomes.ok, 200, "only the steady phase is judged");
    assert_eq!(result.measurements.recorded_window, (1, 3));
    let verdict = evaluate(&s.objectives[0], &result.measurements);
    assert!(verdict.passed, "{}", verdict.measured);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rates_are_taken_over_the_time_a_backlog_really_took() {
    // The 25th call (sent 0.48 s into the run) stalls the stub for 1.5 s: the run's own
    // clock starts the stall, whatever the set-up before the run took.
    let stub = Arc::new(Stub {
        stall_at: Some((25, Duration::from_millis(1500))),
        ..Stub::default()
    });
    let url = start(stub.clone()).await;
    let s = scenario(
        &url,
        "    - { duration: 1s, rate: 50/s }",
        "  - { throughput: { above: 1/s } }",
    );
    let result = run(&s, endpoints(&s, &url), None).await.expect("run");
    // The phase lasted 1 s but its last calls were answered only after the stall ended,
    // at least 0.48 + 1.5 s into the run.
    assert_eq!(result.measurements.recorder.overall().outcomes.ok, 50);
    let secs = result.measurements.recorded_seconds;
    assert!(
        (1.95..3.0).contains(&secs),
        "rates over {secs:.2}s, not the phase's 1 s"
    );
}
