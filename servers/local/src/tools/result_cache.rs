//! The SELECT result cache (Redis, or the in-process cache on embedded backends), under the
//! server's key prefix, with a TTL from config. `cache_invalidate` clears it. Cache failures
//! never fail a call: the query runs.

use std::time::Duration;

use serde_json::Value;
use sha2::{Digest as _, Sha256};

use super::cache_store::CacheStore;
use super::sql_rows::SqlRequest;

#[derive(Clone)]
pub struct ResultCache {
    store: CacheStore,
    prefix: String,
    ttl: Duration,
}

impl ResultCache {
    pub fn new(store: CacheStore, prefix: String, ttl: Duration) -> Self {
        ResultCache { store, prefix, ttl }
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
        let text = self.store.get(&self.key(engine, request)).await?;
        let mut value: Value = serde_json::from_str(&text).ok()?;
        value["cached"] = Value::Bool(true);
        Some(value)
    }

    pub async fn put(&self, engine: &str, request: &SqlRequest<'_>, value: &Value) {
        self.store
            .put(self.key(engine, request), value.to_string(), self.ttl)
            .await;
    }
}
