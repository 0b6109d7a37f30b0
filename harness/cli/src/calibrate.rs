//! `mcp-slo calibrate`: the harness measured against the truth and against an independent
//! load generator, side by side.
//!
//! 1. Known service time: an in-process calibration server answers after exactly 0 ms and
//!    2 ms (`--service-times`); the harness's p50 is compared with the service time plus
//!    the reference exchange at the same rate (one blocking connection on one OS thread,
//!    no runtime: the least a client can add).
//! 2. The same call at fixed rates (`--rates`) through the harness and through `oha -q R
//!    --latency-correction` (which measures from the intended start, as the harness does),
//!    one after the other, alternating which goes first.
//! 3. The ceiling: the harness at an offered rate no server here reaches, and `oha` with as
//!    many connections, flat out.
//!
//! The goal for every percentile is agreement within 5 % or 50 µs, whichever is larger.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, anyhow};
use mcp_slo_core::spec::{Mode, Protocol, Scenario};
use mcp_slo_engine::calibration::CalibrationServer;
use mcp_slo_engine::client::Endpoint;

use crate::Outcome;

#[derive(Debug, clap::Args)]
pub struct CalibrateArgs {
    /// The MCP endpoint to calibrate against (default: spawn the local tier, stateless,
    /// limits lifted, audit off).
    #[arg(long)]
    target: Option<String>,
    /// The tool to call on the target.
    #[arg(long, default_value = "postgres_query")]
    tool: String,
    /// Its arguments (JSON).
    #[arg(
        long,
        default_value = r#"{"query":"SELECT id, status FROM orders WHERE id = $1","params":[4242]}"#
    )]
    args: String,
    /// Fixed rates to compare at, calls per second.
    #[arg(long, value_delimiter = ',', default_value = "100,500,2000")]
    rates: Vec<f64>,
    /// Measured seconds per rate and tool (after a 2 s warm-up).
    #[arg(long, default_value = "10s", value_parser = humantime_duration)]
    duration: Duration,
    /// Service times of the calibration server.
    #[arg(long, value_delimiter = ',', default_value = "0ms,2ms", value_parser = humantime_duration)]
    service_times: Vec<Duration>,
    /// The independent load generator (`cargo install oha`); without it only the harness
    /// side is measured.
    #[arg(long, default_value = "oha")]
    oha: PathBuf,
    /// Rounds per rate, alternating which tool goes first; the table gives each
    /// percentile's median over the rounds (one run at a low rate varies by ±150 µs here
    /// from one run to the next, whichever tool measures).
    #[arg(long, default_value_t = 3)]
    rounds: u32,
    /// Connections for oha and workers for the harness's ceiling run.
    #[arg(long, default_value_t = 32)]
    connections: u32,
    /// Also write the Markdown tables here.
    #[arg(long)]
    out: Option<PathBuf>,
}

fn humantime_duration(text: &str) -> Result<Duration, String> {
    mcp_slo_core::units::parse_duration(text)
}

/// p50, p90, p99 in µs, and the achieved rate.
#[derive(Debug, Clone, Copy, Default)]
struct Figures {
    p50: f64,
    p90: f64,
    p99: f64,
    rate: f64,
}

pub async fn calibrate(args: &CalibrateArgs) -> Outcome {
    match tables(args).await {
        Ok((text, agree)) => {
            println!("{text}");
            if let Some(out) = &args.out
                && let Err(e) = std::fs::write(out, &text)
            {
                return Outcome::Infrastructure(anyhow!("cannot write {}: {e}", out.display()));
            }
            if agree { Outcome::Pass } else { Outcome::Fail }
        }
        Err(e) => Outcome::Infrastructure(e),
    }
}

