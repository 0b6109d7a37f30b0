//! The local tier: the seed's "MCP Database Toolbox" on real Postgres, MySQL/MariaDB, Redis
//! and a sandboxed directory tree, served over MCP Streamable HTTP.

pub mod readiness;
pub mod tools;

use std::path::PathBuf;
use std::sync::Arc;

use mcp_server_core::audit::{AuditSink, AuditTarget};
use mcp_server_core::config::{Listener, ServerConfig, Tier, TierLimits};
use mcp_server_core::metrics::Metrics;
use mcp_server_core::registry::{RegisteredTool, ToolHandler, ToolRegistry};
use mcp_server_core::server::{TierParts, TierServer};
use mcp_server_core::stack::{Guard, Mode};

use crate::readiness::LocalReadiness;
use crate::tools::cache_invalidate::CacheInvalidate;
use crate::tools::file_read::FileRead;
use crate::tools::mysql::MysqlQuery;
use crate::tools::postgres::PostgresQuery;
use crate::tools::redis_conn::RedisHandle;
use crate::tools::result_cache::ResultCache;

/// Backends, from the environment (`DATABASE_URL`, `MYSQL_URL`, `REDIS_URL`,
/// `MCP_SLO_DATA_ROOT`).
#[derive(Debug, Clone, Default)]
pub struct Backends {
    pub database_url: Option<String>,
    pub mysql_url: Option<String>,
    pub redis_url: Option<String>,
    pub data_root: Option<PathBuf>,
}

impl Backends {
    pub fn from_env() -> Self {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        Backends {
            database_url: var("DATABASE_URL"),
            mysql_url: var("MYSQL_URL"),
            redis_url: var("REDIS_URL"),
            data_root: var("MCP_SLO_DATA_ROOT").map(PathBuf::from),
        }
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
    /// Without the admission stack, audit and tool spans: for measuring their cost only.
    pub bare: bool,
}

/// A built local tier, ready to serve.
pub type LocalServer = TierServer;

/// The limits used when `--lift-limits` is given: high enough never to bind on this
/// machine, so benchmarks and capacity runs measure the code and its backends.
pub fn lifted(limits: &TierLimits) -> TierLimits {
    use std::num::{NonZeroU32, NonZeroUsize};
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
        bare,
    } = options;
    anyhow::ensure!(
        config.tier == Tier::Local,
        "the local server needs a config with server.type \"local\", got {:?}",
        config.tier.as_str()
    );
    let (audit, audit_task) = AuditSink::start(if bare { AuditTarget::Off } else { audit })
        .map_err(|e| anyhow::anyhow!("cannot open the audit trail: {e}"))?;
    let metrics = Metrics::new(audit.dropped_counter());
    let registry = Arc::new(ToolRegistry::new(100));
    let pool_size = pool_size.unwrap_or(limits.max_concurrent.get().min(64) as u32);
    let mut readiness = LocalReadiness::default();
    let mut problems = Vec::new();
    let redis = match &backends.redis_url {
        Some(url) => match RedisHandle::new(url) {
            Ok(handle) => Some(handle),
            Err(e) => {
                problems.push(e);
                None
            }
        },
        None => None,
    };
    for tool in &config.tools {
        let handler: Arc<dyn ToolHandler> = match tool.name.as_str() {
            "postgres_query" => {
                let Some(url) = &backends.database_url else {
                    problems.push("postgres_query needs DATABASE_URL".to_owned());
                    continue;
                };
                let base = match tools::postgres::base_options(url) {
                    Ok(base) => base,
                    Err(e) => {
                        problems.push(e);
                        continue;
                    }
                };
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
                let pg = Arc::new(PostgresQuery::new(
                    &base,
                    tool,
                    limits.timeout,
                    pool_size,
                    cache,
                ));
                readiness.postgres = Some(pg.clone());
                pg
            }
            "mysql_query" => {
                let Some(url) = &backends.mysql_url else {
                    problems.push("mysql_query needs MYSQL_URL".to_owned());
                    continue;
                };
                match tools::mysql::base_options(url) {
                    Ok(base) => {
                        let my = Arc::new(MysqlQuery::new(&base, tool, limits.timeout, pool_size));
                        readiness.mysql = Some(my.clone());
                        my
                    }
                    Err(e) => {
                        problems.push(e);
                        continue;
                    }
                }
            }
            "file_read" => {
                let files = Arc::new(FileRead::new(tool, backends.data_root.as_deref()));
                readiness.files = Some(files.clone());
                files
            }
            "cache_invalidate" => {
                let Some(redis) = &redis else {
                    problems.push("cache_invalidate needs REDIS_URL".to_owned());
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
    readiness.redis = redis;
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
        bare,
    }))
}
