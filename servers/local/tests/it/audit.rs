//! The audit trail: one line per call, secrets redacted.

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::{DataRoot, Setup, require_services};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_call_is_audited_with_secrets_redacted() {
    require_services!();
    let data = DataRoot::new();
    let log = data.path().join("audit.jsonl");
    let server = Setup {
        audit: Some(log.clone()),
        ..Setup::new()
    }
    .start(&data)
    .await;
    let ok = server
        .call("postgres_query", json!({"query": "SELECT 1 AS one"}))
        .await;
    assert!(ok.is_ok());
    let refused = server
        .call(
            "postgres_query",
            json!({"query": "SELECT 1", "password": "hunter2", "api_token": "tok-123"}),
        )
        .await;
    assert!(refused.is_tool_error());
    assert!(
        refused.text().contains("unknown argument"),
        "{}",
        refused.text()
    );
    let long = "x".repeat(5000);
    server.call("file_read", json!({"path": long})).await;
    server.stop().await;
    let mut text = String::new();
    for _ in 0..50 {
        text = std::fs::read_to_string(&log).unwrap_or_default();
        if text.lines().count() >= 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert_eq!(lines[0]["toolName"], "postgres_query");
    assert_eq!(lines[0]["outcome"], "ok");
    assert_eq!(lines[0]["securityContext"]["local"], true);
    assert!(lines[0]["durationMs"].as_f64().is_some());
    assert_eq!(lines[1]["parameters"]["password"], "[REDACTED]");
    assert_eq!(lines[1]["parameters"]["api_token"], "[REDACTED]");
    assert_eq!(lines[1]["outcome"], "tool_error");
    assert!(!text.contains("hunter2") && !text.contains("tok-123"));
    let cut = lines[2]["parameters"]["path"].as_str().unwrap();
    assert!(cut.len() < 400 && cut.ends_with("[5000 chars]"), "{cut}");
}
