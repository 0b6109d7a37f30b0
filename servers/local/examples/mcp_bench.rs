//! `mcp_bench`: a closed-loop load client for one MCP tool over Streamable HTTP.
//!
//! Each of `--concurrency` workers owns one keep-alive HTTP/1.1 connection and sends
//! `tools/call` requests back to back with a uniformly random id. Latency is the time from
//! sending a request until its whole answer is received and parsed (µs, HdrHistogram); only
//! successful calls are recorded. With `--server-pid`, the server's CPU time (utime+stime,
//! all threads, /proc/PID/stat) over the measured window is divided by the calls completed.
//! The workers are dealt to `--threads` threads, each with its own current-thread runtime,
//! so the client spends little CPU of its own and none on wake-ups between threads.
//!
//! cargo run --release -p mcp-local-server --example mcp_bench -- \
//!     --url http://127.0.0.1:8080/mcp --tool postgres_query --concurrency 32 --duration 20s

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clap::Parser;
use hdrhistogram::Histogram;
use mcp_server_core::server::spawn_on_own_runtime;
use serde_json::{Value, json};

const PLACEHOLDER: &str = "{{id}}";
const DEFAULT_ARGS: &str = r#"{"query":"SELECT * FROM orders WHERE id = $1","params":[{{id}}]}"#;
const WARMUP: u8 = 0;
const MEASURE: u8 = 1;
const DONE: u8 = 2;

#[derive(Debug, Parser, Clone)]
struct Args {
    /// MCP endpoint.
    #[arg(long, default_value = "http://127.0.0.1:8080/mcp")]
    url: String,
    /// Tool to call.
    #[arg(long, default_value = "postgres_query")]
    tool: String,
    /// Tool arguments as JSON text; `{{id}}` is replaced by the random id (a bare number).
    #[arg(long, default_value = DEFAULT_ARGS)]
    args_template: String,
    /// Instead of --args-template, send `{"<NAME>": <id>}`.
    #[arg(long)]
    id_param: Option<String>,
    /// Ids are drawn uniformly from id_min..=id_max.
    #[arg(long, default_value_t = 1)]
    id_min: u64,
    #[arg(long, default_value_t = 100_000)]
    id_max: u64,
    /// Concurrent callers, each on its own keep-alive connection.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// Measured window (e.g. 20s, 500ms, 1m).
    #[arg(long, default_value = "20s", value_parser = parse_duration)]
    duration: Duration,
    /// Unmeasured load before the window.
    #[arg(long, default_value = "3s", value_parser = parse_duration)]
    warmup: Duration,
    /// MCP session handshake per worker (initialize, Mcp-Session-Id, notifications/initialized).
    #[arg(long)]
    session: bool,
    #[arg(long, default_value = "2025-11-25")]
    protocol_version: String,
    /// Server process to sample CPU from (/proc/PID/stat).
    #[arg(long)]
    server_pid: Option<u32>,
    /// Also report the CPU of all processes with this command name (e.g. `postgres`).
    #[arg(long)]
    comm_cpu: Option<String>,
    /// Name of this run in the output.
    #[arg(long, default_value = "run")]
    label: String,
    /// Print one JSON summary line instead of text.
    #[arg(long)]
    json: bool,
    /// Client threads, each running its share of the workers (default: one per core).
    #[arg(long)]
    threads: Option<usize>,
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let n: f64 = s[..split]
        .parse()
        .map_err(|_| format!("bad duration {s:?}"))?;
    let scale = match &s[split..] {
        "" | "s" => 1.0,
        "ms" => 1e-3,
        "m" => 60.0,
        _ => return Err(format!("bad duration unit in {s:?} (ms, s, m)")),
    };
    Ok(Duration::from_secs_f64(n * scale))
}

/// One worker's counts.
struct Tally {
    hist: Histogram<u64>,
    ok: u64,
    errors: u64,
    first_error: Option<String>,
}

impl Tally {
    fn fail(&mut self, counted: bool, e: String) {
        self.errors += u64::from(counted);
        self.first_error.get_or_insert(e);
    }
}

fn main() -> anyhow::Result<()> {
    run(Args::parse())
}

