//! Stateless `tools/call` requests are answered by the direct path
//! (`mcp_server_core::direct`), everything else by rmcp. The two must give the same answer
//! to the same call. Each call here is sent twice: with a plain `Accept` header, which the
//! direct path takes, and with `;q=1` on one media type, which means the same to rmcp but
//! which the direct path leaves to rmcp (its unit tests pin that). Both request forms are
//! compared: the legacy one and the self-contained 2026-07-28 one; `/metrics` shows that
//! the direct path answered the plain ones.

use serde_json::{Value, json};

use crate::support::{DataRoot, Setup, TestServer, metric, require_services};

const PLAIN: &str = "application/json, text/event-stream";
const VIA_RMCP: &str = "application/json;q=1, text/event-stream";

/// Status, content type and parsed body of one POST with exactly these headers.
async fn send(
    server: &TestServer,
    body: &Value,
    accept: &str,
    version: Option<&str>,
) -> (u16, String, Value) {
    send_with(server, body, accept, version, &[]).await
}

async fn send_with(
    server: &TestServer,
    body: &Value,
    accept: &str,
    version: Option<&str>,
    extra: &[(&str, &str)],
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
    for (name, value) in extra {
        request = request.header(*name, *value);
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

/// How many requests of `method` in `form` the direct path answered, from `/metrics`.
fn direct_requests(metrics: &str, method: &str, form: &str) -> f64 {
    let name = format!("mcp_direct_requests_total{{method=\"{method}\",form=\"{form}\"}}");
    metric(metrics, &name).unwrap_or(0.0)
}

/// The direct path answered exactly `expected` requests of `method` per form between two
/// readings of `/metrics`.
fn assert_direct(before: &str, after: &str, method: &str, expected: [(&str, usize); 2]) {
    for (form, n) in expected {
        assert_eq!(
            direct_requests(after, method, form) - direct_requests(before, method, form),
            n as f64,
            "direct {method} requests in the {form} form"
        );
    }
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
    let before = server.metrics_text().await;
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
                assert!(
                    direct.2["result"].get("resultType").is_none(),
                    "{what}: {}",
                    direct.2
                );
                compared += 1;
            }
            // The same call, self-contained as 2026-07-28 sends it.
            let mut params = params.clone();
            params["_meta"] = json!({
                "io.modelcontextprotocol/protocolVersion": "2026-07-28",
                "io.modelcontextprotocol/clientCapabilities": {},
                "io.modelcontextprotocol/clientInfo": {"name": "direct-test", "version": "1"},
            });
            let name = params["name"].as_str().expect("a name").to_owned();
            let headers = [("mcp-method", "tools/call"), ("mcp-name", name.as_str())];
            let body =
                json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": params});
            let direct = send_with(&server, &body, PLAIN, Some("2026-07-28"), &headers).await;
            let rmcp = send_with(&server, &body, VIA_RMCP, Some("2026-07-28"), &headers).await;
            assert_eq!(
                direct, rmcp,
                "{what}, id {id}, 2026-07-28: direct (left) and rmcp (right) differ"
            );
            assert_eq!(direct.1, "application/json", "{what}");
            assert_eq!(direct.2["id"], id, "{what}");
            if direct.2.get("result").is_some() {
                assert_eq!(
                    direct.2["result"]["resultType"], "complete",
                    "{what}: {}",
                    direct.2
                );
            }
            compared += 1;
        }
    }
    assert_eq!(compared, cases.len() * 8);
    // Every plain request was the direct path's; every `;q=1` one was rmcp's.
    let after = server.metrics_text().await;
    assert_direct(
        &before,
        &after,
        "tools/call",
        [("legacy", cases.len() * 6), ("2026-07-28", cases.len() * 2)],
    );
    server.stop().await;
}

