//! End to end: the `mcp-slo` binary against an in-process local tier on the real backends.

mod common;

use common::{local_tier, root, run_scenario, services};

use std::path::{Path, PathBuf};
use std::process::Command;

use mcp_server_core::stack::Mode;
use serde_json::Value;

fn scenario(dir: &Path, name: &str, url: &str, mode: &str, slo: &str) -> PathBuf {
    let text = format!(
        "version: mcp-slo/v1\nname: {name}\ntargets:\n  local: {{ url: \"{url}\", mode: {mode} }}\nboundaries: {{ file: \"{}\", tier: local }}\nload:\n  model: open\n  phases:\n    - {{ name: warmup, duration: 1s, rate: 20/s, record: false }}\n    - {{ name: steady, duration: 4s, rate: 40/s }}\nmix:\n  - {{ target: local, tool: postgres_query, weight: 3, args: {{ query: \"SELECT * FROM orders WHERE id = $1\", params: [\"{{{{int 1 100000}}}}\"] }} }}\n  - {{ target: local, tool: file_read, weight: 1, args: {{ path: reports/daily.csv }} }}\nslo:\n{slo}\n",
        root().join("config/deployment_boundaries.yaml").display()
    );
    let path = dir.join(format!("{name}.yaml"));
    std::fs::write(&path, text).unwrap();
    path
}

/// `mcp-slo run SCENARIO --out OUT` with plain progress lines.
fn run_to(path: &Path, out: &Path) -> (i32, String, String) {
    mcp_slo(&[
        "run",
        path.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--no-progress-bar",
    ])
}

fn mcp_slo(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_mcp-slo"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("mcp-slo runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn every_committed_scenario_validates() {
    let mut files: Vec<String> = std::fs::read_dir(root().join("scenarios"))
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .map(|p| p.display().to_string())
        .collect();
    files.sort();
    assert!(files.len() >= 3, "{files:?}");
    let mut args = vec!["validate"];
    args.extend(files.iter().map(String::as_str));
    let (code, stdout, stderr) = mcp_slo(&args);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(
        stdout.contains("ok: ") && stdout.contains("local-slo"),
        "{stdout}"
    );
}

#[test]
fn invalid_input_exits_2_and_says_where() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.yaml");
    std::fs::write(&bad, "version: mcp-slo/v1\nname: bad\ntargets:\n  local: { url: \"http://127.0.0.1:1/mcp\" }\nload:\n  model: open\n  phases:\n    - { duration: 5 ms, rate: 10/s }\nmix:\n  - { target: nowhere, tool: x }\n").unwrap();
    let (code, _, stderr) = mcp_slo(&["validate", bad.to_str().unwrap()]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("2 problems"), "{stderr}");
    assert!(stderr.contains("load.phases[0].duration: invalid duration \"5 ms\": unit must be one of us, ms, s, m, h (at line 8 column 19)"), "{stderr}");
    assert!(
        stderr.contains(
            "mix[0].target: \"nowhere\" is not a target (targets: local) (at line 10 column 15)"
        ),
        "{stderr}"
    );
    let (code, _, stderr) = mcp_slo(&["run", bad.to_str().unwrap()]);
    assert_eq!(code, 2, "{stderr}");
}

