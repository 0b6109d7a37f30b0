//! The `probes:`, `alarms:` and `baseline:` sections: defaults from the boundaries file,
//! and every problem reported with its path.

use std::path::{Path, PathBuf};

use super::*;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn scenario(extra: &str, with_load: bool) -> Result<Scenario, SpecError> {
    let config = root().join("config");
    let load = if with_load {
        "load:\n  model: open\n  phases:\n    - { name: steady, duration: 5s, rate: 10/s }\nmix:\n  - { target: local, tool: file_read, args: { path: a.csv } }\n"
    } else {
        ""
    };
    let text = format!(
        "version: mcp-slo/v1\nname: t\ntargets:\n  local: {{ url: \"http://127.0.0.1:1/mcp\" }}\nboundaries: {{ file: \"{}\", tier: local }}\n{load}{extra}",
        config.join("deployment_boundaries.yaml").display()
    );
    Scenario::from_yaml(Path::new("t.yaml"), &text)
}

fn problems(extra: &str, with_load: bool) -> Vec<String> {
    match scenario(extra, with_load) {
        Err(SpecError::Invalid { issues, .. }) => issues,
        other => panic!("expected problems, got {other:?}"),
    }
}

#[test]
fn probes_take_their_expectations_from_the_boundaries_file() {
    let s = scenario(
        "probes:\n  rate: { op: { tool: file_read } }\n  in_flight: { op: { tool: q } }\n  concurrency: { op: { tool: q }, duration: 1s }\n  timeout: { op: { tool: q } }\n",
        false,
    )
    .unwrap();
    assert!(!s.has_load());
    let p = s.probes.unwrap();
    assert_eq!(p.target, "local");
    let rate = p.rate.unwrap();
    assert_eq!((rate.expect, rate.multiple, rate.callers), (100.0, 3.0, 2));
    assert_eq!(rate.window, std::time::Duration::from_secs(5));
    let in_flight = p.in_flight.unwrap();
    assert_eq!((in_flight.expect, in_flight.extra), (100, 10));
    let concurrency = p.concurrency.unwrap();
    assert_eq!((concurrency.expect, concurrency.calls), (10, 30));
    assert_eq!(
        p.timeout.unwrap().expect,
        std::time::Duration::from_millis(5000)
    );
}

#[test]
fn bad_probes_are_reported_with_their_paths() {
    let issues = problems("probes:\n  target: nowhere\n", false);
    assert_eq!(issues.len(), 1, "{issues:?}");
    assert!(
        issues[0].starts_with("probes.target: \"nowhere\" is not a target"),
        "{issues:?}"
    );
    let issues = problems(
        "probes:\n  rate: { op: { tool: q }, multiple: 1.2, window: 4s }\n  concurrency: { op: { tool: q }, duration: 2s, calls: 30 }\n  timeout: { op: { tool: q }, cancelled: { op: { tool: q }, count: rows } }\n",
        false,
    );
    assert!(
        issues
            .iter()
            .any(|i| i.starts_with("probes.rate.window: must be at least 7s")),
        "{issues:?}"
    );
    assert!(
        issues
            .iter()
            .any(|i| i.starts_with("probes.concurrency: 30 calls of 2s through 10 slots take 6s")),
        "{issues:?}"
    );
    assert!(
        issues.iter().any(
            |i| i.starts_with("probes.timeout.cancelled.count: \"rows\" is not a JSON pointer")
        ),
        "{issues:?}"
    );
}

/// Found by fuzzing (fuzz/seeds/scenario/regression-rate-multiple-1.yaml): a multiple of 1
/// made the default window infinite and its conversion to a duration panicked.
#[test]
fn a_rate_probe_multiple_out_of_range_is_a_problem_at_its_line_not_a_panic() {
    for multiple in ["1", "0", "-3", "0.5", "21", "1e308"] {
        let issues = problems(
            &format!("probes:\n  rate: {{ op: {{ tool: q }}, multiple: {multiple} }}\n"),
            false,
        );
        assert!(
            issues
                .iter()
                .any(|i| i.starts_with("probes.rate.multiple: ")
                    && i.contains("must be above 1 and at most 20 (at line 7 column")),
            "{multiple}: {issues:?}"
        );
        assert!(
            !issues.iter().any(|i| i.starts_with("probes.rate.window")),
            "{multiple}: no window problem follows from a bad multiple: {issues:?}"
        );
    }
}

