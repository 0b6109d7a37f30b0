//! Gathering what surrounds a run (targets, findings, costs, probes, this harness) for
//! `mcp_slo_core::verdict::judge_run`, which judges it.

use mcp_slo_core::measure::RunRecord;
use mcp_slo_core::result::{
    BuildProfile, Finding, FindingSeverity, HarnessInfo, ProbeResult, RunResult, TargetCost,
    TargetInfo,
};
use mcp_slo_core::spec::Scenario;
use mcp_slo_core::verdict::{Context, judge_run};

pub fn assemble(
    scenario: &Scenario,
    engine: &RunRecord,
    targets: Vec<TargetInfo>,
    mut findings: Vec<Finding>,
    costs: Vec<TargetCost>,
    probes: Vec<ProbeResult>,
) -> RunResult {
    let harness_profile = if cfg!(debug_assertions) {
        BuildProfile::Debug
    } else {
        BuildProfile::Release
    };
    findings.extend(debug_build_findings(harness_profile, &targets));
    let harness = HarnessInfo {
        version: env!("CARGO_PKG_VERSION").to_owned(),
        cores: std::thread::available_parallelism()
            .map(|n| n.get() as u32)
            .unwrap_or(1),
        build_profile: Some(harness_profile),
    };
    judge_run(
        scenario,
        engine,
        Context {
            targets,
            findings,
            costs,
            probes,
            harness,
        },
    )
}

/// Warnings for debug builds: the harness's own adds its time to every call it measures; a
/// server's costs many times a release build's CPU per call.
fn debug_build_findings(harness: BuildProfile, targets: &[TargetInfo]) -> Vec<Finding> {
    let harness =
        (harness == BuildProfile::Debug).then(|| mcp_slo_report::HARNESS_DEBUG_NOTE.to_owned());
    let servers = targets
        .iter()
        .filter(|t| t.build_profile == Some(BuildProfile::Debug))
        .map(|t| {
            format!(
                "target {} is a debug build: its latency and CPU per call are not what a release build gives",
                t.name
            )
        });
    harness
        .into_iter()
        .chain(servers)
        .map(|message| Finding {
            severity: FindingSeverity::Warning,
            message,
        })
        .collect()
}
