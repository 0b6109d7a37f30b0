//! The local tier: the seed's "MCP Database Toolbox" on real Postgres, MySQL/MariaDB, Redis
//! and a sandboxed directory tree, served over MCP Streamable HTTP.

pub mod readiness;
pub mod tools;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use mcp_server_core::admission::Admission;
use mcp_server_core::audit::{AuditSink, AuditTarget};
use mcp_server_core::config::{Listener, ServerConfig, Tier, TierLimits};
use mcp_server_core::handler::McpHandler;
use mcp_server_core::metrics::Metrics;
use mcp_server_core::registry::{RegisteredTool, ToolHandler, ToolRegistry};
use mcp_server_core::stack::{Guard, Mode, StackParts};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

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
pub struct LocalServer {
    pub router: Router,
    pub admission: Arc<Admission>,
    pub handler: McpHandler,
    pub metrics: Arc<Metrics>,
    pub sessions: CancellationToken,
    pub limits: TierLimits,
    audit_task: tokio::task::JoinHandle<()>,
    audit: AuditSink,
}

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
    let admission = Arc::new(Admission::new(
        Tier::Local,
        limits.clone(),
        metrics.clone(),
        audit.clone(),
        None,
    ));
    let mut handler = McpHandler::new(
        "mcp-local-server",
        Tier::Local,
        limits.clone(),
        registry,
        metrics.clone(),
        audit.clone(),
    );
    if bare {
        handler = handler.without_spans();
    }
    let sessions = CancellationToken::new();
    let mut allowed_hosts: Vec<String> = Guard::LOOPBACK.iter().map(|h| h.to_string()).collect();
    allowed_hosts.extend(network.allowed_hosts.iter().cloned());
    let router = mcp_server_core::stack::app(StackParts {
        handler: handler.clone(),
        admission: admission.clone(),
        guard: Guard {
            allowed_hosts: Some(allowed_hosts),
            allowed_origins: network.allowed_origins.clone(),
            metrics: metrics.clone(),
        },
        cors_enabled: network.cors_enabled,
        mode,
        readiness: Arc::new(readiness),
        metrics: metrics.clone(),
        sessions: sessions.clone(),
        bare,
    });
    Ok(LocalServer {
        router,
        admission,
        handler,
        metrics,
        sessions,
        limits,
        audit_task,
        audit,
    })
}

impl LocalServer {
    /// Serves until `shutdown` resolves, drains, and flushes the audit trail.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let LocalServer {
            router,
            admission,
            handler,
            sessions,
            limits,
            audit_task,
            audit,
            ..
        } = self;
        let drain = limits.timeout + Duration::from_secs(1);
        let result =
            mcp_server_core::server::serve(listener, router, admission, sessions, drain, shutdown)
                .await;
        drop(handler);
        drop(audit);
        // The writer ends when the last sink is gone; give stragglers a moment.
        let _ = tokio::time::timeout(Duration::from_secs(2), audit_task).await;
        result
    }
}
