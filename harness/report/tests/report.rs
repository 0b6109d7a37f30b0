//! The report crate's one integration-test binary: golden Markdown, JUnit and console
//! output, the committed result schema, and `result.json` round trips.
//!
//! Regenerate the committed files after an intended change with
//! `MCP_SLO_BLESS=1 cargo test -p mcp-slo-report`, then review the diff.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use mcp_slo_core::maths::encode_histogram;
use mcp_slo_core::measure::{CallOutcome, Outcomes, Recorder};
use mcp_slo_core::result::{
    BackendInfo, BackendSource, BuildProfile, Cost, Finding, HarnessInfo, LatencySummary, LoadInfo,
    ObjectiveResult, PhaseInfo, RESULT_SCHEMA, RunResult, ScenarioInfo, Summary, TargetCost,
    TargetInfo, TimelinePoint, Verdict,
};
use mcp_slo_report::{
    ReportError, console_table, junit_xml, read_result, result_schema_text, summary_markdown,
    write_all, write_result,
};

fn manifest_path(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

/// Compares `actual` with the committed file, or rewrites it when `MCP_SLO_BLESS=1`.
fn assert_golden(relative: &str, actual: &str) {
    let path = manifest_path(relative);
    if std::env::var_os("MCP_SLO_BLESS").is_some_and(|v| v == "1") {
        std::fs::write(&path, actual)
            .unwrap_or_else(|e| panic!("{}: cannot write: {e}", path.display()));
        return;
    }
    let how =
        "regenerate it with `MCP_SLO_BLESS=1 cargo test -p mcp-slo-report` and review the diff";
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: cannot read ({e}); {how}", path.display()));
    assert_eq!(expected, actual, "{} is out of date; {how}", path.display());
}

/// A directory under the system temp dir, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let dir =
            std::env::temp_dir().join(format!("mcp-slo-report-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn outcomes(ok: u64, tool_error: u64, rate_limited: u64) -> Outcomes {
    Outcomes {
        ok,
        tool_error,
        rate_limited,
        ..Outcomes::default()
    }
}

fn latency(count: u64, p50_us: u64, p99_us: u64, max_us: u64) -> LatencySummary {
    LatencySummary {
        count,
        min_us: 310,
        mean_us: p50_us as f64 * 1.1,
        p50_us,
        p90_us: p50_us * 2,
        p95_us: p50_us * 3,
        p99_us,
        p999_us: max_us * 9 / 10,
        max_us,
    }
}

fn summary(outcomes: Outcomes, latency: LatencySummary, recorded_s: f64) -> Summary {
    Summary {
        error_rate: outcomes.failed() as f64 / outcomes.total() as f64,
        throughput: outcomes.ok as f64 / recorded_s,
        outcomes,
        latency,
        ..Summary::default()
    }
}

/// A failed open-model run of two tools: the error-rate objective fails on 10 failed calls.
fn run_result() -> RunResult {
    let sql = summary(
        outcomes(4037, 8, 2),
        latency(4047, 4_200, 31_200, 87_500),
        60.0,
    );
    let read = summary(
        outcomes(1349, 0, 0),
        latency(1349, 850, 2_900, 12_400),
        60.0,
    );
    let overall = summary(
        outcomes(5386, 8, 2),
        latency(5396, 3_100, 28_700, 87_500),
        60.0,
    );
    let mut recorder = Recorder::default();
    for (i, us) in [850, 1_200, 4_200, 9_800, 31_200, 87_500]
        .into_iter()
        .enumerate()
    {
        recorder.record("sql_query", CallOutcome::Ok, us, i, true);
    }
    let mut histograms = BTreeMap::new();
    histograms.insert(
        "overall".to_owned(),
        encode_histogram(&recorder.overall().latency),
    );
    let objective = |name: &str,
                     tool: Option<&str>,
                     kind: &str,
                     target: &str,
                     measured: &str,
                     tv: f64,
                     mv: f64,
                     passed: bool| {
        ObjectiveResult {
            name: name.to_owned(),
            tool: tool.map(str::to_owned),
            kind: serde_json::from_value(serde_json::Value::from(kind)).expect("a judged kind"),
            target: target.to_owned(),
            measured: measured.to_owned(),
            target_value: tv,
            measured_value: mv,
            passed,
            detail: None,
            inconclusive: None,
        }
    };
    RunResult {
        schema: RESULT_SCHEMA.to_owned(),
        scenario: ScenarioInfo {
            name: "local-sql-steady".to_owned(),
            file: "scenarios/local-sql-steady.yaml".to_owned(),
            description: Some("Steady SQL reads and file reads against the local tier.".to_owned()),
        },
        started_at: "2025-06-02T09:30:00Z".to_owned(),
        duration_s: 65.0,
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
            build_profile: Some(BuildProfile::Debug),
            oauth: None,
        }],
        load: LoadInfo {
            model: "open".to_owned(),
            phases: vec![
                PhaseInfo { name: "warmup".to_owned(), duration_s: 5.0, rate: Some(20.0), users: None, record: false },
                PhaseInfo { name: "steady".to_owned(), duration_s: 60.0, rate: Some(90.0), users: None, record: true },
            ],
            offered_calls: 5400,
            completed_calls: 5396,
            offered_rate: 90.0,
            achieved_rate: 89.93,
            late_starts: 3,
            max_lateness_ms: 12.5,
            workers: 256,
            callers: 4,
            instrument: None,
            machine: None,
        },
        overall,
        tools: BTreeMap::from([("read_file".to_owned(), read), ("sql_query".to_owned(), sql)]),
        timeline: vec![
            TimelinePoint { t: 0, recorded: false, offered: 20, outcomes: outcomes(20, 0, 0), p50_us: 5_100, p99_us: 40_000, max_us: 41_000, p95_us: 0, tools: BTreeMap::new(), stall_us: 0 },
            TimelinePoint { t: 5, recorded: true, offered: 90, outcomes: outcomes(88, 2, 0), p50_us: 3_000, p99_us: 27_000, max_us: 30_000, p95_us: 0, tools: BTreeMap::new(), stall_us: 0 },
            TimelinePoint { t: 6, recorded: true, offered: 90, outcomes: outcomes(88, 0, 2), p50_us: 3_200, p99_us: 29_000, max_us: 87_500, p95_us: 0, tools: BTreeMap::new(), stall_us: 0 },
        ],
        objectives: vec![
            objective("sql_query p99 < 50ms", Some("sql_query"), "latency", "p99 < 50.0ms", "p99 = 31.2ms", 50_000.0, 31_200.0, true),
            objective("error rate < 0.1%", None, "error_rate", "< 0.10%", "0.19% (10 of 5396 calls failed)", 0.001, 10.0 / 5396.0, false),
            objective(
                "availability > 99%",
                None,
                "availability",
                "> 99.00% of 1s slices at >= 99.00% success",
                "100.00% (60 of 60 slices good)",
                0.99,
                1.0,
                true,
            ),
        ],
        verdict: Verdict::Fail,
        findings: vec![Finding {
            severity: mcp_slo_core::result::FindingSeverity::Warning,
            message: "2 calls were rate limited although the offered rate (90/s) is below the local tier's limit (100/s per caller)".to_owned(),
        }],
        cost: Some(Cost { pid: 4242, cpu_seconds: 3.1, cpu_us_per_call: Some(574.5), peak_rss_bytes: 48_234_496, samples: 65 }),
        costs: vec![TargetCost {
            target: "local".to_owned(),
            pid: 4242,
            build_profile: Some(BuildProfile::Debug),
            cpu_seconds: 3.1,
            cpu_us_per_call: Some(574.5),
            peak_rss_bytes: 48_234_496,
            samples: 65,
            calls: Some(5396),
        }],
        histograms,
        harness: HarnessInfo { version: "0.1.0".to_owned(), cores: 2, build_profile: Some(BuildProfile::Release) },
        probes: Vec::new(),
        alarms: None,
        faults: vec![],
        footprints: vec![],
        shard: None,
        merged: None,
    }
}

