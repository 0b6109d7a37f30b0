//! Credential rollover: many concurrent calls across several expiries, no failure, one
//! AssumeRole per rollover per role.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::support::{Setup, TestServer, require_moto};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_calls_across_rollovers_never_fail_and_assume_once_per_rollover() {
    let _endpoint = require_moto!();
    // 3 s credentials refreshed when less than 1 s is left: a rollover every ~2 s.
    let built = Setup {
        role_duration: Duration::from_secs(3),
        refresh_window: Duration::from_secs(1),
        ..Setup::new()
    }
    .build()
    .await;
    let credentials = built.credentials.clone();
    let server = Arc::new(TestServer::serve(built).await);
    let role = "arn:aws:iam::123456789012:role/agent-s3-read";
    let started = Instant::now();
    let failures = Arc::new(AtomicU64::new(0));
    let calls = Arc::new(AtomicU64::new(0));
    let workers: Vec<_> = (0..20)
        .map(|_| {
            let (server, failures, calls) = (server.clone(), failures.clone(), calls.clone());
            tokio::spawn(async move {
                while started.elapsed() < Duration::from_secs(7) {
                    let a = server
                        .call(
                            "s3_read",
                            json!({"bucket": "mcp-slo-reports", "key": "daily.csv"}),
                        )
                        .await;
                    calls.fetch_add(1, Ordering::Relaxed);
                    if !a.is_ok() {
                        failures.fetch_add(1, Ordering::Relaxed);
                        eprintln!("failed: {}", a.body);
                    }
                }
            })
        })
        .collect();
    for w in workers {
        w.await.unwrap();
    }
    let elapsed = started.elapsed().as_secs_f64();
    let assumes = credentials.assumes(role);
    assert_eq!(
        failures.load(Ordering::Relaxed),
        0,
        "no call failed across rollovers"
    );
    assert!(calls.load(Ordering::Relaxed) > 100, "the stream kept going");
    // One AssumeRole at start plus one per ~2 s rollover; 20 concurrent callers did not
    // each refresh.
    let most = (elapsed / 2.0).ceil() as u64 + 2;
    let least = (elapsed / 2.0).floor() as u64;
    assert!(
        (least..=most).contains(&assumes),
        "{assumes} AssumeRole calls in {elapsed:.1}s (expected {least}..={most})"
    );
    let (_, metrics) = server.get("/metrics").await;
    assert!(
        metrics.contains(
            "mcp_sts_assume_role_duration_seconds_count{role=\"agent-s3-read\",outcome=\"ok\"}"
        ),
        "{metrics}"
    );
    match Arc::try_unwrap(server) {
        Ok(s) => s.stop().await,
        Err(_) => panic!("server still shared"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_names_a_role_that_cannot_be_assumed() {
    let _endpoint = require_moto!();
    let server = Setup::new()
        .role("rds_query", "agent-that-does-not-exist")
        .start()
        .await;
    let (status, body) = server.get("/readyz").await;
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("role/agent-that-does-not-exist"), "{body}");
    let call = server
        .call(
            "rds_query",
            json!({"cluster_identifier": "agents", "query": "SELECT 1"}),
        )
        .await;
    assert!(call.is_tool_error(), "{}", call.body);
    assert!(
        call.text().contains(
            "cannot assume role arn:aws:iam::123456789012:role/agent-that-does-not-exist"
        ),
        "{}",
        call.text()
    );
    server.stop().await;
}
