//! postgres_query's binding and connections against the real Postgres: parameters take the
//! types Postgres gives them, bad ones are refused with their position, and pipelined
//! connections serve many calls at once without a connection each.

use std::time::Duration;

use futures::future::join_all;
use mcp_local_server::tools::pg_pool::{PgConnections, PoolShape};
use mcp_local_server::tools::postgres::base_options;
use serde_json::{Value, json};

use crate::support::{DataRoot, Setup, database_url, require_services};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parameters_bind_as_the_types_postgres_expects_and_come_back_as_json() {
    require_services!();
    let data = DataRoot::new();
    let server = Setup::new().start(&data).await;
    let query = "SELECT $1::int4 AS i4, $2::numeric AS n, $3::date AS d, $4::uuid AS u, \
                 $5::jsonb AS j, $6::timestamptz AS ts, $7::bool AS b, $8::text AS t, \
                 $9::float8 AS f, $10::int2 AS nothing, $11::bytea AS raw, $12::bytea AS utf8";
    let uuid = "6f1c1c4e-3c5a-4b8e-9a57-6d0c2b1f9e10";
    let answer = server
        .call(
            "postgres_query",
            json!({"query": query, "params": [42, "325.98", "2024-05-01", uuid, {"k": [1, 2]},
                "2024-05-01T10:00:00Z", true, 7, 0.5, null, {"base64": "AAEC/w=="}, "hi"]}),
        )
        .await;
    assert!(answer.is_ok(), "{}", answer.body);
    let s = answer.structured();
    assert_eq!(
        s["rows"][0],
        json!({"i4": 42, "n": "325.98", "d": "2024-05-01", "u": uuid, "j": {"k": [1, 2]},
            "ts": "2024-05-01T10:00:00+00:00", "b": true, "t": "7", "f": 0.5, "nothing": null,
            "raw": {"base64": "AAEC/w=="}, "utf8": {"base64": "aGk="}})
    );
    let types: Vec<&Value> = s["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| &c["type"])
        .collect();
    assert_eq!(
        types,
        [
            "INT4",
            "NUMERIC",
            "DATE",
            "UUID",
            "JSONB",
            "TIMESTAMPTZ",
            "BOOL",
            "TEXT",
            "FLOAT8",
            "INT2",
            "BYTEA",
            "BYTEA"
        ]
    );

    // A string holding an integer binds to a bigint key; an empty result still has columns.
    let answer = server
        .call(
            "postgres_query",
            json!({"query": "SELECT id, status FROM orders WHERE id = $1", "params": ["42"]}),
        )
        .await;
    assert_eq!(answer.structured()["rows"][0]["id"], 42, "{}", answer.body);
    let none = server
        .call(
            "postgres_query",
            json!({"query": "SELECT id, status FROM orders WHERE id = $1", "params": [-1]}),
        )
        .await;
    assert_eq!(none.structured()["row_count"], 0);
    assert_eq!(
        none.structured()["columns"],
        json!([{"name": "id", "type": "INT8"}, {"name": "status", "type": "TEXT"}])
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parameters_that_do_not_fit_are_refused_with_their_position() {
    require_services!();
    let data = DataRoot::new();
    let server = Setup::new().start(&data).await;
    let cases = [
        (
            "SELECT $1::int4",
            json!(["abc"]),
            "params[0] ($1, int4): \"abc\" is not an integer",
        ),
        (
            "SELECT $1::int4",
            json!([3_000_000_000_i64]),
            "params[0] ($1, int4): 3000000000 is out of range",
        ),
        (
            "SELECT $1::int4",
            json!([1, "May 1st"]),
            "the statement takes 1 parameter(s) but 2 were given",
        ),
        (
            "SELECT $1::text, $2::date",
            json!(["a", "May 1st"]),
            "params[1] ($2, date): not a date",
        ),
        (
            "SELECT $1::bool",
            json!([1]),
            "params[0] ($1, bool): expected true or false, got a number",
        ),
        (
            "SELECT $1::int8[]",
            json!([[1, 2]]),
            "params[0] ($1, _int8): cannot bind an array to this type",
        ),
        (
            "SELECT id FROM orders WHERE id = $1",
            json!([]),
            "the statement takes 1 parameter(s) but 0 were given",
        ),
    ];
    for (query, params, expected) in cases {
        let answer = server
            .call("postgres_query", json!({"query": query, "params": params}))
            .await;
        answer.assert_refused_with(query, expected);
    }
    server.stop().await;
}

fn pool(size: usize, depth: usize) -> PgConnections {
    let mut config = base_options(&database_url()).unwrap();
    config.dbname("agents");
    PgConnections::new(
        config,
        PoolShape {
            size,
            depth,
            shards: 1,
        },
        Duration::from_secs(5),
    )
}

/// `n` calls at once of `sql` (one int8 parameter, one int8 column) on shared leases.
async fn at_once(pool: &PgConnections, n: i64, sql: &str) -> Vec<i64> {
    join_all((0..n).map(|i| async move {
        let lease = pool.shared().await.unwrap();
        let statement = lease.statement(sql).await.unwrap();
        let row = lease.client().query_one(&statement, &[&i]).await.unwrap();
        row.get::<_, i64>(0)
    }))
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_share_a_connection_up_to_the_depth_and_spread_at_depth_one() {
    require_services!();
    // Depth 8: six calls at once are pipelined on one connection, not one each.
    let pipelined = pool(4, 8);
    let answers = at_once(&pipelined, 6, "SELECT $1::int8 + 1").await;
    assert_eq!(answers, (1..=6).collect::<Vec<i64>>());
    assert_eq!(pipelined.open_connections(), 1);

    // Depth 1: four slow calls at once get a connection each and run side by side.
    let spread = pool(4, 1);
    let started = std::time::Instant::now();
    let answers = at_once(&spread, 4, "SELECT $1::int8 FROM pg_sleep(0.3)").await;
    assert_eq!(answers, (0..4).collect::<Vec<i64>>());
    assert_eq!(spread.open_connections(), 4);
    let took = started.elapsed();
    // One after another they would take at least 4 x 0.3 s.
    assert!(
        took < Duration::from_millis(1200),
        "took {took:?}: the sleeps ran one after another"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exclusive_call_keeps_shared_ones_out_and_a_discarded_connection_is_replaced() {
    require_services!();
    let pool = pool(1, 8);
    // A transaction needs the connection to itself: shared calls wait until it is done.
    let exclusive = pool.exclusive().await.unwrap();
    exclusive.client().batch_execute("BEGIN").await.unwrap();
    let waiting = tokio::time::timeout(Duration::from_millis(200), pool.shared()).await;
    assert!(
        waiting.is_err(),
        "a shared call got in during a transaction"
    );
    exclusive.client().batch_execute("ROLLBACK").await.unwrap();
    drop(exclusive);
    assert!(pool.shared().await.is_ok());

    // A connection left in an unknown state is closed and replaced.
    let lease = pool.exclusive().await.unwrap();
    lease.client().batch_execute("BEGIN").await.unwrap();
    lease.discard();
    drop(lease);
    assert_eq!(pool.open_connections(), 0);
    let fresh = pool.shared().await.unwrap();
    let rows = fresh.client().simple_query("SELECT 1").await.unwrap();
    assert!(!rows.is_empty());
    assert_eq!(pool.open_connections(), 1);
}

/// With the pool split between two workers, a worker whose share is taken uses the other's
/// room instead of waiting: two exclusive calls at once from one worker get a connection
/// each.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_share_borrows_room_from_the_other_workers_share() {
    require_services!();
    let mut config = base_options(&database_url()).unwrap();
    config.dbname("agents");
    let shape = PoolShape {
        size: 2,
        depth: 1,
        shards: 2,
    };
    let pool = PgConnections::new(config, shape, Duration::from_millis(500));
    let first = pool.exclusive().await.expect("own share");
    let second = pool
        .exclusive()
        .await
        .expect("the other share's slot, not a wait for the first");
    assert_eq!(pool.open_connections(), 2);
    for lease in [&first, &second] {
        let row = lease
            .client()
            .query_one("SELECT 1::int4", &[])
            .await
            .unwrap();
        assert_eq!(row.get::<_, i32>(0), 1);
    }
}
