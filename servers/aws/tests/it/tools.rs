//! Each tool end to end over MCP HTTP against moto, with IAM enforcement on.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::support::{Setup, queue_rds_result, require_moto};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_read_returns_text_binary_and_clear_errors() {
    let _endpoint = require_moto!();
    let server = Setup::new().start().await;
    let csv = server
        .call(
            "s3_read",
            json!({"bucket": "mcp-slo-reports", "key": "daily.csv"}),
        )
        .await;
    assert!(csv.is_ok(), "{}", csv.body);
    assert_eq!(csv.structured()["encoding"], "utf-8");
    assert!(csv.text().starts_with("date,"), "{}", csv.text());
    let png = server
        .call(
            "s3_read",
            json!({"bucket": "mcp-slo-reports", "key": "chart.png"}),
        )
        .await;
    assert!(png.is_ok(), "{}", png.body);
    assert_eq!(png.structured()["encoding"], "base64");
    assert_eq!(png.structured()["content_type"], "image/png");
    let big = server
        .call(
            "s3_read",
            json!({"bucket": "mcp-slo-reports", "key": "big.bin", "max_bytes": 1000}),
        )
        .await;
    assert!(big.is_ok(), "{}", big.body);
    assert_eq!(big.structured()["returned_bytes"], 1000);
    assert_eq!(big.structured()["truncated"], true);
    // A caller's range is cut to max_bytes (plus the byte that shows the cut) before it is
    // fetched: the 2 MiB object's bytes 100.. are byte i = i mod 256.
    let from = server
        .call(
            "s3_read",
            json!({"bucket": "mcp-slo-reports", "key": "big.bin", "range": "bytes=100-", "max_bytes": 16}),
        )
        .await;
    assert!(from.is_ok(), "{}", from.body);
    assert_eq!(from.structured()["returned_bytes"], 16);
    assert_eq!(from.structured()["truncated"], true);
    let content = from.structured()["content"].as_str().unwrap_or_default();
    let bytes = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, content)
        .expect("base64 content");
    assert_eq!(bytes, (100u8..116).collect::<Vec<_>>());
    let tail = server
        .call(
            "s3_read",
            json!({"bucket": "mcp-slo-reports", "key": "big.bin", "range": "bytes=-2000000", "max_bytes": 1000}),
        )
        .await;
    assert!(tail.is_tool_error(), "{}", tail.body);
    assert!(tail.text().contains("at most 1000"), "{}", tail.text());
    let missing = server
        .call(
            "s3_read",
            json!({"bucket": "mcp-slo-reports", "key": "nope.txt"}),
        )
        .await;
    assert!(missing.is_tool_error());
    assert!(missing.text().contains("NoSuchKey"), "{}", missing.text());
    let nobucket = server
        .call(
            "s3_read",
            json!({"bucket": "no-such-bucket-here", "key": "x"}),
        )
        .await;
    assert!(nobucket.is_tool_error());
    let text = nobucket.text();
    assert!(
        text.contains("NoSuchBucket") || text.contains("access denied"),
        "{text}"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_role_without_the_action_gets_access_denied_naming_role_and_action() {
    let _endpoint = require_moto!();
    let server = Setup::new()
        .role("s3_read", "agent-no-access")
        .role("lambda_invoke", "agent-no-access")
        .start()
        .await;
    let s3 = server
        .call(
            "s3_read",
            json!({"bucket": "mcp-slo-reports", "key": "daily.csv"}),
        )
        .await;
    assert!(s3.is_tool_error(), "{}", s3.body);
    assert_eq!(
        s3.text(),
        "access denied: role agent-no-access may not s3:GetObject on s3://mcp-slo-reports/daily.csv (grant s3:GetObject to the role, or use a tool whose role has it)"
    );
    assert_eq!(s3.structured()["error"]["kind"], "refused");
    let lambda = server
        .call(
            "lambda_invoke",
            json!({"function_name": "agent-echo", "payload": "{}"}),
        )
        .await;
    assert!(lambda.is_tool_error(), "{}", lambda.body);
    assert!(
        lambda
            .text()
            .starts_with("access denied: role agent-no-access may not lambda:InvokeFunction"),
        "{}",
        lambda.text()
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lambda_invoke_echoes_json_and_refuses_what_it_must() {
    let _endpoint = require_moto!();
    let server = Setup::new().start().await;
    let ok = server
        .call(
            "lambda_invoke",
            json!({"function_name": "agent-echo", "payload": "{\"order\": 42}"}),
        )
        .await;
    assert!(ok.is_ok(), "{}", ok.body);
    assert_eq!(ok.structured()["status_code"], 200);
    let other = server
        .call(
            "lambda_invoke",
            json!({"function_name": "prod-billing", "payload": "{}"}),
        )
        .await;
    assert!(other.is_tool_error());
    assert_eq!(
        other.text(),
        "function \"prod-billing\" is not allowed (allowed: agent-echo, sleeper)"
    );
    let bad = server
        .call(
            "lambda_invoke",
            json!({"function_name": "agent-echo", "payload": "{not json"}),
        )
        .await;
    assert!(bad.is_tool_error());
    assert!(
        bad.text().starts_with("payload is not JSON"),
        "{}",
        bad.text()
    );
    let huge = server.call("lambda_invoke", json!({"function_name": "agent-echo", "payload": format!("\"{}\"", "x".repeat(300_000))})).await;
    assert!(huge.is_tool_error());
    assert!(
        huge.text().contains("the limit is 262144"),
        "{}",
        huge.text()
    );
    server.stop().await;
}

/// `sleeper` is answered after its payload's `sleep_ms` by scripts/moto/server.py: the
/// load probes' tool call of known duration.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lambda_invoke_of_sleeper_takes_the_requested_time_and_echoes_the_payload() {
    let _endpoint = require_moto!();
    let server = Setup::new().start().await;
    // The first call assumes the role; time the second one only.
    let warm = server
        .call(
            "lambda_invoke",
            json!({"function_name": "sleeper", "payload": "{\"sleep_ms\": 0}"}),
        )
        .await;
    assert!(warm.is_ok(), "{}", warm.body);
    let started = Instant::now();
    let slow = server
        .call(
            "lambda_invoke",
            json!({"function_name": "sleeper", "payload": "{\"sleep_ms\": 300}"}),
        )
        .await;
    let elapsed = started.elapsed();
    assert!(slow.is_ok(), "{}", slow.body);
    assert!(
        elapsed >= Duration::from_millis(300),
        "answered after {elapsed:?}: is moto running through scripts/moto/server.py?"
    );
    assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
    assert_eq!(slow.structured()["function"], "sleeper");
    assert_eq!(slow.structured()["status_code"], 200);
    assert_eq!(slow.structured()["result"], json!({"sleep_ms": 300}));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rds_query_maps_records_and_shares_the_sql_rules() {
    let endpoint = require_moto!();
    let server = Setup::new().start().await;
    let marker = uuid::Uuid::new_v4().simple().to_string();
    queue_rds_result(
        &endpoint,
        json!({
            "records": [[{"longValue": 42}, {"stringValue": "shipped"}, {"isNull": true}]],
            "columnMetadata": [{"name": "id", "typeName": "int8"}, {"name": "status", "typeName": "text"}, {"name": "note", "typeName": "text"}],
            "numberOfRecordsUpdated": 0,
        }),
    )
    .await;
    let query = format!("SELECT id, status, note FROM orders WHERE id = :id /* {marker} */");
    let rows = server
        .call(
            "rds_query",
            json!({"cluster_identifier": "agents", "query": query, "params": {"id": 42}}),
        )
        .await;
    assert!(rows.is_ok(), "{}", rows.body);
    assert_eq!(
        rows.structured()["rows"],
        json!([{"id": 42, "status": "shipped", "note": null}])
    );
    assert_eq!(
        rows.structured()["cluster"],
        "arn:aws:rds:ap-northeast-1:123456789012:cluster:agents"
    );
    let drop = server
        .call(
            "rds_query",
            json!({"cluster_identifier": "agents", "query": "DROP TABLE orders"}),
        )
        .await;
    assert!(drop.is_tool_error());
    assert_eq!(
        drop.text(),
        "DROP TABLE statements are not allowed: only SELECT, INSERT, UPDATE and DELETE may run"
    );
    server.stop().await;
}
