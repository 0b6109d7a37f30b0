//! Where the local tier keeps cached results: Redis, or, on embedded backends, an in-process
//! cache (moka) with the same key prefix, TTLs and glob invalidation. The result cache and
//! `cache_invalidate` see one store either way.

use std::sync::Arc;
use std::time::{Duration, Instant};

use globset::{GlobBuilder, GlobMatcher};
use mcp_server_core::registry::{ToolCall, ToolError, ToolErrorKind};
use redis::AsyncCommands as _;

use super::redis_conn::RedisHandle;

#[derive(Clone)]
pub enum CacheStore {
    Redis(RedisHandle),
    Memory(MemoryCache),
}

/// What one invalidation did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Invalidated {
    /// Keys the pattern matched (before the prefix check on Redis).
    pub matched: u64,
    pub removed: u64,
}

const SCAN_COUNT: usize = 500;

impl CacheStore {
    pub fn memory() -> Self {
        CacheStore::Memory(MemoryCache::new(MEMORY_CAPACITY))
    }

    /// `redis` or `in-process`: for logs and readiness.
    pub fn kind(&self) -> &'static str {
        match self {
            CacheStore::Redis(_) => "redis",
            CacheStore::Memory(_) => "in-process",
        }
    }

    pub async fn get(&self, key: &str) -> Option<String> {
        match self {
            CacheStore::Redis(redis) => {
                let mut conn = redis.get().await.ok()?;
                conn.get(key).await.ok()?
            }
            CacheStore::Memory(memory) => memory.get(key),
        }
    }

    /// Stores `value` for `ttl`. Failures are logged, never returned: a cache write must not
    /// fail the call that produced the value.
    pub async fn put(&self, key: String, value: String, ttl: Duration) {
        match self {
            CacheStore::Redis(redis) => {
                let Ok(mut conn) = redis.get().await else {
                    return;
                };
                let ttl_ms = ttl.as_millis().max(1) as u64;
                let result: redis::RedisResult<()> = redis::cmd("SET")
                    .arg(key)
                    .arg(value)
                    .arg("PX")
                    .arg(ttl_ms)
                    .query_async(&mut conn)
                    .await;
                if let Err(e) = result {
                    tracing::debug!(error = %e, "result cache write failed");
                }
            }
            CacheStore::Memory(memory) => memory.put(key, value, ttl),
        }
    }

    /// Removes the keys under `prefix` whose remainder matches the glob `pattern` (Redis
    /// syntax: `*`, `?`, `[...]`, `\` escapes). Stops at the call's deadline.
    pub async fn invalidate(
        &self,
        prefix: &str,
        pattern: &str,
        call: &ToolCall<'_>,
    ) -> Result<Invalidated, ToolError> {
        match self {
            CacheStore::Redis(redis) => invalidate_redis(redis, prefix, pattern, call).await,
            CacheStore::Memory(memory) => memory.invalidate(prefix, pattern),
        }
    }

    pub async fn ping(&self) -> Result<(), String> {
        match self {
            CacheStore::Redis(redis) => redis.ping().await,
            CacheStore::Memory(_) => Ok(()),
        }
    }
}

