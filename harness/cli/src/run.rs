//! `validate` and `run`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context as _, anyhow};
use mcp_slo_backends::Choice;
use mcp_slo_core::feasibility;
use mcp_slo_core::measure::RunRecord;
use mcp_slo_core::result::{Finding, FindingSeverity, RunResult, Verdict};
use mcp_slo_core::spec::Scenario;
use mcp_slo_engine::faults::{Proxies, Stage, inject};
use mcp_slo_engine::probes::{ProbeLog, run_probes};
use mcp_slo_engine::run::run_observed;

use crate::Outcome;
use crate::assemble::assemble;
use crate::progress::Display;
use crate::publish::{Publish, publish_run};
use crate::sampling::Sampling;
use crate::shard::Launch;
use crate::targets::{Started, start_targets};

fn print_findings(findings: &[Finding]) {
    for f in findings {
        eprintln!("  {}: {}", f.severity, f.message);
    }
}

/// Loads and checks a scenario; infeasible objectives are input errors.
pub fn load(path: &Path) -> Result<(Scenario, Vec<Finding>), anyhow::Error> {
    let scenario = Scenario::load(path)?;
    let findings = feasibility::check(&scenario);
    let errors: Vec<&Finding> = findings
        .iter()
        .filter(|f| f.severity == FindingSeverity::Error)
        .collect();
    if !errors.is_empty() {
        let lines: Vec<String> = errors.iter().map(|f| format!("  {}", f.message)).collect();
        return Err(anyhow!(
            "{}: objectives that cannot be met:\n{}",
            path.display(),
            lines.join("\n")
        ));
    }
    Ok((scenario, findings))
}

pub fn validate(paths: &[PathBuf]) -> Outcome {
    let mut failed = Vec::new();
    for path in paths {
        match load(path) {
            Ok((scenario, findings)) => {
                println!("ok: {} ({})", path.display(), scenario.name);
                print_findings(&findings);
            }
            Err(e) => {
                println!("invalid: {}", path.display());
                failed.push(e);
            }
        }
    }
    if failed.is_empty() {
        Outcome::Pass
    } else {
        let all: Vec<String> = failed.iter().map(|e| format!("{e:#}")).collect();
        Outcome::Invalid(anyhow!("{}", all.join("\n")))
    }
}

fn default_out(scenario: &Scenario) -> PathBuf {
    let stamp = humantime_stamp();
    PathBuf::from("reports").join(format!("{}-{stamp}", scenario.name))
}

/// YYYYMMDD-HHMMSS, UTC.
pub(crate) fn humantime_stamp() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now())
        .to_string()
        .chars()
        .filter_map(|c| match c {
            '-' | ':' | 'Z' => None,
            'T' => Some('-'),
            c => Some(c),
        })
        .collect()
}

/// How `run` (or `soak`) runs a scenario beside what the scenario says.
pub struct RunOptions {
    /// A server process to sample besides the spawned ones (`--target-pid`).
    pub target_pid: Option<u32>,
    /// Plain progress lines instead of a progress bar.
    pub plain: bool,
    pub backends: Choice,
    pub publish: Option<Publish>,
    /// Its share and start beside other shards.
    pub launch: Launch,
}

pub async fn run(
    path: &Path,
    out: Option<PathBuf>,
    shard: (Option<&str>, Option<&str>),
    mut options: RunOptions,
) -> Outcome {
    let (share, out) = match shard.0.map(|s| crate::shard::resolve(s, out.clone())) {
        None => (None, out),
        Some(Ok((s, out))) => (Some(s), out),
        Some(Err(e)) => return Outcome::Invalid(e),
    };
    let (mut scenario, findings) = match load(path) {
        Ok(x) => x,
        Err(e) => return Outcome::Invalid(e),
    };
    if options.publish.is_some() && scenario.alarms.is_none() {
        return Outcome::Invalid(anyhow!(
            "{}: --publish-cloudwatch needs an alarms section to publish",
            path.display()
        ));
    }
    options.launch = match Launch::new(path, &scenario.name, share, shard.1) {
        Ok(l) => l,
        Err(e) => return Outcome::Invalid(e),
    };
    if let Some(s) = share {
        scenario = match scenario.shard(s) {
            Ok(share) => share,
            Err(e) => return Outcome::Invalid(e.into()),
        };
    }
    run_loaded(&scenario, findings, out, options).await
}

/// Runs a scenario already loaded and checked (`run`'s, or one `soak` made).
pub async fn run_loaded(
    scenario: &Scenario,
    findings: Vec<Finding>,
    out: Option<PathBuf>,
    options: RunOptions,
) -> Outcome {
    let out = out.unwrap_or_else(|| default_out(scenario));
    if let Err(e) = std::fs::create_dir_all(&out) {
        return Outcome::Infrastructure(anyhow!("cannot create {}: {e}", out.display()));
    }
    let mut started = Started::new(options.backends);
    let result = run_with_targets(scenario, findings, &out, &options, &mut started).await;
    started.stop().await;
    result
}

