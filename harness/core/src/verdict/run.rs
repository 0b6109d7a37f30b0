//! A run's result: what it recorded, summarized, and every verdict line judged from it.

use std::collections::BTreeMap;

use crate::maths;
use crate::measure::{Recorder, RunRecord};
use crate::result::{
    Finding, HarnessInfo, InstrumentInfo, LoadInfo, ObjectiveResult, PhaseInfo, ProbeResult,
    RESULT_SCHEMA, RunResult, ScenarioInfo, TargetCost, TargetInfo, Verdict,
};
use crate::spec::Scenario;

/// What a run's result holds besides its measurements: the targets, findings and costs
/// gathered around the run, the probes' results, and the harness that ran it.
pub struct Context {
    pub targets: Vec<TargetInfo>,
    pub findings: Vec<Finding>,
    pub costs: Vec<TargetCost>,
    pub probes: Vec<ProbeResult>,
    pub harness: HarnessInfo,
}

/// Judges a run: the scenario's objectives, the probes and the alarms, each a verdict
/// line; the run passes when every line does.
pub fn judge_run(scenario: &Scenario, run: &RunRecord, cx: Context) -> RunResult {
    let m = &run.measurements;
    let overall = m.recorder.overall();
    let faults = super::RunFacts {
        windows: &run.faults,
        offered_calls: (scenario.load.model == crate::spec::LoadModel::Open)
            .then_some(run.offered_calls),
        metrics: &run.metrics_pages,
        call_timeout: scenario.load.timeout,
        footprints: &run.footprints,
        warmup: scenario.load.warmup(),
    };
    let mut objectives: Vec<ObjectiveResult> = scenario
        .objectives
        .iter()
        .map(|o| super::objectives::evaluate_in(o, m, faults))
        .collect();
    objectives.extend(cx.probes.iter().map(super::probes::line));
    let alarms = super::alarms::evaluate(scenario, m).map(|(report, lines)| {
        objectives.extend(lines);
        report
    });
    let mut histograms = BTreeMap::new();
    histograms.insert(
        "overall".to_owned(),
        maths::encode_histogram(&overall.latency),
    );
    let mut tools = BTreeMap::new();
    for (tool, measure) in &m.recorder.per_tool {
        histograms.insert(tool.clone(), maths::encode_histogram(&measure.latency));
        tools.insert(tool.clone(), maths::summary(measure, m.recorded_seconds));
    }
    let completed = overall.outcomes.total();
    RunResult {
        schema: RESULT_SCHEMA.to_owned(),
        scenario: ScenarioInfo {
            name: scenario.name.clone(),
            file: scenario.file.display().to_string(),
            description: scenario.description.clone(),
        },
        started_at: humantime::format_rfc3339_seconds(run.started_at).to_string(),
        duration_s: run.duration.as_secs_f64(),
        targets: cx.targets,
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
            offered_calls: run.offered_calls,
            completed_calls: completed,
            offered_rate: run.offered_rate,
            achieved_rate: maths::per_second(completed, m.recorded_seconds),
            late_starts: m.recorder.late_starts,
            max_lateness_ms: m.recorder.max_lateness_us as f64 / 1000.0,
            workers: run.workers,
            callers: scenario.load.callers,
            instrument: instrument(&m.recorder, &run.pacer),
            machine: super::stalls::machine(&m.recorder, m.recorded_window),
        },
        overall: maths::summary(&overall, m.recorded_seconds),
        tools,
        timeline: maths::timeline(m),
        verdict: verdict_of(&objectives),
        objectives,
        findings: cx.findings,
        cost: cx.costs.first().map(TargetCost::legacy),
        costs: cx.costs,
        histograms,
        probes: cx.probes,
        alarms,
        harness: cx.harness,
        faults: run.faults.clone(),
        footprints: run.footprints.clone(),
        shard: None,
        merged: None,
    }
}

/// Pass when every line passed; inconclusive when every failed line failed only in the
/// seconds a stall of the machine touched (see [`super::stalls`]).
pub fn verdict_of(lines: &[ObjectiveResult]) -> Verdict {
    let mut failed = lines.iter().filter(|o| !o.passed).peekable();
    if failed.peek().is_none() {
        Verdict::Pass
    } else if failed.all(|o| o.inconclusive.is_some()) {
        Verdict::Inconclusive
    } else {
        Verdict::Fail
    }
}