/// Runs `workers` on a thread of its own with a current-thread runtime.
fn spawn_thread(
    index: usize,
    workers: Vec<u64>,
    args: &Args,
    parts: &Arc<(String, String)>,
    phase: &Arc<AtomicU8>,
) -> anyhow::Result<std::thread::JoinHandle<anyhow::Result<Vec<Tally>>>> {
    let (args, parts, phase) = (args.clone(), parts.clone(), phase.clone());
    let thread = spawn_on_own_runtime(format!("bench-{index}"), move || async move {
        let tasks: Vec<_> = workers
            .into_iter()
            .map(|w| tokio::spawn(worker(w, args.clone(), parts.clone(), phase.clone())))
            .collect();
        let mut tallies = Vec::with_capacity(tasks.len());
        for task in tasks {
            tallies.push(task.await.map_err(|e| anyhow::anyhow!("worker: {e}"))?);
        }
        Ok(tallies)
    })?;
    Ok(thread)
}

fn run(args: Args) -> anyhow::Result<()> {
    // The request is split around the id once; each call only formats the id in.
    let template = match &args.id_param {
        Some(name) => format!("{{{}:{PLACEHOLDER}}}", Value::from(name.as_str())),
        None => args.args_template.clone(),
    };
    let (pre, post) = template
        .split_once(PLACEHOLDER)
        .ok_or_else(|| anyhow::anyhow!("the arguments template has no {PLACEHOLDER}"))?;
    let tool = Value::from(args.tool.as_str());
    let head = format!(
        r#"{{"jsonrpc":"2.0","method":"tools/call","params":{{"name":{tool},"arguments":{pre}"#
    );
    let parts = Arc::new((head, post.to_owned()));
    serde_json::from_str::<Value>(&request(&parts, 1, 1))
        .map_err(|e| anyhow::anyhow!("the request is not JSON: {e}"))?;

    let phase = Arc::new(AtomicU8::new(WARMUP));
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from))
        .clamp(1, args.concurrency.max(1));
    let mut handles = Vec::with_capacity(threads);
    for t in 0..threads {
        let workers = (t as u64..args.concurrency as u64)
            .step_by(threads)
            .collect();
        match spawn_thread(t, workers, &args, &parts, &phase) {
            Ok(handle) => handles.push(handle),
            Err(e) => {
                phase.store(DONE, Ordering::SeqCst);
                return Err(e);
            }
        }
    }
    std::thread::sleep(args.warmup);
    let (start, t0) = (Cpu::sample(&args), Instant::now());
    phase.store(MEASURE, Ordering::SeqCst);
    std::thread::sleep(args.duration);
    phase.store(DONE, Ordering::SeqCst);
    let (end, secs) = (Cpu::sample(&args), t0.elapsed().as_secs_f64());

    let mut hist = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
    let (mut ok, mut errors, mut samples) = (0u64, 0u64, Vec::new());
    for handle in handles {
        let tallies = handle
            .join()
            .map_err(|_| anyhow::anyhow!("a client thread panicked"))
            .and_then(|r| r);
        match tallies {
            Ok(tallies) => {
                for t in tallies {
                    hist.add(&t.hist)?;
                    (ok, errors) = (ok + t.ok, errors + t.errors);
                    samples.extend(t.first_error);
                }
            }
            Err(e) => samples.push(e.to_string()),
        }
    }
    samples.sort();
    samples.dedup();
    samples.truncate(5);
    let per_call = |a: Option<f64>, b: Option<f64>| Some((b? - a?) * 1e6 / ok.max(1) as f64);
    // Machine-wide busy share, and the part of it that the server, this client and
    // `--comm-cpu` did not spend: other load, which makes the figures unreliable.
    let spent: f64 = [
        (start.server, end.server),
        (start.client, end.client),
        (start.comm, end.comm),
    ]
    .iter()
    .filter_map(|&(a, b)| Some(b? - a?))
    .sum();
    let (busy, other) = match (start.machine, end.machine) {
        (Some((b0, t0)), Some((b1, t1))) if t1 > t0 => {
            let pct = |jiffies: f64| Some(100.0 * jiffies / (t1 - t0));
            (pct(b1 - b0), pct(b1 - b0 - spent * 100.0))
        }
        _ => (None, None),
    };
    let q = |p: f64| (!hist.is_empty()).then(|| hist.value_at_quantile(p));
    let summary = json!({
        "label": args.label, "concurrency": args.concurrency, "seconds": secs,
        "calls": ok + errors, "ok": ok, "errors": errors, "rate": ok as f64 / secs,
        "p50_us": q(0.50), "p90_us": q(0.90), "p99_us": q(0.99), "max_us": hist.max(),
        "mean_us": hist.mean(),
        "server_cpu_us_per_call": per_call(start.server, end.server),
        "client_cpu_us_per_call": per_call(start.client, end.client),
        "comm": args.comm_cpu, "comm_cpu_us_per_call": per_call(start.comm, end.comm),
        "machine_busy_pct": busy, "other_cpu_pct": other, "error_samples": samples,
    });
    if args.json {
        println!("{summary}");
        return Ok(());
    }
    println!(
        "{} ({} callers, {secs:.1} s measured):",
        args.label, args.concurrency
    );
    let keys = [
        "rate", "ok", "errors", "p50_us", "p90_us", "p99_us", "max_us", "mean_us",
    ];
    let cpu = [
        "server_cpu_us_per_call",
        "client_cpu_us_per_call",
        "comm_cpu_us_per_call",
    ];
    for line in [&keys[..], &cpu[..], &["machine_busy_pct", "other_cpu_pct"]] {
        let fmt = |k: &&str| match summary[*k].as_f64() {
            Some(v) => format!("{k} {v:.1}"),
            None => format!("{k} n/a"),
        };
        println!("  {}", line.iter().map(fmt).collect::<Vec<_>>().join("  "));
    }
    for s in &samples {
        println!("  error: {s}");
    }
    Ok(())
}

