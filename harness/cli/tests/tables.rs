//! The design document's SLO tables, whole. `scenarios/aws-slo.yaml` against a spawned
//! AWS tier on moto judges S3 read, RDS query and Lambda invocation latency, the error rate,
//! the alarms, and IAM role assumption latency from the server's own histogram, over the
//! AssumeRole calls its short role sessions force during the load. `scenarios/local-slo.yaml`
//! runs the local table as written: 1050 calls/s for 60 s from 11 callers (the tier's rate
//! limit read per caller) over the real backends, p99 < 100 ms, errors < 0.1 %,
//! availability 99.9 %, throughput > 1000/s, the alarms and burn rates.

mod common;

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};

use common::{moto, run_scenario, services};

/// Held by a table's run: each table is judged with the machine to itself, not beside the
/// other's load (two cores carry a tier, its backends and the harness).
static MACHINE: Mutex<()> = Mutex::new(());

fn machine() -> MutexGuard<'static, ()> {
    MACHINE.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Where a table's run writes its report: kept under `$MCP_SLO_ARTIFACTS/<name>` when that
/// is set (CI keeps it), else in a temporary directory.
fn report_dir(name: &str) -> (Option<tempfile::TempDir>, PathBuf) {
    match std::env::var_os("MCP_SLO_ARTIFACTS") {
        Some(dir) => {
            let out = Path::new(&dir).join(name);
            let _ = std::fs::remove_dir_all(&out);
            std::fs::create_dir_all(&out).unwrap();
            (None, out)
        }
        None => {
            let tmp = tempfile::tempdir().unwrap();
            let out = tmp.path().to_path_buf();
            (Some(tmp), out)
        }
    }
}

/// What a failed table run needs to be understood: the outcomes, every second that had a
/// failed call or a p99 above 50 ms, what the instrument itself added (its lateness), and
/// what the stall meter saw of the machine.
fn diagnosis(result: &serde_json::Value) -> String {
    let mut lines = vec![format!("outcomes: {}", result["overall"]["outcomes"])];
    for second in result["timeline"].as_array().into_iter().flatten() {
        let outcomes = second["outcomes"].as_object();
        let failed: Vec<String> = outcomes
            .into_iter()
            .flatten()
            .filter(|(k, v)| *k != "ok" && v.as_u64().unwrap_or(0) > 0)
            .map(|(k, v)| format!("{k} {v}"))
            .collect();
        if !failed.is_empty() || second["p99_us"].as_u64().unwrap_or(0) > 50_000 {
            lines.push(format!(
                "t={}s p99 {} µs max {} µs {}",
                second["t"],
                second["p99_us"],
                second["max_us"],
                failed.join(", ")
            ));
        }
    }
    lines.push(format!("instrument: {}", result["load"]["instrument"]));
    lines.push(format!("machine: {}", result["load"]["machine"]));
    lines.join("\n")
}

#[test]
fn the_local_slo_table_passes_at_the_documents_1000_calls_per_second() {
    if !services() {
        return;
    }
    let _machine = machine();
    let (_tmp, out) = report_dir("local-slo");
    let (code, stderr, result) = run_scenario(Path::new("scenarios/local-slo.yaml"), &out, &[]);
    let lines = result["objectives"].as_array().unwrap();
    assert_eq!(
        code,
        0,
        "{stderr}\n{lines:#?}\n{}\nreport: {}",
        diagnosis(&result),
        out.display()
    );
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
    let _machine = machine();
    let (_tmp, out) = report_dir("aws-slo");
    let (code, stderr, result) = run_scenario(
        Path::new("scenarios/aws-slo.yaml"),
        &out,
        &[("MCP_SLO_AWS_TOKEN", "dev-agent-console-token")],
    );
    assert_eq!(
        code,
        0,
        "{stderr}\n{:#}\n{}\nreport: {}",
        result["objectives"],
        diagnosis(&result),
        out.display()
    );
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
