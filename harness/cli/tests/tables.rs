//! The design document's SLO tables, whole. `scenarios/aws-slo.yaml` against a spawned
//! AWS tier on moto judges S3 read, RDS query and Lambda invocation latency, the error rate,
//! the alarms, and IAM role assumption latency from the server's own histogram, over the
//! AssumeRole calls its short role sessions force during the load. `scenarios/local-slo.yaml`
//! runs the local table as written: 1050 calls/s for 60 s from 11 callers (the tier's rate
//! limit read per caller) over the real backends, p99 < 100 ms, errors < 0.1 %,
//! availability 99.9 %, throughput > 1000/s, the alarms and burn rates.

mod common;

use common::{moto, run_scenario, services};

#[test]
fn the_local_slo_table_passes_at_the_documents_1000_calls_per_second() {
    if !services() {
        return;
    }
    let out = tempfile::tempdir().unwrap();
    let (code, stderr, result) = run_scenario(
        std::path::Path::new("scenarios/local-slo.yaml"),
        out.path(),
        &[],
    );
    let lines = result["objectives"].as_array().unwrap();
    assert_eq!(code, 0, "{stderr}\n{lines:#?}");
    assert_eq!(lines.len(), 8, "{lines:#?}");
    assert!(lines.iter().all(|l| l["passed"] == true), "{lines:#?}");
    let achieved = result["load"]["achieved_rate"].as_f64().unwrap();
    assert!(achieved >= 1000.0, "{achieved}");
    assert_eq!(result["overall"]["outcomes"]["rate_limited"], 0);
}

#[test]
fn the_aws_slo_table_passes_with_role_assumptions_judged_during_the_load() {
    if moto().is_none() {
        return;
    }
    let out = tempfile::tempdir().unwrap();
    let (code, stderr, result) = run_scenario(
        std::path::Path::new("scenarios/aws-slo.yaml"),
        out.path(),
        &[("MCP_SLO_AWS_TOKEN", "dev-agent-console-token")],
    );
    assert_eq!(code, 0, "{stderr}\n{:#}", result["objectives"]);
    let lines = result["objectives"].as_array().unwrap();
    let assume = lines
        .iter()
        .find(|o| o["kind"] == "server_metric")
        .expect("the AssumeRole line");
    let measured = assume["measured"].as_str().unwrap();
    // "p99 = 0.0233 of 18 observed during the load": role sessions renewed every ~5 s for
    // three roles over 35 s make well over the 6 the scenario requires.
    let observed: f64 = measured
        .split(" of ")
        .nth(1)
        .and_then(|r| r.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{measured}"));
    assert!(observed >= 6.0, "{measured}");
    assert!(assume["measured_value"].as_f64().unwrap() < 0.2, "{assume}");
    assert_eq!(lines.len(), 7, "{lines:#?}");
}
