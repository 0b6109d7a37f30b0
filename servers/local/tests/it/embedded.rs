//! The local tier on embedded backends (`--embedded DIR`): SQLite for both SQL tools, the
//! in-process cache, a fixture sandbox. Nothing here needs a service, so these run on any
//! machine, and they hold the embedded tier to the contract the real backends meet.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::support::{DataRoot, Setup, TestServer};

/// The tier on embedded backends in a fresh directory (kept as long as the `TempDir`).
pub(crate) async fn embedded(setup: Setup) -> (TestServer, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = DataRoot::new();
    let server = Setup {
        embedded: Some(dir.path().to_path_buf()),
        ..setup
    }
    .start(&data)
    .await;
    (server, dir)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sql_tools_answer_from_sqlite_fixtures_with_the_real_contract() {
    let (server, dir) = embedded(Setup::new()).await;
    let one = server
        .call(
            "postgres_query",
            json!({"query": "SELECT id, status, customer FROM orders WHERE id = $1", "params": [7]}),
        )
        .await;
    assert!(one.is_ok(), "{}", one.body);
    // The Postgres fixtures' row 7: status (ARRAY[...])[1 + 7 % 4] = 'cancelled'.
    assert_eq!(
        one.structured()["rows"],
        json!([{"id": 7, "status": "cancelled", "customer": "customer-7"}])
    );
    assert_eq!(one.structured()["statement"], "SELECT");
    // Numbered placeholders bind by number, not by order of appearance.
    let swapped = server
        .call(
            "postgres_query",
            json!({"query": "SELECT id FROM orders WHERE status = $2 AND id = $1", "params": [8, "new"]}),
        )
        .await;
    assert_eq!(
        swapped.structured()["rows"],
        json!([{"id": 8}]),
        "{}",
        swapped.body
    );
    // mysql_query: `?` placeholders, its own file.
    let my = server
        .call(
            "mysql_query",
            json!({"query": "SELECT count(*) AS n FROM orders WHERE id <= ?", "params": [10], "database": "production"}),
        )
        .await;
    assert_eq!(my.structured()["rows"], json!([{"n": 10}]), "{}", my.body);
    // The row cap and the databases' sizes match the Postgres fixtures.
    let many = server
        .call("postgres_query", json!({"query": "SELECT id FROM orders"}))
        .await;
    assert_eq!(many.structured()["row_count"], 1000);
    assert_eq!(many.structured()["truncated"], true);
    let sizes = server
        .call(
            "postgres_query",
            json!({"query": "SELECT count(*) AS n FROM orders", "database": "production"}),
        )
        .await;
    assert_eq!(sizes.structured()["rows"], json!([{"n": 1000}]));
    // Writes report the rows they changed.
    let insert = server
        .call(
            "postgres_query",
            json!({"query": "INSERT INTO scratch (note) VALUES ($1)", "params": ["embedded"]}),
        )
        .await;
    assert_eq!(insert.structured()["rows_affected"], 1, "{}", insert.body);
    // The same classifier refuses the same statements, and allowed databases hold.
    for (query, database, needle) in [
        ("DROP TABLE orders", "agents", "not allowed"),
        ("SELECT 1; SELECT 2", "agents", "one statement per call"),
        ("ATTACH DATABASE 'x.db' AS x", "agents", "not allowed"),
        ("SELECT 1", "postgres", "not allowed"),
    ] {
        let refused = server
            .call(
                "postgres_query",
                json!({"query": query, "database": database}),
            )
            .await;
        refused.assert_refused_with(query, needle);
    }
    let files: Vec<String> = std::fs::read_dir(dir.path().join("sqlite"))
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".sqlite"))
        .collect();
    for expected in [
        "postgres_query-agents.sqlite",
        "postgres_query-production.sqlite",
        "mysql_query-production.sqlite",
    ] {
        assert!(
            files.iter().any(|f| f == expected),
            "{expected} in {files:?}"
        );
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_runaway_statement_is_interrupted_at_its_deadline() {
    // One connection: if the interrupted statement kept running, the next call would wait.
    let (server, _dir) = embedded(Setup {
        pool_size: Some(1),
        ..Setup::new()
    })
    .await;
    let warm = server
        .call("postgres_query", json!({"query": "SELECT 1 AS one"}))
        .await;
    assert!(warm.is_ok(), "{}", warm.body);
    let started = Instant::now();
    let runaway = server
        .call(
            "postgres_query",
            json!({
                "query": "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT count(*) FROM r",
                "timeout_ms": 300,
            }),
        )
        .await;
    let took = started.elapsed();
    assert!(
        runaway.is_tool_error() || runaway.error_code() == Some(-32001),
        "{}",
        runaway.body
    );
    assert!(took < Duration::from_secs(3), "answered after {took:?}");
    let started = Instant::now();
    let next = server
        .call("postgres_query", json!({"query": "SELECT 2 AS two"}))
        .await;
    assert!(next.is_ok(), "{}", next.body);
    assert_eq!(next.structured()["rows"], json!([{"two": 2}]));
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "the connection was free again after {:?}",
        started.elapsed()
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_in_process_cache_serves_and_invalidates_like_redis() {
    let (server, _dir) = embedded(Setup {
        cache_ttl: Some(Duration::from_secs(60)),
        ..Setup::new()
    })
    .await;
    let args = json!({"query": "SELECT status FROM orders WHERE id = $1", "params": [7]});
    let first = server.call("postgres_query", args.clone()).await;
    assert!(first.structured().get("cached").is_none(), "{}", first.body);
    let second = server.call("postgres_query", args.clone()).await;
    assert_eq!(second.structured()["cached"], true, "{}", second.body);
    assert_eq!(second.structured()["rows"], first.structured()["rows"]);
    let other = server
        .call("cache_invalidate", json!({"pattern": "users:*"}))
        .await;
    assert_eq!(other.structured()["removed"], 0, "{}", other.body);
    let cleared = server
        .call("cache_invalidate", json!({"pattern": "pg:*"}))
        .await;
    assert_eq!(cleared.structured()["removed"], 1, "{}", cleared.body);
    let third = server.call("postgres_query", args).await;
    assert!(third.structured().get("cached").is_none(), "{}", third.body);
    for hostile in ["../*", "\\*", "[a-z]*:*", "*\\"] {
        let answer = server
            .call("cache_invalidate", json!({"pattern": hostile}))
            .await;
        assert!(answer.is_ok(), "{hostile}: {}", answer.body);
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fixture_sandbox_is_served_and_confined() {
    let (server, dir) = embedded(Setup::new()).await;
    let csv = server
        .call("file_read", json!({"path": "reports/daily.csv"}))
        .await;
    assert!(csv.is_ok(), "{}", csv.body);
    let on_disk = std::fs::read_to_string(dir.path().join("files/data/reports/daily.csv")).unwrap();
    assert!(
        csv.text().contains(on_disk.lines().next().unwrap()),
        "{}",
        csv.text()
    );
    std::fs::write(dir.path().join("secret.txt"), "TOP-SECRET").unwrap();
    for hostile in [
        "../../secret.txt",
        "/data/../secret.txt",
        "../../sqlite/postgres_query-agents.sqlite",
    ] {
        let answer = server.call("file_read", json!({"path": hostile})).await;
        assert!(answer.is_tool_error(), "{hostile}: {}", answer.body);
        assert!(!answer.text().contains("TOP-SECRET"));
    }
    let ready = server
        .http
        .get(format!("{}/readyz", server.base))
        .send()
        .await
        .unwrap();
    let status = ready.status();
    let body = ready.text().await.unwrap();
    assert!(status.is_success(), "{body}");
    for check in ["sqlite/", "in-process", "file_read"] {
        assert!(body.contains(check), "{check} in {body}");
    }
    server.stop().await;
}