#[test]
fn the_seeds_conflicting_tables_are_explained() {
    let dir = tempfile::tempdir().unwrap();
    let path = scenario(
        dir.path(),
        "conflict",
        "http://127.0.0.1:1/mcp",
        "session",
        "  - { throughput: { above: 1000/s } }",
    );
    let (code, _, stderr) = mcp_slo(&["validate", path.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(stderr.contains("cannot be met by construction: 1000/s is not below the local tier's global rate limit of 100/s"), "{stderr}");
}

#[test]
fn an_unreachable_target_exits_3() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let path = scenario(
        dir.path(),
        "down",
        &format!("http://127.0.0.1:{port}/mcp"),
        "session",
        "  - { error_rate: { below: 1% } }",
    );
    let out = dir.path().join("out");
    let (code, _, stderr) = mcp_slo(&[
        "run",
        path.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 3, "{stderr}");
    assert!(
        stderr.contains("target unreachable") || stderr.contains("unreachable"),
        "{stderr}"
    );
}

#[test]
fn a_run_that_meets_its_objectives_exits_0_with_every_report_file() {
    if !services() {
        return;
    }
    let url = local_tier(Mode::Session);
    let dir = tempfile::tempdir().unwrap();
    let path = scenario(
        dir.path(),
        "pass",
        &url,
        "session",
        "  - { latency: { p: 99, below: 1s } }\n  - { error_rate: { below: 1% } }\n  - { availability: { above: 90%, slice: 1s } }\n  - { throughput: { above: 30/s } }",
    );
    let out = dir.path().join("out");
    let (code, stdout, stderr) = run_to(&path, &out);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    for file in ["result.json", "summary.md", "junit.xml"] {
        assert!(out.join(file).is_file(), "{file} written");
    }
    let result: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("result.json")).unwrap()).unwrap();
    let errors = common::schema_errors(&result);
    assert!(
        errors.is_empty(),
        "result.json does not match its schema: {errors:?}"
    );
    assert_eq!(result["verdict"], "pass");
    assert_eq!(result["load"]["offered_calls"], 160);
    assert_eq!(
        result["overall"]["outcomes"]["ok"], 160,
        "{}",
        result["overall"]
    );
    assert!(
        result["tools"]["postgres_query"]["latency"]["p99_us"]
            .as_u64()
            .unwrap()
            > 0
    );
    assert_eq!(
        result["targets"][0]["build_profile"],
        test_build_profile(),
        "a target given by URL states its build in /metrics too"
    );
    assert!(out.join("report.html").is_file(), "report.html written");
    // Every format again from the stored result, into another directory.
    let again = dir.path().join("again");
    let result_path = out.join("result.json");
    let (code, stdout, stderr) = mcp_slo(&[
        "report",
        result_path.to_str().unwrap(),
        "--out",
        again.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    for file in ["result.json", "summary.md", "junit.xml", "report.html"] {
        assert!(again.join(file).is_file(), "{file} re-rendered");
    }
    assert_eq!(
        std::fs::read_to_string(out.join("summary.md")).unwrap(),
        std::fs::read_to_string(again.join("summary.md")).unwrap()
    );
    // A run compared with itself is no regression.
    let (code, stdout, stderr) = mcp_slo(&[
        "compare",
        result_path.to_str().unwrap(),
        result_path.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains("no regression"), "{stdout}");
    // The same gate as a verdict line: `baseline:` in the scenario. Two runs of a few
    // seconds on a shared 2-core machine, next to this binary's other tests, differ by far
    // more than any sane tolerance (p50 +55% seen in CI), so the wiring is checked against
    // baselines made from this run with every percentile scaled: ten times slower (a run
    // cannot be a regression against it) and ten times faster (a run must be one: with
    // the 4 recorded seconds of each, complete separation gives p = 1/70 in the exact
    // Mann-Whitney test; 3 would give 1/20, not below 5%). The noise test itself is the
    // compare module's.
    let slower = dir.path().join("slower.json");
    let faster = dir.path().join("faster.json");
    std::fs::write(&slower, scaled_percentiles(&result, 10.0).to_string()).unwrap();
    std::fs::write(&faster, scaled_percentiles(&result, 0.1).to_string()).unwrap();
    let gated = |name: &str, baseline: &Path| {
        let gated = dir.path().join(format!("{name}.yaml"));
        let text = std::fs::read_to_string(&path).unwrap()
            + &format!(
                "baseline:\n  file: \"{}\"\n  tolerances: {{ p50: 10%, p95: 10%, p99: 10%, rate: 10% }}\n",
                baseline.display()
            );
        std::fs::write(&gated, text).unwrap();
        let out = dir.path().join(name);
        let (code, stdout, stderr) = run_to(&gated, &out);
        let result: Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("result.json")).unwrap())
                .unwrap_or_else(|e| panic!("{e}\n{stdout}\n{stderr}"));
        let line = result["objectives"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["kind"] == "baseline")
            .expect("a baseline verdict line")
            .clone();
        assert!(out.join("compare.md").is_file());
        (code, line, format!("{stdout}\n{stderr}"))
    };
    let (code, line, output) = gated("gated-pass", &slower);
    assert_eq!(code, 0, "{output}");
    assert_eq!(line["passed"], true, "{line}");
    let (code, line, output) = gated("gated-fail", &faster);
    assert_eq!(code, 1, "{output}");
    assert_eq!(line["passed"], false, "{line}");
    let detail = line["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("overall p50 worse by"), "{line}");
}

/// `result` with every p50/p95/p99 (overall, per tool, per second) multiplied by `factor`.
fn scaled_percentiles(result: &Value, factor: f64) -> Value {
    match result {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let v = match (k.as_str(), v.as_u64()) {
                        ("p50_us" | "p95_us" | "p99_us", Some(us)) => {
                            Value::from(((us as f64 * factor).round() as u64).max(1))
                        }
                        _ => scaled_percentiles(v, factor),
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|v| scaled_percentiles(v, factor))
                .collect(),
        ),
        other => other.clone(),
    }
}

#[test]
fn a_missed_objective_exits_1_and_fails_its_junit_case() {
    if !services() {
        return;
    }
    let url = local_tier(Mode::Stateless);
    let dir = tempfile::tempdir().unwrap();
    let path = scenario(
        dir.path(),
        "fail",
        &url,
        "stateless",
        "  - { latency: { p: 50, below: 1us } }\n  - { error_rate: { below: 1% } }",
    );
    let out = dir.path().join("out");
    let (code, stdout, stderr) = run_to(&path, &out);
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    let junit = std::fs::read_to_string(out.join("junit.xml")).unwrap();
    assert!(junit.contains("failures=\"1\""), "{junit}");
    assert!(junit.contains("<failure"), "{junit}");
    let summary = std::fs::read_to_string(out.join("summary.md")).unwrap();
    assert!(summary.contains("FAIL"), "{summary}");
}

/// The same server under 2026-07-28 and 2025-11-25 sessions side by side, with every kind
/// of op the local tier answers, and the ones it does not serve answered as JSON-RPC errors.
#[test]
fn each_op_kind_runs_under_both_revisions_side_by_side() {
    if !services() {
        return;
    }
    let url = local_tier(Mode::Session);
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        r#"version: mcp-slo/v1
name: revisions
targets:
  modern: {{ url: "{url}", mode: session }}
  sessions: {{ same_server_as: modern, protocol_version: 2025-11-25 }}
load:
  model: open
  phases:
    - {{ name: warmup, duration: 1s, rate: 10/s, record: false }}
    - {{ name: steady, duration: 3s, rate: 40/s }}
mix:
  - {{ target: modern, tool: postgres_query, label: sql-2026, weight: 3, args: {{ query: "SELECT * FROM orders WHERE id = $1", params: ["{{{{int 1 100000}}}}"] }} }}
  - {{ target: sessions, tool: postgres_query, label: sql-2025, weight: 3, args: {{ query: "SELECT * FROM orders WHERE id = $1", params: ["{{{{int 1 100000}}}}"] }} }}
  - {{ target: modern, method: tools/list, walk: true }}
  - {{ target: modern, method: server/discover }}
  - {{ target: sessions, method: tools/list, label: tools-2025 }}
  - {{ target: sessions, method: ping }}
  - {{ target: modern, method: resources/list }}
  - {{ target: sessions, method: prompts/list }}
slo:
  - {{ tool: sql-2026, latency: {{ p: 99, below: 500ms }} }}
  - {{ tool: sql-2025, latency: {{ p: 99, below: 500ms }} }}
  - {{ tool: sql-2026, error_rate: {{ below: 1% }} }}
  - {{ tool: sql-2025, error_rate: {{ below: 1% }} }}
  - {{ tool: "tools/list (walk)", error_rate: {{ below: 1% }} }}
  - {{ tool: server/discover, error_rate: {{ below: 1% }} }}
  - {{ tool: tools-2025, error_rate: {{ below: 1% }} }}
  - {{ tool: ping, error_rate: {{ below: 1% }} }}
"#
    );
    let path = dir.path().join("revisions.yaml");
    std::fs::write(&path, text).unwrap();
    let out = dir.path().join("out");
    let (code, stdout, stderr) = run_to(&path, &out);
    assert_eq!(code, 0, "stdout:\n{stdout}\nstderr:\n{stderr}");
    let result: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("result.json")).unwrap()).unwrap();
    let target = |name: &str| -> Value {
        result["targets"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"] == name)
            .cloned()
            .unwrap_or_default()
    };
    assert_eq!(target("modern")["protocol_version"], "2026-07-28");
    assert_eq!(target("sessions")["protocol_version"], "2025-11-25");
    // Declared `mode: session`, but 2026-07-28 has no sessions: reported as spoken.
    assert_eq!(target("modern")["mode"], "stateless");
    assert_eq!(target("sessions")["mode"], "session");
    let tools = &result["tools"];
    let walk = &tools["tools/list (walk)"];
    assert!(walk["outcomes"]["ok"].as_u64().unwrap() > 0, "{walk}");
    let listing = &walk["listing"];
    assert_eq!(
        listing["items"].as_u64(),
        listing["calls"].as_u64().map(|c| c * 4),
        "four tools per walk: {listing}"
    );
    // The local tier serves its files as resources, and has no prompts.
    let resources = &tools["resources/list"]["outcomes"];
    assert!(resources["ok"].as_u64().unwrap() > 0, "{resources}");
    assert_eq!(resources["jsonrpc_error"], 0, "{resources}");
    let prompts = &tools["prompts/list"]["outcomes"];
    assert!(prompts["jsonrpc_error"].as_u64().unwrap() > 0, "{prompts}");
    assert_eq!(
        prompts["ok"], 0,
        "the local tier serves no prompts: {prompts}"
    );
    assert!(result["load"]["instrument"]["start_lateness_us"]["p50"].is_u64());
}

