//! `mcp-local-server`: the local tier. Loopback only unless `--allow-remote`.

use std::net::SocketAddr;
use std::num::{NonZeroU16, NonZeroUsize};

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Parser;
use mcp_local_server::{Backends, Options, build, lifted};
use mcp_server_core::audit::AuditTarget;
use mcp_server_core::config::{RateLimitArgs, Tier, TierFiles};
use mcp_server_core::stack::Mode;

/// mimalloc: glibc malloc was ~15% of server CPU under load.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The local MCP tier: postgres_query, mysql_query, file_read and cache_invalidate over
/// MCP Streamable HTTP at /mcp. Backends come from DATABASE_URL, MYSQL_URL, REDIS_URL and
/// MCP_SLO_DATA_ROOT.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// Tool configuration (the seed's local_mcp_server_config.yaml).
    #[arg(long, default_value = "config/local_mcp_server_config.yaml")]
    config: PathBuf,
    /// Deployment boundaries; the `local` tier's limits apply.
    #[arg(long, default_value = "config/deployment_boundaries.yaml")]
    boundaries: PathBuf,
    /// Network isolation; `local_server` applies.
    #[arg(long, default_value = "config/network_isolation.yaml")]
    network: PathBuf,
    /// Listen address; defaults to network.local_server.listen_address (127.0.0.1:8080).
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// Allow a non-loopback listen address. Local tools must never be exposed to cloud
    /// agents: only use this behind your own network isolation.
    #[arg(long)]
    allow_remote: bool,
    /// `session` (MCP sessions, SSE answers) or `stateless` (one JSON answer per POST).
    #[arg(long, default_value = "session")]
    mode: Mode,
    /// Audit trail: `stdout`, `off`, or a file path (appended).
    #[arg(long, default_value = "stdout")]
    audit: AuditTarget,
    /// Database connections per pool (default: the tier's max_concurrent).
    #[arg(long)]
    pool_size: Option<u32>,
    /// Read-only postgres_query calls pipelined on one connection before another is opened
    /// (default 1: one connection per call while the pool has room; beyond the pool size,
    /// calls queue behind the least busy connection). Higher: fewer connections and less
    /// Postgres CPU per call, but a slow statement delays the calls behind it.
    #[arg(long, value_name = "N")]
    pg_pipeline_depth: Option<usize>,
    /// Serving threads (default: one per two cores, at least one: the tier shares its
    /// machine with its databases). Each runs its own runtime with its own share of the
    /// Postgres connections (at least one each); connections are dealt to them in turn and
    /// stay on theirs. 1 serves on the main thread.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    workers: Option<u16>,
    /// How `rate_limit_per_second` is meant: `global` (all callers together, default) or
    /// `per-caller` (each caller address gets the rate; no global rate cap).
    #[arg(long, default_value = "global")]
    rate_limit_scope: RateScope,
    #[command(flatten)]
    rate_limit: RateLimitArgs,
    /// Serve every backend that is not set in the environment from embedded stand-ins kept
    /// in DIR: SQLite for the SQL tools (fixtures loaded on first use), an in-process cache
    /// for the result cache and cache_invalidate, and a sandbox of fixture files for
    /// file_read. For machines with nothing installed; figures are not Postgres' or Redis'.
    #[arg(long, value_name = "DIR", env = "MCP_SLO_EMBEDDED_DIR")]
    embedded: Option<PathBuf>,
    /// Lift the in-flight, rate and concurrency limits (benchmarks and capacity planning).
    #[arg(long)]
    lift_limits: bool,
    /// Leave out the admission stack, audit and tool spans (to measure their cost).
    #[arg(long, hide = true)]
    bare: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum RateScope {
    Global,
    PerCaller,
}

