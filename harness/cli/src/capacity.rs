//! `mcp-slo capacity`: the highest offered rate at which a tier meets every objective of a
//! scenario. Open-model steps of increasing rate (each a short unjudged warm-up, then a
//! judged hold) until one misses an objective, then bisection until the highest passing
//! and lowest failing rates are within the precision. The report gives that rate, the knee
//! of the latency curve (Kneedle) and a Universal Scalability Law fit of the steps.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::anyhow;
use mcp_slo_core::slo;
use mcp_slo_core::spec::{Load, LoadModel, Phase, Scenario};
use mcp_slo_core::stats::{UslFit, knee, littles_law_concurrency, usl_fit, usl_predict};
use mcp_slo_core::units::parse_rate;
use mcp_slo_engine::client::Endpoint;
use mcp_slo_report::{CapacityStep, CapacityView, capacity_page};
use serde::Serialize;

use crate::Outcome;
use crate::run::{Started, start_targets};

#[derive(Debug, clap::Args)]
pub struct CapacityArgs {
    /// First offered rate.
    #[arg(long, default_value = "25/s")]
    pub start: String,
    /// Highest rate to try.
    #[arg(long, default_value = "20000/s")]
    pub max: String,
    /// Each step multiplies the rate by this until a step fails.
    #[arg(long, default_value_t = 2.0)]
    pub factor: f64,
    /// How long each step is judged (after a 1 s warm-up at twice the rate).
    #[arg(long, default_value = "6s")]
    pub hold: String,
    /// Bisection stops when the failing rate is within this of the passing one.
    #[arg(long, default_value = "5%")]
    pub precision: String,
    /// Start spawned servers with --lift-limits (what the code and backends can do, for
    /// planning) instead of with the tier's limits (what callers get).
    #[arg(long)]
    pub lifted: bool,
    /// Where the spawned servers' backends come from: auto (environment, then loopback
    /// services, then containers, then embedded), env, containers or embedded.
    #[arg(long, default_value = "auto", env = "MCP_SLO_BACKENDS")]
    pub backends: mcp_slo_backends::Choice,
    /// Report directory (default: reports/<scenario>-capacity).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Serialize)]
struct Step {
    offered: f64,
    achieved: f64,
    p99_ms: f64,
    mean_ms: f64,
    error_rate: f64,
    /// Calls in the system on average (Little's law: achieved rate × mean latency).
    concurrency: Option<f64>,
    /// Throughput the USL fit predicts at that concurrency.
    usl_predicted: Option<f64>,
    passed: bool,
    failed_objectives: Vec<String>,
}

#[derive(Debug, Serialize)]
struct CapacityReport {
    scenario: String,
    limits: &'static str,
    /// The highest offered rate that met every objective.
    max_rate: Option<f64>,
    /// The lowest that did not.
    first_failing_rate: Option<f64>,
    knee_rate: Option<f64>,
    usl: Option<UslSummary>,
    steps: Vec<Step>,
}

#[derive(Debug, Serialize)]
struct UslSummary {
    lambda: f64,
    sigma: f64,
    kappa: f64,
    r_squared: f64,
    /// Predicted peak throughput (calls/s) and the concurrency it is reached at.
    peak_throughput: Option<f64>,
    peak_concurrency: Option<f64>,
}

/// One step: a one-second warm-up at twice the rate, then the judged hold. The warm-up
/// also spends whatever burst a rate limiter has saved up (a bucket is typically one second
/// of its rate), so the hold sees the sustained rate callers get, not the burst on top.
fn step_load(base: &Load, rate: f64, hold: Duration) -> Load {
    let phase = |name: &str, rate: f64, duration, record| Phase {
        name: name.to_owned(),
        duration,
        rate: Some(rate),
        users: None,
        record,
        mix: None,
    };
    Load {
        model: LoadModel::Open,
        phases: vec![
            phase("warmup", rate * 2.0, Duration::from_secs(1), false),
            phase("step", rate, hold, true),
        ],
        max_users: base.max_users.max(64),
        threads: base.threads,
        callers: base.callers,
        timeout: base.timeout,
        seed: base.seed,
        retries: base.retries,
    }
}

async fn run_step(
    scenario: &Scenario,
    endpoints: &BTreeMap<String, Endpoint>,
    rate: f64,
    hold: Duration,
) -> Result<Step, anyhow::Error> {
    let mut step = scenario.clone();
    step.load = step_load(&scenario.load, rate, hold);
    step.probes = None;
    step.alarms = None;
    let run = mcp_slo_engine::run::run(&step, endpoints.clone(), None).await?;
    let m = &run.measurements;
    let overall = m.recorder.overall();
    let summary = slo::summary(&overall, m.recorded_seconds);
    let failed: Vec<String> = scenario
        .objectives
        .iter()
        .map(|o| slo::evaluate(o, m))
        .filter(|r| !r.passed)
        .map(|r| format!("{}: {}", r.name, r.measured))
        .collect();
    let s = Step {
        offered: rate,
        achieved: summary.throughput,
        p99_ms: summary.latency.p99_us as f64 / 1e3,
        mean_ms: summary.latency.mean_us / 1e3,
        error_rate: summary.error_rate,
        concurrency: littles_law_concurrency(summary.throughput, summary.latency.mean_us / 1e6),
        usl_predicted: None,
        passed: failed.is_empty(),
        failed_objectives: failed,
    };
    eprintln!(
        "  {:>8.1}/s offered: {:>8.1}/s ok, p99 {:.1} ms, errors {:.2}% → {}",
        s.offered,
        s.achieved,
        s.p99_ms,
        s.error_rate * 100.0,
        if s.passed { "pass" } else { "FAIL" }
    );
    Ok(s)
}

/// The search itself, over an already running set of endpoints.
async fn search(
    scenario: &Scenario,
    endpoints: &BTreeMap<String, Endpoint>,
    (start, max, factor, precision): (f64, f64, f64, f64),
    hold: Duration,
) -> Result<Vec<Step>, anyhow::Error> {
    let mut steps = Vec::new();
    let mut rate = start;
    let (mut lo, mut hi): (Option<f64>, Option<f64>) = (None, None);
    while rate <= max {
        let s = run_step(scenario, endpoints, rate, hold).await?;
        let passed = s.passed;
        steps.push(s);
        if passed {
            lo = Some(rate);
            rate *= factor;
        } else {
            hi = Some(rate);
            break;
        }
    }
    if let (Some(mut l), Some(mut h)) = (lo, hi) {
        while (h - l) / l > precision {
            let mid = (l + h) / 2.0;
            let s = run_step(scenario, endpoints, mid, hold).await?;
            if s.passed {
                l = mid;
            } else {
                h = mid;
            }
            steps.push(s);
        }
    }
    Ok(steps)
}

fn summarize(scenario: &Scenario, lifted: bool, mut steps: Vec<Step>) -> CapacityReport {
    steps.sort_by(|a, b| a.offered.total_cmp(&b.offered));
    let max_rate = steps
        .iter()
        .filter(|s| s.passed)
        .map(|s| s.offered)
        .reduce(f64::max);
    let first_failing_rate = steps
        .iter()
        .filter(|s| !s.passed)
        .map(|s| s.offered)
        .reduce(f64::min);
    let curve: Vec<(f64, f64)> = steps.iter().map(|s| (s.offered, s.p99_ms)).collect();
    let knee_rate = knee(&curve).and_then(|i| curve.get(i)).map(|p| p.0);
    let points: Vec<(f64, f64)> = steps
        .iter()
        .filter_map(|s| Some((s.concurrency?, s.achieved)))
        .collect();
    let fit = usl_fit(&points);
    if let Some(f) = &fit {
        for s in &mut steps {
            s.usl_predicted = s.concurrency.map(|n| usl_predict(f, n));
        }
    }
    CapacityReport {
        scenario: scenario.name.clone(),
        limits: if lifted {
            "lifted (--lift-limits: what the code and backends can do)"
        } else {
            "in place (what callers get)"
        },
        max_rate,
        first_failing_rate,
        knee_rate,
        usl: fit.map(|f: UslFit| UslSummary {
            lambda: f.lambda,
            sigma: f.sigma,
            kappa: f.kappa,
            r_squared: f.r_squared,
            peak_throughput: f.peak_x,
            peak_concurrency: f.peak_n,
        }),
        steps,
    }
}

/// `capacity.json` and `capacity.html` (steps by offered rate, the knee marked, the USL
/// curve over the measured steps).
fn write(out: &Path, report: &CapacityReport) -> Result<(), anyhow::Error> {
    std::fs::create_dir_all(out)?;
    std::fs::write(
        out.join("capacity.json"),
        serde_json::to_vec_pretty(report)?,
    )?;
    let view = CapacityView {
        steps: report
            .steps
            .iter()
            .map(|s| CapacityStep {
                offered: s.offered,
                achieved: s.achieved,
                p99_ms: s.p99_ms,
                passed: s.passed,
            })
            .collect(),
        knee: report
            .knee_rate
            .and_then(|k| report.steps.iter().position(|s| s.offered == k)),
        max_rate: report.max_rate,
        usl: report
            .steps
            .iter()
            .filter_map(|s| Some((s.offered, s.usl_predicted?)))
            .collect(),
    };
    std::fs::write(
        out.join("capacity.html"),
        capacity_page(&report.scenario, report.limits, &view),
    )?;
    Ok(())
}

pub async fn capacity(path: &Path, args: &CapacityArgs) -> Outcome {
    let scenario = match Scenario::load(path) {
        Ok(s) => s,
        Err(e) => return Outcome::Invalid(e.into()),
    };
    let parse = |name: &str, v: &str| parse_rate(v).map_err(|e| anyhow!("--{name}: {e}"));
    let (start, max) = match (parse("start", &args.start), parse("max", &args.max)) {
        (Ok(s), Ok(m)) => (s, m),
        (Err(e), _) | (_, Err(e)) => return Outcome::Invalid(e),
    };
    let precision = match mcp_slo_core::units::parse_percent(&args.precision) {
        Ok(p) if p > 0.0 => p,
        _ => {
            return Outcome::Invalid(anyhow!(
                "--precision: {:?} is not a positive percentage",
                args.precision
            ));
        }
    };
    let hold = match mcp_slo_core::units::parse_duration(&args.hold) {
        Ok(h) if h >= Duration::from_secs(2) => h,
        _ => {
            return Outcome::Invalid(anyhow!(
                "--hold: {:?} must be a duration of 2s or more",
                args.hold
            ));
        }
    };
    if args.factor.is_nan()
        || args.factor <= 1.0
        || scenario.objectives.is_empty()
        || scenario.mix.is_empty()
    {
        return Outcome::Invalid(anyhow!(
            "{}: capacity needs a mix, at least one objective and --factor above 1",
            path.display()
        ));
    }
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("reports").join(format!("{}-capacity", scenario.name)));
    if let Err(e) = std::fs::create_dir_all(&out) {
        return Outcome::Infrastructure(anyhow!("cannot create {}: {e}", out.display()));
    }
    let mut started = Started::new(args.backends);
    let extra = if args.lifted {
        vec!["--lift-limits".to_owned()]
    } else {
        Vec::new()
    };
    let endpoints = match start_targets(&scenario, &out, &extra, &mut started).await {
        Ok((endpoints, _)) => endpoints,
        Err(outcome) => {
            started.stop().await;
            return outcome;
        }
    };
    eprintln!(
        "capacity of {} (limits {}): steps from {start}/s ×{}, {} each",
        scenario.name,
        if args.lifted { "lifted" } else { "in place" },
        args.factor,
        args.hold
    );
    let steps = search(
        &scenario,
        &endpoints,
        (start, max, args.factor, precision),
        hold,
    )
    .await;
    started.stop().await;
    let steps = match steps {
        Ok(s) => s,
        Err(e) => return Outcome::Infrastructure(e),
    };
    let report = summarize(&scenario, args.lifted, steps);
    if let Err(e) = write(&out, &report) {
        return Outcome::Infrastructure(anyhow!("writing {}: {e}", out.display()));
    }
    match report.max_rate {
        Some(r) => println!(
            "capacity: {r:.1}/s meets every objective (limits {}); first failing {}; knee {}; report: {}",
            report.limits,
            report
                .first_failing_rate
                .map_or("none up to --max".to_owned(), |f| format!("{f:.1}/s")),
            report
                .knee_rate
                .map_or("not found".to_owned(), |k| format!("{k:.1}/s")),
            out.display()
        ),
        None => println!(
            "capacity: even {start}/s misses an objective; report: {}",
            out.display()
        ),
    }
    if report.max_rate.is_some() {
        Outcome::Pass
    } else {
        Outcome::Fail
    }
}
