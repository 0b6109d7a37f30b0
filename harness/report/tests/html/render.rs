//! The page's structure: every section in order, a chart where there is data, escaped
//! text, no external resources, and no panic on empty or odd data.

use std::collections::BTreeMap;

use mcp_slo_core::alarms::{
    AlarmState, AlarmTimeline, BurnRateResult, Datapoint, Severity, StatePoint,
};
use mcp_slo_core::measure::Outcomes;
use mcp_slo_core::result::{
    AlarmsReport, HarnessInfo, LoadInfo, ProbeResult, ProbeSecond, RESULT_SCHEMA, RunResult,
    ScenarioInfo, Summary, TimelinePoint, Verdict,
};
use mcp_slo_report::{
    CapacityStep, CapacityView, capacity_html, report_html, report_html_with_capacity, write_all,
};

use super::sample::{SECONDS, objective, rich_result};

pub const HEADINGS: [(&str, &str); 8] = [
    ("verdict", "Verdict"),
    ("latency", "Latency over time"),
    ("rate", "Offered and achieved rate"),
    ("distribution", "Latency distribution"),
    ("probes", "Boundary probes"),
    ("alarms", "Alarms"),
    ("cost", "Cost and findings"),
    ("capacity", "Capacity"),
];

/// Asserts the page is whole and has every section, in order; returns the sections' text.
pub fn sections(html: &str) -> BTreeMap<&'static str, &str> {
    assert!(
        html.starts_with("<!DOCTYPE html>\n<html lang=\"en\">"),
        "{}",
        &html[..200.min(html.len())]
    );
    assert!(html.ends_with("</body>\n</html>\n"));
    let mut at = 0;
    let mut starts = Vec::new();
    for (id, title) in HEADINGS {
        let open = format!("<section id=\"{id}\">\n<h2>{title}</h2>");
        let found = html[at..]
            .find(&open)
            .unwrap_or_else(|| panic!("no section {open:?} after byte {at}"));
        at += found + open.len();
        starts.push((id, at));
    }
    let mut out = BTreeMap::new();
    for (i, (id, start)) in starts.iter().enumerate() {
        let end = starts.get(i + 1).map_or(html.len(), |(_, s)| *s);
        out.insert(*id, &html[*start..end]);
    }
    out
}

fn svgs(text: &str) -> usize {
    text.matches("<svg ").count()
}

/// `<text ...>label\n</text>`: how plotters writes a label.
fn has_label(svg: &str, label: &str) -> bool {
    svg.contains(&format!(">\n{label}\n</text>")) || svg.contains(&format!(">{label}\n</text>"))
}

#[test]
fn rich_report_has_every_section_with_its_charts() {
    let html = report_html(&rich_result());
    let s = sections(&html);
    let expected = [
        ("verdict", 0),
        ("latency", 1),
        ("rate", 1),
        ("distribution", 1),
        ("probes", 2),
        ("alarms", 2),
        ("cost", 0),
        ("capacity", 0),
    ];
    for (id, charts) in expected {
        assert_eq!(svgs(s[id]), charts, "charts in section {id}");
    }
    assert!(s["verdict"].contains("<td>error rate &lt; 0.1%</td><td>error_rate</td><td>&lt; 0.10%</td><td>0.53% (31 of 5850 calls failed)</td><td class=\"fail\">fail</td>"), "{}", s["verdict"]);
    assert!(s["verdict"].contains("<td class=\"pass\">pass</td><td>all tools together</td>"));
    assert!(html.contains("<span class=\"badge fail\">FAIL</span>"));
    assert!(
        html.contains("<code>http://127.0.0.1:41873/mcp</code></td><td>session</td><td>yes</td>")
    );
    assert!(
        s["cost"].contains("574.5 µs") && s["cost"].contains("46.0 MiB"),
        "{}",
        s["cost"]
    );
    assert!(s["capacity"].contains("measured no capacity steps"));
    // Short timelines are drawn second by second.
    assert!(s["latency"].contains(&format!(" {SECONDS} seconds.</figcaption>")));
}

