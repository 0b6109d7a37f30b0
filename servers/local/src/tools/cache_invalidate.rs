//! `cache_invalidate`: removes this server's cache keys matching a glob. SCAN MATCH + UNLINK
//! in batches (never KEYS, never FLUSH*), confined to the key prefix: the prefix is matched
//! literally and every key is checked again before it is unlinked.

use futures::future::BoxFuture;
use mcp_server_core::registry::{ToolCall, ToolError, ToolHandler, ToolOutput};
use serde_json::json;

use super::redis_conn::RedisHandle;

pub struct CacheInvalidate {
    redis: RedisHandle,
    prefix: String,
}

const SCAN_COUNT: usize = 500;

impl CacheInvalidate {
    pub fn new(redis: RedisHandle, prefix: String) -> Self {
        CacheInvalidate { redis, prefix }
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
        let full = format!("{}{pattern}", glob_escape(&self.prefix));
        let mut conn = self
            .redis
            .get()
            .await
            .map_err(|_| ToolError::backend("the cache (Redis) is unreachable"))?;
        let mut cursor: u64 = 0;
        let (mut removed, mut scanned) = (0u64, 0u64);
        loop {
            if call.remaining().is_zero() {
                return Err(ToolError::new(
                    mcp_server_core::registry::ToolErrorKind::Timeout,
                    format!("stopped at the deadline after removing {removed} keys"),
                ));
            }
            let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(&full)
                .arg("COUNT")
                .arg(SCAN_COUNT)
                .query_async(&mut conn)
                .await
                .map_err(|e| ToolError::backend(format!("cache scan failed: {e}")))?;
            scanned += keys.len() as u64;
            let mine: Vec<&String> = keys
                .iter()
                .filter(|k| k.starts_with(&self.prefix))
                .collect();
            if !mine.is_empty() {
                let n: u64 = redis::cmd("UNLINK")
                    .arg(&mine)
                    .query_async(&mut conn)
                    .await
                    .map_err(|e| ToolError::backend(format!("cache unlink failed: {e}")))?;
                removed += n;
            }
            cursor = next;
            if cursor == 0 {
                break;
            }
        }
        Ok(ToolOutput::json(json!({
            "pattern": pattern,
            "prefix": self.prefix,
            "matched": scanned,
            "removed": removed,
        })))
    }
}

/// Escapes Redis glob metacharacters so the prefix matches only itself.
fn glob_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\' | '^' | '-') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

impl ToolHandler for CacheInvalidate {
    fn call<'a>(&'a self, call: ToolCall<'a>) -> BoxFuture<'a, Result<ToolOutput, ToolError>> {
        Box::pin(self.run(call))
    }
}

#[cfg(test)]
mod tests {
    use super::glob_escape;

    #[test]
    fn prefix_metacharacters_are_escaped() {
        assert_eq!(glob_escape("mcp:local:"), "mcp:local:");
        assert_eq!(glob_escape("a*b?[c]"), "a\\*b\\?\\[c\\]");
    }
}
