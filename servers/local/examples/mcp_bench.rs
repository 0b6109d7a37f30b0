//! `mcp_bench`: a closed-loop load client for one MCP tool over Streamable HTTP.
//!
//! Each of `--concurrency` workers owns one keep-alive HTTP/1.1 connection and sends
//! `tools/call` requests back to back with a uniformly random id. Latency is the time
//! from sending a request until its whole answer is received and parsed (µs, HdrHistogram).
//! With `--server-pid`, the server's CPU time (utime+stime, all threads) over the
//! measured window is divided by the calls completed in it.
//!
//! cargo run --release -p mcp-local-server --example mcp_bench -- \
//!     --url http://127.0.0.1:8080/mcp --tool postgres_query --concurrency 32 --duration 20s

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clap::Parser;
use hdrhistogram::Histogram;
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
    /// Name of this run in the output.
    #[arg(long, default_value = "run")]
    label: String,
    /// Print one JSON summary line instead of text.
    #[arg(long)]
    json: bool,
    /// Client runtime worker threads (default: one per core).
    #[arg(long)]
    threads: Option<usize>,
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (num, unit) = s.split_at(
        s.find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(s.len()),
    );
    let n: f64 = num.parse().map_err(|_| format!("bad duration {s:?}"))?;
    let secs = match unit {
        "" | "s" => n,
        "ms" => n / 1e3,
        "m" => n * 60.0,
        _ => return Err(format!("bad duration unit in {s:?} (ms, s, m)")),
    };
    Ok(Duration::from_secs_f64(secs))
}

/// Per-worker result.
struct Tally {
    hist: Histogram<u64>,
    ok: u64,
    errors: u64,
    first_error: Option<String>,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let mut rt = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = args.threads {
        rt.worker_threads(n);
    }
    rt.enable_all().build()?.block_on(run(args))
}

async fn run(args: Args) -> anyhow::Result<()> {
    // Arguments split around the placeholder once; each call only formats the id in.
    let template = match &args.id_param {
        Some(name) => format!("{{{}:{PLACEHOLDER}}}", Value::String(name.clone())),
        None => args.args_template.clone(),
    };
    let (pre, post) = template
        .split_once(PLACEHOLDER)
        .ok_or_else(|| anyhow::anyhow!("the arguments template has no {PLACEHOLDER}"))?;
    let head = format!(
        r#"{{"jsonrpc":"2.0","method":"tools/call","params":{{"name":{},"arguments":{pre}"#,
        Value::String(args.tool.clone())
    );
    let parts = Arc::new((head, post.to_string()));
    serde_json::from_str::<Value>(&format!("{}1{}}}}}", parts.0, parts.1))
        .map_err(|e| anyhow::anyhow!("the request is not JSON: {e}"))?;

    let phase = Arc::new(AtomicU8::new(WARMUP));
    let mut workers = Vec::with_capacity(args.concurrency);
    for w in 0..args.concurrency {
        let (args, parts, phase) = (args.clone(), parts.clone(), phase.clone());
        workers.push(tokio::spawn(async move {
            worker(w as u64, args, parts, phase).await
        }));
    }
    tokio::time::sleep(args.warmup).await;
    let (cpu0, self0, busy0, t0) = (
        proc_cpu(args.server_pid),
        proc_cpu(Some(std::process::id())),
        machine_cpu(),
        Instant::now(),
    );
    phase.store(MEASURE, Ordering::SeqCst);
    tokio::time::sleep(args.duration).await;
    phase.store(DONE, Ordering::SeqCst);
    let (cpu1, self1, busy1, secs) = (
        proc_cpu(args.server_pid),
        proc_cpu(Some(std::process::id())),
        machine_cpu(),
        t0.elapsed().as_secs_f64(),
    );

    let mut hist = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
    let (mut ok, mut errors, mut samples) = (0u64, 0u64, Vec::new());
    for handle in workers {
        match handle.await {
            Ok(t) => {
                hist.add(&t.hist)?;
                ok += t.ok;
                errors += t.errors;
                samples.extend(t.first_error);
            }
            Err(e) => samples.push(format!("worker panicked: {e}")),
        }
    }
    samples.sort();
    samples.dedup();
    let calls = ok + errors;
    let per_call = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(a), Some(b)) if ok > 0 => Some((b - a) * 1e6 / ok as f64),
        _ => None,
    };
    let server_cpu = per_call(cpu0, cpu1);
    let client_cpu = per_call(self0, self1);
    let busy = match (busy0, busy1) {
        (Some((b0, t0)), Some((b1, t1))) if t1 > t0 => Some(100.0 * (b1 - b0) / (t1 - t0)),
        _ => None,
    };
    let q = |p: f64| {
        if hist.is_empty() {
            0
        } else {
            hist.value_at_quantile(p)
        }
    };
    let summary = json!({
        "label": args.label, "concurrency": args.concurrency, "seconds": secs,
        "calls": calls, "ok": ok, "errors": errors, "rate": ok as f64 / secs,
        "p50_us": q(0.50), "p90_us": q(0.90), "p99_us": q(0.99), "max_us": hist.max(),
        "mean_us": hist.mean(), "server_cpu_us_per_call": server_cpu,
        "client_cpu_us_per_call": client_cpu, "machine_busy_pct": busy,
        "error_samples": samples.iter().take(5).collect::<Vec<_>>(),
    });
    if args.json {
        println!("{summary}");
    } else {
        println!(
            "{}: {} callers, {:.1} s measured",
            args.label, args.concurrency, secs
        );
        println!(
            "  calls/s {:.0}  ok {ok}  errors {errors}",
            ok as f64 / secs
        );
        println!(
            "  latency µs  p50 {}  p90 {}  p99 {}  max {}  mean {:.0}",
            q(0.5),
            q(0.9),
            q(0.99),
            hist.max(),
            hist.mean()
        );
        let f = |v: Option<f64>| v.map_or("n/a".into(), |v| format!("{v:.1}"));
        println!(
            "  CPU µs/call  server {}  client {}  machine busy {}%",
            f(server_cpu),
            f(client_cpu),
            f(busy)
        );
        for s in samples.iter().take(5) {
            println!("  error: {s}");
        }
    }
    Ok(())
}

