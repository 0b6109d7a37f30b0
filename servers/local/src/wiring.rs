//! Which implementation serves each configured tool, on which backend: the real service
//! from the environment, else its embedded stand-in, else a problem to report (all of
//! them are reported together).

use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::sync::Arc;

use mcp_server_core::config::{TierLimits, ToolConfig};
use mcp_server_core::registry::ToolHandler;
use mcp_server_core::resources::ResourceSource;

use crate::Backends;
use crate::embedded::EmbeddedDir;
use crate::readiness::LocalReadiness;
use crate::tools::cache_invalidate::CacheInvalidate;
use crate::tools::cache_store::CacheStore;
use crate::tools::file_read::{FileRead, FileResources};
use crate::tools::mysql::MysqlQuery;
use crate::tools::pg_pool::PoolShape;
use crate::tools::postgres::PostgresQuery;
use crate::tools::redis_conn::RedisHandle;
use crate::tools::result_cache::ResultCache;
use crate::tools::sqlite::{Flavour, SqliteQuery};

/// The backends the tools are wired to, and what the tier learns while wiring them.
pub(crate) struct Wiring {
    pub backends: Backends,
    pub embedded: Option<EmbeddedDir>,
    pub redis: Option<CacheStore>,
    pub data_root: Option<PathBuf>,
    pub limits: TierLimits,
    pub pool_size: u32,
    pub pg_pipeline_depth: Option<usize>,
    pub workers: NonZeroUsize,
    pub readiness: LocalReadiness,
    /// What the tier serves as resources (the files `file_read` may read).
    pub resources: Option<Arc<dyn ResourceSource>>,
}

impl Wiring {
    /// The cache (Redis, else the embedded in-process one), or why there is none.
    pub fn cache(
        backends: &Backends,
        embedded: Option<&EmbeddedDir>,
    ) -> Result<Option<CacheStore>, String> {
        match (&backends.redis_url, embedded) {
            (Some(url), _) => RedisHandle::new(url).map(|h| Some(CacheStore::Redis(h))),
            (None, Some(_)) => Ok(Some(CacheStore::memory())),
            (None, None) => Ok(None),
        }
    }

    /// The implementation of `tool`, or why it cannot be served.
    pub fn handler(&mut self, tool: &ToolConfig) -> Result<Arc<dyn ToolHandler>, String> {
        match tool.name.as_str() {
            "postgres_query" | "mysql_query" => self.sql(tool),
            "file_read" => {
                let files = Arc::new(FileRead::new(tool, self.data_root.as_deref()));
                self.readiness.files = Some(files.clone());
                self.resources = Some(Arc::new(FileResources(files.clone())));
                Ok(files)
            }
            "cache_invalidate" => {
                let Some(redis) = &self.redis else {
                    return Err("cache_invalidate needs REDIS_URL (or --embedded DIR for an in-process cache)".to_owned());
                };
                let prefix = key_prefix(tool);
                Ok(Arc::new(CacheInvalidate::new(redis.clone(), prefix)))
            }
            other => Err(format!(
                "tool {other:?} has no implementation in the local tier (known: postgres_query, mysql_query, file_read, cache_invalidate)"
            )),
        }
    }

    /// `postgres_query` or `mysql_query`: on the database from the environment, else on
    /// the embedded SQLite in that dialect.
    fn sql(&mut self, tool: &ToolConfig) -> Result<Arc<dyn ToolHandler>, String> {
        let postgres = tool.name == "postgres_query";
        let cache = self.result_cache(tool);
        let timeout = self.limits.timeout;
        let url = if postgres {
            &self.backends.database_url
        } else {
            &self.backends.mysql_url
        };
        match (url, &self.embedded) {
            (Some(url), _) if postgres => {
                let base = crate::tools::postgres::base_options(url)?;
                let shape = PoolShape {
                    size: self.pool_size as usize,
                    depth: self.pg_pipeline_depth.unwrap_or(1),
                    shards: self.workers.get(),
                };
                let pg = Arc::new(PostgresQuery::new(&base, tool, timeout, shape, cache));
                self.readiness.postgres = Some(pg.clone());
                Ok(pg)
            }
            (Some(url), _) => {
                let base = crate::tools::mysql::base_options(url)?;
                let my = Arc::new(MysqlQuery::new(&base, tool, timeout, self.pool_size));
                self.readiness.mysql = Some(my.clone());
                Ok(my)
            }
            (None, Some(dir)) => {
                let flavour = if postgres {
                    Flavour::Postgres
                } else {
                    Flavour::MySql
                };
                let lite = Arc::new(SqliteQuery::new(
                    &dir.sqlite(),
                    flavour,
                    tool,
                    timeout,
                    self.pool_size,
                    cache,
                ));
                self.readiness.sqlite.push(lite.clone());
                Ok(lite)
            }
            (None, None) => {
                let var = if postgres {
                    "DATABASE_URL"
                } else {
                    "MYSQL_URL"
                };
                Err(format!(
                    "{} needs {var} (or --embedded DIR for SQLite)",
                    tool.name
                ))
            }
        }
    }

    /// The tool's result cache, when it has a TTL and there is a cache to keep it in.
    fn result_cache(&self, tool: &ToolConfig) -> Option<ResultCache> {
        match (tool.options.result_cache_ttl, &self.redis) {
            (Some(ttl), Some(redis)) if !ttl.is_zero() => {
                Some(ResultCache::new(redis.clone(), key_prefix(tool), ttl))
            }
            _ => None,
        }
    }
}

fn key_prefix(tool: &ToolConfig) -> String {
    tool.options
        .key_prefix
        .clone()
        .unwrap_or_else(|| "mcp:local:".into())
}