async fn tables(args: &CalibrateArgs) -> Result<(String, bool), anyhow::Error> {
    let oha = oha_version(&args.oha);
    let mut out = String::new();
    let mut agree = true;
    out.push_str(&format!(
        "harness: mcp-slo {} ({} build); independent: {}\n\n",
        env!("CARGO_PKG_VERSION"),
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        },
        oha.as_deref()
            .unwrap_or("oha not found (harness side only)")
    ));
    out.push_str("### Known service time (calibration server, 200 calls/s)\n\n");
    out.push_str("| service time | reference exchange p50 (µs) | harness p50 / p90 / p99 (µs) | oha p50 / p90 / p99 (µs) | harness p50 − reference |\n|---|---|---|---|---|\n");
    for s in &args.service_times {
        let server = CalibrationServer::start(*s)
            .await
            .context("calibration server")?;
        let endpoint = Endpoint::new(server.url.clone(), Mode::Stateless, Protocol::Auto);
        let bare = reference_run(
            &endpoint,
            "calibrate",
            serde_json::json!({}),
            200.0,
            args.duration,
        )
        .await?
        .p50;
        let harness = harness_run(
            &server.url,
            "calibrate",
            "{}",
            Load::Open(200.0, args.connections),
            args.duration,
        )
        .await?;
        let independent = match &oha {
            Some(_) => Some(
                oha_run(
                    &args.oha,
                    &endpoint,
                    "calibrate",
                    serde_json::json!({}),
                    Some(200.0),
                    args.duration,
                    args.connections,
                )
                .await?,
            ),
            None => None,
        };
        let truth = bare;
        let within = (harness.p50 - truth).abs() <= goal(truth);
        agree &= within;
        out.push_str(&format!(
            "| {} ms | {:.0} µs | {} | {} | {:+.0} µs {} |\n",
            s.as_millis(),
            bare,
            triple(&harness),
            independent.as_ref().map_or("–".to_owned(), triple),
            harness.p50 - truth,
            if within { "✓" } else { "✗" }
        ));
    }
    let spawned = match &args.target {
        Some(_) => None,
        None => Some(spawn_local().await?),
    };
    let url = args
        .target
        .clone()
        .or_else(|| spawned.as_ref().map(|(_, url)| url.clone()))
        .ok_or_else(|| anyhow!("no target"))?;
    let call: serde_json::Value = serde_json::from_str(&args.args).context("--args is not JSON")?;
    let mut endpoint = Endpoint::new(url.clone(), Mode::Stateless, Protocol::Auto);
    let negotiation = endpoint
        .negotiate(&reqwest_client())
        .await
        .map_err(|e| anyhow!("{e}"))?;
    out.push_str(&format!(
        "\n### {} `{}` at fixed rates ({}; MCP {}; medians of {} alternated rounds)\n\n",
        if spawned.is_some() {
            "Local tier (stateless, limits lifted, audit off)"
        } else {
            "Target"
        },
        args.tool,
        url,
        negotiation.revision,
        args.rounds.max(1)
    ));
    out.push_str("| rate | harness p50 / p90 / p99 (µs) | oha p50 / p90 / p99 (µs) | Δ p50 / p90 / p99 | within 5 % or 50 µs | reference exchange p50 / p90 / p99 (µs) |\n|---|---|---|---|---|---|\n");
    for (i, rate) in args.rates.iter().enumerate() {
        let run_harness = || {
            harness_run(
                &url,
                &args.tool,
                &args.args,
                Load::Open(*rate, args.connections),
                args.duration,
            )
        };
        let run_oha = || {
            oha_run(
                &args.oha,
                &endpoint,
                &args.tool,
                call.clone(),
                Some(*rate),
                args.duration,
                args.connections,
            )
        };
        // Alternate which tool goes first, so drift over the session favours neither.
        let (mut hs, mut os) = (Vec::new(), Vec::new());
        for round in 0..args.rounds.max(1) as usize {
            if oha.is_none() {
                hs.push(run_harness().await?);
            } else if (i + round) % 2 == 0 {
                hs.push(run_harness().await?);
                os.push(run_oha().await?);
            } else {
                os.push(run_oha().await?);
                hs.push(run_harness().await?);
            }
        }
        let harness = Figures::median(&hs);
        let independent = (!os.is_empty()).then(|| Figures::median(&os));
        let (delta, ok) = match &independent {
            Some(o) => {
                let d = [
                    harness.p50 - o.p50,
                    harness.p90 - o.p90,
                    harness.p99 - o.p99,
                ];
                let ok = (harness.p50 - o.p50).abs() <= goal(o.p50)
                    && (harness.p90 - o.p90).abs() <= goal(o.p90)
                    && (harness.p99 - o.p99).abs() <= goal(o.p99);
                (
                    format!("{:+.0} / {:+.0} / {:+.0}", d[0], d[1], d[2]),
                    Some(ok),
                )
            }
            None => ("–".into(), None),
        };
        agree &= ok.unwrap_or(true);
        // A third opinion on the same call at the same rate: the least a client can add.
        let reference =
            reference_run(&endpoint, &args.tool, call.clone(), *rate, args.duration).await?;
        out.push_str(&format!(
            "| {rate}/s | {} | {} | {delta} | {} | {} |\n",
            triple(&harness),
            independent.as_ref().map_or("–".to_owned(), triple),
            match ok {
                Some(true) => "yes",
                Some(false) => "no",
                None => "–",
            },
            triple(&reference)
        ));
    }
    out.push_str("\n### Ceiling (flat out)\n\n| tool | calls/s |\n|---|---|\n");
    let harness = harness_run(
        &url,
        &args.tool,
        &args.args,
        Load::Closed(args.connections),
        args.duration,
    )
    .await?;
    out.push_str(&format!(
        "| harness, {} users (closed model) | {:.0} |\n",
        args.connections, harness.rate
    ));
    if oha.is_some() {
        let o = oha_run(
            &args.oha,
            &endpoint,
            &args.tool,
            call,
            None,
            args.duration,
            args.connections,
        )
        .await?;
        out.push_str(&format!(
            "| oha, {} connections | {:.0} |\n",
            args.connections, o.rate
        ));
        let ratio = harness.rate / o.rate.max(1.0);
        out.push_str(&format!("\nharness / oha: {ratio:.2} (goal ≥ 0.8)\n"));
        agree &= ratio >= 0.8;
    }
    if let Some((started, _)) = spawned {
        started.stop().await;
    }
    Ok((out, agree))
}