#[test]
fn committed_result_schema_is_current() {
    assert_golden("result.schema.json", &result_schema_text());
}

#[test]
fn summary_markdown_matches_golden() {
    assert_golden("tests/golden/summary.md", &summary_markdown(&run_result()));
}

#[test]
fn junit_xml_matches_golden() {
    assert_golden("tests/golden/junit.xml", &junit_xml(&run_result()));
}

#[test]
fn console_table_matches_golden() {
    assert_golden("tests/golden/console.txt", &console_table(&run_result()));
}

#[test]
fn a_passing_run_says_pass_and_omits_empty_sections() {
    let mut r = run_result();
    r.verdict = Verdict::Pass;
    r.objectives.retain(|o| o.passed);
    r.findings.clear();
    r.cost = None;
    r.costs.clear();
    let md = summary_markdown(&r);
    assert!(
        md.starts_with("## mcp-slo: `local-sql-steady` ✅ PASS\n"),
        "{md}"
    );
    assert!(
        !md.contains("Findings") && !md.contains("Server cost") && !md.contains("❌"),
        "{md}"
    );
    let xml = junit_xml(&r);
    assert!(
        xml.contains("tests=\"2\" failures=\"0\"") && !xml.contains("<failure"),
        "{xml}"
    );
    assert!(console_table(&r).starts_with("local-sql-steady: PASS "));
}

