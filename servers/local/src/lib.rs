//! The local tier: the seed's "MCP Database Toolbox" on real Postgres, MySQL/MariaDB, Redis
//! and a sandboxed directory tree, served over MCP Streamable HTTP. With `--embedded DIR`,
//! every backend not given in the environment is served from embedded stand-ins (SQLite,
//! an in-process cache, a sandbox of fixture files): see `embedded`.

pub mod embedded;
pub mod readiness;
pub mod tools;

use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::sync::Arc;

use mcp_server_core::audit::{AuditSink, AuditTarget};
use mcp_server_core::config::{Listener, ServerConfig, Tier, TierLimits};
use mcp_server_core::metrics::Metrics;
use mcp_server_core::registry::{RegisteredTool, ToolHandler, ToolRegistry};
use mcp_server_core::resources::ResourceSource;
use mcp_server_core::server::{TierParts, TierServer};
use mcp_server_core::stack::{Guard, Mode};

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

/// Backends, from the environment (`DATABASE_URL`, `MYSQL_URL`, `REDIS_URL`,
/// `MCP_SLO_DATA_ROOT`); those left unset are served from `embedded` when it is given.
#[derive(Debug, Clone, Default)]
pub struct Backends {
    pub database_url: Option<String>,
    pub mysql_url: Option<String>,
    pub redis_url: Option<String>,
    pub data_root: Option<PathBuf>,
    /// `--embedded DIR`: SQLite, the in-process cache and a fixture sandbox stand in for
    /// every backend above that is unset.
    pub embedded: Option<PathBuf>,
}

impl Backends {
    pub fn from_env() -> Self {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        Backends {
            database_url: var("DATABASE_URL"),
            mysql_url: var("MYSQL_URL"),
            redis_url: var("REDIS_URL"),
            data_root: var("MCP_SLO_DATA_ROOT").map(PathBuf::from),
            embedded: None,
        }
    }

    /// What serves each backend, for the start-up log: `name=kind` pairs.
    pub fn describe(&self) -> String {
        let pick = |given: bool, real: &str, stand_in: &str| match (given, &self.embedded) {
            (true, _) => real.to_owned(),
            (false, Some(_)) => format!("{stand_in} (embedded)"),
            (false, None) => "none".to_owned(),
        };
        format!(
            "postgres={} mysql={} cache={} files={}",
            pick(self.database_url.is_some(), "postgres", "sqlite"),
            pick(self.mysql_url.is_some(), "mysql", "sqlite"),
            pick(self.redis_url.is_some(), "redis", "in-process"),
            pick(self.data_root.is_some(), "directory", "fixture sandbox"),
        )
    }
}

/// Everything the local tier is built from.
pub struct Options {
    pub config: ServerConfig,
    pub limits: TierLimits,
    pub network: Listener,
    pub mode: Mode,
    pub audit: AuditTarget,
    pub backends: Backends,
    /// Database connections per pool; defaults to the tier's `max_concurrent`.
    pub pool_size: Option<u32>,
    /// Read-only `postgres_query` calls pipelined on one connection before another is
    /// opened (default 1).
    pub pg_pipeline_depth: Option<usize>,
    /// Serving threads: each gets its own share of the Postgres connections.
    pub workers: NonZeroUsize,
    /// Without the admission stack, audit and tool spans: for measuring their cost only.
    pub bare: bool,
}

/// A built local tier, ready to serve.
pub type LocalServer = TierServer;

/// The limits used when `--lift-limits` is given: high enough never to bind on this
/// machine, so benchmarks and capacity runs measure the code and its backends.
pub fn lifted(limits: &TierLimits) -> TierLimits {
    use std::num::NonZeroU32;
    TierLimits {
        max_inflight_requests: NonZeroUsize::new(1_000_000).unwrap_or(limits.max_inflight_requests),
        rate_limit_per_second: NonZeroU32::new(1_000_000_000)
            .unwrap_or(limits.rate_limit_per_second),
        rate_limit_per_caller_per_second: NonZeroU32::new(1_000_000_000)
            .unwrap_or(limits.rate_limit_per_caller_per_second),
        max_concurrent: NonZeroUsize::new(100_000).unwrap_or(limits.max_concurrent),
        ..limits.clone()
    }
}