/// The profile this test, and so the binaries built with it, was built in.
fn test_build_profile() -> &'static str {
    if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    }
}

fn calls_of(result: &Value, tool: &str) -> u64 {
    let outcomes = result["tools"][tool]["outcomes"]
        .as_object()
        .unwrap_or_else(|| panic!("no {tool} in {}", result["tools"]));
    outcomes.values().filter_map(Value::as_u64).sum()
}

#[test]
fn each_spawned_servers_cost_is_divided_by_its_own_calls() {
    if !services() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(data.join("data/reports")).unwrap();
    std::fs::create_dir_all(data.join("data/config")).unwrap();
    let path = dir.path().join("two.yaml");
    // Two servers, one tool each, three calls to alpha for every call to beta.
    std::fs::write(
        &path,
        "version: mcp-slo/v1\nname: two\ntargets:\n  alpha: { spawn: { server: local, args: [\"--audit\", \"off\"] }, mode: stateless }\n  beta: { spawn: { server: local, args: [\"--audit\", \"off\"] }, mode: stateless }\nload:\n  model: open\n  phases:\n    - { name: steady, duration: 2s, rate: 40/s }\nmix:\n  - { target: alpha, tool: postgres_query, weight: 3, args: { query: \"SELECT 1 AS one\" } }\n  - { target: beta, tool: mysql_query, weight: 1, args: { query: \"SELECT 1 AS one\" } }\nslo:\n  - { error_rate: { below: 1% } }\n",
    )
    .unwrap();
    let out = dir.path().join("out");
    let data = data.to_string_lossy().into_owned();
    let (code, stderr, result) = run_scenario(&path, &out, &[("MCP_SLO_DATA_ROOT", data.as_str())]);
    assert_eq!(code, 0, "{stderr}");
    let profile = test_build_profile();
    assert_eq!(result["harness"]["build_profile"], profile);
    let costs = result["costs"].as_array().expect("costs");
    assert_eq!(costs.len(), 2, "{costs:?}");
    let (alpha, beta) = (&costs[0], &costs[1]);
    assert_eq!(
        (&alpha["target"], &beta["target"]),
        (&"alpha".into(), &"beta".into())
    );
    let (alpha_calls, beta_calls) = (
        calls_of(&result, "postgres_query"),
        calls_of(&result, "mysql_query"),
    );
    assert_eq!(alpha["calls"], alpha_calls, "{alpha}");
    assert_eq!(beta["calls"], beta_calls, "{beta}");
    assert!(
        alpha_calls > beta_calls && beta_calls > 0,
        "{alpha_calls} vs {beta_calls}"
    );
    assert_eq!(alpha_calls + beta_calls, result["load"]["completed_calls"]);
    for (i, (cost, calls)) in [(alpha, alpha_calls), (beta, beta_calls)]
        .into_iter()
        .enumerate()
    {
        assert_eq!(cost["build_profile"], profile, "{cost}");
        assert_eq!(result["targets"][i]["build_profile"], profile);
        let cpu = cost["cpu_seconds"].as_f64().unwrap();
        let per_call = cost["cpu_us_per_call"].as_f64().unwrap();
        assert!((per_call - cpu * 1e6 / calls as f64).abs() < 1e-6, "{cost}");
        assert!(cost["samples"].as_u64().unwrap() >= 2, "{cost}");
    }
    assert_ne!(alpha["pid"], beta["pid"]);
    assert_eq!(
        result["cost"]["pid"], alpha["pid"],
        "the deprecated field is the first cost"
    );
    let debug_warning = result["findings"].as_array().unwrap().iter().any(|f| {
        f["severity"] == "warning"
            && f["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("mcp-slo itself is a debug build"))
    });
    assert_eq!(debug_warning, profile == "debug", "{}", result["findings"]);
    let summary = std::fs::read_to_string(out.join("summary.md")).unwrap();
    assert!(
        summary.contains(&format!(
            "µs CPU per call ({profile} build) over {beta_calls} calls"
        )),
        "{summary}"
    );
}