/// The whole JSON-RPC request for one call.
fn request(parts: &(String, String), id: u64, rpc_id: u64) -> String {
    format!(r#"{}{id}{}}},"id":{rpc_id}}}"#, parts.0, parts.1)
}

async fn worker(w: u64, args: Args, parts: Arc<(String, String)>, phase: Arc<AtomicU8>) -> Tally {
    let hist = Histogram::new_with_bounds(1, 60_000_000, 3).expect("constant bounds are valid");
    let mut tally = Tally {
        hist,
        ok: 0,
        errors: 0,
        first_error: None,
    };
    // One client per worker with at most one idle connection: one keep-alive connection each.
    let builder = reqwest::Client::builder()
        .no_proxy()
        .http1_only()
        .tcp_nodelay(true);
    let client = match builder.pool_max_idle_per_host(1).build() {
        Ok(c) => c,
        Err(e) => {
            tally.fail(false, format!("client: {e}"));
            return tally;
        }
    };
    let seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(1, |d| d.as_nanos() as u64);
    let mut rng = (seed ^ (w + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15)) | 1;
    let span = args.id_max - args.id_min + 1;
    let (mut session, mut rpc_id) = (None::<String>, 0u64);
    while phase.load(Ordering::Relaxed) != DONE {
        if args.session && session.is_none() {
            match handshake(&client, &args).await {
                Ok(s) => session = Some(s),
                Err(e) => {
                    tally.fail(
                        phase.load(Ordering::Relaxed) == MEASURE,
                        format!("handshake: {e}"),
                    );
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            }
        }
        // xorshift64*: cheap and uniform enough for picking rows.
        rng ^= rng >> 12;
        rng ^= rng << 25;
        rng ^= rng >> 27;
        let id = args.id_min + rng.wrapping_mul(0x2545_F491_4F6C_DD1D) % span;
        rpc_id += 1;
        let started = Instant::now();
        let outcome = call(
            &client,
            &args,
            session.as_deref(),
            request(&parts, id, rpc_id),
        )
        .await;
        let micros = started.elapsed().as_micros() as u64;
        if phase.load(Ordering::Relaxed) != MEASURE {
            continue;
        }
        match outcome {
            Ok(()) => {
                tally.ok += 1;
                tally.hist.saturating_record(micros.max(1));
            }
            Err(e) => tally.fail(true, e),
        }
    }
    if let Some(s) = session {
        let _ = client
            .delete(&args.url)
            .header("Mcp-Session-Id", s)
            .send()
            .await;
    }
    tally
}

/// POSTs one JSON-RPC message: status, `Mcp-Session-Id`, and the JSON-RPC answer if any.
type Answer = (u16, Option<String>, Option<Value>);

async fn post(
    client: &reqwest::Client,
    args: &Args,
    sid: Option<&str>,
    body: String,
) -> Result<Answer, String> {
    let mut req = client
        .post(&args.url)
        .header("Content-Type", "application/json")
        .header("Accept", "application/json, text/event-stream")
        .header("MCP-Protocol-Version", &args.protocol_version)
        .body(body);
    if let Some(s) = sid {
        req = req.header("Mcp-Session-Id", s);
    }
    let resp = req.send().await.map_err(|e| format!("send: {e}"))?;
    let status = resp.status().as_u16();
    let header = |name: &str| {
        resp.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let sid = header("mcp-session-id");
    let sse = header("content-type").is_some_and(|v| v.starts_with("text/event-stream"));
    let bytes = resp.bytes().await.map_err(|e| format!("body: {e}"))?;
    if bytes.is_empty() {
        return Ok((status, sid, None));
    }
    let value = if sse {
        // The answer is the `data:` event that holds a JSON-RPC result or error.
        String::from_utf8_lossy(&bytes)
            .lines()
            .filter_map(|l| l.strip_prefix("data:"))
            .filter_map(|d| serde_json::from_str::<Value>(d.trim()).ok())
            .find(|v| v.get("result").is_some() || v.get("error").is_some())
    } else {
        serde_json::from_slice::<Value>(&bytes).ok()
    };
    match value {
        Some(v) => Ok((status, sid, Some(v))),
        None => Err(format!(
            "HTTP {status}: unparsable: {}",
            String::from_utf8_lossy(&bytes[..bytes.len().min(200)])
        )),
    }
}

/// One tools/call: success is HTTP 2xx with a `result` that is not `isError: true`.
async fn call(
    client: &reqwest::Client,
    args: &Args,
    sid: Option<&str>,
    body: String,
) -> Result<(), String> {
    let (status, _, value) = post(client, args, sid, body).await?;
    let value = value.ok_or_else(|| format!("HTTP {status}: empty answer"))?;
    match value.get("result") {
        Some(r) if (200..300).contains(&status) && r.get("isError") != Some(&Value::Bool(true)) => {
            Ok(())
        }
        Some(r) => Err(format!("HTTP {status}: tool error: {}", truncate(r))),
        None => Err(format!("HTTP {status}: {}", truncate(&value))),
    }
}

async fn handshake(client: &reqwest::Client, args: &Args) -> Result<String, String> {
    let init = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": args.protocol_version, "capabilities": {},
        "clientInfo": {"name": "mcp_bench", "version": "0.1"}}});
    let (status, sid, _) = post(client, args, None, init.to_string()).await?;
    let sid = sid.ok_or_else(|| format!("HTTP {status}: no Mcp-Session-Id on initialize"))?;
    let note = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    match post(client, args, Some(&sid), note.to_string()).await? {
        (200..300, _, _) => Ok(sid),
        (status, _, _) => Err(format!("notifications/initialized: HTTP {status}")),
    }
}