/// Adds a verdict line judged after the run (e.g. the baseline comparison) and the
/// verdict with it.
pub fn add_line(result: &mut RunResult, line: ObjectiveResult) {
    result.objectives.push(line);
    result.verdict = verdict_of(&result.objectives);
}

/// What the pacer and the hand-over to workers added (open model; none for closed runs).
fn instrument(recorder: &Recorder, pacer: &str) -> Option<InstrumentInfo> {
    if recorder.start_lateness.is_empty() {
        return None;
    }
    Some(InstrumentInfo {
        pacer: pacer.to_owned(),
        pacer_lateness_us: maths::quantiles(&recorder.pacer_lateness),
        start_lateness_us: maths::quantiles(&recorder.start_lateness),
    })
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::time::{Duration, SystemTime};

    use super::*;
    use crate::maths::tests::known;

    fn scenario(p99_below: &str) -> Scenario {
        let text = format!(
            "version: mcp-slo/v1\nname: judged\ntargets:\n  t: {{ url: \"http://127.0.0.1:9/mcp\", mode: stateless }}\nload:\n  model: open\n  phases:\n    - {{ duration: 10s, rate: 100/s }}\nmix:\n  - {{ target: t, tool: t, args: {{}} }}\nslo:\n  - {{ latency: {{ p: 99, below: {p99_below} }} }}\n"
        );
        Scenario::from_yaml(Path::new("judged.yaml"), &text).expect("valid scenario")
    }

    fn record() -> RunRecord {
        RunRecord {
            measurements: known(),
            started_at: SystemTime::UNIX_EPOCH + Duration::from_secs(1_764_979_200),
            duration: Duration::from_secs(10),
            workers: 2,
            offered_calls: 1000,
            offered_rate: 100.0,
            pacer: "test pacer".into(),
            faults: Vec::new(),
            metrics_pages: Vec::new(),
            footprints: Vec::new(),
        }
    }

    fn context(probes: Vec<ProbeResult>) -> Context {
        Context {
            targets: Vec::new(),
            findings: Vec::new(),
            costs: Vec::new(),
            probes,
            harness: HarnessInfo {
                version: "0".into(),
                cores: 2,
                build_profile: None,
            },
        }
    }

    fn probe(passed: bool) -> ProbeResult {
        ProbeResult {
            probe: "in_flight".into(),
            target: "t".into(),
            passed,
            expected: "4 admitted".into(),
            measured: "5 admitted".into(),
            expected_value: 4.0,
            measured_value: 5.0,
            failures: if passed {
                Vec::new()
            } else {
                vec!["over the cap".into()]
            },
            figures: Default::default(),
            seconds: Vec::new(),
        }
    }

    #[test]
    fn a_run_passes_when_every_line_passes() {
        let r = judge_run(&scenario("2s"), &record(), context(vec![probe(true)]));
        assert_eq!(r.verdict, Verdict::Pass);
        assert_eq!(r.objectives.len(), 2);
        assert_eq!(r.objectives[1].name, "in-flight probe");
        assert_eq!(r.started_at, "2025-12-06T00:00:00Z");
        assert_eq!(r.load.completed_calls, 1000);
        assert_eq!(r.load.achieved_rate, 100.0, "answered calls of any outcome");
        assert_eq!(r.overall.throughput, 99.8, "successful calls");
        assert!(r.load.instrument.is_none(), "no start lateness recorded");
        assert!(r.histograms.contains_key("overall") && r.histograms.contains_key("t"));
    }

    #[test]
    fn one_failed_line_fails_the_run() {
        let r = judge_run(&scenario("900ms"), &record(), context(vec![probe(true)]));
        assert_eq!(r.verdict, Verdict::Fail);
        let r = judge_run(&scenario("2s"), &record(), context(vec![probe(false)]));
        assert_eq!(r.verdict, Verdict::Fail);
        assert_eq!(r.objectives[1].detail.as_deref(), Some("over the cap"));
    }
}
