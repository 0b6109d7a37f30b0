//! The local tier: the seed's "MCP Database Toolbox" on real Postgres, MySQL/MariaDB, Redis
//! and a sandboxed directory tree, served over MCP Streamable HTTP. With `--embedded DIR`,
//! every backend not given in the environment is served from embedded stand-ins (SQLite,
//! an in-process cache, a sandbox of fixture files): see `embedded`.

pub mod embedded;
pub mod families;
pub mod readiness;
pub mod tools;
mod wiring;

use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::sync::Arc;

use mcp_server_core::audit::{AuditSink, AuditTarget};
use mcp_server_core::config::{Listener, RateStore, ServerConfig, Tier, TierLimits};
use mcp_server_core::families::Families;
use mcp_server_core::metrics::Metrics;
use mcp_server_core::registry::{RegisteredTool, ToolRegistry};
use mcp_server_core::server::{TierParts, TierServer};
use mcp_server_core::stack::{Guard, Mode};

use crate::embedded::EmbeddedDir;
use crate::readiness::LocalReadiness;
use crate::wiring::Wiring;

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
    /// Where the rate limit is kept (`--rate-limit-redis`: shared by the replicas).
    pub rate_store: RateStore,
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
    /// The file `config` was read from: SIGHUP, or a change of the file, reads its tool
    /// families again (and the process then keeps running on SIGHUP whether it declares
    /// any or not).
    pub config_file: Option<PathBuf>,
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
        rate_store,
        network,
        mode,
        audit,
        backends,
        pool_size,
        pg_pipeline_depth,
        workers,
        bare,
        config_file,
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
    let registry =
        Arc::new(ToolRegistry::new(config.page_size).with_listing_ttl(config.listing_ttl));
    let pool_size = pool_size.unwrap_or(limits.max_concurrent.get().min(64) as u32);
    let mut problems = Vec::new();
    let embedded = backends.embedded.as_ref().map(EmbeddedDir::new);
    if let Some(dir) = &embedded
        && let Err(e) = dir.prepare(backends.data_root.is_none())
    {
        problems.push(format!("cannot prepare the embedded backends: {e}"));
    }
    let redis = Wiring::cache(&backends, embedded.as_ref()).unwrap_or_else(|e| {
        problems.push(e);
        None
    });
    let data_root = backends
        .data_root
        .clone()
        .or_else(|| embedded.as_ref().map(EmbeddedDir::data_root));
    let mut wiring = Wiring {
        backends,
        embedded,
        redis,
        data_root,
        limits: limits.clone(),
        pool_size,
        pg_pipeline_depth,
        workers,
        readiness: LocalReadiness::default(),
        resources: None,
    };
    for tool in &config.tools {
        match wiring.handler(tool) {
            Ok(handler) => {
                registry.register(RegisteredTool::new(Tier::Local, tool.clone(), handler))?;
            }
            Err(problem) => problems.push(problem),
        }
    }
    let families = Families::new(
        registry.clone(),
        &config,
        families::declare(wiring.readiness.postgres.clone()),
        config_file,
    )
    .map_err(|p| problems.extend(p))
    .ok();
    if !problems.is_empty() {
        anyhow::bail!("cannot build the local tier:\n  {}", problems.join("\n  "));
    }
    let families = families.map(Arc::new);
    let Wiring {
        mut readiness,
        redis,
        resources,
        ..
    } = wiring;
    readiness.cache = redis;
    let background = match families {
        Some(families) if !families.is_idle() => {
            readiness.families = Some(families.clone());
            vec![families.keep_loaded()]
        }
        _ => Vec::new(),
    };
    let mut allowed_hosts: Vec<String> = Guard::LOOPBACK.iter().map(|h| h.to_string()).collect();
    allowed_hosts.extend(network.allowed_hosts.iter().cloned());
    Ok(TierServer::assemble(TierParts {
        name: "mcp-local-server",
        tier: Tier::Local,
        limits,
        rate_store,
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
        background,
    }))
}
