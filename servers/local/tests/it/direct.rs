//! Stateless `tools/call` requests are answered by the direct path
//! (`mcp_server_core::direct`), everything else by rmcp. The two must give the same answer
//! to the same call. Each call here is sent twice: with a plain `Accept` header, which the
//! direct path takes, and with `;q=1` on one media type, which means the same to rmcp but
//! which the direct path leaves to rmcp (its unit tests pin that).

use serde_json::{Value, json};

use crate::support::{DataRoot, Setup, TestServer, require_services};

const PLAIN: &str = "application/json, text/event-stream";
const VIA_RMCP: &str = "application/json;q=1, text/event-stream";

/// Status, content type and parsed body of one POST with exactly these headers.
async fn send(
    server: &TestServer,
    body: &Value,
    accept: &str,
    version: Option<&str>,
) -> (u16, String, Value) {
    let mut request = server
        .http
        .post(&server.url)
        .header("content-type", "application/json")
        .header("accept", accept)
        .body(body.to_string());
    if let Some(version) = version {
        request = request.header("mcp-protocol-version", version);
    }
    let response = request.send().await.expect("request sent");
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let text = response.text().await.expect("body read");
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, content_type, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn direct_tool_calls_answer_exactly_as_rmcp_does() {
    require_services!();
    let data = DataRoot::new();
    let server = Setup::new().start(&data).await;
    let by_id = json!({"query": "SELECT * FROM orders WHERE id = $1", "params": [42], "database": "agents"});
    let cases = [
        (
            "a row",
            json!({"name": "postgres_query", "arguments": by_id}),
        ),
        (
            "refused SQL (tool error)",
            json!({"name": "postgres_query", "arguments": {"query": "DROP TABLE orders"}}),
        ),
        (
            "missing argument (tool error)",
            json!({"name": "postgres_query", "arguments": {}}),
        ),
        ("no arguments at all", json!({"name": "postgres_query"})),
        (
            "unknown tool (JSON-RPC error)",
            json!({"name": "no_such_tool", "arguments": {}}),
        ),
        (
            "deadline (JSON-RPC error)",
            json!({"name": "postgres_query", "arguments": {"query": "SELECT pg_sleep(2)", "timeout_ms": 100}}),
        ),
        (
            "text file",
            json!({"name": "file_read", "arguments": {"path": "reports/daily.csv"}}),
        ),
        (
            "binary file",
            json!({"name": "file_read", "arguments": {"path": "reports/chart.png"}}),
        ),
        (
            "cache",
            json!({"name": "cache_invalidate", "arguments": {"pattern": "nothing-here:*"}}),
        ),
        (
            "progress token in _meta",
            json!({"name": "postgres_query", "arguments": by_id, "_meta": {"progressToken": "p-1"}}),
        ),
    ];
    let mut compared = 0;
    for (what, params) in &cases {
        for id in [json!(7), json!("call-7")] {
            for version in [Some("2025-11-25"), Some("2025-06-18"), None] {
                let body =
                    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": params});
                let direct = send(&server, &body, PLAIN, version).await;
                let rmcp = send(&server, &body, VIA_RMCP, version).await;
                assert_eq!(
                    direct, rmcp,
                    "{what}, id {id}, MCP-Protocol-Version {version:?}: direct (left) and rmcp (right) differ"
                );
                assert_eq!(direct.0, 200, "{what}: {}", direct.2);
                assert_eq!(direct.1, "application/json", "{what}");
                assert_eq!(direct.2["id"], id, "{what}");
                compared += 1;
            }
        }
    }
    assert_eq!(compared, cases.len() * 6);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_the_direct_path_does_not_take_get_rmcps_answers() {
    require_services!();
    let data = DataRoot::new();
    let server = Setup::new().start(&data).await;
    let call = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
        "params": {"name": "postgres_query", "arguments": {"query": "SELECT 1 AS one"}}});
    // A protocol version rmcp does not know: its 400, not a tool answer.
    let (status, _, body) = send(&server, &call, PLAIN, Some("2099-01-01")).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body.as_str()
            .is_some_and(|t| t.contains("Unsupported MCP-Protocol-Version")),
        "{body}"
    );
    // An Accept without event streams: rmcp's 406.
    let (status, _, body) = send(&server, &call, "application/json", None).await;
    assert_eq!(status, 406, "{body}");
    // Other methods are rmcp's: tools/list answers with the tools and their schemas.
    let list = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"});
    let (status, _, body) = send(&server, &list, PLAIN, Some("2025-11-25")).await;
    assert_eq!(status, 200, "{body}");
    let names: Vec<&str> = body["result"]["tools"]
        .as_array()
        .expect("tools")
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert!(names.contains(&"postgres_query"), "{names:?}");
    // A notification is accepted with 202 and no body.
    let note = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    let (status, _, _) = send(&server, &note, PLAIN, Some("2025-11-25")).await;
    assert_eq!(status, 202);
    server.stop().await;
}
