//! A `postgres_tables` family over real Postgres, in the binary as users run it: one
//! lookup per readable table with a primary key, called through `postgres_query`, and the
//! family following the schema on SIGHUP and its config file when the file changes.

use std::time::{Duration, Instant};

use serde_json::json;
use sqlx::Connection as _;

use crate::binary::{free_port, start};
use crate::support::{TestServer, database_url, repo_root, require_services, superuser_url};

async fn tool_names(server: &TestServer) -> Vec<String> {
    let answer = server
        .post(json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}))
        .await;
    answer.body["result"]["tools"]
        .as_array()
        .unwrap_or_else(|| panic!("tools/list: {}", answer.body))
        .iter()
        .filter_map(|t| t["name"].as_str().map(str::to_owned))
        .collect()
}

/// Waits (10 s at most) until the listing satisfies `done`.
async fn until(server: &TestServer, what: &str, done: impl Fn(&[String]) -> bool) {
    let started = Instant::now();
    loop {
        let names = tool_names(server).await;
        if done(&names) {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{what}: {names:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_family_serves_each_readable_table_and_follows_the_schema_on_sighup() {
    require_services!();
    // The SQL below is built from this name only: lower-case hex, never from input.
    let schema = format!("fam_{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
    let mut admin = sqlx::PgConnection::connect(&superuser_url()).await.unwrap();
    let setup = format!(
        "CREATE SCHEMA {schema};
         CREATE TABLE {schema}.widgets (id bigint PRIMARY KEY, name text NOT NULL);
         INSERT INTO {schema}.widgets VALUES (1, 'one'), (2, 'two');
         CREATE TABLE {schema}.pairs (a integer, b text, PRIMARY KEY (a, b));
         INSERT INTO {schema}.pairs VALUES (7, 'x');
         CREATE TABLE {schema}.hidden (id integer PRIMARY KEY);
         CREATE TABLE {schema}.no_key (v text);
         GRANT USAGE ON SCHEMA {schema} TO mcp_agent;
         GRANT SELECT ON {schema}.widgets, {schema}.pairs, {schema}.no_key TO mcp_agent;"
    );
    sqlx::raw_sql(sqlx::AssertSqlSafe(setup))
        .execute(&mut admin)
        .await
        .unwrap();

    let dir = tempfile::tempdir().unwrap();
    let committed =
        std::fs::read_to_string(repo_root().join("config/local_discovery_scale_config.yaml"))
            .unwrap();
    let config = dir.path().join("families.yaml");
    std::fs::write(
        &config,
        committed.replace(
            "schemas: [\"catalog\"]",
            &format!("schemas: [\"{schema}\"]"),
        ),
    )
    .unwrap();
    let (child, server) = start(
        free_port(),
        &["--config", config.to_str().unwrap()],
        &database_url(),
    )
    .await;

    // Readable tables with a primary key only; names from database, table and keys.
    until(&server, "the family's tools", |n| n.len() == 3).await;
    let names = tool_names(&server).await;
    assert_eq!(
        names,
        [
            "agents_pairs_by_a_and_b",
            "agents_widgets_by_id",
            "postgres_query"
        ],
        "hidden (no grant) and no_key (no primary key) get no tool"
    );
    let listed = server
        .post(json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}))
        .await;
    let pairs = listed.body["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "agents_pairs_by_a_and_b")
        .cloned()
        .unwrap();
    assert_eq!(pairs["inputSchema"]["properties"]["a"]["type"], "integer");
    assert_eq!(pairs["inputSchema"]["properties"]["b"]["type"], "string");
    assert_eq!(pairs["inputSchema"]["required"], json!(["a", "b"]));
    assert_eq!(pairs["_meta"]["io.mcp-slo/category"], "database");

    let widget = server.call("agents_widgets_by_id", json!({"id": 2})).await;
    assert!(widget.is_ok(), "{}", widget.body);
    assert_eq!(
        widget.structured()["rows"],
        json!([{"id": 2, "name": "two"}])
    );
    let pair = server
        .call("agents_pairs_by_a_and_b", json!({"a": 7, "b": "x"}))
        .await;
    assert_eq!(
        pair.structured()["rows"],
        json!([{"a": 7, "b": "x"}]),
        "{}",
        pair.body
    );
    let wrong = server
        .call("agents_widgets_by_id", json!({"id": "two"}))
        .await;
    assert!(
        !wrong.is_ok(),
        "a key of the wrong type is refused: {}",
        wrong.body
    );
    let hostile = server
        .call("agents_widgets_by_id", json!({"id": "1; DROP TABLE x"}))
        .await;
    assert!(!hostile.is_ok(), "{}", hostile.body);

    // The schema changes; SIGHUP brings the family up to date.
    let change = format!(
        "CREATE TABLE {schema}.gadgets (id integer PRIMARY KEY);
         GRANT SELECT ON {schema}.gadgets TO mcp_agent;
         DROP TABLE {schema}.widgets;"
    );
    sqlx::raw_sql(sqlx::AssertSqlSafe(change))
        .execute(&mut admin)
        .await
        .unwrap();
    assert_eq!(
        tool_names(&server).await.len(),
        3,
        "nothing changes before the signal"
    );
    child.signal("-HUP");
    until(&server, "after SIGHUP", |n| {
        n.iter().any(|t| t == "agents_gadgets_by_id")
            && !n.iter().any(|t| t == "agents_widgets_by_id")
    })
    .await;

    // The config file's families are read again (on SIGHUP, and when the file changes): a
    // broken file changes nothing, a family no longer declared takes its tools away.
    let declared = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        declared.replace("kind: \"postgres_tables\"", "kind: \"nope\""),
    )
    .unwrap();
    child.signal("-HUP");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let names = tool_names(&server).await;
    assert!(
        names.contains(&"agents_gadgets_by_id".to_owned()),
        "a file that does not load leaves the families as they were: {names:?}"
    );
    let cut = declared
        .find("  families:")
        .expect("the config declares families");
    // A change of the file is seen without a signal.
    std::fs::write(&config, &declared[..cut]).unwrap();
    until(&server, "after the family left the file", |n| {
        n == ["postgres_query"]
    })
    .await;

    let output = child.stop().await;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
        .execute(&mut admin)
        .await
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
