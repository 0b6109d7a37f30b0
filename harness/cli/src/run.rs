//! `validate` and `run`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context as _, anyhow};
use mcp_slo_backends::{Choice, Containers, Service};
use mcp_slo_core::feasibility;
use mcp_slo_core::measure::RunRecord;
use mcp_slo_core::result::{
    BuildProfile, Finding, FindingSeverity, TargetCost, TargetInfo, Verdict,
};
use mcp_slo_core::spec::{Endpoint as SpecEndpoint, Mode, Scenario};
use mcp_slo_engine::client::Endpoint;
use mcp_slo_engine::probes::{ProbeLog, run_probes};
use mcp_slo_engine::sampler::Sampler;
use mcp_slo_engine::spawn::{Spawned, spawn};

use crate::Outcome;
use crate::assemble::assemble;
use crate::cost::{self, Measured};
use crate::progress::Display;
use crate::publish::{Publish, publish_run};

fn print_findings(findings: &[Finding]) {
    for f in findings {
        eprintln!("  {}: {}", f.severity, f.message);
    }
}

/// Loads and checks a scenario; infeasible objectives are input errors.
fn load(path: &Path) -> Result<(Scenario, Vec<Finding>), anyhow::Error> {
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
fn humantime_stamp() -> String {
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

pub async fn run(
    path: &Path,
    out: Option<PathBuf>,
    (target_pid, plain): (Option<u32>, bool),
    backends: Choice,
    publish: Option<Publish>,
) -> Outcome {
    let (scenario, findings) = match load(path) {
        Ok(x) => x,
        Err(e) => return Outcome::Invalid(e),
    };
    if publish.is_some() && scenario.alarms.is_none() {
        return Outcome::Invalid(anyhow!(
            "{}: --publish-cloudwatch needs an alarms section to publish",
            path.display()
        ));
    }
    let out = out.unwrap_or_else(|| default_out(&scenario));
    if let Err(e) = std::fs::create_dir_all(&out) {
        return Outcome::Infrastructure(anyhow!("cannot create {}: {e}", out.display()));
    }
    let mut started = Started::new(backends);
    let result = run_with_targets(
        &scenario,
        findings,
        &out,
        (target_pid, plain),
        publish.as_ref(),
        &mut started,
    )
    .await;
    started.stop().await;
    result
}

async fn run_with_targets(
    scenario: &Scenario,
    findings: Vec<Finding>,
    out: &Path,
    (target_pid, plain): (Option<u32>, bool),
    publish: Option<&Publish>,
    started: &mut Started,
) -> Outcome {
    let (endpoints, mut infos) = match start_targets(scenario, out, &[], started).await {
        Ok(t) => t,
        Err(outcome) => return outcome,
    };
    let sampled = sampled_processes(scenario, started, target_pid, &infos);
    let samplers: Vec<Sampler> = sampled
        .iter()
        .map(|(_, _, pid)| Sampler::new(*pid))
        .collect();
    let samplers = Arc::new(Mutex::new(samplers));
    let sampling = (!sampled.is_empty()).then(|| {
        let samplers = samplers.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Sampler::INTERVAL);
            loop {
                tick.tick().await;
                let mut samplers = samplers.lock().unwrap_or_else(|p| p.into_inner());
                samplers.iter_mut().for_each(Sampler::tick);
            }
        })
    });
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
        let engine = mcp_slo_engine::run::run(scenario, endpoints.clone(), Some(reporter)).await;
        display.finish();
        match engine {
            Ok(e) => e,
            Err(e) => {
                if let Some(task) = sampling {
                    task.abort();
                }
                return Outcome::Infrastructure(e.into());
            }
        }
    } else {
        RunRecord::empty(std::time::SystemTime::now())
    };
    // Cost is the load's alone: probes run after sampling stops.
    if let Some(task) = sampling {
        task.abort();
    }
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
    let (costs, cost_findings) = costs(scenario, &engine, &sampled, &samplers);
    let findings = findings.into_iter().chain(cost_findings).collect();
    crate::target_oauth::count_fetches(&mut infos, &endpoints);
    let mut result = assemble(scenario, &engine, infos, findings, costs, probe_results);
    if let (Some(target), Some(checks)) = (publish, &scenario.alarms) {
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
    if let Some(baseline) = &scenario.baseline
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
    match result.verdict {
        Verdict::Pass => Outcome::Pass,
        Verdict::Fail => Outcome::Fail,
    }
}

