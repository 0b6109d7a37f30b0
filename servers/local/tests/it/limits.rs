//! Each limit with the seed's numbers: N+k concurrent calls against slow calls give exactly k
//! refusals of the right kind; the concurrency cap queues rather than refuses.

use std::num::{NonZeroU32, NonZeroUsize};
use std::time::{Duration, Instant};

use futures::future::join_all;
use serde_json::json;

use crate::support::{DataRoot, Setup, metric, require_services};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inflight_cap_refuses_exactly_the_calls_beyond_100_at_once() {
    require_services!();
    let data = DataRoot::new();
    let server = Setup {
        pool_size: Some(20),
        ..Setup::only_limit(|l, seed| l.max_inflight_requests = seed.max_inflight_requests)
    }
    .start(&data)
    .await;
    let cap = server_cap(&server).await;
    assert_eq!(cap, 100);
    let k = 7;
    let calls = (0..cap + k)
        .map(|_| server.call("postgres_query", json!({"query": "SELECT pg_sleep(0.3)"})));
    let answers = join_all(calls).await;
    let overloaded: Vec<_> = answers.iter().filter(|a| a.status == 503).collect();
    assert_eq!(overloaded.len(), k, "exactly {k} refused");
    for a in &overloaded {
        assert_eq!(a.error_code(), Some(-32003));
        assert!(
            a.elapsed < Duration::from_millis(250),
            "refused at once, took {:?}",
            a.elapsed
        );
        assert!(a.headers.contains_key("retry-after"));
    }
    assert!(
        answers
            .iter()
            .filter(|a| a.status == 200)
            .all(|a| a.is_ok()),
        "admitted calls succeed: {:?}",
        answers
            .iter()
            .find(|a| a.status == 200 && !a.is_ok())
            .map(|a| &a.body)
    );
    server.stop().await;
}