/// The agreement goal: 5 % or 50 µs, whichever is larger.
fn goal(reference_us: f64) -> f64 {
    (reference_us * 0.05).max(50.0)
}

impl Figures {
    /// Each field's median over `runs` (not empty).
    fn median(runs: &[Figures]) -> Figures {
        let of = |field: fn(&Figures) -> f64| {
            let mut v: Vec<f64> = runs.iter().map(field).collect();
            v.sort_by(f64::total_cmp);
            v.get(v.len() / 2).copied().unwrap_or_default()
        };
        Figures {
            p50: of(|f| f.p50),
            p90: of(|f| f.p90),
            p99: of(|f| f.p99),
            rate: of(|f| f.rate),
        }
    }
}

fn triple(f: &Figures) -> String {
    format!("{:.0} / {:.0} / {:.0}", f.p50, f.p90, f.p99)
}

fn reqwest_client() -> mcp_slo_engine::client::Http {
    mcp_slo_engine::reqwest::Client::builder()
        .tcp_nodelay(true)
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap_or_default()
        .into()
}

/// The reference exchange (see [`mcp_slo_engine::calibration::reference_client`]) at
/// `rate` for `duration` after a second's warm-up: the service time and what the machine
/// takes to carry one call at that rate, with the least a client can add (one blocking
/// connection: at rates its latency cannot keep up with, calls queue behind each other).
async fn reference_run(
    endpoint: &Endpoint,
    tool: &str,
    args: serde_json::Value,
    rate: f64,
    duration: Duration,
) -> Result<Figures, anyhow::Error> {
    let mut endpoint = endpoint.clone();
    if endpoint.revision.is_none() {
        endpoint
            .negotiate(&reqwest_client())
            .await
            .map_err(|e| anyhow!("{e}"))?;
    }
    let method = mcp_slo_core::spec::ops::Method::CallTool(tool.to_owned());
    let (headers, body) =
        endpoint.wire_request(method.name(), method.params(args, None), Some(tool));
    let url = endpoint.url.clone();
    let warm = rate.ceil() as usize;
    let calls = warm as u32 + (rate * duration.as_secs_f64()).ceil() as u32;
    let latencies = tokio::task::spawn_blocking(move || {
        mcp_slo_engine::calibration::reference_client(&url, &headers, &body, rate, calls)
    })
    .await?
    .map_err(|e| anyhow!("reference exchange: {e}"))?;
    let mut h = mcp_slo_core::measure::new_histogram(3);
    for l in latencies.iter().skip(warm) {
        let _ = h.record(*l);
    }
    Ok(Figures {
        p50: h.value_at_quantile(0.5) as f64,
        p90: h.value_at_quantile(0.9) as f64,
        p99: h.value_at_quantile(0.99) as f64,
        rate,
    })
}

/// An open-model rate, or closed-model users (flat out).
#[derive(Debug, Clone, Copy)]
enum Load {
    /// A rate, with at most this many workers (oha's connections).
    Open(f64, u32),
    Closed(u32),
}

