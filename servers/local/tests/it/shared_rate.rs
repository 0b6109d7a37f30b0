//! The rate limit shared through Redis (`--rate-limit-redis`), over real HTTP: three
//! replicas together admit the tier's rate, not three times it; and what a call gets when
//! Redis is unreachable (`open`: the replica's own limit; `closed`: 503) or never answers
//! (no longer than the timeout).

use std::num::NonZeroU32;
use std::time::Duration;

use futures::future::join_all;
use mcp_server_core::config::{RateStore, SharedRate, Unreachable};
use serde_json::json;
use tokio::time::Instant;

use crate::audit::audit_lines;
use crate::binary::{free_port, start_with};
use crate::support::{DataRoot, Setup, TestServer, metric, redis_url, require_services};

/// The limit in Redis at `url` under a prefix of this test's own.
fn shared(url: &str, unreachable: Unreachable, timeout: Duration) -> RateStore {
    RateStore::Redis(Box::new(SharedRate {
        client: redis::Client::open(url).expect("a Redis URL"),
        key_prefix: format!("mcp-slo:test:rate:{}", uuid::Uuid::new_v4().simple()),
        unreachable,
        timeout,
    }))
}

/// A loopback port nothing listens on.
fn closed_port() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("redis://127.0.0.1:{port}/0")
}

/// The seed's rate limits (100 a second, globally and per caller), the others lifted.
fn seed_rate() -> Setup {
    Setup::only_limit(|l, seed| {
        l.rate_limit_per_second = seed.rate_limit_per_second;
        l.rate_limit_per_caller_per_second = seed.rate_limit_per_caller_per_second;
    })
}

fn read_daily(server: &TestServer) -> impl Future<Output = crate::support::Answer> + '_ {
    server.call("file_read", json!({"path": "reports/daily.csv"}))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_redis_unreachable_and_policy_open_each_replica_limits_on_its_own() {
    require_services!();
    let data = DataRoot::new();
    // 2 a second: a token every 500 ms, so nothing refills while 5 calls arrive.
    let server = Setup {
        rate_store: shared(&closed_port(), Unreachable::Open, Duration::from_millis(50)),
        ..Setup::only_limit(|l, _| {
            l.rate_limit_per_second = NonZeroU32::new(2).unwrap();
            l.rate_limit_per_caller_per_second = NonZeroU32::new(2).unwrap();
        })
    }
    .start(&data)
    .await;
    let answers = join_all((0..5).map(|_| read_daily(&server))).await;
    assert_eq!(answers.iter().filter(|a| a.is_ok()).count(), 2, "the burst");
    let limited: Vec<_> = answers.iter().filter(|a| a.status == 429).collect();
    assert_eq!(limited.len(), 3, "over the replica's own limit");
    assert!(limited.iter().all(|a| a.error_code() == Some(-32029)));
    let metrics = server.metrics_text().await;
    assert_eq!(
        metric(&metrics, "mcp_rate_limit_store_fallbacks_total"),
        Some(5.0)
    );
    let failed = metric(
        &metrics,
        "mcp_rate_limit_store_checks_total{result=\"failed\"}",
    );
    assert!(failed >= Some(1.0), "{metrics}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_redis_unreachable_and_policy_closed_tool_calls_are_refused_with_503() {
    require_services!();
    let data = DataRoot::new();
    let log = data.path().join("audit.jsonl");
    let server = Setup {
        rate_store: shared(
            &closed_port(),
            Unreachable::Closed,
            Duration::from_millis(50),
        ),
        audit: Some(log.clone()),
        ..seed_rate()
    }
    .start(&data)
    .await;
    for n in 0..3 {
        let refused = read_daily(&server).await;
        assert_eq!(refused.status, 503, "call {n}: {}", refused.body);
        assert_eq!(refused.error_code(), Some(-32003));
        assert_eq!(
            refused.body["error"]["message"],
            "rate limit store unreachable: tool calls are refused until it answers"
        );
        assert_eq!(
            refused.body["error"]["data"]["kind"],
            "rate_limit_store_unavailable"
        );
        assert_eq!(refused.headers["retry-after"], "1");
    }
    // Only tool calls are rate limited: the rest is served.
    let listed = server
        .post(json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}))
        .await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    let metrics = server.metrics_text().await;
    assert_eq!(
        metric(
            &metrics,
            "mcp_admission_rejections_total{reason=\"rate_limit_store_unavailable\"}"
        ),
        Some(3.0)
    );
    assert_eq!(
        metric(&metrics, "mcp_rate_limit_store_fallbacks_total"),
        Some(0.0)
    );
    server.stop().await;
    let (_, lines) = audit_lines(&log, 3).await;
    for line in &lines {
        assert_eq!(line["toolName"], "file_read");
        assert_eq!(line["outcome"], "overloaded");
        assert!(
            line["error"]
                .as_str()
                .is_some_and(|e| e.contains("rate limit store unreachable")),
            "{line}"
        );
    }
}