fn truncate(v: &Value) -> String {
    let s = v.to_string();
    if s.len() > 200 {
        format!("{}…", &s[..s.floor_char_boundary(200)])
    } else {
        s
    }
}

/// CPU seconds so far: server, this client, processes named `--comm-cpu`, machine jiffies.
struct Cpu {
    server: Option<f64>,
    client: Option<f64>,
    comm: Option<f64>,
    machine: Option<(f64, f64)>,
}

impl Cpu {
    fn sample(args: &Args) -> Cpu {
        Cpu {
            server: args.server_pid.and_then(proc_cpu),
            client: proc_cpu(std::process::id()),
            comm: args.comm_cpu.as_deref().map(comm_cpu),
            machine: machine_cpu(),
        }
    }
}

/// utime+stime of a process (all its threads, live and exited), in seconds.
fn proc_cpu(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name: utime and stime are fields 14 and 15 of the line.
    let f: Vec<&str> = stat[stat.rfind(')')? + 2..].split_whitespace().collect();
    let ticks = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
    Some(ticks as f64 / 100.0) // USER_HZ is 100 on Linux
}

/// CPU seconds of all processes whose command name is `comm`.
fn comm_cpu(comm: &str) -> f64 {
    let pids = std::fs::read_dir("/proc").into_iter().flatten().flatten();
    pids.filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            stat.split_once(" (")
                .and_then(|(_, r)| r.rsplit_once(')'))
                .is_some_and(|(c, _)| c == comm)
        })
        .filter_map(proc_cpu)
        .sum()
}

/// Machine-wide (busy, total) jiffies from /proc/stat.
fn machine_cpu() -> Option<(f64, f64)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let v: Vec<f64> = stat
        .lines()
        .next()?
        .split_whitespace()
        .skip(1)
        .filter_map(|x| x.parse().ok())
        .collect();
    let total: f64 = v.iter().take(8).sum();
    Some((total - v.get(3)? - v.get(4)?, total))
}