/// One harness run of `tool`: 2 s warm-up, then `duration` measured.
async fn harness_run(
    url: &str,
    tool: &str,
    args: &str,
    load: Load,
    duration: Duration,
) -> Result<Figures, anyhow::Error> {
    let (model, each) = match load {
        Load::Open(rate, workers) => (
            format!("open\n  max_users: {workers}"),
            format!("rate: {rate}/s"),
        ),
        Load::Closed(users) => ("closed".to_owned(), format!("users: {users}")),
    };
    let text = format!(
        "version: mcp-slo/v1\nname: calibrate\ntargets:\n  t: {{ url: \"{url}\", mode: stateless }}\nload:\n  model: {model}\n  phases:\n    - {{ duration: 2s, {each}, record: false }}\n    - {{ duration: {}ms, {each} }}\nmix:\n  - {{ target: t, tool: {tool}, args: {args} }}\n",
        duration.as_millis()
    );
    let scenario = Scenario::from_yaml(Path::new("calibrate.yaml"), &text)?;
    let endpoints = BTreeMap::from([(
        "t".to_owned(),
        Endpoint::new(url, Mode::Stateless, Protocol::Auto),
    )]);
    let run = mcp_slo_engine::run::run(&scenario, endpoints, None).await?;
    let overall = run.measurements.recorder.overall();
    if overall.outcomes.failed() > 0 {
        return Err(anyhow!(
            "the harness run ({load:?}) had {} failed calls of {}",
            overall.outcomes.failed(),
            overall.outcomes.total()
        ));
    }
    let h = &overall.latency;
    Ok(Figures {
        p50: h.value_at_quantile(0.5) as f64,
        p90: h.value_at_quantile(0.9) as f64,
        p99: h.value_at_quantile(0.99) as f64,
        rate: overall.outcomes.ok as f64 / run.measurements.recorded_seconds.max(1e-9),
    })
}

fn oha_version(oha: &Path) -> Option<String> {
    let out = std::process::Command::new(oha)
        .arg("--version")
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// oha on the same call: `-q RATE --latency-correction` (from the intended start), or flat
/// out without a rate. A 2 s warm-up run first.
async fn oha_run(
    oha: &Path,
    endpoint: &Endpoint,
    tool: &str,
    args: serde_json::Value,
    rate: Option<f64>,
    duration: Duration,
    connections: u32,
) -> Result<Figures, anyhow::Error> {
    let method = mcp_slo_core::spec::ops::Method::CallTool(tool.to_owned());
    let params = method.params(args, None);
    let (headers, body) = endpoint.wire_request(method.name(), params, Some(tool));
    let body = String::from_utf8(body).context("request body")?;
    let run = |seconds: f64| {
        let mut cmd = tokio::process::Command::new(oha);
        // No Accept-Encoding: the harness asks for no compression either. As many
        // threads as the harness's load engine takes by default (one per two cores).
        cmd.args([
            "--no-tui",
            "--output-format",
            "json",
            "--disable-compression",
            "--worker-threads",
            &mcp_slo_core::spec::default_threads().to_string(),
        ])
        .args(["-m", "POST", "-c"])
        .arg(connections.to_string())
        .arg("-z")
        .arg(format!("{seconds}s"))
        .args(["-d", &body]);
        if let Some(r) = rate {
            cmd.args(["-q", &r.to_string(), "--latency-correction"]);
        }
        for (k, v) in &headers {
            cmd.arg("-H").arg(format!("{k}: {v}"));
        }
        cmd.arg(&endpoint.url);
        cmd
    };
    let _ = run(2.0).output().await;
    let out = run(duration.as_secs_f64())
        .output()
        .await
        .context("running oha")?;
    if !out.status.success() {
        return Err(anyhow!(
            "oha failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).context("oha's JSON")?;
    let pct = |k: &str| v["latencyPercentiles"][k].as_f64().unwrap_or(f64::NAN) * 1e6;
    let ok = v["statusCodeDistribution"]["200"].as_f64().unwrap_or(0.0);
    Ok(Figures {
        p50: pct("p50"),
        p90: pct("p90"),
        p99: pct("p99"),
        rate: ok / v["summary"]["total"].as_f64().unwrap_or(1.0).max(1e-9),
    })
}

/// The local tier as `run` starts it, stateless with limits lifted and audit off.
async fn spawn_local() -> Result<(crate::run::Started, String), anyhow::Error> {
    let text = "version: mcp-slo/v1\nname: calibrate\ntargets:\n  local: { spawn: { server: local, args: [--lift-limits, --audit, \"off\"] }, mode: stateless }\nload:\n  model: open\n  phases: [ { duration: 1s, rate: 1/s } ]\nmix: [ { target: local, tool: file_read, args: { path: reports/daily.csv } } ]\n";
    let scenario = Scenario::from_yaml(Path::new("calibrate.yaml"), text)?;
    let mut started = crate::run::Started::new(mcp_slo_backends::Choice::Auto);
    let out = std::env::temp_dir().join(format!("mcp-slo-calibrate-{}", std::process::id()));
    std::fs::create_dir_all(&out)?;
    let endpoints = match crate::run::start_targets(&scenario, &out, &[], &mut started).await {
        Ok((endpoints, _)) => endpoints,
        Err(Outcome::Invalid(e) | Outcome::Infrastructure(e)) => {
            started.stop().await;
            return Err(e);
        }
        Err(_) => return Err(anyhow!("the local tier did not start")),
    };
    let url = endpoints["local"].url.clone();
    Ok((started, url))
}
