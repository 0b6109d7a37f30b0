//! `stack_cost`: what the admission stack (guard, CORS, admission) and the audit trail add
//! to one `tools/call`, measured in process.
//!
//! The same `tools/call` is driven through the tier's router three ways, on the embedded
//! backends: as served with the audit trail off, `--bare` (no stack, spans or audit), and
//! as served with the audit trail appended to a file. The call is `cache_invalidate` on the
//! in-process cache: no I/O and no other thread, so what is measured is the MCP path, the
//! stack and the trail. There is no network, no Postgres and no load generator sharing the
//! CPU, so the differences are steadier than comparing rates over HTTP
//! (`scripts/bench/postgres_query.sh`, cases a, b and c). Requests run one after another on
//! a current-thread runtime. Two figures per call: wall time on that thread, and the CPU
//! time of the whole process (the audit writer's thread included; a round ends once the
//! writer has written every line of it).
//!
//! cargo run --release -p mcp-local-server --example stack_cost -- --requests 100000

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use axum::body::Body;
use axum::extract::ConnectInfo;
use clap::Parser;
use http_body_util::BodyExt as _;
use mcp_local_server::{Backends, LocalServer, Options, build, lifted};
use mcp_server_core::audit::AuditTarget;
use mcp_server_core::config::{Boundaries, NetworkIsolation, ServerConfig};
use mcp_server_core::stack::Mode;
use rustix::time::{ClockId, clock_gettime};
use tower::ServiceExt as _;

#[derive(Debug, Parser)]
struct Args {
    /// Requests per measured round and set-up.
    #[arg(long, default_value_t = 100_000)]
    requests: u32,
    /// Measured rounds (the set-ups take turns); the medians are reported.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u16).range(1..))]
    rounds: u16,
    /// The repository root (for the committed configs).
    #[arg(long, default_value = ".")]
    root: String,
}

/// One way of serving the call, and what it has cost so far.
struct Setup {
    label: &'static str,
    server: LocalServer,
    sent: u64,
    wall: Vec<f64>,
    cpu: Vec<f64>,
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
    let trail = dir.path().join("audit.jsonl");
    let mut setups = [
        setup(
            "full stack, audit off",
            root,
            dir.path(),
            false,
            AuditTarget::Off,
        )?,
        setup("--bare", root, dir.path(), true, AuditTarget::Off)?,
        setup(
            "full stack, audit to a file",
            root,
            dir.path(),
            false,
            AuditTarget::File(trail),
        )?,
    ];
    // Warm-up: statement caches, allocator, branch predictors.
    for setup in &mut setups {
        drive(setup, args.requests / 10).await?;
    }
    for _ in 0..args.rounds {
        for setup in &mut setups {
            let (wall, cpu) = drive(setup, args.requests).await?;
            setup.wall.push(wall);
            setup.cpu.push(cpu);
        }
    }
    println!(
        "per tools/call, medians of {} rounds of {} requests (wall: this thread; CPU: the process):",
        args.rounds, args.requests
    );
    let medians: Vec<(f64, f64)> = setups
        .iter_mut()
        .map(|s| (median(&mut s.wall), median(&mut s.cpu)))
        .collect();
    for (setup, (wall, cpu)) in setups.iter().zip(&medians) {
        println!("  {:<28} {wall:8.2} µs wall {cpu:8.2} µs CPU", setup.label);
    }
    // No percentage: the in-process call's own cost (the cache scan) is not the served
    // call's. Compare with the CPU per call of a benchmark run instead.
    let [full, bare, audited]: [f64; 3] = std::array::from_fn(|i| medians[i].0);
    let [full_cpu, bare_cpu, audited_cpu]: [f64; 3] = std::array::from_fn(|i| medians[i].1);
    println!(
        "  the stack                    {:8.2} µs wall {:8.2} µs CPU",
        full - bare,
        full_cpu - bare_cpu
    );
    println!(
        "  the audit trail              {:8.2} µs wall {:8.2} µs CPU",
        audited - full,
        audited_cpu - full_cpu
    );
    Ok(())
}

fn setup(
    label: &'static str,
    root: &Path,
    embedded: &Path,
    bare: bool,
    audit: AuditTarget,
) -> anyhow::Result<Setup> {
    let config = ServerConfig::load(&root.join("config/local_mcp_server_config.yaml"))?;
    let limits = Boundaries::load(&root.join("config/deployment_boundaries.yaml"))?.local;
    let network = NetworkIsolation::load(&root.join("config/network_isolation.yaml"))?;
    let server = build(Options {
        config,
        limits: lifted(&limits),
        rate_store: Default::default(),
        network: network.local_server,
        mode: Mode::Stateless,
        audit,
        backends: Backends {
            embedded: Some(embedded.to_path_buf()),
            ..Backends::default()
        },
        pool_size: None,
        pg_pipeline_depth: None,
        workers: std::num::NonZeroUsize::MIN,
        bare,
        config_file: None,
    })?;
    Ok(Setup {
        label,
        server,
        sent: 0,
        wall: Vec::new(),
        cpu: Vec::new(),
    })
}

/// Sends `n` calls one after another; returns µs per call: wall time, and process CPU time
/// once the audit trail (if on) has written them all.
async fn drive(setup: &mut Setup, n: u32) -> anyhow::Result<(f64, f64)> {
    let peer = ConnectInfo(SocketAddr::from(([127, 0, 0, 1], 40_000)));
    let cpu_before = process_cpu();
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
        let response = setup.server.router.clone().oneshot(request).await?;
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
    let wall = started.elapsed();
    setup.sent += u64::from(n);
    let audit = setup.server.audit();
    if audit.is_on() {
        let waiting = Instant::now();
        anyhow::ensure!(audit.dropped() == 0, "the audit trail dropped lines");
        while audit.written() < setup.sent {
            anyhow::ensure!(
                waiting.elapsed() < Duration::from_secs(30),
                "the audit trail wrote {} of {} lines",
                audit.written(),
                setup.sent
            );
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
    let cpu = process_cpu() - cpu_before;
    let per_call = |d: Duration| d.as_secs_f64() * 1e6 / f64::from(n.max(1));
    Ok((per_call(wall), per_call(cpu)))
}

/// CPU time of every thread of this process.
fn process_cpu() -> Duration {
    let t = clock_gettime(ClockId::ProcessCPUTime);
    Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
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