#[test]
fn embedded_backends_are_said_and_real_ones_are_not_flagged() {
    let mut r = run_result();
    let summary = summary_markdown(&r);
    assert!(summary.contains(mcp_slo_report::EMBEDDED_NOTE), "{summary}");
    assert!(
        summary.contains("cache=embedded (in-process cache)"),
        "{summary}"
    );
    assert!(console_table(&r).contains(mcp_slo_report::EMBEDDED_NOTE));
    r.targets[0]
        .backends
        .retain(|b| b.source != BackendSource::Embedded);
    let summary = summary_markdown(&r);
    assert!(
        !summary.contains(mcp_slo_report::EMBEDDED_NOTE),
        "{summary}"
    );
    assert!(summary.contains("postgres=env"), "{summary}");
    assert!(!console_table(&r).contains("note:"));
}

#[test]
fn a_debug_builds_cost_is_never_quoted_without_saying_so() {
    let r = run_result();
    let line = "local (pid 4242): 574.5 µs CPU per call (debug build) over 5396 calls · 3.10 s CPU · peak RSS 46.0 MiB";
    let (md, console) = (summary_markdown(&r), console_table(&r));
    assert!(md.contains(&format!("- {line}\n")), "{md}");
    assert!(
        md.contains("**Builds** mcp-slo release · local debug\n"),
        "{md}"
    );
    assert!(console.contains(&format!("  cost {line}\n")), "{console}");
    assert!(
        console.contains("builds: mcp-slo release · local debug\n"),
        "{console}"
    );
    assert!(!console.contains(mcp_slo_report::HARNESS_DEBUG_NOTE));

    // A second target in release, and the harness itself a debug build.
    let mut r = run_result();
    r.costs.push(TargetCost {
        target: "aws".to_owned(),
        pid: 5151,
        build_profile: Some(BuildProfile::Release),
        cpu_seconds: 0.06,
        cpu_us_per_call: Some(30.0),
        peak_rss_bytes: 20 << 20,
        samples: 65,
        calls: Some(2000),
    });
    r.harness.build_profile = Some(BuildProfile::Debug);
    let console = console_table(&r);
    assert!(
        console.contains("  cost aws (pid 5151): 30.0 µs CPU per call (release build) over 2000 calls · 0.06 s CPU · peak RSS 20.0 MiB\n"),
        "{console}"
    );
    assert!(
        console.contains(&format!("note: {}\n", mcp_slo_report::HARNESS_DEBUG_NOTE)),
        "{console}"
    );
    assert!(summary_markdown(&r).contains("**Builds** mcp-slo debug · local debug\n"));

    // Calls not known (a tool name shared by two targets): CPU time only.
    r.costs[1].calls = None;
    r.costs[1].cpu_us_per_call = None;
    assert!(
        console_table(&r).contains("  cost aws (pid 5151): 0.06 s CPU (release build; its calls are not known) · peak RSS 20.0 MiB\n")
    );
}

#[test]
fn a_result_from_before_costs_renders_its_one_cost() {
    let mut r = run_result();
    r.costs.clear();
    r.harness.build_profile = None;
    r.targets[0].build_profile = None;
    let (md, console) = (summary_markdown(&r), console_table(&r));
    let line = "server (pid 4242): 574.5 µs CPU per call (build not stated) · 3.10 s CPU · peak RSS 46.0 MiB";
    assert!(md.contains(&format!("- {line}\n")), "{md}");
    assert!(!md.contains("**Builds**"), "{md}");
    assert!(console.contains(&format!("  cost {line}\n")), "{console}");
    assert!(!console.contains("builds:"), "{console}");
}

#[test]
fn committed_baselines_still_load_and_render() {
    let dir = manifest_path("../../reports/baselines");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let r = read_result(&path).unwrap_or_else(|e| panic!("{e}"));
        // Older baselines carry `cost` only; it is rendered as an unnamed server's.
        let console = console_table(&r);
        assert!(
            console.contains("  cost server (pid ") || !r.costs.is_empty(),
            "{}: {console}",
            path.display()
        );
        seen += 1;
    }
    assert!(seen > 0, "no baselines in {}", dir.display());
}

