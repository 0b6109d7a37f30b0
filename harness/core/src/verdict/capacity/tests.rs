//! The capacity search, step verdicts and summary without a server.

use std::path::Path;

use super::*;
use crate::measure::{CallOutcome, Recorder};

fn scenario() -> Scenario {
    let text = "version: mcp-slo/v1\nname: cap\ntargets:\n  t: { url: \"http://127.0.0.1:9/mcp\", mode: stateless }\nload:\n  model: closed\n  phases:\n    - { duration: 30s, users: 4 }\n  callers: 3\nmix:\n  - { target: t, tool: echo, args: {} }\nslo:\n  - { latency: { p: 99, below: 10ms } }\n  - { error_rate: { below: 1% } }\nprobes:\n  target: t\n  timeout: { op: { tool: echo }, expect: 5s }\n";
    Scenario::from_yaml(Path::new("cap.yaml"), text).expect("valid scenario")
}

/// The rates a search tries when every rate up to `capacity` passes.
fn tried(mut search: Search, capacity: f64) -> Vec<f64> {
    let mut rates = Vec::new();
    while let Some(rate) = search.next_rate() {
        rates.push(rate);
        search.record(rate, rate <= capacity);
        assert!(rates.len() < 100, "the search ends");
    }
    rates
}

#[test]
fn the_search_doubles_until_a_step_fails_then_bisects_to_the_precision() {
    let rates = tried(Search::new(25.0, 20_000.0, 2.0, 0.05), 130.0);
    assert_eq!(
        rates,
        vec![25.0, 50.0, 100.0, 200.0, 150.0, 125.0, 137.5, 131.25]
    );
    // 125 passed, 131.25 failed: within 5%.
}

#[test]
fn the_search_stops_at_max_or_when_the_first_step_fails() {
    assert_eq!(
        tried(Search::new(25.0, 100.0, 2.0, 0.05), 1e9),
        vec![25.0, 50.0, 100.0]
    );
    assert_eq!(tried(Search::new(25.0, 100.0, 2.0, 0.05), 10.0), vec![25.0]);
    assert!(tried(Search::new(200.0, 100.0, 2.0, 0.05), 1e9).is_empty());
}

#[test]
fn a_step_is_an_open_model_warm_up_then_a_judged_hold_without_probes() {
    let s = step_scenario(&scenario(), 80.0, Duration::from_secs(6));
    assert_eq!(s.load.model, LoadModel::Open);
    let phases: Vec<(f64, Duration, bool)> = s
        .load
        .phases
        .iter()
        .map(|p| (p.rate.unwrap_or(0.0), p.duration, p.record))
        .collect();
    assert_eq!(
        phases,
        vec![
            (160.0, Duration::from_secs(1), false),
            (80.0, Duration::from_secs(6), true)
        ]
    );
    assert_eq!(s.load.max_users, scenario().load.max_users.max(64));
    assert_eq!(s.load.callers, 3, "callers are kept");
    assert!(s.probes.is_none() && s.alarms.is_none());
    assert_eq!(s.objectives, scenario().objectives);
}

#[test]
fn a_soak_holds_one_rate_after_its_warm_up_and_judges_growth_too() {
    let base = scenario();
    let s = soak_scenario(
        &base,
        120.0,
        Duration::from_secs(60),
        Duration::from_secs(600),
    );
    assert_eq!(s.name, "cap-soak");
    let phases: Vec<(&str, f64, Duration, bool)> = s
        .load
        .phases
        .iter()
        .map(|p| (p.name.as_str(), p.rate.unwrap_or(0.0), p.duration, p.record))
        .collect();
    assert_eq!(
        phases,
        vec![
            ("warmup", 120.0, Duration::from_secs(60), false),
            ("soak", 120.0, Duration::from_secs(600), true)
        ]
    );
    assert!(s.probes.is_none() && s.alarms.is_none() && s.faults.is_empty());
    // The scenario's own objectives, then the default growth limits after the warm-up.
    assert_eq!(s.objectives[..2], base.objectives[..]);
    let growth: Vec<(Resource, f64, Option<u64>)> = s.objectives[2..]
        .iter()
        .map(|o| match &o.kind {
            ObjectiveKind::Growth(g) => (g.resource, g.below, g.after_ms),
            other => panic!("not growth: {other:?}"),
        })
        .collect();
    assert_eq!(
        growth,
        vec![(Resource::Rss, 0.05, None), (Resource::Fds, 0.10, None)]
    );
    // A capacity step leaves growth out: a few seconds have nothing to show, and a step
    // samples no process.
    assert_eq!(
        step_scenario(&s, 80.0, Duration::from_secs(6)).objectives,
        base.objectives
    );
    let step = judge_step(&s, 80.0, &measured(2, 0));
    assert!(step.passed, "{:?}", step.failed_objectives);
}

