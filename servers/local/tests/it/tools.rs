//! Each tool's happy path through an MCP client over HTTP, in both modes.

use rmcp::ServiceExt as _;
use rmcp::model::CallToolRequestParams;
use rmcp::transport::StreamableHttpClientTransport;
use serde_json::{Value, json};

use crate::support::{DataRoot, Setup, require_services};

async fn list_and_call_each_tool(mode: mcp_server_core::stack::Mode) {
    let data = DataRoot::new();
    let server = Setup {
        mode,
        ..Setup::new()
    }
    .start(&data)
    .await;
    let client =
        ().serve(StreamableHttpClientTransport::from_uri(server.url.clone()))
            .await
            .expect("client connects");
    let tools = client.list_all_tools().await.expect("tools/list");
    let mut names: Vec<String> = tools.iter().map(|t| t.name.to_string()).collect();
    names.sort();
    assert_eq!(
        names,
        [
            "cache_invalidate",
            "file_read",
            "mysql_query",
            "postgres_query"
        ]
    );
    for tool in &tools {
        assert_eq!(
            tool.input_schema["type"], "object",
            "{} has an object schema",
            tool.name
        );
        assert!(
            tool.input_schema["required"]
                .as_array()
                .is_some_and(|r| !r.is_empty()),
            "{} lists required arguments",
            tool.name
        );
    }
    let call = |name: &str, args: Value| {
        CallToolRequestParams::new(name.to_owned())
            .with_arguments(args.as_object().unwrap().clone())
    };
    let pg = client
        .call_tool(call(
            "postgres_query",
            json!({"query": "SELECT id, status, amount FROM orders WHERE id = $1", "params": [42]}),
        ))
        .await
        .unwrap();
    assert_eq!(pg.is_error, Some(false), "{pg:?}");
    let s = pg.structured_content.unwrap();
    assert_eq!(
        s["rows"],
        json!([{"id": 42, "status": "shipped", "amount": "325.98"}])
    );
    assert_eq!(s["columns"][0], json!({"name": "id", "type": "INT8"}));

    let my = client
        .call_tool(call(
            "mysql_query",
            json!({"query": "SELECT id, status FROM orders WHERE id = ?", "params": [42]}),
        ))
        .await
        .unwrap();
    assert_eq!(my.is_error, Some(false), "{my:?}");
    assert_eq!(
        my.structured_content.unwrap()["rows"],
        json!([{"id": 42, "status": "shipped"}])
    );

    let file = client
        .call_tool(call(
            "file_read",
            json!({"path": "/data/reports/daily.csv"}),
        ))
        .await
        .unwrap();
    assert_eq!(file.is_error, Some(false), "{file:?}");
    let s = file.structured_content.unwrap();
    assert_eq!(s["content"], "date,orders\n2026-11-01,965\n");
    assert_eq!(s["media_type"], "text/csv");

    let cache = client
        .call_tool(call("cache_invalidate", json!({"pattern": "*"})))
        .await
        .unwrap();
    assert_eq!(cache.is_error, Some(false), "{cache:?}");
    assert_eq!(cache.structured_content.unwrap()["removed"], 0);
    client.cancel().await.ok();
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_mode_client_lists_tools_with_schemas_and_calls_each() {
    require_services!();
    list_and_call_each_tool(mcp_server_core::stack::Mode::Session).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stateless_mode_client_lists_tools_with_schemas_and_calls_each() {
    require_services!();
    list_and_call_each_tool(mcp_server_core::stack::Mode::Stateless).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_report_rows_affected_and_binary_files_come_back_as_base64() {
    require_services!();
    let data = DataRoot::new();
    let server = Setup::new().start(&data).await;
    let note = format!("note-{}", uuid::Uuid::new_v4());
    let insert = server
        .call(
            "postgres_query",
            json!({"query": "INSERT INTO scratch (note) VALUES ($1)", "params": [note]}),
        )
        .await;
    assert!(insert.is_ok(), "{}", insert.body);
    assert_eq!(insert.structured()["rows_affected"], 1);
    let delete = server
        .call("postgres_query", json!({"query": "DELETE FROM scratch WHERE note = $1", "params": [note], "database": "agents"}))
        .await;
    assert_eq!(delete.structured()["rows_affected"], 1);
    let png = server
        .call("file_read", json!({"path": "reports/chart.png"}))
        .await;
    assert!(png.is_ok(), "{}", png.body);
    assert_eq!(png.structured()["encoding"], "base64");
    assert_eq!(png.structured()["media_type"], "image/png");
    assert_eq!(png.body["result"]["content"][0]["type"], "image");
    let many = server
        .call(
            "postgres_query",
            json!({"query": "SELECT id FROM orders ORDER BY id LIMIT 1500"}),
        )
        .await;
    assert_eq!(many.structured()["row_count"], 1000);
    assert_eq!(many.structured()["truncated"], true);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn select_results_are_cached_in_redis_until_invalidated() {
    require_services!();
    let data = DataRoot::new();
    let server = Setup {
        cache_ttl: Some(std::time::Duration::from_secs(60)),
        ..Setup::new()
    }
    .start(&data)
    .await;
    let args = json!({"query": "SELECT status FROM orders WHERE id = $1", "params": [7]});
    let first = server.call("postgres_query", args.clone()).await;
    assert!(first.structured().get("cached").is_none(), "{}", first.body);
    let second = server.call("postgres_query", args.clone()).await;
    assert_eq!(second.structured()["cached"], true);
    assert_eq!(second.structured()["rows"], first.structured()["rows"]);
    let cleared = server
        .call("cache_invalidate", json!({"pattern": "pg:*"}))
        .await;
    assert_eq!(cleared.structured()["removed"], 1, "{}", cleared.body);
    let third = server.call("postgres_query", args).await;
    assert!(third.structured().get("cached").is_none());
    server
        .call("cache_invalidate", json!({"pattern": "*"}))
        .await;
    server.stop().await;
}