async fn server_cap(server: &crate::support::TestServer) -> usize {
    let info = server
        .post(json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}))
        .await;
    let text = info.body["result"]["instructions"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    text.split("Limits: ")
        .nth(1)
        .and_then(|t| t.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limit_admits_the_burst_plus_what_refills_and_refuses_the_rest_with_retry_after() {
    require_services!();
    let data = DataRoot::new();
    let server = Setup::only_limit(|l, seed| {
        l.rate_limit_per_second = seed.rate_limit_per_second;
        l.rate_limit_per_caller_per_second = seed.rate_limit_per_caller_per_second;
    })
    .start(&data)
    .await;
    let rate = 100.0;
    let k = 40;
    let started = Instant::now();
    let calls =
        (0..100 + k).map(|_| server.call("file_read", json!({"path": "reports/daily.csv"})));
    let answers = join_all(calls).await;
    let elapsed = started.elapsed().as_secs_f64();
    let admitted = answers.iter().filter(|a| a.status == 200).count();
    let limited: Vec<_> = answers.iter().filter(|a| a.status == 429).collect();
    assert_eq!(
        admitted + limited.len(),
        100 + k,
        "every call got an answer"
    );
    // GCRA: the burst of 100, plus one token per 10 ms while the calls were arriving.
    let most = 100 + (elapsed * rate).ceil() as usize;
    assert!(
        (100..=most).contains(&admitted),
        "admitted {admitted}, expected 100..={most} over {elapsed:.3}s"
    );
    for a in &limited {
        assert_eq!(a.error_code(), Some(-32029));
        let retry: u64 = a.headers["retry-after"].to_str().unwrap().parse().unwrap();
        assert!(retry >= 1);
    }
    let metrics = server.metrics_text().await;
    assert_eq!(
        metric(
            &metrics,
            "mcp_admission_rejections_total{reason=\"rate_limited\"}"
        ),
        Some(limited.len() as f64)
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_rate_refuses_exactly_the_calls_beyond_the_burst() {
    require_services!();
    let data = DataRoot::new();
    // 2 per second: a token every 500 ms, so nothing refills while 5 calls arrive.
    let server = Setup::only_limit(|l, _| {
        l.rate_limit_per_second = NonZeroU32::new(2).unwrap();
        l.rate_limit_per_caller_per_second = NonZeroU32::new(2).unwrap();
    })
    .start(&data)
    .await;
    let answers =
        join_all((0..5).map(|_| server.call("file_read", json!({"path": "reports/daily.csv"}))))
            .await;
    assert_eq!(answers.iter().filter(|a| a.status == 429).count(), 3);
    assert_eq!(answers.iter().filter(|a| a.is_ok()).count(), 2);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrency_cap_of_10_queues_calls_and_never_runs_more_than_10() {
    require_services!();
    let data = DataRoot::new();
    let server = Setup {
        pool_size: Some(30),
        ..Setup::only_limit(|l, seed| l.max_concurrent = seed.max_concurrent)
    }
    .start(&data)
    .await;
    let (n, cap, d) = (25usize, 10usize, 0.2f64);
    let started = Instant::now();
    let answers = join_all(
        (0..n).map(|_| server.call("postgres_query", json!({"query": "SELECT pg_sleep(0.2)"}))),
    )
    .await;
    let took = started.elapsed().as_secs_f64();
    assert!(
        answers.iter().all(|a| a.is_ok()),
        "calls beyond the cap wait, none is refused"
    );
    let expected = (n as f64 / cap as f64).ceil() * d;
    assert!(
        took >= expected && took < expected + 0.4,
        "took {took:.3}s, expected {expected:.1}s"
    );
    let metrics = server.metrics_text().await;
    assert_eq!(
        metric(&metrics, "mcp_tool_executions_peak"),
        Some(cap as f64),
        "{metrics}"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiting_for_a_concurrency_permit_counts_against_the_deadline() {
    require_services!();
    let data = DataRoot::new();
    let server = Setup {
        pool_size: Some(10),
        ..Setup::only_limit(|l, _| l.max_concurrent = NonZeroUsize::new(1).unwrap())
    }
    .start(&data)
    .await;
    let slow = server.call("postgres_query", json!({"query": "SELECT pg_sleep(0.6)"}));
    let queued = async {
        tokio::time::sleep(Duration::from_millis(50)).await;
        server
            .call(
                "postgres_query",
                json!({"query": "SELECT 1", "timeout_ms": 300}),
            )
            .await
    };
    let (slow, queued) = tokio::join!(slow, queued);
    assert!(slow.is_ok());
    assert_eq!(queued.error_code(), Some(-32001), "{}", queued.body);
    server.stop().await;
}

/// In session mode the SSE answer starts before the tool runs: the limits must still bound
/// the tool's work, not just the HTTP exchange.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_mode_holds_the_inflight_cap_the_concurrency_cap_and_the_deadline() {
    require_services!();
    let data = DataRoot::new();
    let seed = crate::support::seed_limits();
    let mut limits = mcp_local_server::lifted(&seed);
    limits.max_inflight_requests = NonZeroUsize::new(20).unwrap();
    limits.max_concurrent = seed.max_concurrent;
    let server = Setup {
        mode: mcp_server_core::stack::Mode::Session,
        pool_size: Some(30),
        limits,
        ..Setup::new()
    }
    .start(&data)
    .await;
    let session = server.open_session().await;
    let started = Instant::now();
    let answers = join_all((0..23).map(|_| {
        server.call_in(
            &session,
            "postgres_query",
            json!({"query": "SELECT pg_sleep(0.2)"}),
        )
    }))
    .await;
    let took = started.elapsed().as_secs_f64();
    let refused: Vec<_> = answers.iter().filter(|a| a.status == 503).collect();
    assert_eq!(refused.len(), 3, "exactly 3 beyond the in-flight cap of 20");
    assert!(
        refused
            .iter()
            .all(|a| a.error_code() == Some(-32003) && a.elapsed < Duration::from_millis(250))
    );
    assert_eq!(answers.iter().filter(|a| a.is_ok()).count(), 20);
    // 20 admitted calls of 0.2 s through a concurrency cap of 10: two waves.
    assert!(
        took >= 0.4,
        "took {took:.3}s: the cap of 10 was not enforced"
    );
    let metrics = server.metrics_text().await;
    assert_eq!(
        metric(&metrics, "mcp_tool_executions_peak"),
        Some(10.0),
        "{metrics}"
    );
    let late = server
        .call_in(
            &session,
            "postgres_query",
            json!({"query": "SELECT pg_sleep(5)", "timeout_ms": 400}),
        )
        .await;
    assert_eq!(late.error_code(), Some(-32001), "{}", late.body);
    assert!(
        late.elapsed < Duration::from_millis(900),
        "ended after {:?}",
        late.elapsed
    );
    server.stop().await;
}

/// Ctrl-C / SIGTERM: new connections are refused at once, calls in flight finish.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_drains_calls_in_flight_and_refuses_new_ones() {
    require_services!();
    let data = DataRoot::new();
    let server = Setup::new().start(&data).await;
    let url = server.url.clone();
    let client = server.http.clone();
    let slow = tokio::spawn(async move {
        client
            .post(&url)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .body(json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "postgres_query", "arguments": {"query": "SELECT true AS slept FROM pg_sleep(0.8)"}}}).to_string())
            .send()
            .await
            .expect("the call in flight is answered")
            .text()
            .await
            .unwrap()
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let base = server.base.clone();
    let stopping = tokio::spawn(server.stop());
    tokio::time::sleep(Duration::from_millis(100)).await;
    let refused = reqwest::Client::new()
        .get(format!("{base}/healthz"))
        .send()
        .await;
    assert!(
        refused.is_err(),
        "a new connection during the drain is refused"
    );
    let answer: serde_json::Value = serde_json::from_str(&slow.await.unwrap()).unwrap();
    assert_eq!(answer["result"]["isError"], false, "{answer}");
    assert_eq!(
        answer["result"]["structuredContent"]["rows"][0]["slept"],
        true
    );
    stopping.await.unwrap();
}
