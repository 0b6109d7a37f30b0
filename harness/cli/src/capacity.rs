//! `mcp-slo capacity`: the highest offered rate at which a tier meets every objective of a
//! scenario. The search, each step's verdict and the summary (knee, USL fit) are
//! `mcp_slo_core::verdict::capacity`'s; here the targets are started, the steps run and
//! the report written.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::anyhow;
use mcp_slo_core::spec::Scenario;
use mcp_slo_core::units::parse_rate;
use mcp_slo_core::verdict::capacity::{
    CapacityReport, Search, Step, judge_step, step_scenario, summarize,
};
use mcp_slo_engine::client::Endpoint;
use mcp_slo_report::{CapacityStep, CapacityView, capacity_page};

use crate::Outcome;
use crate::targets::{Started, start_targets};

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

/// Runs the steps the search asks for, over an already running set of endpoints.
async fn search(
    scenario: &Scenario,
    endpoints: &BTreeMap<String, Endpoint>,
    mut search: Search,
    hold: Duration,
) -> Result<Vec<Step>, anyhow::Error> {
    let mut steps = Vec::new();
    while let Some(rate) = search.next_rate() {
        let step = step_scenario(scenario, rate, hold);
        let run = mcp_slo_engine::run::run(&step, endpoints.clone(), None).await?;
        let s = judge_step(scenario, rate, &run.measurements);
        eprintln!(
            "  {:>8.1}/s offered: {:>8.1}/s ok, p99 {:.1} ms, errors {:.2}% → {}",
            s.offered,
            s.achieved,
            s.p99_ms,
            s.error_rate * 100.0,
            if s.passed { "pass" } else { "FAIL" }
        );
        search.record(rate, s.passed);
        steps.push(s);
    }
    Ok(steps)
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
    // Before the targets: a target may reach its backend through one of them.
    let proxies = match mcp_slo_engine::faults::Proxies::start(&scenario.proxies).await {
        Ok(p) => p,
        Err(e) => return Outcome::Infrastructure(anyhow!("{e}")),
    };
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
        Search::new(start, max, args.factor, precision),
        hold,
    )
    .await;
    started.stop().await;
    drop(proxies);
    let steps = match steps {
        Ok(s) => s,
        Err(e) => return Outcome::Infrastructure(e),
    };
    let limits = if args.lifted {
        "lifted (--lift-limits: what the code and backends can do)"
    } else {
        "in place (what callers get)"
    };
    let report = summarize(&scenario.name, limits, steps);
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
