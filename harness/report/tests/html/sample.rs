//! A rich run result for the HTML report: 70 seconds with a warm-up, three tools, a latency
//! spike and an error burst, rate and in-flight probes, two alarms and burn-rate alerts.

use std::collections::BTreeMap;

use mcp_slo_core::alarms::{
    AlarmState, AlarmTimeline, BurnRateResult, Datapoint, Severity, StatePoint, Transition,
};
use mcp_slo_core::maths::{encode_histogram, latency_summary, summary};
use mcp_slo_core::measure::{CallOutcome, Outcomes, Recorder};
use mcp_slo_core::result::{
    AlarmsReport, BackendInfo, BackendSource, BuildProfile, Finding, HarnessInfo, LoadInfo,
    ObjectiveResult, PhaseInfo, ProbeResult, ProbeSecond, PublishedAlarmState, PublishedInfo,
    RESULT_SCHEMA, RunResult, ScenarioInfo, TargetCost, TargetInfo, TimelinePoint, Verdict,
};

pub const SECONDS: u32 = 70;
pub const WARMUP: u32 = 5;

/// Latency of call `i` of `tool` in second `t`, in µs: a body, a tail, and a spike at 40 s.
fn latency_us(tool: &str, t: u32, i: u64) -> u64 {
    let base = match tool {
        "sql_query" => 2_500,
        "read_file" => 600,
        _ => 1_200,
    };
    let spread = (i * 7_919 + u64::from(t) * 104_729) % 3_000;
    let tail = if i.is_multiple_of(97) {
        25_000 + i * 11
    } else {
        0
    };
    let spike = if (40..43).contains(&t) { 40_000 } else { 0 };
    base + spread + tail + spike
}

fn outcome(t: u32, i: u64) -> CallOutcome {
    match (t, i) {
        (30..=32, i) if i % 9 == 0 => CallOutcome::ToolError,
        (45, i) if i % 30 == 0 => CallOutcome::RateLimited,
        (50, 3) => CallOutcome::TimedOut,
        _ => CallOutcome::Ok,
    }
}

pub fn objective(
    name: &str,
    kind: &str,
    target: &str,
    measured: &str,
    passed: bool,
) -> ObjectiveResult {
    ObjectiveResult {
        name: name.to_owned(),
        tool: None,
        kind: serde_json::from_value(serde_json::Value::from(kind)).expect("a judged kind"),
        target: target.to_owned(),
        measured: measured.to_owned(),
        target_value: 0.0,
        measured_value: 0.0,
        passed,
        detail: None,
        inconclusive: None,
    }
}