/// SCAN MATCH + UNLINK in batches (never KEYS, never FLUSH*); the prefix is matched
/// literally and every key is checked again before it is unlinked.
async fn invalidate_redis(
    redis: &RedisHandle,
    prefix: &str,
    pattern: &str,
    call: &ToolCall<'_>,
) -> Result<Invalidated, ToolError> {
    let full = format!("{}{pattern}", redis_glob_escape(prefix));
    let mut conn = redis
        .get()
        .await
        .map_err(|_| ToolError::backend("the cache (Redis) is unreachable"))?;
    let mut cursor: u64 = 0;
    let mut done = Invalidated {
        matched: 0,
        removed: 0,
    };
    loop {
        if call.remaining().is_zero() {
            return Err(stopped(done.removed));
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
        done.matched += keys.len() as u64;
        let mine: Vec<&String> = keys.iter().filter(|k| k.starts_with(prefix)).collect();
        if !mine.is_empty() {
            let n: u64 = redis::cmd("UNLINK")
                .arg(&mine)
                .query_async(&mut conn)
                .await
                .map_err(|e| ToolError::backend(format!("cache unlink failed: {e}")))?;
            done.removed += n;
        }
        cursor = next;
        if cursor == 0 {
            return Ok(done);
        }
    }
}

fn stopped(removed: u64) -> ToolError {
    ToolError::new(
        ToolErrorKind::Timeout,
        format!("stopped at the deadline after removing {removed} keys"),
    )
}

/// Escapes Redis glob metacharacters so the prefix matches only itself.
pub fn redis_glob_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\' | '^' | '-') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Entries kept by the in-process cache before the least recently used are evicted.
const MEMORY_CAPACITY: u64 = 100_000;

/// The embedded stand-in for Redis: entries expire after their own TTL.
#[derive(Clone)]
pub struct MemoryCache {
    entries: moka::sync::Cache<String, Entry>,
    /// Compiled invalidation patterns: compiling one costs far more than matching a
    /// cache's worth of keys, and callers repeat their patterns.
    globs: moka::sync::Cache<String, GlobMatcher>,
}

/// Compiled patterns kept by the in-process cache.
const GLOB_CAPACITY: u64 = 256;

#[derive(Clone)]
struct Entry {
    value: Arc<str>,
    ttl: Duration,
}

struct PerEntryTtl;

impl moka::Expiry<String, Entry> for PerEntryTtl {
    fn expire_after_create(&self, _key: &String, entry: &Entry, _now: Instant) -> Option<Duration> {
        Some(entry.ttl)
    }
}

impl MemoryCache {
    pub fn new(capacity: u64) -> Self {
        MemoryCache {
            entries: moka::sync::Cache::builder()
                .max_capacity(capacity)
                .expire_after(PerEntryTtl)
                .build(),
            globs: moka::sync::Cache::new(GLOB_CAPACITY),
        }
    }

    fn get(&self, key: &str) -> Option<String> {
        self.entries.get(key).map(|e| e.value.to_string())
    }

    fn put(&self, key: String, value: String, ttl: Duration) {
        self.entries.insert(
            key,
            Entry {
                value: value.into(),
                ttl: ttl.max(Duration::from_millis(1)),
            },
        );
    }

    fn invalidate(&self, prefix: &str, pattern: &str) -> Result<Invalidated, ToolError> {
        let matcher = self
            .globs
            .try_get_with_by_ref(pattern, || redis_glob(pattern))
            .map_err(|e| (*e).clone())?;
        let doomed: Vec<Arc<String>> = self
            .entries
            .iter()
            .filter(|(key, _)| {
                key.strip_prefix(prefix)
                    .is_some_and(|rest| matcher.is_match(rest))
            })
            .map(|(key, _)| key)
            .collect();
        let mut removed = 0;
        for key in &doomed {
            if self.entries.remove(key.as_str()).is_some() {
                removed += 1;
            }
        }
        Ok(Invalidated {
            matched: doomed.len() as u64,
            removed,
        })
    }
}

/// A Redis glob as a `globset` matcher: `*` crosses every character (no path separators),
/// `[^...]` is a negated class, and braces are literal as they are in Redis.
fn redis_glob(pattern: &str) -> Result<GlobMatcher, ToolError> {
    let mut translated = String::with_capacity(pattern.len() + 4);
    let mut chars = pattern.chars().peekable();
    let mut in_class = false;
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                translated.push('\\');
                // A trailing backslash is a literal one, as in Redis.
                translated.push(chars.next().unwrap_or('\\'));
            }
            '[' if !in_class => {
                in_class = true;
                translated.push('[');
                if chars.peek() == Some(&'^') {
                    chars.next();
                    translated.push('!');
                }
            }
            ']' if in_class => {
                in_class = false;
                translated.push(']');
            }
            '{' | '}' | ',' if !in_class => {
                translated.push('\\');
                translated.push(c);
            }
            _ => translated.push(c),
        }
    }
    GlobBuilder::new(&translated)
        .literal_separator(false)
        .backslash_escape(true)
        .build()
        .map(|g| g.compile_matcher())
        .map_err(|e| ToolError::invalid(format!("argument `pattern` is not a valid glob: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_metacharacters_are_escaped() {
        assert_eq!(redis_glob_escape("mcp:local:"), "mcp:local:");
        assert_eq!(redis_glob_escape("a*b?[c]"), "a\\*b\\?\\[c\\]");
    }

    #[test]
    fn globs_follow_redis_syntax() {
        let m = |p: &str, s: &str| redis_glob(p).map(|g| g.is_match(s)).unwrap_or(false);
        assert!(m("orders:*", "orders:1/2:x"));
        assert!(!m("orders:*", "order:1"));
        assert!(m("h?llo", "hallo"));
        assert!(m("h[ae]llo", "hello"));
        assert!(!m("h[^e]llo", "hello"));
        assert!(m("h[^e]llo", "hallo"));
        assert!(m("a{b}", "a{b}"), "braces are literal");
        assert!(!m("a{b,c}", "ab"));
        assert!(m("star\\*", "star*"));
        assert!(!m("star\\*", "starx"));
        assert!(m("end\\", "end\\"), "a trailing backslash is literal");
    }

    #[test]
    fn memory_invalidation_stays_under_the_prefix() {
        let cache = MemoryCache::new(100);
        let ttl = Duration::from_secs(60);
        cache.put("mcp:local:orders:1".into(), "a".into(), ttl);
        cache.put("mcp:local:orders:2".into(), "b".into(), ttl);
        cache.put("mcp:local:users:1".into(), "c".into(), ttl);
        cache.put("other:orders:1".into(), "d".into(), ttl);
        let done = cache
            .invalidate("mcp:local:", "orders:*")
            .map_err(|e| e.to_string());
        assert_eq!(
            done,
            Ok(Invalidated {
                matched: 2,
                removed: 2
            })
        );
        assert_eq!(cache.get("mcp:local:orders:1"), None);
        assert_eq!(cache.get("mcp:local:users:1").as_deref(), Some("c"));
        assert_eq!(cache.get("other:orders:1").as_deref(), Some("d"));
        let all = cache
            .invalidate("mcp:local:", "*")
            .map_err(|e| e.to_string());
        assert_eq!(all.map(|d| d.removed), Ok(1));
        assert_eq!(cache.get("other:orders:1").as_deref(), Some("d"));
    }

    #[test]
    fn a_compiled_pattern_is_reused_and_a_bad_one_refused_every_time() {
        let cache = MemoryCache::new(100);
        let ttl = Duration::from_secs(60);
        for round in 0..3 {
            cache.put(format!("p:orders:{round}"), "a".into(), ttl);
            cache.put(format!("p:users:{round}"), "b".into(), ttl);
            let done = cache.invalidate("p:", "orders:*").map(|d| d.removed);
            assert_eq!(done, Ok(1), "round {round}");
            assert_eq!(cache.get(&format!("p:users:{round}")).as_deref(), Some("b"));
            let bad = cache.invalidate("p:", "orders:[").map_err(|e| e.message);
            assert!(
                bad.as_ref().is_err_and(|m| m.contains("not a valid glob")),
                "round {round}: {bad:?}"
            );
        }
        cache.globs.run_pending_tasks();
        assert_eq!(
            cache.globs.entry_count(),
            1,
            "one pattern compiled, the bad one not kept"
        );
    }

    #[test]
    fn memory_entries_expire_after_their_ttl() {
        let cache = MemoryCache::new(100);
        cache.put("k".into(), "v".into(), Duration::from_millis(30));
        assert_eq!(cache.get("k").as_deref(), Some("v"));
        std::thread::sleep(Duration::from_millis(80));
        assert_eq!(cache.get("k"), None);
    }
}