async fn worker(w: u64, args: Args, parts: Arc<(String, String)>, phase: Arc<AtomicU8>) -> Tally {
    let mut tally = Tally {
        hist: Histogram::new_with_bounds(1, 60_000_000, 3).expect("static bounds"),
        ok: 0,
        errors: 0,
        first_error: None,
    };
    let fail = |tally: &mut Tally, counted: bool, e: String| {
        if counted {
            tally.errors += 1;
        }
        tally.first_error.get_or_insert(e);
    };
    let client = match reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(1)
        .tcp_nodelay(true)
        .http1_only()
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            fail(&mut tally, false, format!("client: {e}"));
            return tally;
        }
    };
    let seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(1, |d| d.as_nanos() as u64);
    let mut rng = (seed ^ (w + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15)) | 1;
    let span = args.id_max - args.id_min + 1;
    let mut session: Option<String> = None;
    let mut next_id = 0u64;
    while phase.load(Ordering::Relaxed) != DONE {
        if args.session && session.is_none() {
            match handshake(&client, &args).await {
                Ok(s) => session = Some(s),
                Err(e) => {
                    fail(
                        &mut tally,
                        phase.load(Ordering::Relaxed) == MEASURE,
                        format!("handshake: {e}"),
                    );
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            }
        }
        // xorshift64*: cheap, good enough for uniform ids.
        rng ^= rng >> 12;
        rng ^= rng << 25;
        rng ^= rng >> 27;
        let id = args.id_min + rng.wrapping_mul(0x2545_F491_4F6C_DD1D) % span;
        next_id += 1;
        let body = format!(r#"{}{id}{}}},"id":{next_id}}}"#, parts.0, parts.1);
        let started = Instant::now();
        let outcome = call(&client, &args, session.as_deref(), body).await;
        let micros = started.elapsed().as_micros() as u64;
        if phase.load(Ordering::Relaxed) != MEASURE {
            continue;
        }
        match outcome {
            Ok(()) => {
                tally.ok += 1;
                tally.hist.saturating_record(micros.max(1));
            }
            Err(e) => fail(&mut tally, true, e),
        }
    }
    if let Some(s) = session {
        let _ = client
            .delete(&args.url)
            .header("Mcp-Session-Id", s)
            .header("MCP-Protocol-Version", &args.protocol_version)
            .send()
            .await;
    }
    tally
}

/// POSTs one JSON-RPC message; returns the response (status, session header, JSON answer).
async fn post(
    client: &reqwest::Client,
    args: &Args,
    session: Option<&str>,
    body: String,
) -> Result<(u16, Option<String>, Option<Value>), String> {
    let mut req = client
        .post(&args.url)
        .header("Content-Type", "application/json")
        .header("Accept", "application/json, text/event-stream")
        .header("MCP-Protocol-Version", &args.protocol_version)
        .body(body);
    if let Some(s) = session {
        req = req.header("Mcp-Session-Id", s);
    }
    let resp = req.send().await.map_err(|e| format!("send: {e}"))?;
    let status = resp.status().as_u16();
    let sid = resp
        .headers()
        .get("mcp-session-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let sse = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/event-stream"));
    let bytes = resp.bytes().await.map_err(|e| format!("body: {e}"))?;
    if bytes.is_empty() {
        return Ok((status, sid, None));
    }
    let value = if sse {
        // The answer is the `data:` line that holds a JSON-RPC result or error.
        std::str::from_utf8(&bytes)
            .map_err(|e| format!("SSE not UTF-8: {e}"))?
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
            "HTTP {status}: unparsable answer: {}",
            String::from_utf8_lossy(&bytes[..bytes.len().min(200)])
        )),
    }
}