/// `tools/list` in both forms, with and without a cursor, a forged one included: the direct
/// path's page (or error) is rmcp's, byte for byte once parsed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn direct_tool_lists_answer_exactly_as_rmcp_does() {
    require_services!();
    let data = DataRoot::new();
    let server = Setup::new().start(&data).await;
    let meta = json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {},
    });
    let before = server.metrics_text().await;
    let paramses = [None, Some(json!({})), Some(json!({"cursor": "forged"}))];
    let mut compared = 0;
    for params in &paramses {
        let mut legacy = json!({"jsonrpc": "2.0", "id": 5, "method": "tools/list"});
        if let Some(params) = params {
            legacy["params"] = params.clone();
        }
        for version in [Some("2025-11-25"), None] {
            let direct = send(&server, &legacy, PLAIN, version).await;
            let rmcp = send(&server, &legacy, VIA_RMCP, version).await;
            assert_eq!(
                direct, rmcp,
                "{legacy}, {version:?}: direct (left) and rmcp (right) differ"
            );
            assert_eq!(direct.0, 200, "{}", direct.2);
            compared += 1;
        }
        let mut current = json!({"jsonrpc": "2.0", "id": 5, "method": "tools/list",
            "params": params.clone().unwrap_or_else(|| json!({}))});
        current["params"]["_meta"] = meta.clone();
        let headers = [("mcp-method", "tools/list")];
        let direct = send_with(&server, &current, PLAIN, Some("2026-07-28"), &headers).await;
        let rmcp = send_with(&server, &current, VIA_RMCP, Some("2026-07-28"), &headers).await;
        assert_eq!(
            direct, rmcp,
            "{current}: direct (left) and rmcp (right) differ"
        );
        compared += 1;
        if params.as_ref().is_some_and(|p| p.get("cursor").is_some()) {
            assert_eq!(direct.2["error"]["code"], -32602, "{}", direct.2);
        } else {
            let names: Vec<&str> = direct.2["result"]["tools"]
                .as_array()
                .expect("tools")
                .iter()
                .filter_map(|t| t["name"].as_str())
                .collect();
            assert!(names.contains(&"postgres_query"), "{names:?}");
            assert_eq!(direct.2["result"]["resultType"], "complete", "{}", direct.2);
            // Reusable for the config's listing.ttl_ms (default 60 s), by this caller only.
            assert_eq!(direct.2["result"]["ttlMs"], 60_000, "{}", direct.2);
            assert_eq!(direct.2["result"]["cacheScope"], "private", "{}", direct.2);
        }
    }
    assert_eq!(compared, 9);
    let after = server.metrics_text().await;
    assert_direct(
        &before,
        &after,
        "tools/list",
        [("legacy", 6), ("2026-07-28", 3)],
    );
    server.stop().await;
}

/// `server/discover` (2026-07-28's first request): the direct path's answer is rmcp's,
/// with and without the client's identity; one that names another revision, lacks the
/// header or has extra params is rmcp's to answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn direct_discovery_answers_exactly_as_rmcp_does() {
    require_services!();
    let data = DataRoot::new();
    let server = Setup::new().start(&data).await;
    let capabilities = json!({});
    let identity = json!({"name": "differential", "version": "1"});
    let before = server.metrics_text().await;
    let mut taken = 0;
    for info in [None, Some(&identity)] {
        let mut meta = json!({
            "io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientCapabilities": capabilities,
        });
        if let Some(info) = info {
            meta["io.modelcontextprotocol/clientInfo"] = info.clone();
        }
        let body = json!({"jsonrpc": "2.0", "id": "d", "method": "server/discover",
            "params": {"_meta": meta}});
        let headers = [("mcp-method", "server/discover")];
        let direct = send_with(&server, &body, PLAIN, Some("2026-07-28"), &headers).await;
        let rmcp = send_with(&server, &body, VIA_RMCP, Some("2026-07-28"), &headers).await;
        assert_eq!(
            direct, rmcp,
            "{body}: direct (left) and rmcp (right) differ"
        );
        assert_eq!(direct.0, 200, "{}", direct.2);
        let result = &direct.2["result"];
        assert_eq!(result["resultType"], "complete", "{result}");
        assert!(
            result["supportedVersions"]
                .as_array()
                .is_some_and(|v| v.contains(&json!("2026-07-28"))),
            "{result}"
        );
        assert_eq!(result["capabilities"]["resources"], json!({}), "{result}");
        assert_eq!(
            result["_meta"]["io.modelcontextprotocol/serverInfo"]["name"],
            "mcp-local-server"
        );
        taken += 1;
    }
    // Not taken: no Mcp-Method header; another revision in _meta; an extra param.
    let meta = json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {},
    });
    let plain = json!({"jsonrpc": "2.0", "id": 9, "method": "server/discover",
        "params": {"_meta": meta}});
    let mut older = plain.clone();
    older["params"]["_meta"]["io.modelcontextprotocol/protocolVersion"] = json!("2025-11-25");
    let mut extra = plain.clone();
    extra["params"]["x"] = json!(1);
    let cases = [
        (plain, None),
        (older, Some("server/discover")),
        (extra, Some("server/discover")),
    ];
    for (body, method) in &cases {
        let headers: Vec<(&str, &str)> = method.iter().map(|m| ("mcp-method", *m)).collect();
        let direct = send_with(&server, body, PLAIN, Some("2026-07-28"), &headers).await;
        let rmcp = send_with(&server, body, VIA_RMCP, Some("2026-07-28"), &headers).await;
        assert_eq!(direct, rmcp, "{body}: the two differ");
    }
    let after = server.metrics_text().await;
    assert_direct(
        &before,
        &after,
        "server/discover",
        [("legacy", 0), ("2026-07-28", taken)],
    );
    server.stop().await;
}

