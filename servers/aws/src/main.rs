//! `mcp-aws-server`: the AWS tier. Listens publicly (0.0.0.0:8081 by default) and serves
//! authenticated callers only.

use std::net::SocketAddr;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use clap::Parser;
use mcp_aws_server::auth::BearerAuth;
use mcp_aws_server::{Options, build};
use mcp_server_core::audit::AuditTarget;
use mcp_server_core::config::{Callers, RateLimitArgs, Tier, TierFiles};
use mcp_server_core::stack::Mode;

/// mimalloc: glibc malloc was ~15% of server CPU under load.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The AWS MCP tier: s3_read, rds_query and lambda_invoke, each under its own IAM role.
/// AWS endpoints and base credentials come from the standard AWS environment
/// (AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_PROFILE, ...).
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    #[arg(long, default_value = "config/aws_managed_mcp_config.yaml")]
    config: PathBuf,
    #[arg(long, default_value = "config/deployment_boundaries.yaml")]
    boundaries: PathBuf,
    #[arg(long, default_value = "config/network_isolation.yaml")]
    network: PathBuf,
    /// Callers (principals, SHA-256 of their tokens, their tools). Tokens may also come
    /// from MCP_AWS_CALLER_TOKENS (principal=token[:tool|tool],...).
    #[arg(long, default_value = "config/aws_callers.yaml")]
    callers: PathBuf,
    /// Listen address; defaults to network.aws_server.listen_address (0.0.0.0:8081).
    #[arg(long)]
    listen: Option<SocketAddr>,
    #[arg(long, default_value = "session")]
    mode: Mode,
    /// Audit trail: `stdout`, `off`, or a file path (appended).
    #[arg(long, default_value = "stdout")]
    audit: AuditTarget,
    /// Refresh assumed credentials once less than this many seconds are left.
    #[arg(long, default_value_t = 300)]
    refresh_window_secs: u64,
    /// Override the assumed credentials' lifetime in seconds (default: the boundaries'
    /// iam_role_max_duration). Short values exercise rollovers in tests.
    #[arg(long)]
    role_duration_secs: Option<u64>,
    #[command(flatten)]
    rate_limit: RateLimitArgs,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let Ok(runtime) = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    else {
        eprintln!("error: cannot start the runtime");
        return ExitCode::from(3);
    };
    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err((code, e)) => {
            eprintln!("error: {e:#}");
            ExitCode::from(code)
        }
    }
}

async fn run(args: Args) -> Result<(), (u8, anyhow::Error)> {
    let _telemetry = mcp_server_core::telemetry::init("mcp-aws-server")
        .map_err(|e| (3, anyhow::anyhow!("telemetry: {e}")))?;
    let options = options(&args).map_err(|e| (2, e))?;
    let listen = args.listen.unwrap_or(options.network.listen_address);
    let rate_limit = options.rate_store.to_string();
    let server = build(options).await.map_err(|e| (2, e))?;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))
        .map_err(|e| (3, e))?;
    let local = listener.local_addr().map_err(|e| (3, e.into()))?;
    tracing::info!(address = %local, %rate_limit, "mcp-aws-server listening on http://{local}/mcp");
    server
        .serve(listener, mcp_server_core::server::shutdown_signal())
        .await
        .context("server failed")
        .map_err(|e| (3, e))
}

fn options(args: &Args) -> anyhow::Result<Options> {
    let mut errors = Vec::new();
    let files = TierFiles::load(&args.config, &args.boundaries, &args.network)
        .map_err(|e| errors.push(e))
        .ok();
    let callers = if args.callers.exists() {
        Callers::load(&args.callers)
            .map_err(|e| errors.push(e.to_string()))
            .ok()
    } else {
        Some(Callers::default())
    };
    let rate_store = args
        .rate_limit
        .store(Tier::AwsManaged)
        .map_err(|e| errors.extend(e.iter().map(ToString::to_string)))
        .ok();
    let auth = callers.map(BearerAuth::new).and_then(|auth| {
        match std::env::var("MCP_AWS_CALLER_TOKENS") {
            Ok(spec) => auth.with_env_tokens(&spec).map_err(|e| errors.push(e)).ok(),
            Err(_) => Some(auth),
        }
    });
    let (
        Some(TierFiles {
            server: config,
            boundaries,
            network,
        }),
        Some(auth),
        Some(rate_store),
    ) = (files, auth, rate_store)
    else {
        anyhow::bail!("{}", errors.join("\n"));
    };
    let limits = boundaries.aws_managed;
    let role_duration = args
        .role_duration_secs
        .map(Duration::from_secs)
        .or(limits.iam_role_max_duration)
        .unwrap_or(Duration::from_secs(3600));
    Ok(Options {
        config,
        limits,
        rate_store,
        network: network.aws_server,
        mode: args.mode,
        audit: args.audit.clone(),
        auth,
        role_duration,
        refresh_window: Duration::from_secs(args.refresh_window_secs),
        endpoint_url: None,
        config_file: Some(args.config.clone()),
    })
}