pub fn rich_result() -> RunResult {
    let tools = ["sql_query", "read_file", "list_dir"];
    let mut recorder = Recorder::default();
    let mut timeline = Vec::new();
    for t in 0..SECONDS {
        let recorded = t >= WARMUP;
        let rate: u64 = if recorded { 90 } else { 20 };
        let mut outcomes = Outcomes::default();
        let mut second = Vec::new();
        for i in 0..rate {
            let tool = tools[(i % 3) as usize];
            let (us, o) = (latency_us(tool, t, i), outcome(t, i));
            recorder.record(tool, o, us, t as usize, recorded);
            outcomes.add(o, 1);
            second.push(us);
        }
        second.sort_unstable();
        let at = |q: f64| second[((second.len() - 1) as f64 * q) as usize];
        timeline.push(TimelinePoint {
            t,
            recorded,
            offered: rate,
            outcomes,
            p50_us: at(0.5),
            p95_us: at(0.95),
            p99_us: at(0.99),
            max_us: at(1.0),
            tools: BTreeMap::new(),
            stall_us: 0,
        });
    }
    let recorded_s = f64::from(SECONDS - WARMUP);
    let overall = recorder.overall();
    let mut histograms =
        BTreeMap::from([("overall".to_owned(), encode_histogram(&overall.latency))]);
    let mut per_tool = BTreeMap::new();
    for (name, m) in &recorder.per_tool {
        histograms.insert(name.clone(), encode_histogram(&m.latency));
        per_tool.insert(name.clone(), summary(m, recorded_s));
    }
    let p99 = latency_summary(&overall.latency).p99_us;
    let mut p99_objective = objective(
        "p99 < 50ms",
        "latency",
        "p99 < 50.0ms",
        &format!("p99 = {:.1}ms", p99 as f64 / 1000.0),
        true,
    );
    p99_objective.detail = Some("all tools together".to_owned());
    let cost = TargetCost {
        target: "local".to_owned(),
        pid: 4242,
        build_profile: Some(BuildProfile::Release),
        cpu_seconds: 3.1,
        cpu_us_per_call: Some(574.5),
        peak_rss_bytes: 48_234_496,
        samples: 70,
        calls: Some(5396),
    };
    RunResult {
        schema: RESULT_SCHEMA.to_owned(),
        scenario: ScenarioInfo {
            name: "local-mixed <steady> & \"spiky\"".to_owned(),
            file: "scenarios/local-mixed.yaml".to_owned(),
            description: Some("Three tools at 90/s with a latency spike at 40 s.".to_owned()),
        },
        started_at: "2025-06-02T09:30:00Z".to_owned(),
        duration_s: f64::from(SECONDS),
        targets: vec![TargetInfo {
            name: "local".to_owned(),
            url: "http://127.0.0.1:41873/mcp".to_owned(),
            mode: "session".to_owned(),
            spawned: true,
            protocol_version: "2025-11-25".to_owned(),
            negotiated: None,
            backends: vec![
                BackendInfo {
                    service: "postgres".to_owned(),
                    source: BackendSource::Env,
                    address: "postgres://mcp_agent:***@127.0.0.1:5432/agents".to_owned(),
                },
                BackendInfo {
                    service: "cache".to_owned(),
                    source: BackendSource::Embedded,
                    address: "in-process cache".to_owned(),
                },
            ],
            build_profile: Some(BuildProfile::Release),
            oauth: None,
        }],
        load: LoadInfo {
            model: "open".to_owned(),
            phases: vec![
                PhaseInfo {
                    name: "warmup".to_owned(),
                    duration_s: 5.0,
                    rate: Some(20.0),
                    users: None,
                    record: false,
                },
                PhaseInfo {
                    name: "steady".to_owned(),
                    duration_s: 65.0,
                    rate: Some(90.0),
                    users: None,
                    record: true,
                },
            ],
            offered_calls: 5850,
            completed_calls: 5850,
            offered_rate: 90.0,
            achieved_rate: 90.0,
            late_starts: 0,
            max_lateness_ms: 0.0,
            workers: 64,
            callers: 4,
            instrument: None,
            machine: None,
        },
        overall: summary(&overall, recorded_s),
        tools: per_tool,
        timeline,
        objectives: vec![
            p99_objective,
            objective(
                "error rate < 0.1%",
                "error_rate",
                "< 0.10%",
                "0.53% (31 of 5850 calls failed)",
                false,
            ),
            objective(
                "alarm high_latency must not fire",
                "alarm",
                "stays out of ALARM",
                "ALARM at 42 s",
                false,
            ),
        ],
        verdict: Verdict::Fail,
        findings: vec![
            Finding {
                severity: mcp_slo_core::result::FindingSeverity::Warning,
                message: "3 calls were rate limited <below> the limit & retried".to_owned(),
            },
            Finding {
                severity: mcp_slo_core::result::FindingSeverity::Info,
                message: "the server answered every call".to_owned(),
            },
        ],
        cost: Some(cost.legacy()),
        costs: vec![cost],
        histograms,
        harness: HarnessInfo {
            version: "0.1.0".to_owned(),
            cores: 2,
            build_profile: Some(BuildProfile::Release),
        },
        probes: vec![rate_probe(), in_flight_probe()],
        alarms: Some(alarms()),
        faults: vec![],
        footprints: vec![],
        shard: None,
        merged: None,
    }
}

fn rate_probe() -> ProbeResult {
    let seconds = (0..8)
        .map(|t| {
            let admitted = if t == 0 { 150 } else { 99 + u64::from(t % 3) };
            ProbeSecond {
                t,
                caller: 1,
                offered: 130,
                admitted,
                refused: 130u64.saturating_sub(admitted),
                judged: t > 0,
            }
        })
        .collect();
    ProbeResult {
        probe: "rate".to_owned(),
        target: "local".to_owned(),
        passed: true,
        expected: "100/s per caller ±5%".to_owned(),
        measured: "admitted 99–101/s per caller".to_owned(),
        expected_value: 100.0,
        measured_value: 100.0,
        failures: Vec::new(),
        figures: BTreeMap::from([("calls".to_owned(), 1040.0), ("admitted".to_owned(), 850.0)]),
        seconds,
    }
}

fn in_flight_probe() -> ProbeResult {
    ProbeResult {
        probe: "in_flight".to_owned(),
        target: "local".to_owned(),
        passed: false,
        expected: "100 admitted, 10 refused as overloaded within 50 ms".to_owned(),
        measured: "102 admitted, 8 refused as overloaded (slowest 3 ms)".to_owned(),
        expected_value: 100.0,
        measured_value: 102.0,
        failures: vec!["2 extra calls were admitted beyond the cap of 100".to_owned()],
        figures: BTreeMap::from([
            ("held_admitted".to_owned(), 100.0),
            ("extra_admitted".to_owned(), 2.0),
            ("extra_overloaded".to_owned(), 8.0),
        ]),
        seconds: Vec::new(),
    }
}

