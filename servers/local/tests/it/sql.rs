//! SQL policy against the real databases: refused classes, least privilege, deadlines.

use std::time::{Duration, Instant};

use serde_json::json;
use sqlx::Connection as _;

use crate::support::{DataRoot, Setup, require_services, superuser_url};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_refused_statement_class_is_a_tool_error_that_says_why() {
    require_services!();
    let data = DataRoot::new();
    let server = Setup::new().start(&data).await;
    let cases = [
        ("DROP TABLE orders", "DROP TABLE statements are not allowed"),
        (
            "CREATE TABLE x (a int)",
            "CREATE TABLE statements are not allowed",
        ),
        (
            "ALTER TABLE orders ADD COLUMN x int",
            "ALTER TABLE statements are not allowed",
        ),
        ("TRUNCATE orders", "TRUNCATE statements are not allowed"),
        (
            "COPY orders TO '/tmp/orders'",
            "COPY statements are not allowed",
        ),
        (
            "SET statement_timeout = 0",
            "SET statements are not allowed",
        ),
        ("BEGIN", "BEGIN statements are not allowed"),
        ("COMMIT", "COMMIT statements are not allowed"),
        (
            "GRANT ALL ON orders TO PUBLIC",
            "GRANT statements are not allowed",
        ),
        (
            "SELECT * INTO stolen FROM orders",
            "SELECT ... INTO statements are not allowed",
        ),
        (
            "SELECT 1; DROP TABLE orders",
            "one statement per call: found 2 statements",
        ),
        ("SELEC 1", "SQL syntax error"),
    ];
    for (sql, expected) in cases {
        for tool in ["postgres_query", "mysql_query"] {
            let answer = server.call(tool, json!({"query": sql})).await;
            answer.assert_refused_with(&format!("{tool} {sql}"), expected);
        }
    }
    let db = server
        .call(
            "postgres_query",
            json!({"query": "SELECT 1", "database": "postgres"}),
        )
        .await;
    assert!(db.is_tool_error());
    assert_eq!(
        db.text(),
        "database \"postgres\" is not allowed (allowed: agents, production)"
    );
    let orders = server
        .call(
            "postgres_query",
            json!({"query": "SELECT count(*) AS n FROM orders"}),
        )
        .await;
    assert_eq!(
        orders.structured()["rows"][0]["n"],
        100000,
        "the fixture table is intact"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_role_cannot_read_what_it_was_not_granted() {
    require_services!();
    let data = DataRoot::new();
    let server = Setup::new().start(&data).await;
    for (tool, sql) in [
        ("postgres_query", "SELECT * FROM internal_secrets"),
        ("postgres_query", "SELECT pg_read_file('/etc/passwd')"),
        ("postgres_query", "SELECT rolpassword FROM pg_authid"),
        ("mysql_query", "SELECT * FROM internal_secrets"),
        ("mysql_query", "SELECT * FROM mysql.user"),
    ] {
        let answer = server.call(tool, json!({"query": sql})).await;
        answer.assert_refused_with(&format!("{tool} {sql}"), "denied");
        let text = answer.text();
        assert!(
            !text.contains("do-not-leak") && !text.contains("mcp_agent_dev"),
            "{text}"
        );
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_parameters_are_bound_not_interpolated() {
    require_services!();
    let data = DataRoot::new();
    let server = Setup::new().start(&data).await;
    let answer = server
        .call("postgres_query", json!({"query": "SELECT count(*) AS n FROM orders WHERE customer = $1", "params": ["x' OR '1'='1"]}))
        .await;
    assert_eq!(answer.structured()["rows"][0]["n"], 0, "{}", answer.body);
    let answer = server
        .call("mysql_query", json!({"query": "SELECT count(*) AS n FROM orders WHERE customer = ?", "params": ["x' OR '1'='1"]}))
        .await;
    assert_eq!(answer.structured()["rows"][0]["n"], 0, "{}", answer.body);
    server.stop().await;
}

/// Running statements of the server's role whose text contains `marker`.
async fn running(marker: &str) -> i64 {
    let mut conn = sqlx::PgConnection::connect(&superuser_url())
        .await
        .expect("superuser connects");
    sqlx::query_scalar(
        "SELECT count(*) FROM pg_stat_activity WHERE usename = 'mcp_agent' AND state = 'active' AND query LIKE '%' || $1 || '%' AND pid <> pg_backend_pid()",
    )
    .bind(marker)
    .fetch_one(&mut conn)
    .await
    .expect("pg_stat_activity")
}

async fn assert_sleep_is_cut_at(timeout_ms: Option<u64>, deadline: Duration) {
    let data = DataRoot::new();
    let server = Setup::new().start(&data).await;
    let marker = format!("deadline_{}", uuid::Uuid::new_v4().simple());
    let mut args = json!({"query": format!("SELECT pg_sleep(30) AS {marker}")});
    if let Some(ms) = timeout_ms {
        args["timeout_ms"] = json!(ms);
    }
    let started = Instant::now();
    let answer = server.call("postgres_query", args).await;
    let took = started.elapsed();
    assert_eq!(answer.error_code(), Some(-32001), "{}", answer.body);
    assert_eq!(answer.body["error"]["data"]["kind"], "timed_out");
    assert!(
        took >= deadline && took < deadline + Duration::from_millis(500),
        "ended after {took:?}, deadline {deadline:?}"
    );
    // Postgres cancels the statement itself (statement_timeout), within the slack.
    let mut still = running(&marker).await;
    for _ in 0..20 {
        if still == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
        still = running(&marker).await;
    }
    assert_eq!(still, 0, "the statement still runs in pg_stat_activity");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sleep_past_the_callers_timeout_ends_at_the_deadline_and_is_cancelled() {
    require_services!();
    assert_sleep_is_cut_at(Some(800), Duration::from_millis(800)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sleep_past_the_tiers_5s_timeout_ends_at_the_deadline_and_is_cancelled() {
    require_services!();
    assert_sleep_is_cut_at(None, Duration::from_millis(5000)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mariadb_statements_are_cut_at_the_deadline_too() {
    require_services!();
    let data = DataRoot::new();
    let server = Setup::new().start(&data).await;
    let started = Instant::now();
    let answer = server
        .call(
            "mysql_query",
            json!({"query": "SELECT SLEEP(30)", "timeout_ms": 700}),
        )
        .await;
    let took = started.elapsed();
    assert_eq!(answer.error_code(), Some(-32001), "{}", answer.body);
    assert!(took < Duration::from_millis(1200), "took {took:?}");
    // The connection is usable again afterwards.
    let next = server
        .call("mysql_query", json!({"query": "SELECT 1 AS one"}))
        .await;
    assert_eq!(next.structured()["rows"][0]["one"], 1, "{}", next.body);
    server.stop().await;
}