fn main() -> ExitCode {
    let args = Args::parse();
    // Current-thread runtimes throughout: this one accepts connections and runs the shared
    // background tasks (audit writer, cache connection); with more than one worker, each
    // worker thread has one of its own (mcp_server_core::server).
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::from(3);
        }
    };
    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(RunError::Config(e)) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
        Err(RunError::Infra(e)) => {
            eprintln!("error: {e:#}");
            ExitCode::from(3)
        }
    }
}

enum RunError {
    Config(anyhow::Error),
    Infra(anyhow::Error),
}

async fn run(args: Args) -> Result<(), RunError> {
    let _telemetry = mcp_server_core::telemetry::init("mcp-local-server")
        .map_err(|e| RunError::Infra(anyhow::anyhow!("telemetry: {e}")))?;
    let options = options(&args).map_err(RunError::Config)?;
    let listen = args.listen.unwrap_or(options.network.listen_address);
    if !listen.ip().is_loopback() && !args.allow_remote {
        return Err(RunError::Config(anyhow::anyhow!(
            "refusing to listen on {listen}: the local tier serves loopback only (pass --allow-remote to override)"
        )));
    }
    let backends = options.backends.describe();
    let rate_limit = options.rate_store.to_string();
    let workers = options.workers;
    let server = build(options)
        .map_err(RunError::Config)?
        .with_workers(workers);
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))
        .map_err(RunError::Infra)?;
    let local = listener
        .local_addr()
        .map_err(|e| RunError::Infra(e.into()))?;
    tracing::info!(address = %local, mode = ?args.mode, %backends, workers, %rate_limit, "mcp-local-server listening on http://{local}/mcp");
    server
        .serve(listener, mcp_server_core::server::shutdown_signal())
        .await
        .context("server failed")
        .map_err(RunError::Infra)
}

fn options(args: &Args) -> anyhow::Result<Options> {
    let mut errors = Vec::new();
    let files = TierFiles::load(&args.config, &args.boundaries, &args.network)
        .map_err(|e| errors.push(e))
        .ok();
    let rate_store = args
        .rate_limit
        .store(Tier::Local)
        .map_err(|e| errors.extend(e.iter().map(ToString::to_string)))
        .ok();
    let (
        Some(TierFiles {
            server: config,
            boundaries,
            network,
        }),
        Some(rate_store),
    ) = (files, rate_store)
    else {
        anyhow::bail!("{}", errors.join("\n"));
    };
    let mut limits = if args.lift_limits {
        lifted(&boundaries.local)
    } else {
        boundaries.local
    };
    if args.rate_limit_scope == RateScope::PerCaller && !args.lift_limits {
        limits.rate_limit_per_caller_per_second = limits.rate_limit_per_second;
        limits.rate_limit_per_second = lifted(&limits).rate_limit_per_second;
    }
    let audit = args.audit.clone();
    Ok(Options {
        config,
        limits,
        rate_store,
        network: network.local_server,
        mode: args.mode,
        audit,
        backends: Backends {
            embedded: args.embedded.clone(),
            ..Backends::from_env()
        },
        pool_size: args.pool_size,
        pg_pipeline_depth: args.pg_pipeline_depth,
        workers: match args.workers {
            Some(n) => NonZeroUsize::from(NonZeroU16::try_from(n)?),
            None => default_workers(),
        },
        bare: args.bare,
        config_file: Some(args.config.clone()),
    })
}

/// One serving thread per two cores, at least one. The local tier runs on the machine of
/// its databases (and often of its callers), which need the other cores. On 2 cores shared
/// with Postgres and a load generator, one thread served as many calls as two
/// (24,394 against 23,951 calls/s, medians of 3) at less CPU per call (29.6 against 32.8
/// µs): it wakes once for several events where two threads wake once each (see
/// scripts/bench/README.md, cases a and g).
fn default_workers() -> NonZeroUsize {
    let cores = std::thread::available_parallelism().map_or(1, NonZeroUsize::get);
    NonZeroUsize::new(cores / 2).unwrap_or(NonZeroUsize::MIN)
}
