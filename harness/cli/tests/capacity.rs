//! Capacity search end to end: against a spawned local tier with its limits in place, the
//! search must find the tier's declared 100 req/s rate limit within 5 %.

mod common;

use common::{root, services};

use std::process::Command;

use serde_json::Value;

#[test]
fn capacity_search_finds_the_declared_rate_limit_within_five_percent() {
    if !services() {
        return;
    }
    let out = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_mcp-slo"))
        .args([
            "capacity",
            "scenarios/capacity-local.yaml",
            "--hold",
            "5s",
            "--out",
        ])
        .arg(out.path())
        .current_dir(root())
        .output()
        .expect("mcp-slo runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(out.path().join("capacity.json")).unwrap())
            .unwrap();
    let max = report["max_rate"].as_f64().unwrap();
    let failing = report["first_failing_rate"].as_f64().unwrap();
    assert!((95.0..=105.0).contains(&max), "found {max}/s: {stderr}");
    assert!(
        failing > max && (failing - max) / max <= 0.05,
        "{max} .. {failing}"
    );
    assert!(report["limits"].as_str().unwrap().starts_with("in place"));
    let steps = report["steps"].as_array().unwrap();
    assert!(steps.len() >= 5, "steps up, then bisection: {steps:?}");
    let html = std::fs::read_to_string(out.path().join("capacity.html")).unwrap();
    assert!(html.contains("<svg"), "the capacity curve is drawn");
}