#[test]
fn charts_have_titles_axis_labels_and_legends() {
    let html = report_html(&rich_result());
    let s = sections(&html);
    for label in [
        "Latency per second (all tools)",
        "seconds since start",
        "latency (ms)",
        "p50",
        "p99",
        "max",
        "not recorded (warm-up)",
    ] {
        assert!(
            has_label(s["latency"], label),
            "latency chart lacks {label:?}"
        );
    }
    for label in [
        "Offered rate and outcomes per second",
        "calls per second",
        "offered",
        "ok",
        "tool_error",
        "rate_limited",
        "timed_out",
    ] {
        assert!(has_label(s["rate"], label), "rate chart lacks {label:?}");
    }
    assert!(
        !has_label(s["rate"], "overloaded"),
        "outcomes that never occurred are left out"
    );
    // One line per tool plus all tools, on an axis of nines up to 1 / calls.
    for label in [
        "Latency by percentile",
        "percentile (nines scale)",
        "sql_query",
        "read_file",
        "list_dir",
        "all tools",
        "0%",
        "90%",
        "99%",
        "99.9%",
        "99.99%",
    ] {
        assert!(
            has_label(s["distribution"], label),
            "distribution chart lacks {label:?}"
        );
    }
    for label in [
        "admitted",
        "refused",
        "limit 100/s",
        "not judged (burst)",
        "held, admitted",
        "extra, refused (503)",
        "cap 100",
    ] {
        assert!(has_label(s["probes"], label), "probe charts lack {label:?}");
    }
    for label in [
        "Alarm high_latency: state and datapoints",
        "threshold 25",
        "OK",
        "ALARM",
        "INSUFFICIENT_DATA",
        "datapoint",
    ] {
        assert!(has_label(s["alarms"], label), "alarm charts lack {label:?}");
    }
}

#[test]
fn tables_carry_probes_alarms_and_findings() {
    let html = report_html(&rich_result());
    let s = sections(&html);
    assert!(s["probes"].contains("<li>2 extra calls were admitted beyond the cap of 100</li>"));
    assert!(s["probes"].contains("extra_admitted 2, extra_overloaded 8, held_admitted 100"));
    assert!(s["alarms"].contains("Every alarm was evaluated with a 1 s period. Scaled: high_error_rate 60 s → 1 s; high_latency 60 s → 1 s."));
    assert!(s["alarms"].contains(
        "ALARM at 42 s, back to OK at 46 s. Period 1 s (scaled: high_latency 60 s → 1 s)."
    ));
    assert!(s["alarms"].contains("<td>3 of the last 3 datapoints [48, 48, 48] were greater than the threshold (25); ALARM needs 3</td>"));
    assert_eq!(
        s["alarms"].matches("<td class=\"fail\">fired</td>").count(),
        3
    );
    assert!(s["alarms"].contains("long window longer than the run"));
    assert!(
        s["distribution"].contains("<td>sql_query</td>")
            && s["distribution"].contains("<strong>all tools</strong>")
    );
}

#[test]
fn text_is_escaped() {
    let html = report_html(&rich_result());
    assert!(html.contains(
        "<title>mcp-slo: local-mixed &lt;steady&gt; &amp; &quot;spiky&quot; FAIL</title>"
    ));
    assert!(html.contains("3 calls were rate limited &lt;below&gt; the limit &amp; retried"));
    assert!(!html.contains("<steady>") && !html.contains("<below>"));
}

#[test]
fn page_is_self_contained() {
    let r = rich_result();
    let html = report_html(&r);
    for banned in [
        "<script", "<link", "<img", "<iframe", " src=", "url(", "@import", "xmlns=",
    ] {
        assert!(!html.contains(banned), "page contains {banned:?}");
    }
    // The only URLs are the ones the run reports, as text.
    let endpoint = r
        .alarms
        .as_ref()
        .and_then(|a| a.published.as_ref())
        .map(|p| p.endpoint.as_str());
    let text = html
        .replace(&r.targets[0].url, "")
        .replace(endpoint.unwrap_or("http://x"), "");
    assert!(!text.contains("http:") && !text.contains("https:"));
    assert!(html.len() < 400_000, "sample page is {} bytes", html.len());
}

#[test]
fn write_all_writes_report_html() {
    let dir = std::env::temp_dir().join(format!("mcp-slo-html-write-{}", std::process::id()));
    let written = write_all(&dir, &rich_result()).expect("report written");
    let html = std::fs::read_to_string(&written.report_html).expect("report.html readable");
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(written.report_html, dir.join("report.html"));
    sections(&html);
}