/// The binary takes the store from `MCP_RATE_LIMIT_REDIS_URL` and the policy and timeout
/// from its flags.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_takes_the_store_from_its_environment_and_the_policy_from_its_flags() {
    require_services!();
    let data = DataRoot::new();
    let (url, root) = (closed_port(), data.path().to_str().unwrap().to_owned());
    let (child, server) = start_with(
        free_port(),
        &[
            "--rate-limit-redis-unreachable",
            "closed",
            "--rate-limit-redis-timeout",
            "20ms",
        ],
        &[
            ("MCP_RATE_LIMIT_REDIS_URL", url.as_str()),
            ("MCP_SLO_DATA_ROOT", root.as_str()),
        ],
    )
    .await;
    let refused = read_daily(&server).await;
    assert_eq!(refused.status, 503, "{}", refused.body);
    let output = child.stop().await;
    assert!(output.status.success(), "{output:?}");
}

/// Every problem with the flags is reported before the binary listens (exit code 2), and
/// the store's URL, which may hold a password, is not repeated.
#[test]
fn unusable_rate_limit_flags_stop_the_binary_without_repeating_the_url() {
    let dir = tempfile::tempdir().unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_mcp-local-server"))
        .args(["--rate-limit-redis", "http://agent:hunter2@example.com"])
        .args(["--rate-limit-key", "", "--rate-limit-redis-timeout", "0ms"])
        .args(["--listen", &free_port().to_string(), "--embedded"])
        .arg(dir.path().join("embedded"))
        .current_dir(crate::support::repo_root())
        .stdin(std::process::Stdio::null())
        .output()
        .expect("the binary runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    for problem in [
        "--rate-limit-redis: not a Redis URL",
        "--rate-limit-key: the prefix is empty",
        "--rate-limit-redis-timeout: must be more than zero",
    ] {
        assert!(stderr.contains(problem), "{problem} in {stderr}");
    }
    assert!(!stderr.contains("hunter2"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_that_never_answers_delays_a_call_by_the_timeout_at_most() {
    require_services!();
    // Accepts connections and never says a word.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("redis://{}/0", silent.local_addr().unwrap());
    let held = tokio::spawn(async move {
        let mut sockets = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            sockets.push(socket);
        }
    });
    let data = DataRoot::new();
    let timeout = Duration::from_millis(200);
    let server = Setup {
        rate_store: shared(&url, Unreachable::Open, timeout),
        ..seed_rate()
    }
    .start(&data)
    .await;
    let first = read_daily(&server).await;
    assert!(
        first.is_ok(),
        "judged by the replica's limit: {}",
        first.body
    );
    assert!(
        first.elapsed >= timeout && first.elapsed < timeout + Duration::from_millis(500),
        "the first call waits for the store up to the timeout, no longer: {:?}",
        first.elapsed
    );
    // The outage has begun: the calls right after it do not wait for the store.
    let second = read_daily(&server).await;
    assert!(second.is_ok(), "{}", second.body);
    assert!(second.elapsed < timeout, "{:?}", second.elapsed);
    let metrics = server.metrics_text().await;
    assert_eq!(
        metric(
            &metrics,
            "mcp_rate_limit_store_failures_total{reason=\"timeout\"}"
        ),
        Some(1.0),
        "{metrics}"
    );
    server.stop().await;
    held.abort();
}

/// Calls at `per_second`, spread round-robin over `servers`, for `seconds`, each sent at
/// its own time whatever the answers before it; for each, when its answer came (seconds
/// since the start) and its status.
async fn drive(servers: &[TestServer], per_second: u32, seconds: u32) -> Vec<(f64, u16)> {
    let http = reqwest::Client::new();
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
        "params": {"name": "file_read", "arguments": {"path": "reports/daily.csv"}}})
    .to_string();
    let start = Instant::now();
    let mut calls = Vec::new();
    for n in 0..per_second * seconds {
        tokio::time::sleep_until(start + Duration::from_secs(n.into()) / per_second).await;
        let request = http
            .post(&servers[n as usize % servers.len()].url)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .header("mcp-protocol-version", "2025-11-25")
            .body(body.clone());
        calls.push(tokio::spawn(async move {
            let status = request.send().await.expect("answered").status().as_u16();
            (start.elapsed().as_secs_f64(), status)
        }));
    }
    let mut answers = Vec::new();
    for call in calls {
        answers.push(call.await.expect("the call's task"));
    }
    answers
}

