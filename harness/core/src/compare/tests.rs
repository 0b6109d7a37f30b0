use std::collections::BTreeMap;

use super::*;
use crate::measure::Outcomes;
use crate::result::{
    HarnessInfo, LatencySummary, LoadInfo, RESULT_SCHEMA, ScenarioInfo, TimelinePoint, ToolPoint,
    Verdict,
};

/// A synthetic run: one tool, one timeline point per (p99 µs, failed calls) second, 100
/// calls a second; the summary's p99 is the median of the per-second p99s.
pub(crate) fn run(seconds: &[(u64, u64)]) -> RunResult {
    let timeline: Vec<TimelinePoint> = seconds
        .iter()
        .enumerate()
        .map(|(t, &(p99, failed))| {
            let outcomes = Outcomes {
                ok: 100 - failed,
                tool_error: failed,
                ..Outcomes::default()
            };
            TimelinePoint {
                t: t as u32,
                recorded: true,
                offered: 100,
                outcomes,
                p50_us: p99 / 4,
                p95_us: p99 / 2,
                p99_us: p99,
                max_us: p99,
                tools: BTreeMap::from([(
                    "q".to_owned(),
                    ToolPoint {
                        calls: 100,
                        failed,
                        p50_us: p99 / 4,
                        p95_us: p99 / 2,
                        p99_us: p99,
                    },
                )]),
                stall_us: 0,
            }
        })
        .collect();
    let mut p99s: Vec<u64> = seconds.iter().map(|s| s.0).collect();
    p99s.sort_unstable();
    let p99 = p99s.get(p99s.len() / 2).copied().unwrap_or(0);
    let failed: u64 = seconds.iter().map(|s| s.1).sum();
    let calls = 100 * seconds.len() as u64;
    let summary = Summary {
        outcomes: Outcomes {
            ok: calls - failed,
            tool_error: failed,
            ..Outcomes::default()
        },
        latency: LatencySummary {
            count: calls,
            p50_us: p99 / 4,
            p95_us: p99 / 2,
            p99_us: p99,
            ..LatencySummary::default()
        },
        error_rate: failed as f64 / calls as f64,
        throughput: (calls - failed) as f64 / seconds.len() as f64,
        ..Summary::default()
    };
    RunResult {
        schema: RESULT_SCHEMA.to_owned(),
        scenario: ScenarioInfo {
            name: "s".into(),
            file: "s.yaml".into(),
            description: None,
        },
        started_at: "2026-11-24T00:00:00Z".into(),
        duration_s: seconds.len() as f64,
        targets: Vec::new(),
        load: LoadInfo {
            model: "open".into(),
            phases: Vec::new(),
            offered_calls: calls,
            completed_calls: calls,
            offered_rate: 100.0,
            achieved_rate: 100.0,
            late_starts: 0,
            max_lateness_ms: 0.0,
            workers: 8,
            callers: 1,
            instrument: None,
            machine: None,
        },
        overall: summary.clone(),
        tools: BTreeMap::from([("q".to_owned(), summary)]),
        timeline,
        objectives: Vec::new(),
        verdict: Verdict::Pass,
        findings: Vec::new(),
        cost: None,
        costs: Vec::new(),
        histograms: BTreeMap::new(),
        harness: HarnessInfo {
            version: "0".into(),
            cores: 2,
            build_profile: None,
        },
        probes: Vec::new(),
        alarms: None,
        faults: vec![],
        footprints: vec![],
        shard: None,
        merged: None,
    }
}

/// Per-second p99s around `center` µs with a deterministic spread of ±`spread`.
pub(crate) fn noisy(center: u64, spread: u64, n: usize, seed: u64) -> Vec<(u64, u64)> {
    let mut rng = fastrand::Rng::with_seed(seed);
    (0..n)
        .map(|_| (center - spread + rng.u64(0..=2 * spread), 0))
        .collect()
}

fn delta<'a>(c: &'a Comparison, scope: &str, measure: &str) -> &'a Delta {
    c.deltas
        .iter()
        .find(|d| d.scope == scope && d.measure == measure)
        .expect("delta")
}

#[test]
fn identical_runs_show_no_regression() {
    let a = run(&noisy(20_000, 2_000, 60, 1));
    let c = compare(&a, &a, &Tolerances::default());
    assert_eq!(c.regressions, 0, "{}", markdown(&c));
    assert!(c.deltas.iter().all(|d| d.worse_by == 0.0));
    // overall and the tool, five measures each
    assert_eq!(c.deltas.len(), 10);
}

#[test]
fn a_thirty_percent_p99_shift_is_a_regression() {
    let base = run(&noisy(20_000, 2_000, 60, 1));
    let cur = run(&noisy(26_000, 2_000, 60, 2));
    let c = compare(&base, &cur, &Tolerances::default());
    let p99 = delta(&c, "overall", "p99");
    assert!(p99.worse_by > 0.25, "{p99:?}");
    assert!(p99.p_value.is_some_and(|p| p < 1e-6), "{p99:?}");
    assert!(p99.regression);
    assert!(delta(&c, "q", "p99").regression);
    assert!(!delta(&c, "overall", "error_rate").regression);
    let md = markdown(&c);
    assert!(
        md.contains("❌") && md.contains("| overall | p99 |"),
        "{md}"
    );
}

#[test]
fn a_noisy_run_within_its_noise_is_not_a_regression() {
    // The median p99 moves 12% (beyond the 10% tolerance), but the per-second p99s swing
    // far more than that in both runs: the test cannot tell them apart.
    let base: Vec<(u64, u64)> = noisy(20_000, 15_000, 20, 3);
    let mut cur = base.clone();
    cur.rotate_left(7);
    for s in cur.iter_mut().take(3) {
        s.0 = s.0 * 3 / 2;
    }
    let (b, c) = (run(&base), run(&cur));
    let cmp = compare(&b, &c, &Tolerances::default());
    let p99 = delta(&cmp, "overall", "p99");
    assert!(p99.p_value.is_some_and(|p| p > ALPHA), "{p99:?}");
    assert!(!p99.regression, "{}", markdown(&cmp));
}

#[test]
fn more_errors_and_a_lower_rate_are_regressions_when_consistent() {
    let base = run(&noisy(20_000, 1_000, 30, 4));
    let cur_seconds: Vec<(u64, u64)> = noisy(20_000, 1_000, 30, 5)
        .into_iter()
        .map(|(p, _)| (p, 10))
        .collect();
    let cur = run(&cur_seconds);
    let c = compare(&base, &cur, &Tolerances::default());
    let errors = delta(&c, "overall", "error_rate");
    assert!((errors.worse_by - 0.10).abs() < 1e-9, "{errors:?}");
    assert!(errors.regression);
    let rate = delta(&c, "overall", "rate");
    assert!((rate.worse_by - 0.10).abs() < 1e-9, "{rate:?}");
    assert!(rate.regression);
}

#[test]
fn too_few_seconds_never_gate() {
    let base = run(&[(20_000, 0), (21_000, 0)]);
    let cur = run(&[(90_000, 0), (95_000, 0)]);
    let c = compare(&base, &cur, &Tolerances::default());
    let p99 = delta(&c, "overall", "p99");
    assert!(p99.beyond_tolerance && p99.p_value.is_none() && !p99.regression);
}
