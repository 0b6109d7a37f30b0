//! The SELECT result cache in Redis, under the server's key prefix, with a TTL from config.
//! `cache_invalidate` clears it. Cache failures never fail a call: the query runs.

use std::time::Duration;

use redis::AsyncCommands as _;
use serde_json::Value;
use sha2::{Digest as _, Sha256};

use super::redis_conn::RedisHandle;
use super::sql_rows::SqlRequest;

#[derive(Clone)]
pub struct ResultCache {
    redis: RedisHandle,
    prefix: String,
    ttl: Duration,
}

impl ResultCache {
    pub fn new(redis: RedisHandle, prefix: String, ttl: Duration) -> Self {
        ResultCache { redis, prefix, ttl }
    }

    /// `<prefix><engine>:<database>:<sha256 of statement and parameters>`
    pub fn key(&self, engine: &str, request: &SqlRequest<'_>) -> String {
        let mut hash = Sha256::new();
        hash.update(request.query.as_bytes());
        hash.update([0]);
        hash.update(Value::Array(request.params.clone()).to_string().as_bytes());
        format!(
            "{}{engine}:{}:{}",
            self.prefix,
            request.database,
            hex::encode(&hash.finalize()[..16])
        )
    }

    pub async fn get(&self, engine: &str, request: &SqlRequest<'_>) -> Option<Value> {
        let mut conn = self.redis.get().await.ok()?;
        let text: Option<String> = conn.get(self.key(engine, request)).await.ok()?;
        let mut value: Value = serde_json::from_str(&text?).ok()?;
        value["cached"] = Value::Bool(true);
        Some(value)
    }

    pub async fn put(&self, engine: &str, request: &SqlRequest<'_>, value: &Value) {
        let Ok(mut conn) = self.redis.get().await else {
            return;
        };
        let ttl_ms = self.ttl.as_millis().max(1) as u64;
        let result: redis::RedisResult<()> = redis::cmd("SET")
            .arg(self.key(engine, request))
            .arg(value.to_string())
            .arg("PX")
            .arg(ttl_ms)
            .query_async(&mut conn)
            .await;
        if let Err(e) = result {
            tracing::debug!(error = %e, "result cache write failed");
        }
    }
}