/// The processes whose cost a run samples: every spawned target, and `--target-pid` (placed
/// on the scenario's one target given by URL, if it has exactly one) unless it is one of
/// them. Each with its target and build profile.
type SampledProcess = (Option<String>, Option<BuildProfile>, u32);

fn sampled_processes(
    scenario: &Scenario,
    started: &Started,
    target_pid: Option<u32>,
    infos: &[TargetInfo],
) -> Vec<SampledProcess> {
    let mut sampled: Vec<SampledProcess> = started
        .spawned
        .iter()
        .map(|(name, s)| (Some(name.clone()), s.build_profile, s.pid))
        .collect();
    if let Some(pid) = target_pid
        && !sampled.iter().any(|(_, _, p)| *p == pid)
    {
        let servers = cost::servers(scenario);
        let by_url: Vec<&TargetInfo> = infos
            .iter()
            .filter(|i| !i.spawned && servers.contains(&i.name))
            .collect();
        match by_url.as_slice() {
            [only] => sampled.push((Some(only.name.clone()), only.build_profile, pid)),
            _ => sampled.push((None, None, pid)),
        }
    }
    sampled
}

/// Each sampled process's cost over its own target's calls, and the findings that explain
/// what could not be divided.
fn costs(
    scenario: &Scenario,
    engine: &RunRecord,
    sampled: &[SampledProcess],
    samplers: &Mutex<Vec<Sampler>>,
) -> (Vec<TargetCost>, Vec<Finding>) {
    let samplers = samplers.lock().unwrap_or_else(|p| p.into_inner());
    let measured: Vec<Measured> = sampled
        .iter()
        .zip(samplers.iter())
        .filter_map(|((target, build_profile, _), sampler)| {
            Some(Measured {
                target: target.clone(),
                build_profile: *build_profile,
                usage: sampler.usage()?,
            })
        })
        .collect();
    let split = cost::split_calls(
        &cost::servers(scenario),
        &cost::label_targets(scenario),
        &cost::calls_by_label(&engine.measurements.recorder),
    );
    cost::divide(&split, &measured)
}

/// What a run started: its servers and their backends' containers. `stop` ends them.
pub struct Started {
    backends: Choice,
    /// Each spawned server with its target's name.
    pub spawned: Vec<(String, Spawned)>,
    containers: Containers,
}

impl Started {
    pub fn new(backends: Choice) -> Self {
        Started {
            backends,
            spawned: Vec::new(),
            containers: Containers::default(),
        }
    }

    /// Stops the servers (graceful shutdown first), then removes the containers.
    pub async fn stop(self) {
        for (_, s) in self.spawned {
            s.stop(Duration::from_secs(10)).await;
        }
        drop(self.containers);
    }
}

/// The client that settles each target's revision before the run.
fn reqwest_client() -> mcp_slo_engine::client::Http {
    mcp_slo_engine::reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap_or_default()
        .into()
}

