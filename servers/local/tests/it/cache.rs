//! `cache_invalidate` stays inside the server's key prefix.

use redis::AsyncCommands as _;
use serde_json::json;

use crate::support::{DataRoot, Setup, redis_url, require_services};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalidation_never_touches_keys_outside_the_prefix() {
    require_services!();
    let data = DataRoot::new();
    let server = Setup::new().start(&data).await;
    let prefix = server.key_prefix.clone();
    let client = redis::Client::open(redis_url()).unwrap();
    let mut redis = client.get_multiplexed_async_connection().await.unwrap();
    let neighbour = prefix.trim_end_matches(':').to_owned() + "x:orders:1";
    let foreign = format!("other:{prefix}orders:1");
    for key in [
        format!("{prefix}orders:1"),
        format!("{prefix}orders:2"),
        format!("{prefix}users:1"),
        neighbour.clone(),
        foreign.clone(),
    ] {
        let _: () = redis.set(&key, "v").await.unwrap();
    }
    let orders = server
        .call("cache_invalidate", json!({"pattern": "orders:*"}))
        .await;
    assert_eq!(orders.structured()["removed"], 2, "{}", orders.body);
    for hostile in ["../*", "\\*", "[a-z]*:*", "*\\"] {
        let answer = server
            .call("cache_invalidate", json!({"pattern": hostile}))
            .await;
        assert!(answer.is_ok(), "{hostile}: {}", answer.body);
    }
    let all = server
        .call("cache_invalidate", json!({"pattern": "*"}))
        .await;
    assert!(all.is_ok(), "{}", all.body);
    let remaining: Vec<String> = redis.keys(format!("{prefix}*")).await.unwrap();
    assert!(remaining.is_empty(), "{remaining:?}");
    assert!(
        redis.exists::<_, bool>(&neighbour).await.unwrap(),
        "a key sharing the prefix's stem survives"
    );
    assert!(
        redis.exists::<_, bool>(&foreign).await.unwrap(),
        "a key outside the prefix survives"
    );
    let _: () = redis.del(&[neighbour, foreign]).await.unwrap();
    let empty = server
        .call("cache_invalidate", json!({"pattern": ""}))
        .await;
    assert!(empty.is_tool_error());
    server.stop().await;
}