async fn run_with_targets(
    scenario: &Scenario,
    findings: Vec<Finding>,
    out: &Path,
    options: &RunOptions,
    started: &mut Started,
) -> Outcome {
    let (target_pid, plain) = (options.target_pid, options.plain);
    // Before the targets: a target may reach its backend through one of them.
    let proxies = match Proxies::start(&scenario.proxies).await {
        Ok(p) => p,
        Err(e) => return Outcome::Infrastructure(anyhow!("{e}")),
    };
    let (endpoints, mut infos) = match start_targets(scenario, out, &[], started).await {
        Ok(t) => t,
        Err(outcome) => return outcome,
    };
    let mut sampling = Sampling::start(scenario, started, target_pid, &infos);
    let mut pages = Vec::new();
    crate::server_metrics::read(scenario, &endpoints, &mut pages, false).await;
    options.launch.wait().await;
    let engine = if scenario.has_load() {
        let (display, reporter) = Display::new(scenario.load.total(), plain);
        eprintln!(
            "running {} ({:?} model, {} phases, {:.0}s) against {}",
            scenario.name,
            scenario.load.model,
            scenario.load.phases.len(),
            scenario.load.total().as_secs_f64(),
            infos
                .iter()
                .map(|i| i.url.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
        let (origin_tx, origin_rx) = tokio::sync::oneshot::channel();
        let load = run_observed(scenario, endpoints.clone(), Some(reporter), Some(origin_tx));
        let dir = scenario_dir(scenario);
        let faults = async {
            let Ok(origin) = origin_rx.await else {
                return (Vec::new(), None);
            };
            let stage = Stage {
                dir: &dir,
                proxies: &proxies,
                spawned: &mut started.spawned,
            };
            let windows = inject(&scenario.faults, origin, stage, &|line| {
                eprintln!("  {line}")
            })
            .await;
            (windows, Some(origin.into_std()))
        };
        let (engine, (windows, origin)) = tokio::join!(load, faults);
        display.finish();
        match engine {
            Ok(mut e) => {
                e.faults = windows;
                e.footprints = sampling.footprints(origin);
                e
            }
            Err(e) => return Outcome::Infrastructure(e.into()),
        }
    } else {
        RunRecord::empty(std::time::SystemTime::now())
    };
    let mut engine = engine;
    crate::server_metrics::read(scenario, &endpoints, &mut pages, true).await;
    engine.metrics_pages = pages;
    // Cost is the load's alone: probes run after sampling stops.
    sampling.stop();
    let probe_results = match &scenario.probes {
        Some(probes) => {
            let Some(endpoint) = endpoints.get(&probes.target) else {
                return Outcome::Invalid(anyhow!(
                    "probes.target {} is not a target",
                    probes.target
                ));
            };
            eprintln!("probing {} at {}", probes.target, endpoint.url);
            let log: ProbeLog = Arc::new(|line: &str| eprintln!("  {line}"));
            match run_probes(probes, endpoint, log).await {
                Ok(r) => r,
                Err(e) => return Outcome::Infrastructure(e.into()),
            }
        }
        None => Vec::new(),
    };
    let (costs, cost_findings) = sampling.costs(scenario, &engine);
    let findings = findings.into_iter().chain(cost_findings).collect();
    crate::target_oauth::count_fetches(&mut infos, &endpoints);
    let mut result = assemble(scenario, &engine, infos, findings, costs, probe_results);
    if let (Some(target), Some(checks)) = (&options.publish, &scenario.alarms) {
        eprintln!(
            "publishing to CloudWatch namespace {} at {}",
            target.namespace,
            target
                .endpoint
                .as_deref()
                .unwrap_or("the AWS default endpoint")
        );
        if let Err(e) = publish_run(target, &checks.alarms, engine.started_at, &mut result).await {
            return Outcome::Infrastructure(e.into());
        }
    }
    if let Some(mark) = &options.launch.shard {
        result.shard = Some(mark.clone());
        if let Err(e) = crate::shard::write_record(out, &engine) {
            return Outcome::Infrastructure(e);
        }
    }
    finish(scenario, result, out)
}

/// Compares with the scenario's baseline, writes every report and prints the table; the
/// verdict is the outcome, but for one shard's share (its verdict is the merged run's).
pub fn finish(scenario: &Scenario, mut result: RunResult, out: &Path) -> Outcome {
    if let Some(baseline) = &scenario.baseline
        && result.shard.is_none()
        && let Err(e) = crate::compare::baseline_objective(baseline, &mut result, out)
    {
        return Outcome::Infrastructure(e.context("comparing with the baseline"));
    }
    let written = mcp_slo_report::write_all(out, &result)
        .with_context(|| format!("writing the report to {}", out.display()));
    println!("{}", mcp_slo_report::console_table(&result));
    match written {
        Ok(_) => println!("report: {}", out.display()),
        Err(e) => return Outcome::Infrastructure(e),
    }
    if let Some(mark) = &result.shard {
        println!(
            "shard {}/{} of {}: its share is not judged alone; merge every shard's report directory (mcp-slo merge) for the run's verdict",
            mark.index, mark.count, mark.scenario
        );
        return Outcome::Pass;
    }
    match result.verdict {
        Verdict::Pass => Outcome::Pass,
        Verdict::Fail => Outcome::Fail,
        Verdict::Inconclusive => Outcome::Inconclusive,
    }
}

/// Where a scenario's fault commands run: the directory of its file.
fn scenario_dir(scenario: &Scenario) -> PathBuf {
    match scenario.file.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}
