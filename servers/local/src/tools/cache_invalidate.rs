//! `cache_invalidate`: removes this server's cache keys matching a glob, confined to the key
//! prefix. On Redis: SCAN MATCH + UNLINK in batches (never KEYS, never FLUSH*); on embedded
//! backends, the in-process cache (see `cache_store`).

use futures::future::BoxFuture;
use mcp_server_core::registry::{ToolCall, ToolError, ToolHandler, ToolOutput};
use serde_json::json;

use super::cache_store::CacheStore;

pub struct CacheInvalidate {
    store: CacheStore,
    prefix: String,
}

impl CacheInvalidate {
    pub fn new(store: CacheStore, prefix: String) -> Self {
        CacheInvalidate { store, prefix }
    }

    async fn run(&self, call: ToolCall<'_>) -> Result<ToolOutput, ToolError> {
        let pattern = call
            .str_arg("pattern")
            .ok_or_else(|| ToolError::invalid("missing required argument `pattern`"))?;
        if pattern.is_empty() || pattern.len() > 512 || pattern.chars().any(char::is_control) {
            return Err(ToolError::invalid(
                "argument `pattern` must be 1-512 printable characters",
            ));
        }
        let done = self.store.invalidate(&self.prefix, pattern, &call).await?;
        Ok(ToolOutput::json(json!({
            "pattern": pattern,
            "prefix": self.prefix,
            "matched": done.matched,
            "removed": done.removed,
        })))
    }
}

impl ToolHandler for CacheInvalidate {
    fn call<'a>(&'a self, call: ToolCall<'a>) -> BoxFuture<'a, Result<ToolOutput, ToolError>> {
        Box::pin(self.run(call))
    }
}