/// One tools/call; Ok when the answer is a result that is not `isError: true`.
async fn call(
    client: &reqwest::Client,
    args: &Args,
    session: Option<&str>,
    body: String,
) -> Result<(), String> {
    let (status, _, value) = post(client, args, session, body).await?;
    let value = value.ok_or_else(|| format!("HTTP {status}: empty answer"))?;
    match value.get("result") {
        Some(r)
            if r.get("isError").and_then(Value::as_bool) != Some(true)
                && (200..300).contains(&status) =>
        {
            Ok(())
        }
        Some(r) => Err(format!("HTTP {status}: tool error: {}", truncate(r))),
        None => Err(format!("HTTP {status}: {}", truncate(&value))),
    }
}

async fn handshake(client: &reqwest::Client, args: &Args) -> Result<String, String> {
    let init = json!({"jsonrpc":"2.0","id":0,"method":"initialize","params":{
        "protocolVersion": args.protocol_version, "capabilities": {},
        "clientInfo": {"name": "mcp_bench", "version": "0.1"}}});
    let (status, sid, value) = post(client, args, None, init.to_string()).await?;
    let sid = sid.ok_or_else(|| {
        format!(
            "HTTP {status}: no Mcp-Session-Id on initialize ({})",
            value.as_ref().map_or(String::new(), truncate)
        )
    })?;
    let note = json!({"jsonrpc":"2.0","method":"notifications/initialized"});
    let (status, _, _) = post(client, args, Some(&sid), note.to_string()).await?;
    if !(200..300).contains(&status) {
        return Err(format!("notifications/initialized: HTTP {status}"));
    }
    Ok(sid)
}

fn truncate(v: &Value) -> String {
    let s = v.to_string();
    if s.len() > 200 {
        format!("{}…", &s[..s.floor_char_boundary(200)])
    } else {
        s
    }
}

/// CPU seconds (utime+stime, all threads) of a process.
fn proc_cpu(pid: Option<u32>) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{}/stat", pid?)).ok()?;
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
    Some(ticks as f64 / clock_ticks())
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
    let idle = v.get(3)? + v.get(4)?;
    Some((total - idle, total))
}

/// USER_HZ; Linux reports 100 on every common architecture.
fn clock_ticks() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}