/// Starts the scenario's spawned targets (with `extra_args` added, e.g. `--lift-limits`)
/// on the backends the resolution picks (see `mcp_slo_backends`), and resolves every
/// target's endpoint and token. What starts goes into `started`, so the caller stops it
/// whatever happens next.
pub async fn start_targets(
    scenario: &Scenario,
    out: &Path,
    extra_args: &[String],
    started: &mut Started,
) -> Result<(BTreeMap<String, Endpoint>, Vec<TargetInfo>), Outcome> {
    let mut endpoints = BTreeMap::new();
    let mut infos = Vec::new();
    let negotiating = reqwest_client();
    // Targets with their own server first, so a same_server_as target finds its URL.
    let mut order: Vec<(&String, &mcp_slo_core::spec::Target)> = scenario.targets.iter().collect();
    order.sort_by_key(|(_, t)| t.same_server_as.is_some());
    for (name, target) in order {
        let shared = target.same_server_as.as_ref().and_then(|other| {
            let info = infos.iter().find(|i: &&TargetInfo| &i.name == other)?;
            Some((
                info.url.clone(),
                info.spawned,
                info.backends.clone(),
                info.build_profile,
            ))
        });
        let (url, is_spawned, backends, build_profile) = match (&target.endpoint, shared) {
            (_, Some(shared)) => shared,
            (SpecEndpoint::Url(url), None) => {
                let profile = mcp_slo_engine::build_info::build_profile(url).await;
                (url.clone(), false, Vec::new(), profile)
            }
            (SpecEndpoint::Spawn { server, args }, None) => {
                let infra = |e: String| Outcome::Infrastructure(anyhow!("target {name}: {e}"));
                let decisions = mcp_slo_backends::decide(
                    Service::needed_by(server),
                    started.backends,
                    &mcp_slo_backends::System,
                )
                .map_err(|e| infra(e.to_string()))?;
                let plan = mcp_slo_backends::provision(
                    &decisions,
                    &mcp_slo_backends::embedded_dir(name),
                    &mcp_slo_backends::repo_root(),
                    &mut started.containers,
                )
                .await
                .map_err(|e| infra(e.to_string()))?;
                let served = mcp_slo_core::result::describe_backends(&plan.served);
                eprintln!("target {name}: backends {served}");
                let args: Vec<String> = args
                    .iter()
                    .chain(extra_args)
                    .chain(&plan.args)
                    .cloned()
                    .collect();
                match spawn(server, target.mode, &args, &plan.env, out).await {
                    Ok(s) => {
                        let (url, profile) = (s.url.clone(), s.build_profile);
                        started.spawned.push((name.clone(), s));
                        (url, true, plan.served, profile)
                    }
                    Err(e) => {
                        return Err(infra(format!(
                            "{e}\nits backends: {served}\n(a loopback service may lack the role or fixtures: run scripts/setup-services.sh, or pass --backends embedded)"
                        )));
                    }
                }
            }
        };
        let token = match &target.token_env {
            Some(var) => match std::env::var(var) {
                Ok(t) => Some(t),
                Err(_) => {
                    return Err(Outcome::Invalid(anyhow!(
                        "target {name}: token_env {var} is not set"
                    )));
                }
            },
            None => None,
        };
        let mut endpoint =
            Endpoint::new(url.clone(), target.mode, target.protocol).with_token(token);
        endpoint.headers =
            crate::target_headers::resolve(name, &target.headers, |var| std::env::var(var).ok())
                .map_err(Outcome::Invalid)?;
        if let Some(oauth) = &target.oauth {
            endpoint.oauth = Some(crate::target_oauth::start(name, oauth).await?);
        }
        let negotiation = endpoint
            .negotiate(&negotiating)
            .await
            .map_err(|e| Outcome::Infrastructure(anyhow!("target {name}: {e}")))?;
        eprintln!(
            "target {name}: MCP {} ({})",
            negotiation.revision, negotiation.how
        );
        infos.push(TargetInfo {
            name: name.clone(),
            url,
            // A self-contained revision (2026-07-28) has no sessions: the target was spoken
            // to statelessly, whatever mode the scenario named.
            mode: if negotiation.revision.is_self_contained() {
                Mode::Stateless.as_str().to_owned()
            } else {
                target.mode.as_str().to_owned()
            },
            spawned: is_spawned,
            protocol_version: negotiation.revision.as_str().to_owned(),
            negotiated: Some(negotiation.how),
            backends,
            build_profile,
            oauth: None,
        });
        endpoints.insert(name.clone(), endpoint);
    }
    Ok((endpoints, infos))
}