fn alarms() -> AlarmsReport {
    let latency: Vec<Datapoint> = (WARMUP..SECONDS)
        .map(|t| {
            let value = if (40..43).contains(&t) {
                48.0
            } else {
                6.0 + f64::from(t % 4)
            };
            Datapoint {
                t_start_s: f64::from(t),
                value: Some(value),
                samples: 90,
            }
        })
        .collect();
    let state = |t_end: f64| match t_end {
        e if e < 8.0 => AlarmState::InsufficientData,
        e if (42.0..46.0).contains(&e) => AlarmState::Alarm,
        _ => AlarmState::Ok,
    };
    let states: Vec<StatePoint> = latency
        .iter()
        .map(|p| StatePoint {
            t_end_s: p.t_start_s + 1.0,
            state: state(p.t_start_s + 1.0),
        })
        .collect();
    let transition = |t_s: f64, from, to, reason: &str| Transition {
        t_s,
        from,
        to,
        reason: reason.to_owned(),
    };
    let high_latency = AlarmTimeline {
        alarm: "high_latency".to_owned(),
        period_s: 1,
        states,
        transitions: vec![
            transition(
                8.0,
                AlarmState::InsufficientData,
                AlarmState::Ok,
                "0 of the last 3 datapoints [6, 7, 8] were greater than the threshold (25); ALARM needs 3",
            ),
            transition(
                42.0,
                AlarmState::Ok,
                AlarmState::Alarm,
                "3 of the last 3 datapoints [48, 48, 48] were greater than the threshold (25); ALARM needs 3",
            ),
            transition(
                46.0,
                AlarmState::Alarm,
                AlarmState::Ok,
                "0 of the last 3 datapoints [7, 8, 9] were greater than the threshold (25); ALARM needs 3",
            ),
        ],
        first_alarm_s: Some(42.0),
        cleared_after_alarm_s: Some(46.0),
        fired: true,
    };
    let errors: Vec<Datapoint> = (WARMUP..SECONDS)
        .map(|t| Datapoint {
            t_start_s: f64::from(t),
            value: Some(if (30..33).contains(&t) { 0.1 } else { 0.0 }),
            samples: 90,
        })
        .collect();
    let quiet = AlarmTimeline {
        alarm: "high_error_rate".to_owned(),
        period_s: 1,
        states: errors
            .iter()
            .map(|p| StatePoint {
                t_end_s: p.t_start_s + 1.0,
                state: AlarmState::Ok,
            })
            .collect(),
        transitions: vec![transition(
            6.0,
            AlarmState::InsufficientData,
            AlarmState::Ok,
            "no datapoints in the last 7 periods",
        )],
        first_alarm_s: None,
        cleared_after_alarm_s: None,
        fired: false,
    };
    let burn = |severity, long_window_s, short_window_s, factor, fired: bool| BurnRateResult {
        severity,
        long_window_s,
        short_window_s,
        factor,
        fired,
        first_fired_s: fired.then_some(31.0),
        max_long_burn: 12.5,
        max_short_burn: 53.0,
        window_exceeds_run: long_window_s > 65,
    };
    AlarmsReport {
        file: "config/cloudwatch_alarms.yaml".to_owned(),
        period_override_s: Some(1),
        scaled: vec![
            "high_error_rate 60 s → 1 s".to_owned(),
            "high_latency 60 s → 1 s".to_owned(),
        ],
        timelines: vec![quiet, high_latency],
        datapoints: BTreeMap::from([
            ("high_latency".to_owned(), latency),
            ("high_error_rate".to_owned(), errors),
        ]),
        burn_rate: vec![
            burn(Severity::Page, 60, 5, 14.4, false),
            burn(Severity::Page, 360, 30, 6.0, true),
            burn(Severity::Ticket, 1440, 120, 3.0, true),
            burn(Severity::Ticket, 4320, 360, 1.0, true),
        ],
        burn_rate_scale: Some(1.0 / 60.0),
        published: Some(PublishedInfo {
            namespace: "mcp-slo/run".to_owned(),
            endpoint: "http://127.0.0.1:5000".to_owned(),
            metric_points: 130,
            requests: 7,
            period_adjustments: vec!["high_latency 1 s → 10 s".to_owned()],
            alarms: vec![PublishedAlarmState {
                alarm: "high_latency".to_owned(),
                harness_state: "OK".to_owned(),
                service_state: "ALARM".to_owned(),
                agrees: false,
                service_reason: Some("Threshold Crossed: 1 datapoint [48.0] > 25".to_owned()),
                published_period_s: Some(10),
            }],
        }),
    }
}