#[test]
fn a_soak_keeps_the_growth_objectives_a_scenario_names() {
    let text = "version: mcp-slo/v1\nname: own\ntargets:\n  t: { url: \"http://127.0.0.1:9/mcp\", mode: stateless }\nload:\n  model: open\n  phases:\n    - { name: w, duration: 5s, rate: 10/s, record: false }\n    - { name: m, duration: 30s, rate: 10/s }\nmix:\n  - { target: t, tool: echo, args: {} }\nslo:\n  - { growth: { of: rss, below: 2% } }\n  - { growth: { of: fds, below: 1%, target: t, after: 90s } }\n";
    let own = Scenario::from_yaml(Path::new("own.yaml"), text).expect("valid scenario");
    let after: Vec<Option<u64>> = own
        .objectives
        .iter()
        .map(|o| match &o.kind {
            ObjectiveKind::Growth(g) => g.after_ms,
            other => panic!("not growth: {other:?}"),
        })
        .collect();
    assert_eq!(
        after,
        [None, Some(90_000)],
        "after: the warm-up's end unless given"
    );
    let s = soak_scenario(
        &own,
        50.0,
        Duration::from_secs(60),
        Duration::from_secs(300),
    );
    let kept: Vec<(f64, Option<u64>, Option<&str>)> = s
        .objectives
        .iter()
        .map(|o| match &o.kind {
            ObjectiveKind::Growth(g) => (g.below, g.after_ms, g.target.as_deref()),
            other => panic!("not growth: {other:?}"),
        })
        .collect();
    assert_eq!(
        kept,
        [(0.02, None, None), (0.01, Some(90_000), Some("t"))],
        "kept as written, no defaults added"
    );
}

/// 100 calls over 2 s, each `latency_ms`, `failed` of them tool errors.
fn measured(latency_ms: u64, failed: u64) -> Measurements {
    let mut r = Recorder::default();
    for i in 0..100u64 {
        let outcome = if i < failed {
            CallOutcome::ToolError
        } else {
            CallOutcome::Ok
        };
        r.record("echo", outcome, latency_ms * 1000, (i / 50) as usize, true);
    }
    Measurements {
        recorder: r,
        recorded_window: (0, 2),
        recorded_seconds: 2.0,
    }
}

#[test]
fn a_step_passes_only_when_every_objective_does_and_names_those_missed() {
    let s = scenario();
    let good = judge_step(&s, 50.0, &measured(4, 0));
    assert!(good.passed, "{:?}", good.failed_objectives);
    assert_eq!(good.achieved, 50.0);
    assert_eq!(good.error_rate, 0.0);
    // Little's law: 50/s × 4 ms.
    let n = good.concurrency.unwrap_or_default();
    assert!((n - 0.2).abs() < 0.001, "{n}");
    let bad = judge_step(&s, 50.0, &measured(12, 2));
    assert!(!bad.passed);
    assert_eq!(
        bad.failed_objectives.len(),
        2,
        "{:?}",
        bad.failed_objectives
    );
    assert!(bad.failed_objectives[1].contains("2.00% (2 of 100 calls failed)"));
}

fn step(offered: f64, p99_ms: f64, passed: bool) -> Step {
    Step {
        offered,
        achieved: offered,
        p99_ms,
        mean_ms: p99_ms / 2.0,
        error_rate: 0.0,
        concurrency: littles_law_concurrency(offered, p99_ms / 2e3),
        usl_predicted: None,
        passed,
        failed_objectives: Vec::new(),
    }
}

#[test]
fn the_summary_orders_the_steps_and_brackets_the_capacity() {
    let steps = vec![
        step(200.0, 30.0, false),
        step(25.0, 2.0, true),
        step(100.0, 4.0, true),
        step(150.0, 9.0, false),
        step(50.0, 2.5, true),
        step(125.0, 5.0, true),
    ];
    let r = summarize("cap", "in place", steps);
    let offered: Vec<f64> = r.steps.iter().map(|s| s.offered).collect();
    assert_eq!(offered, vec![25.0, 50.0, 100.0, 125.0, 150.0, 200.0]);
    assert_eq!(r.max_rate, Some(125.0));
    assert_eq!(r.first_failing_rate, Some(150.0));
    assert!(r.knee_rate.is_some_and(|k| offered.contains(&k)));
}

#[test]
fn a_step_spoilt_by_a_stall_of_the_machine_fails_and_says_so() {
    // 20 s of 10 calls at 4 ms; in second 5, when the machine stalled for 100 ms, five of
    // them took 50 ms.
    let mut r = Recorder::default();
    let mut meter = crate::measure::StallReading::default();
    for t in 0..20 {
        for i in 0..10 {
            let ms = if t == 5 && i < 5 { 50 } else { 4 };
            r.record("echo", CallOutcome::Ok, ms * 1000, t, true);
        }
        meter.record(t, if t == 5 { 100_000 } else { 80 });
    }
    r.add_stall_meter(&meter);
    let m = Measurements {
        recorder: r,
        recorded_window: (0, 20),
        recorded_seconds: 20.0,
    };
    let step = judge_step(&scenario(), 10.0, &m);
    assert!(!step.passed);
    assert_eq!(
        step.failed_objectives,
        ["latency p99 < 10ms: p99 = 50.0ms (inconclusive: the machine stalled)"]
    );
}