/// Builds the tier: tools from the config, backends from `options.backends`. Every missing
/// backend setting is reported at once.
pub fn build(options: Options) -> anyhow::Result<LocalServer> {
    let Options {
        config,
        limits,
        network,
        mode,
        audit,
        backends,
        pool_size,
        pg_pipeline_depth,
        workers,
        bare,
    } = options;
    anyhow::ensure!(
        config.tier == Tier::Local,
        "the local server needs a config with server.type \"local\", got {:?}",
        config.tier.as_str()
    );
    let refused = config.refused_security();
    anyhow::ensure!(
        refused.is_empty(),
        "the config asks for what the local tier cannot do:\n  {}",
        refused.join("\n  ")
    );
    let (audit, audit_task) = AuditSink::start(if bare { AuditTarget::Off } else { audit })
        .map_err(|e| anyhow::anyhow!("cannot open the audit trail: {e}"))?;
    let metrics = Metrics::new(audit.dropped_counter());
    let registry = Arc::new(ToolRegistry::new(100));
    let pool_size = pool_size.unwrap_or(limits.max_concurrent.get().min(64) as u32);
    let mut readiness = LocalReadiness::default();
    let mut problems = Vec::new();
    let embedded = backends.embedded.as_ref().map(EmbeddedDir::new);
    if let Some(dir) = &embedded
        && let Err(e) = dir.prepare(backends.data_root.is_none())
    {
        problems.push(format!("cannot prepare the embedded backends: {e}"));
    }
    let redis = match (&backends.redis_url, &embedded) {
        (Some(url), _) => match RedisHandle::new(url) {
            Ok(handle) => Some(CacheStore::Redis(handle)),
            Err(e) => {
                problems.push(e);
                None
            }
        },
        (None, Some(_)) => Some(CacheStore::memory()),
        (None, None) => None,
    };
    let data_root = backends
        .data_root
        .clone()
        .or_else(|| embedded.as_ref().map(EmbeddedDir::data_root));
    let mut resources: Option<Arc<dyn ResourceSource>> = None;
    for tool in &config.tools {
        let handler: Arc<dyn ToolHandler> = match tool.name.as_str() {
            "postgres_query" | "mysql_query" => {
                let postgres = tool.name == "postgres_query";
                let cache = match (tool.options.result_cache_ttl, &redis) {
                    (Some(ttl), Some(redis)) if !ttl.is_zero() => Some(ResultCache::new(
                        redis.clone(),
                        tool.options
                            .key_prefix
                            .clone()
                            .unwrap_or_else(|| "mcp:local:".into()),
                        ttl,
                    )),
                    _ => None,
                };
                let url = if postgres {
                    &backends.database_url
                } else {
                    &backends.mysql_url
                };
                match (url, &embedded) {
                    (Some(url), _) if postgres => match tools::postgres::base_options(url) {
                        Ok(base) => {
                            let pg = Arc::new(PostgresQuery::new(
                                &base,
                                tool,
                                limits.timeout,
                                PoolShape {
                                    size: pool_size as usize,
                                    depth: pg_pipeline_depth.unwrap_or(1),
                                    shards: workers.get(),
                                },
                                cache,
                            ));
                            readiness.postgres = Some(pg.clone());
                            pg
                        }
                        Err(e) => {
                            problems.push(e);
                            continue;
                        }
                    },
                    (Some(url), _) => match tools::mysql::base_options(url) {
                        Ok(base) => {
                            let my =
                                Arc::new(MysqlQuery::new(&base, tool, limits.timeout, pool_size));
                            readiness.mysql = Some(my.clone());
                            my
                        }
                        Err(e) => {
                            problems.push(e);
                            continue;
                        }
                    },
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
                            limits.timeout,
                            pool_size,
                            cache,
                        ));
                        readiness.sqlite.push(lite.clone());
                        lite
                    }
                    (None, None) => {
                        let var = if postgres {
                            "DATABASE_URL"
                        } else {
                            "MYSQL_URL"
                        };
                        problems.push(format!(
                            "{} needs {var} (or --embedded DIR for SQLite)",
                            tool.name
                        ));
                        continue;
                    }
                }
            }
            "file_read" => {
                let files = Arc::new(FileRead::new(tool, data_root.as_deref()));
                readiness.files = Some(files.clone());
                // The files file_read may read are the tier's resources too.
                resources = Some(Arc::new(FileResources(files.clone())));
                files
            }
            "cache_invalidate" => {
                let Some(redis) = &redis else {
                    problems.push(
                        "cache_invalidate needs REDIS_URL (or --embedded DIR for an in-process cache)"
                            .to_owned(),
                    );
                    continue;
                };
                let prefix = tool
                    .options
                    .key_prefix
                    .clone()
                    .unwrap_or_else(|| "mcp:local:".into());
                Arc::new(CacheInvalidate::new(redis.clone(), prefix))
            }
            other => {
                problems.push(format!(
                    "tool {other:?} has no implementation in the local tier (known: postgres_query, mysql_query, file_read, cache_invalidate)"
                ));
                continue;
            }
        };
        registry.register(RegisteredTool::new(Tier::Local, tool.clone(), handler))?;
    }
    readiness.cache = redis;
    if !problems.is_empty() {
        anyhow::bail!("cannot build the local tier:\n  {}", problems.join("\n  "));
    }
    let mut allowed_hosts: Vec<String> = Guard::LOOPBACK.iter().map(|h| h.to_string()).collect();
    allowed_hosts.extend(network.allowed_hosts.iter().cloned());
    Ok(TierServer::assemble(TierParts {
        name: "mcp-local-server",
        tier: Tier::Local,
        limits,
        network,
        allowed_hosts: Some(allowed_hosts),
        mode,
        registry,
        metrics,
        audit,
        audit_task,
        readiness: Arc::new(readiness),
        auth: None,
        resources,
        bare,
    }))
}