#[test]
fn the_list_changed_probe_renders_each_change_and_reports_bad_requests_where_they_are() {
    let s = scenario(
        "probes:\n  list_changed:\n    add: { url: /admin/tools, body: { name: \"t_{n}\", tags: [\"{n}\", 1] } }\n    remove: { method: delete, url: \"/admin/tools/t_{n}\" }\n",
        false,
    )
    .unwrap();
    let p = s.probes.unwrap().list_changed.unwrap();
    assert_eq!((p.listeners, p.changes), (100, 10));
    assert_eq!(p.within, std::time::Duration::from_millis(100));
    // Changes alternate: add 0, remove 0, add 1, ...
    assert_eq!(
        (p.change(0), p.change(1), p.change(2)),
        ((0, true), (0, false), (1, true))
    );
    let (url, body) = p.add.render(7);
    assert_eq!(url, "/admin/tools");
    assert_eq!(
        body,
        Some(serde_json::json!({"name": "t_7", "tags": ["7", 1]}))
    );
    let remove = p.remove.unwrap();
    assert_eq!(remove.method, "DELETE");
    assert_eq!(remove.render(3).0, "/admin/tools/t_3");

    let issues = problems(
        "probes:\n  list_changed:\n    listeners: 0\n    within: 2s\n    deadline: 1s\n    add: { method: GET, url: admin/tools }\n",
        false,
    );
    assert_eq!(issues.len(), 4, "{issues:?}");
    for (i, want) in [
        "probes.list_changed.listeners: must be between 1 and 1000",
        "probes.list_changed.deadline: 1s is shorter than `within` (2s)",
        "probes.list_changed.add.method: \"GET\" is not POST, PUT, PATCH or DELETE",
        "probes.list_changed.add.url",
    ]
    .iter()
    .enumerate()
    {
        assert!(issues[i].starts_with(want), "{i}: {issues:?}");
    }
    assert!(
        issues[3].contains(
            "\"admin/tools\" is neither an http(s) URL nor a path starting with / (at line "
        ),
        "{issues:?}"
    );
}

#[test]
fn alarms_need_a_load_and_name_real_alarms_and_phases() {
    let file = root().join("config/cloudwatch_alarms.yaml");
    let ok = scenario(
        &format!(
            "alarms:\n  file: \"{}\"\n  period: 1s\n  must_not_fire: [all]\n",
            file.display()
        ),
        true,
    )
    .unwrap();
    let checks = ok.alarms.unwrap();
    assert_eq!(checks.must_not_fire, ["high_error_rate", "high_latency"]);
    assert_eq!(checks.period, Some(std::time::Duration::from_secs(1)));
    let issues = problems(
        &format!(
            "alarms:\n  file: \"{}\"\n  period: 1500ms\n  must_fire:\n    - {{ alarm: paging, within: 5s, after: nope }}\n",
            file.display()
        ),
        true,
    );
    assert!(
        issues
            .iter()
            .any(|i| i.starts_with("alarms.period: must be a whole number of seconds")),
        "{issues:?}"
    );
    assert!(
        issues
            .iter()
            .any(|i| i.starts_with("alarms.must_fire[0].alarm: \"paging\" is not an alarm")),
        "{issues:?}"
    );
    assert!(
        issues.iter().any(|i| i
            .starts_with("alarms.must_fire[0].after: \"nope\" is not a phase or a fault (steady)")),
        "{issues:?}"
    );
    let issues = problems(
        &format!(
            "probes:\n  timeout: {{ op: {{ tool: q }} }}\nalarms:\n  file: \"{}\"\n  must_not_fire: [all]\n",
            file.display()
        ),
        false,
    );
    assert!(
        issues
            .iter()
            .any(|i| i.starts_with("alarms: alarms are evaluated over a load")),
        "{issues:?}"
    );
}

#[test]
fn a_baseline_names_a_stored_result_and_known_measures() {
    let file = root().join("reports/baselines/quickstart.json");
    let s = scenario(
        &format!(
            "baseline:\n  file: \"{}\"\n  tolerances: {{ p99: 20%, rate: 2% }}\n",
            file.display()
        ),
        true,
    )
    .unwrap();
    let b = s.baseline.unwrap();
    assert_eq!(
        (b.tolerances.p99, b.tolerances.rate, b.tolerances.p50),
        (0.2, 0.02, 0.1)
    );
    let issues = problems(
        "baseline:\n  file: nowhere.json\n  tolerances: { p98: 5% }\n",
        true,
    );
    assert!(
        issues
            .iter()
            .any(|i| i.starts_with("baseline.file: nowhere.json does not exist")),
        "{issues:?}"
    );
    assert!(
        issues
            .iter()
            .any(|i| i.starts_with("baseline.tolerances.p98: \"p98\" is not a measure")),
        "{issues:?}"
    );
}