#[test]
fn junit_escapes_objective_names() {
    let mut r = run_result();
    r.objectives[1].name = "p99 < 100ms & \"x\"".to_owned();
    let xml = junit_xml(&r);
    assert!(
        xml.contains("<testcase classname=\"mcp-slo.local-sql-steady\" name=\"p99 &lt; 100ms &amp; &quot;x&quot;\" time=\"65.000\">"),
        "{xml}"
    );
    assert!(!xml.contains("100ms & "), "{xml}");
}

#[test]
fn written_result_validates_against_the_committed_schema() {
    let dir = TempDir::new("schema");
    let written = write_all(&dir.0.join("nested/run"), &run_result()).unwrap();
    assert_eq!(written.result_json, dir.0.join("nested/run/result.json"));
    assert!(written.summary_md.is_file() && written.junit_xml.is_file());

    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(manifest_path("result.schema.json")).unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let mut instance: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&written.result_json).unwrap()).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&instance)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");

    instance["verdict"] = "maybe".into();
    assert!(
        !validator.is_valid(&instance),
        "verdict \"maybe\" must not validate"
    );
    instance["verdict"] = "pass".into();
    instance["load"]["offered_calls"] = "many".into();
    assert!(
        !validator.is_valid(&instance),
        "a string count must not validate"
    );
}

#[test]
fn read_result_round_trips() {
    let dir = TempDir::new("round-trip");
    std::fs::create_dir_all(&dir.0).unwrap();
    let r = run_result();
    let path = write_result(&dir.0, &r).unwrap();
    let back = read_result(&path).unwrap();
    assert_eq!(
        serde_json::to_value(&back).unwrap(),
        serde_json::to_value(&r).unwrap()
    );
}

#[test]
fn read_result_refuses_another_schema_version() {
    let dir = TempDir::new("version");
    std::fs::create_dir_all(&dir.0).unwrap();
    let mut r = run_result();
    r.schema = "mcp-slo/result/v2".to_owned();
    let path = write_result(&dir.0, &r).unwrap();
    let err = read_result(&path).unwrap_err();
    assert!(matches!(err, ReportError::Schema { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        format!(
            "{}: unsupported result schema \"mcp-slo/result/v2\" (expected \"mcp-slo/result/v1\")",
            path.display()
        )
    );

    std::fs::write(&path, "{\"verdict\": \"pass\"}").unwrap();
    assert_eq!(
        read_result(&path).unwrap_err().to_string(),
        format!(
            "{}: no \"schema\" field, so not an mcp-slo run result (expected \"mcp-slo/result/v1\")",
            path.display()
        )
    );
}

#[test]
fn read_errors_name_the_file() {
    let dir = TempDir::new("errors");
    std::fs::create_dir_all(&dir.0).unwrap();
    let missing = dir.0.join("missing.json");
    let err = read_result(&missing).unwrap_err().to_string();
    assert!(
        err.starts_with(&format!("{}: cannot read: ", missing.display())),
        "{err}"
    );

    let broken = dir.0.join("broken.json");
    std::fs::write(
        &broken,
        format!("{{\"schema\": \"{RESULT_SCHEMA}\", \"verdict\": \"pass\"}}"),
    )
    .unwrap();
    let err = read_result(&broken).unwrap_err().to_string();
    assert!(
        err.starts_with(&format!(
            "{}: not a valid run result: missing field",
            broken.display()
        )),
        "{err}"
    );
}

/// Results written before the typed fields (`kind`, `severity` as enums) still read as
/// typed results and still validate: the committed baselines, one of them recorded on
/// 2026-11-24, are what `mcp-slo compare` reads.
#[test]
fn results_written_by_earlier_versions_still_read_and_validate() {
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(manifest_path("result.schema.json")).unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let baselines = manifest_path("../../reports/baselines");
    let mut read = 0;
    for entry in std::fs::read_dir(&baselines).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let typed: RunResult =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(!typed.objectives.is_empty(), "{}", path.display());
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        let errors: Vec<String> = validator
            .iter_errors(&value)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{}: {errors:#?}", path.display());
        // Typed now, written as before.
        let again = serde_json::to_value(&typed).unwrap();
        assert_eq!(
            again["objectives"],
            value["objectives"],
            "{}",
            path.display()
        );
        assert_eq!(again["findings"], value["findings"], "{}", path.display());
        read += 1;
    }
    assert!(read >= 2, "read {read} baselines");
}
