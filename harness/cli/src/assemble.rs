//! Turning what the engine measured into a `RunResult`.

use std::collections::BTreeMap;

use mcp_slo_core::result::{
    BuildProfile, Finding, FindingSeverity, HarnessInfo, InstrumentInfo, JudgedKind, LoadInfo,
    ObjectiveResult, PhaseInfo, ProbeResult, RESULT_SCHEMA, RunResult, ScenarioInfo, TargetCost,
    TargetInfo, Verdict,
};
use mcp_slo_core::slo;
use mcp_slo_core::spec::Scenario;
use mcp_slo_engine::run::EngineRun;

pub fn assemble(
    scenario: &Scenario,
    engine: &EngineRun,
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
    let m = &engine.measurements;
    let overall = m.recorder.overall();
    let mut objectives: Vec<_> = scenario
        .objectives
        .iter()
        .map(|o| slo::evaluate(o, m))
        .collect();
    objectives.extend(probes.iter().map(probe_objective));
    let alarms = mcp_slo_core::verdict::alarms::evaluate(scenario, m).map(|(report, lines)| {
        objectives.extend(lines);
        report
    });
    let verdict = if objectives.iter().all(|o| o.passed) {
        Verdict::Pass
    } else {
        Verdict::Fail
    };
    let mut histograms = BTreeMap::new();
    histograms.insert(
        "overall".to_owned(),
        slo::encode_histogram(&overall.latency),
    );
    let mut tools = BTreeMap::new();
    for (tool, measure) in &m.recorder.per_tool {
        histograms.insert(tool.clone(), slo::encode_histogram(&measure.latency));
        tools.insert(tool.clone(), slo::summary(measure, m.recorded_seconds));
    }
    let completed = overall.outcomes.total();
    RunResult {
        schema: RESULT_SCHEMA.to_owned(),
        scenario: ScenarioInfo {
            name: scenario.name.clone(),
            file: scenario.file.display().to_string(),
            description: scenario.description.clone(),
        },
        started_at: humantime_rfc3339(engine.started_at),
        duration_s: engine.duration.as_secs_f64(),
        targets,
        load: LoadInfo {
            model: scenario.load.model.as_str().to_owned(),
            phases: scenario
                .load
                .phases
                .iter()
                .map(|p| PhaseInfo {
                    name: p.name.clone(),
                    duration_s: p.duration.as_secs_f64(),
                    rate: p.rate,
                    users: p.users,
                    record: p.record,
                })
                .collect(),
            offered_calls: engine.offered_calls,
            completed_calls: completed,
            offered_rate: engine.offered_rate,
            achieved_rate: slo::per_second(completed, m.recorded_seconds),
            late_starts: m.recorder.late_starts,
            max_lateness_ms: m.recorder.max_lateness_us as f64 / 1000.0,
            workers: engine.workers,
            callers: scenario.load.callers,
            instrument: instrument(&m.recorder),
        },
        overall: slo::summary(&overall, m.recorded_seconds),
        tools,
        timeline: slo::timeline(m),
        objectives,
        verdict,
        findings,
        cost: costs.first().map(TargetCost::legacy),
        costs,
        histograms,
        probes,
        alarms,
        harness: HarnessInfo {
            version: env!("CARGO_PKG_VERSION").to_owned(),
            cores: std::thread::available_parallelism()
                .map(|n| n.get() as u32)
                .unwrap_or(1),
            build_profile: Some(harness_profile),
        },
    }
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

/// A probe as a line of the verdict.
fn probe_objective(p: &ProbeResult) -> ObjectiveResult {
    ObjectiveResult {
        name: format!("{} probe", p.probe.replace('_', "-")),
        tool: None,
        kind: JudgedKind::Probe,
        target: p.expected.clone(),
        measured: p.measured.clone(),
        target_value: p.expected_value,
        measured_value: p.measured_value,
        passed: p.passed,
        detail: (!p.failures.is_empty()).then(|| p.failures.join("; ")),
    }
}

fn humantime_rfc3339(t: std::time::SystemTime) -> String {
    let secs = t
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    let (y, m, d) = crate::run::civil(secs / 86_400);
    let rem = secs % 86_400;
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem / 60) % 60,
        rem % 60
    )
}

/// What the pacer and the hand-over to workers added (open model; none for closed runs).
fn instrument(recorder: &mcp_slo_core::measure::Recorder) -> Option<InstrumentInfo> {
    if recorder.start_lateness.is_empty() {
        return None;
    }
    Some(InstrumentInfo {
        pacer: mcp_slo_engine::pacer::DESCRIPTION.to_owned(),
        pacer_lateness_us: slo::quantiles(&recorder.pacer_lateness),
        start_lateness_us: slo::quantiles(&recorder.start_lateness),
    })
}