/// A run with nothing in it: no calls, no seconds, no histograms, probes or alarms.
fn empty_result() -> RunResult {
    RunResult {
        schema: RESULT_SCHEMA.to_owned(),
        scenario: ScenarioInfo {
            name: "empty".to_owned(),
            file: "scenarios/empty.yaml".to_owned(),
            description: None,
        },
        started_at: "2025-06-02T09:30:00Z".to_owned(),
        duration_s: 0.0,
        targets: Vec::new(),
        load: LoadInfo {
            model: "closed".to_owned(),
            phases: Vec::new(),
            offered_calls: 0,
            completed_calls: 0,
            offered_rate: 0.0,
            achieved_rate: 0.0,
            late_starts: 0,
            max_lateness_ms: 0.0,
            workers: 0,
            callers: 0,
            instrument: None,
            machine: None,
        },
        overall: Summary::default(),
        tools: BTreeMap::new(),
        timeline: Vec::new(),
        objectives: Vec::new(),
        verdict: Verdict::Pass,
        findings: Vec::new(),
        cost: None,
        costs: Vec::new(),
        histograms: BTreeMap::new(),
        harness: HarnessInfo {
            version: "0.1.0".to_owned(),
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

#[test]
fn an_empty_run_renders_every_section_without_charts() {
    let html = report_html(&empty_result());
    let s = sections(&html);
    assert_eq!(svgs(&html), 0);
    assert!(html.contains("<span class=\"badge pass\">PASS</span>"));
    assert!(s["verdict"].contains("No objectives"));
    assert!(s["latency"].contains("No timeline"));
    assert!(s["distribution"].contains("No latency histograms"));
    assert!(s["probes"].contains("No boundary probes ran."));
    assert!(s["alarms"].contains("No alarms were evaluated"));
    assert!(s["cost"].contains("No findings."));
}

#[test]
fn zero_calls_over_a_timeline_still_draws_axes() {
    let mut r = empty_result();
    r.timeline = (0..10)
        .map(|t| TimelinePoint {
            t,
            recorded: true,
            offered: 0,
            outcomes: Outcomes::default(),
            p50_us: 0,
            p95_us: 0,
            p99_us: 0,
            max_us: 0,
            tools: Default::default(),
            stall_us: 0,
        })
        .collect();
    r.histograms.insert(
        "overall".to_owned(),
        mcp_slo_core::maths::encode_histogram(&mcp_slo_core::measure::new_histogram(3)),
    );
    let html = report_html(&r);
    let s = sections(&html);
    assert_eq!(svgs(s["latency"]) + svgs(s["rate"]), 2);
    assert!(s["distribution"].contains("No latency histograms"));
}

#[test]
fn odd_numbers_do_not_panic() {
    let mut r = rich_result();
    r.duration_s = f64::NAN;
    r.load.offered_rate = f64::INFINITY;
    r.timeline[3].p99_us = u64::MAX;
    r.timeline.swap(0, 9);
    r.histograms
        .insert("broken".to_owned(), "not base64 at all!".to_owned());
    r.costs[0].cpu_seconds = f64::NAN;
    r.costs[0].cpu_us_per_call = Some(f64::NEG_INFINITY);
    r.costs[0].peak_rss_bytes = u64::MAX;
    r.probes[0].expected_value = f64::NAN;
    r.probes[0].seconds.push(ProbeSecond {
        t: 2,
        caller: 2,
        offered: 0,
        admitted: 0,
        refused: 0,
        judged: true,
    });
    r.probes[1]
        .figures
        .insert("extra_admitted".to_owned(), f64::NAN);
    r.probes.push(ProbeResult {
        seconds: Vec::new(),
        figures: BTreeMap::new(),
        ..r.probes[0].clone()
    });
    let alarms = r.alarms.as_mut().expect("the sample has alarms");
    alarms.datapoints.insert(
        "high_latency".to_owned(),
        vec![
            Datapoint {
                t_start_s: f64::NAN,
                value: Some(1.0),
                samples: 1,
            },
            Datapoint {
                t_start_s: 3.0,
                value: Some(f64::INFINITY),
                samples: 1,
            },
            Datapoint {
                t_start_s: 3.5,
                value: Some(f64::MAX),
                samples: 1,
            },
            Datapoint {
                t_start_s: 4.0,
                value: None,
                samples: 0,
            },
        ],
    );
    alarms.timelines.push(AlarmTimeline {
        alarm: "never_evaluated".to_owned(),
        period_s: 0,
        states: vec![StatePoint {
            t_end_s: f64::NAN,
            state: AlarmState::Alarm,
        }],
        transitions: Vec::new(),
        first_alarm_s: Some(f64::NAN),
        cleared_after_alarm_s: None,
        fired: true,
    });
    alarms.burn_rate.push(BurnRateResult {
        severity: Severity::Page,
        long_window_s: 0,
        short_window_s: 0,
        factor: f64::NAN,
        fired: false,
        first_fired_s: None,
        max_long_burn: f64::INFINITY,
        max_short_burn: f64::NAN,
        window_exceeds_run: false,
    });
    r.objectives
        .push(objective("weird", "latency", "", "", true));
    let html = report_html(&r);
    let s = sections(&html);
    assert!(s["distribution"].contains("could not be decoded: broken."));
    assert!(s["cost"].contains("n/a"));
}

#[test]
fn long_timelines_are_bucketed() {
    let mut r = rich_result();
    let template = r.timeline[10].clone();
    r.timeline = (0..3_600)
        .map(|t| TimelinePoint {
            t,
            ..template.clone()
        })
        .collect();
    let html = report_html(&r);
    let s = sections(&html);
    assert!(
        s["latency"].contains("3600 seconds, drawn in buckets of 6 s"),
        "{}",
        &s["latency"][s["latency"].len() - 600..]
    );
    assert!(
        html.len() < 400_000,
        "a one-hour page is {} bytes",
        html.len()
    );
}

fn capacity_view() -> CapacityView {
    let steps = [
        (100.0, 100.0, 4.0),
        (200.0, 199.0, 5.0),
        (300.0, 297.0, 7.0),
        (400.0, 380.0, 22.0),
        (500.0, 390.0, 180.0),
    ]
    .into_iter()
    .map(|(offered, achieved, p99_ms)| CapacityStep {
        offered,
        achieved,
        p99_ms,
        passed: p99_ms < 50.0,
    })
    .collect();
    CapacityView {
        steps,
        knee: Some(2),
        max_rate: Some(400.0),
        usl: (0..=50)
            .map(|i| {
                let n = f64::from(i) * 10.0;
                (n, 420.0 * n / (n + 120.0))
            })
            .collect(),
    }
}

#[test]
fn capacity_section_marks_the_knee() {
    let view = capacity_view();
    let section = capacity_html(&view);
    assert!(
        section.starts_with("<section id=\"capacity\">\n<h2>Capacity</h2>")
            && section.ends_with("</section>\n")
    );
    assert_eq!(svgs(&section), 2);
    for label in [
        "Achieved against offered rate",
        "p99 latency against offered rate",
        "offered (calls/s)",
        "knee 300.0/s",
        "max rate 400.0/s",
        "USL fit",
        "achieved = offered",
        "step missed objectives",
    ] {
        assert!(has_label(&section, label), "capacity charts lack {label:?}");
    }
    assert!(section.contains("<td>3 (knee)</td>"));
    let html = report_html_with_capacity(&rich_result(), Some(&view));
    assert_eq!(svgs(sections(&html)["capacity"]), 2);
}

#[test]
fn capacity_survives_odd_views() {
    assert_eq!(svgs(&capacity_html(&CapacityView::default())), 0);
    let mut view = capacity_view();
    view.knee = Some(99);
    view.max_rate = Some(f64::NAN);
    view.steps[1].p99_ms = f64::NAN;
    view.usl.push((f64::INFINITY, 1.0));
    let section = capacity_html(&view);
    assert_eq!(svgs(&section), 2);
    assert!(!section.contains("(knee)"));
}

#[test]
fn an_unevaluated_alarms_report_says_so() {
    let mut r = empty_result();
    r.alarms = Some(AlarmsReport {
        file: "a.yaml".to_owned(),
        period_override_s: None,
        scaled: Vec::new(),
        timelines: Vec::new(),
        datapoints: BTreeMap::new(),
        burn_rate: Vec::new(),
        burn_rate_scale: None,
        published: None,
    });
    let html = report_html(&r);
    let s = sections(&html);
    assert!(
        s["alarms"].contains("defines no alarms") && s["alarms"].contains("No burn-rate alerts")
    );
}
