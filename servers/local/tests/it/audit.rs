//! The audit trail: one line per call, secrets redacted.

use std::time::Duration;

use serde_json::{Value, json};

use std::num::NonZeroU32;

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
    let (text, lines) = audit_lines(&log, 3).await;
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

/// Calls refused by the rate limit are answered with their own ids and audited like
/// admitted ones: tool, parameters, the same request id form.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limited_calls_are_answered_with_their_ids_and_audited() {
    require_services!();
    let data = DataRoot::new();
    let log = data.path().join("audit.jsonl");
    let server = Setup {
        audit: Some(log.clone()),
        // One call per second, burst of one.
        ..Setup::only_limit(|l, _| {
            l.rate_limit_per_second = NonZeroU32::new(1).unwrap();
            l.rate_limit_per_caller_per_second = NonZeroU32::new(1).unwrap();
        })
    }
    .start(&data)
    .await;
    let ids = [json!("first"), json!(2), json!("third")];
    let mut answers = Vec::new();
    for id in &ids {
        let body = json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
            "params": {"name": "file_read", "arguments": {"path": "reports/daily.csv"}}});
        answers.push(server.post(body).await);
    }
    // Whatever the timing, the first call is admitted; a call is refused unless a token
    // refilled (one per second) since the one before it.
    assert!(answers[0].is_ok(), "{}", answers[0].body);
    for (answer, id) in answers.iter().zip(&ids) {
        assert!([200, 429].contains(&answer.status), "{}", answer.body);
        // A JSON-RPC answer or a refusal: each carries its own call's id.
        assert_eq!(answer.body["id"], *id, "{}", answer.body);
    }
    assert!(answers.iter().any(|a| a.status == 429), "none refused");
    server.stop().await;
    let (text, lines) = audit_lines(&log, 3).await;
    for (answer, id) in answers.iter().zip(&ids) {
        // Audited as the handler writes ids: a string as it is, a number in decimal.
        let written = id.as_str().map_or_else(|| id.to_string(), str::to_owned);
        let line = lines
            .iter()
            .find(|l| l["requestId"] == written.as_str())
            .unwrap_or_else(|| panic!("no audit line for id {id}: {text}"));
        let limited = answer.status == 429;
        let outcome = if limited { "rate_limited" } else { "ok" };
        assert_eq!(line["outcome"], outcome, "{line}");
        assert_eq!(line["securityContext"]["rateLimited"], limited, "{line}");
        assert_eq!(line["toolName"], "file_read", "{line}");
        assert_eq!(line["parameters"]["path"], "reports/daily.csv", "{line}");
    }
}

/// The trail's text and its lines, once `n` have been written (the writer batches).
pub(crate) async fn audit_lines(log: &std::path::Path, n: usize) -> (String, Vec<Value>) {
    let mut text = String::new();
    for _ in 0..50 {
        text = std::fs::read_to_string(log).unwrap_or_default();
        if text.lines().count() >= n {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    assert_eq!(lines.len(), n, "{text}");
    (text, lines)
}
