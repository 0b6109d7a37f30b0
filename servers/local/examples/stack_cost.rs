//! `stack_cost`: what the admission stack (guard, CORS, admission) adds to one `tools/call`,
//! measured in process.
//!
//! The same `tools/call` is driven through the tier's router, once as served and once
//! `--bare`, on the embedded backends. The call is `cache_invalidate` on the in-process
//! cache: no I/O and no other thread, so what is measured is the MCP path and the stack.
//! There is no network, no Postgres and no load generator sharing the CPU, so the
//! difference is steadier than comparing rates over HTTP (`scripts/bench/postgres_query.sh`,
//! cases a and b). Requests run one after another on a current-thread runtime, so wall
//! time is CPU time.
//!
//! cargo run --release -p mcp-local-server --example stack_cost -- --requests 100000

use std::net::SocketAddr;
use std::path::Path;
use std::time::Instant;

use anyhow::Context as _;
use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use clap::Parser;
use http_body_util::BodyExt as _;
use mcp_local_server::{Backends, Options, build, lifted};
use mcp_server_core::audit::AuditTarget;
use mcp_server_core::config::{Boundaries, NetworkIsolation, ServerConfig};
use mcp_server_core::stack::Mode;
use tower::ServiceExt as _;

#[derive(Debug, Parser)]
struct Args {
    /// Requests per measured round and set-up.
    #[arg(long, default_value_t = 100_000)]
    requests: u32,
    /// Measured rounds (alternating full and bare); the medians are reported.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u16).range(1..))]
    rounds: u16,
    /// The repository root (for the committed configs).
    #[arg(long, default_value = ".")]
    root: String,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the runtime")?
        .block_on(run(args))
}

async fn run(args: Args) -> anyhow::Result<()> {
    let root = Path::new(&args.root);
    let dir = tempfile::tempdir().context("temporary directory")?;
    let full = router(root, dir.path(), false)?;
    let bare = router(root, dir.path(), true)?;
    // Warm-up: statement caches, allocator, branch predictors.
    drive(&full, args.requests / 10).await?;
    drive(&bare, args.requests / 10).await?;
    let (mut with, mut without) = (Vec::new(), Vec::new());
    for _ in 0..args.rounds {
        with.push(drive(&full, args.requests).await?);
        without.push(drive(&bare, args.requests).await?);
    }
    let (with, without) = (median(&mut with), median(&mut without));
    println!(
        "per tools/call, medians of {} rounds of {} requests:",
        args.rounds, args.requests
    );
    println!("  full stack  {with:8.2} µs");
    println!("  --bare      {without:8.2} µs");
    // No percentage: the in-process call's own cost (the cache scan) is not the served
    // call's. Compare with the server CPU per call of a benchmark run instead.
    println!("  the stack   {:8.2} µs", with - without);
    Ok(())
}

fn router(root: &Path, embedded: &Path, bare: bool) -> anyhow::Result<Router> {
    let config = ServerConfig::load(&root.join("config/local_mcp_server_config.yaml"))?;
    let limits = Boundaries::load(&root.join("config/deployment_boundaries.yaml"))?.local;
    let network = NetworkIsolation::load(&root.join("config/network_isolation.yaml"))?;
    let server = build(Options {
        config,
        limits: lifted(&limits),
        network: network.local_server,
        mode: Mode::Stateless,
        audit: AuditTarget::Off,
        backends: Backends {
            embedded: Some(embedded.to_path_buf()),
            ..Backends::default()
        },
        pool_size: None,
        pg_pipeline_depth: None,
        workers: std::num::NonZeroUsize::MIN,
        bare,
    })?;
    Ok(server.router.clone())
}

/// Sends `n` calls one after another; returns µs per call.
async fn drive(router: &Router, n: u32) -> anyhow::Result<f64> {
    let peer = ConnectInfo(SocketAddr::from(([127, 0, 0, 1], 40_000)));
    let started = Instant::now();
    for i in 0..n {
        let body = format!(
            r#"{{"jsonrpc":"2.0","id":{i},"method":"tools/call","params":{{"name":"cache_invalidate","arguments":{{"pattern":"stack-cost:{}:*"}}}}}}"#,
            i % 100
        );
        let mut request = http::Request::post("/mcp")
            .header("host", "127.0.0.1:8080")
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .header("mcp-protocol-version", "2025-11-25")
            .body(Body::from(body))?;
        request.extensions_mut().insert(peer);
        let response = router.clone().oneshot(request).await?;
        let status = response.status();
        let bytes = response.into_body().collect().await?.to_bytes();
        // Every answer must be a real result, or the timing means nothing.
        if !status.is_success() || failed(&bytes) {
            anyhow::bail!(
                "call {i} failed ({status}): {}",
                String::from_utf8_lossy(&bytes)
            );
        }
    }
    Ok(started.elapsed().as_secs_f64() * 1e6 / f64::from(n.max(1)))
}

/// A tool error (`isError: true`) or a JSON-RPC error.
fn failed(body: &[u8]) -> bool {
    let has = |needle: &[u8]| body.windows(needle.len()).any(|w| w == needle);
    has(b"\"isError\":true") || has(b"\"error\":{")
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}