/// A 2026-07-28 call whose standard headers disagree with its body, or that lacks them,
/// is rmcp's to refuse: 400 with -32020 (header mismatch), never a tool answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_2026_call_with_mismatched_headers_gets_rmcps_refusal() {
    require_services!();
    let data = DataRoot::new();
    let server = Setup::new().start(&data).await;
    let body = json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {
    "name": "postgres_query", "arguments": {"query": "SELECT 1 AS one"},
    "_meta": {
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {},
    }}});
    let cases: [&[(&str, &str)]; 4] = [
        &[],
        &[("mcp-method", "tools/call")],
        &[("mcp-method", "tools/call"), ("mcp-name", "file_read")],
        &[("mcp-method", "tools/list"), ("mcp-name", "postgres_query")],
    ];
    for headers in cases {
        let (status, _, answer) =
            send_with(&server, &body, PLAIN, Some("2026-07-28"), headers).await;
        assert_eq!(status, 400, "{headers:?}: {answer}");
        assert_eq!(answer["error"]["code"], -32020, "{headers:?}: {answer}");
        assert_eq!(answer["id"], 3, "{headers:?}: {answer}");
    }
    // The header names one revision, the body another.
    let (status, _, answer) = send_with(
        &server,
        &body,
        PLAIN,
        Some("2025-11-25"),
        &[("mcp-method", "tools/call"), ("mcp-name", "postgres_query")],
    )
    .await;
    assert_eq!(status, 400, "{answer}");
    assert_eq!(answer["error"]["code"], -32020, "{answer}");
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
    // Other methods are rmcp's: ping answers with an empty result, server/discover with
    // the server's identity in `_meta`.
    let ping = json!({"jsonrpc": "2.0", "id": 2, "method": "ping"});
    let (status, _, body) = send(&server, &ping, PLAIN, Some("2025-11-25")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"], json!({}), "{body}");
    let discover = json!({"jsonrpc": "2.0", "id": 4, "method": "server/discover", "params": {"_meta": {
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {},
    }}});
    let (status, _, body) = send_with(
        &server,
        &discover,
        PLAIN,
        Some("2026-07-28"),
        &[("mcp-method", "server/discover")],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["result"]["_meta"]["io.modelcontextprotocol/serverInfo"]["name"], "mcp-local-server",
        "{body}"
    );
    // A notification is accepted with 202 and no body.
    let note = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    let (status, _, _) = send(&server, &note, PLAIN, Some("2025-11-25")).await;
    assert_eq!(status, 202);
    server.stop().await;
}
