//! The files under the allowed paths as MCP resources: listed (regular files only, never a
//! symlink, a FIFO or anything outside), read as text or Base64 with their media type,
//! confined as `file_read` is, refused with the URI in the error, and audited.

use std::os::unix::fs::symlink;

use base64::Engine as _;
use serde_json::{Value, json};

use crate::audit::audit_lines;
use crate::support::{DataRoot, Setup, TestServer, require_services};

async fn rpc(server: &TestServer, method: &str, params: Value) -> Value {
    let answer = server
        .post(json!({"jsonrpc": "2.0", "id": 7, "method": method, "params": params}))
        .await;
    assert_eq!(answer.status, 200, "{method}: {}", answer.body);
    answer.body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_allowed_files_are_listed_and_read_as_resources() {
    require_services!();
    let data = DataRoot::new();
    let root = data.path();
    let reports = root.join("data/reports");
    std::fs::create_dir_all(reports.join("2026/q4")).unwrap();
    std::fs::write(reports.join("2026/q4/sum mary.txt"), "nested").unwrap();
    symlink("/etc/passwd", reports.join("abs_link")).unwrap();
    symlink(root.join("outside"), reports.join("dir_link")).unwrap();
    let fifo = reports.join("fifo");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let log = root.join("audit.jsonl");
    let server = Setup {
        audit: Some(log.clone()),
        ..Setup::new()
    }
    .start(&data)
    .await;

    let list = rpc(&server, "resources/list", json!({})).await;
    let resources = list["result"]["resources"].as_array().unwrap();
    let uris: Vec<&str> = resources
        .iter()
        .map(|r| r["uri"].as_str().unwrap())
        .collect();
    assert_eq!(
        uris,
        [
            "file:///data/config/app.yaml",
            "file:///data/reports/2026/q4/sum%20mary.txt",
            "file:///data/reports/chart.png",
            "file:///data/reports/daily.csv",
        ],
        "regular files only, sorted: {list}"
    );
    let daily = &resources[3];
    assert_eq!(daily["name"], "data/reports/daily.csv");
    assert_eq!(daily["mimeType"], "text/csv");
    assert_eq!(daily["size"], 27);
    assert!(list["result"].get("nextCursor").is_none());

    let read = rpc(
        &server,
        "resources/read",
        json!({"uri": "file:///data/reports/daily.csv"}),
    )
    .await;
    let contents = &read["result"]["contents"];
    assert_eq!(
        contents,
        &json!([{
            "uri": "file:///data/reports/daily.csv",
            "mimeType": "text/csv",
            "text": "date,orders\n2026-11-01,965\n",
        }])
    );
    let nested = rpc(
        &server,
        "resources/read",
        json!({"uri": "file:///data/reports/2026/q4/sum%20mary.txt"}),
    )
    .await;
    assert_eq!(nested["result"]["contents"][0]["text"], "nested");
    let png = rpc(
        &server,
        "resources/read",
        json!({"uri": "file:///data/reports/chart.png"}),
    )
    .await;
    let png = &png["result"]["contents"][0];
    assert_eq!(png["mimeType"], "image/png");
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(png["blob"].as_str().unwrap())
        .unwrap();
    assert_eq!(bytes, b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR");

    // (uri, JSON-RPC code: -32002 "resource not found" before 2026-07-28, or -32602)
    let refused = [
        ("file:///etc/passwd", -32002),
        ("file:///data/reports/missing.csv", -32002),
        ("test://nonexistent", -32002),
        ("file:///data/reports/../../outside/secret.txt", -32602),
        ("file:///data/reports/abs_link", -32602),
        ("file:///data/reports/dir_link/secret.txt", -32602),
        ("file:///data/reports/fifo", -32602),
        ("file:///data/reports", -32602),
        ("file://elsewhere.example/data/reports/daily.csv", -32602),
    ];
    for (uri, code) in refused {
        let answer = rpc(&server, "resources/read", json!({ "uri": uri })).await;
        assert_eq!(answer["error"]["code"], code, "{uri}: {answer}");
        assert_eq!(answer["error"]["data"]["uri"], uri, "{uri}: {answer}");
        let text = answer.to_string();
        assert!(
            !text.contains("TOP-SECRET") && !text.contains("root:x:0"),
            "{uri} leaked: {text}"
        );
    }

    let templates = rpc(&server, "resources/templates/list", json!({})).await;
    let templates: Vec<&str> = templates["result"]["resourceTemplates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["uriTemplate"].as_str().unwrap())
        .collect();
    assert_eq!(
        templates,
        [
            "file:///data/reports/{+path}",
            "file:///data/config/{+path}"
        ]
    );
    server.stop().await;

    let (_, lines) = audit_lines(&log, 3 + refused.len()).await;
    let reads: Vec<&Value> = lines
        .iter()
        .filter(|l| l["toolName"] == "resources/read")
        .collect();
    assert_eq!(reads.len(), 3 + refused.len(), "every read is audited");
    assert_eq!(
        reads[0]["parameters"]["uri"],
        "file:///data/reports/daily.csv"
    );
    assert_eq!(reads[0]["outcome"], "ok");
    assert_eq!(reads[3]["outcome"], "tool_error");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tier_declares_resources() {
    require_services!();
    let data = DataRoot::new();
    let server = Setup::new().start(&data).await;
    let init = rpc(
        &server,
        "initialize",
        json!({"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}),
    )
    .await;
    assert_eq!(
        init["result"]["capabilities"]["resources"],
        json!({}),
        "{init}"
    );
    server.stop().await;
}