/// Admitted calls per whole second of the run, by when they were answered; the first
/// second (the burst) and the last, partial one are left out.
fn admitted_per_full_second(answers: &[(f64, u16)], seconds: u32) -> Vec<usize> {
    let others: Vec<_> = answers
        .iter()
        .filter(|(_, s)| ![200, 429].contains(s))
        .collect();
    assert!(
        others.is_empty(),
        "only admitted and limited calls: {others:?}"
    );
    (1..seconds)
        .map(|second| {
            answers
                .iter()
                .filter(|&&(at, status)| status == 200 && at.floor() as u32 == second)
                .count()
        })
        .collect()
}

async fn replicas(data: &DataRoot, store: &RateStore) -> Vec<TestServer> {
    let mut servers = Vec::new();
    for _ in 0..3 {
        let setup = Setup {
            rate_store: store.clone(),
            ..seed_rate()
        };
        servers.push(setup.start(data).await);
    }
    servers
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_replicas_sharing_the_limit_admit_the_tier_s_rate_together_not_three_times_it() {
    require_services!();
    let data = DataRoot::new();
    let (rate, seconds) = (100u32, 5u32);
    let offered = 3 * rate;
    let store = shared(&redis_url(), Unreachable::Closed, Duration::from_secs(1));
    let servers = replicas(&data, &store).await;
    let answers = drive(&servers, offered, seconds).await;
    let shared_counts = admitted_per_full_second(&answers, seconds);
    for server in servers {
        server.stop().await;
    }
    let servers = replicas(&data, &RateStore::Local).await;
    let answers = drive(&servers, offered, seconds).await;
    let local_counts = admitted_per_full_second(&answers, seconds);
    for server in servers {
        server.stop().await;
    }
    eprintln!(
        "admitted per whole second: shared {shared_counts:?}, each replica on its own {local_counts:?}"
    );
    let within = |count: usize, target: u32, margin: f64| {
        (f64::from(target) * (1.0 - margin)..=f64::from(target) * (1.0 + margin))
            .contains(&(count as f64))
    };
    assert!(
        shared_counts.iter().all(|&n| within(n, rate, 0.05)),
        "shared: {shared_counts:?} admitted per second, each within 5% of {rate}"
    );
    // Every call fits a replica's own limit: all of them are admitted (judged over the
    // whole seconds together, so that a stall of the client's does not move the figure).
    let judged = local_counts.len() as u32;
    assert!(
        within(local_counts.iter().sum(), offered * judged, 0.05),
        "each replica on its own: {local_counts:?} admitted per second, about {offered}"
    );
}
