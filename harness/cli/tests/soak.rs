//! A short soak in CI: `mcp-slo soak scenarios/soak-local.yaml` at half the capacity a
//! capacity report states, against a spawned local tier over the real backends. The server
//! is sampled once a second (resident memory, open descriptors), the growth objectives
//! judge it after the warm-up, and the report shows the footprint. The full soak (10 min
//! at 80 % of a measured capacity) is documented in the README.

mod common;

use std::process::Command;

use common::{root, schema_errors, services};

#[test]
fn a_short_soak_samples_the_server_and_judges_its_growth() {
    if !services() {
        return;
    }
    let out = tempfile::tempdir().unwrap();
    // A capacity report as `mcp-slo capacity` writes it: the soak reads max_rate only.
    let capacity = out.path().join("capacity.json");
    std::fs::write(
        &capacity,
        r#"{"scenario": "soak-local", "limits": "in place", "max_rate": 100.0, "steps": []}"#,
    )
    .unwrap();
    let soak = |report: &std::path::Path| {
        Command::new(env!("CARGO_BIN_EXE_mcp-slo"))
            .args(["soak", "scenarios/soak-local.yaml", "--capacity"])
            .arg(&capacity)
            .args(["--fraction", "50%", "--warmup", "10s", "--duration", "40s"])
            .arg("--out")
            .arg(report)
            .arg("--no-progress-bar")
            .current_dir(root())
            .output()
            .expect("mcp-slo runs")
    };
    let mut report = out.path().join("report");
    let mut output = soak(&report);
    // Inconclusive (the machine stalled): once more, as the harness advises.
    if output.status.code() == Some(4) {
        eprintln!("{}", String::from_utf8_lossy(&output.stdout));
        report = out.path().join("again");
        output = soak(&report);
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let result: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(report.join("result.json"))
            .unwrap_or_else(|e| panic!("no result.json ({e}); stderr:\n{stderr}")),
    )
    .unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{stderr}\n{:#}",
        result["objectives"]
    );
    assert!(stderr.contains("soak of soak-local: 50.0/s for 40s after a 10s warm-up"));
    let phases: Vec<(&str, f64)> = result["load"]["phases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap(),
                p["duration_s"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(phases, [("warmup", 10.0), ("soak", 40.0)]);
    // The scenario's own growth limits, judged from the end of the warm-up.
    let growth: Vec<&serde_json::Value> = result["objectives"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["kind"] == "growth")
        .collect();
    assert_eq!(growth.len(), 2, "{:#}", result["objectives"]);
    for line in &growth {
        let detail = line["detail"].as_str().unwrap();
        assert!(
            detail.starts_with("local (pid ") && detail.contains(" samples from 10s"),
            "{detail}"
        );
    }
    assert_eq!(growth[0]["target"], "<= +5.0%");
    assert_eq!(growth[1]["target"], "<= +10.0%");
    // About one sample a second over the 50 s load, each with memory and descriptors.
    let footprints = result["footprints"].as_array().unwrap();
    assert_eq!(footprints.len(), 1);
    assert_eq!(footprints[0]["target"], "local");
    let samples = footprints[0]["samples"].as_array().unwrap();
    assert!(samples.len() >= 45, "{} samples", samples.len());
    for s in samples {
        assert!(s["rss_bytes"].as_u64().unwrap() > 1 << 20, "{s}");
        // stdio, the listener, pool connections: a server holds a few at least.
        assert!(s["fds"].as_u64().unwrap() >= 5, "{s}");
    }
    let summary = std::fs::read_to_string(report.join("summary.md")).unwrap();
    assert!(summary.contains("**Server footprint**"), "{summary}");
    assert!(
        schema_errors(&result).is_empty(),
        "{:?}",
        schema_errors(&result)
    );
}

#[test]
fn a_soak_without_a_rate_or_capacity_is_refused_with_the_way_to_give_one() {
    let output = Command::new(env!("CARGO_BIN_EXE_mcp-slo"))
        .args(["soak", "scenarios/soak-local.yaml"])
        .current_dir(root())
        .output()
        .expect("mcp-slo runs");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("give --rate, or --capacity with the capacity.json of `mcp-slo capacity`"),
        "{stderr}"
    );
    let dir = tempfile::tempdir().unwrap();
    let failed = dir.path().join("capacity.json");
    std::fs::write(&failed, r#"{"max_rate": null, "steps": []}"#).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_mcp-slo"))
        .args(["soak", "scenarios/soak-local.yaml", "--capacity"])
        .arg(&failed)
        .current_dir(root())
        .output()
        .expect("mcp-slo runs");
    assert_eq!(output.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("no max_rate"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
