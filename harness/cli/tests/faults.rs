//! Faults end to end: `scenarios/faults-local.yaml` restarts this machine's Postgres, stops
//! and starts Redis, slows Postgres through the harness's proxy and kills the spawned local
//! tier, all under load. Every objective must pass (recovery within 5 s of each fault,
//! every call answered, every failure clean but during the crash, both alarms fired and
//! cleared), and the result must say when each fault was in force and what it did.
//! `scenarios/faults-aws.yaml` cuts the AWS tier off from its emulator for longer than its
//! role sessions last, so its credentials expire while it is cut off.
//!
//! Its own test binary: it stops services other tests use, and test binaries run one at a
//! time. Its tests run one at a time too (each judges timing on a 2-core machine).

mod common;

use std::sync::Mutex;

use common::{moto, run_scenario, services};

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

#[test]
fn the_local_fault_scenario_recovers_from_every_fault_with_clean_answers() {
    let _alone = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    if !services() {
        return;
    }
    let out = tempfile::tempdir().unwrap();
    let (code, stderr, result) = run_scenario(
        std::path::Path::new("scenarios/faults-local.yaml"),
        out.path(),
        &[],
    );
    // Whatever happened, the services must be back for the tests after this one.
    assert!(
        std::process::Command::new("redis-cli")
            .args(["-h", "127.0.0.1", "-p", "6379", "ping"])
            .output()
            .is_ok_and(|o| o.stdout.starts_with(b"PONG")),
        "Redis is not back after the run"
    );
    assert!(
        std::process::Command::new("pg_isready")
            .args(["-h", "127.0.0.1", "-p", "5432", "-q"])
            .status()
            .is_ok_and(|s| s.success()),
        "Postgres is not back after the run"
    );
    assert_eq!(code, 0, "{stderr}\n{:#}", result["objectives"]);
    let faults = result["faults"].as_array().unwrap();
    let planned = [
        ("postgres_restart", "run", 8_000),
        ("redis_down", "break", 15_000),
        ("slow_postgres", "delay", 27_000),
        ("server_crash", "restart", 42_000),
    ];
    assert_eq!(faults.len(), planned.len(), "{faults:#?}");
    for (fault, (name, kind, at_ms)) in faults.iter().zip(planned) {
        assert_eq!(
            (fault["name"].as_str(), fault["kind"].as_str()),
            (Some(name), Some(kind))
        );
        let started = fault["started_ms"].as_u64().unwrap();
        let ended = fault["ended_ms"].as_u64().unwrap();
        // Due at its time (a few ms for the timer), in force for a while, then over.
        assert!(
            (at_ms..at_ms + 500).contains(&started),
            "{name} started at {started} ms"
        );
        assert!(ended > started, "{name}: {fault}");
        assert!(fault.get("error").is_none(), "{name}: {fault}");
    }
    // The break lasted its 6 s and the delay its 5 s, plus their commands.
    let length = |i: usize| {
        faults[i]["ended_ms"].as_u64().unwrap() - faults[i]["started_ms"].as_u64().unwrap()
    };
    assert!(length(1) >= 6_000, "redis_down lasted {} ms", length(1));
    assert!(length(2) >= 5_000, "slow_postgres lasted {} ms", length(2));
    let lines = result["objectives"].as_array().unwrap();
    let kinds: Vec<&str> = lines.iter().map(|o| o["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "recovery",
            "recovery",
            "recovery",
            "recovery",
            "answered",
            "clean_errors",
            "alarm",
            "alarm"
        ]
    );
    // Each fault did harm: calls failed while Postgres restarted, Redis was down and the
    // server was down (the recovery lines' details count them).
    for (i, harm) in [(0, "tool_error"), (1, "tool_error"), (3, "transport_error")] {
        let detail = lines[i]["detail"].as_str().unwrap();
        assert!(detail.contains(harm), "{}: {detail}", lines[i]["name"]);
    }
    // The slow backend slowed calls: the latency alarm fired (a passed must_fire line).
    assert!(lines.iter().all(|o| o["passed"] == true), "{lines:#?}");
}

#[test]
fn the_aws_tier_answers_cleanly_while_cut_off_and_recovers_with_new_credentials() {
    let _alone = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    if moto().is_none() {
        return;
    }
    let out = tempfile::tempdir().unwrap();
    let (code, stderr, result) = run_scenario(
        std::path::Path::new("scenarios/faults-aws.yaml"),
        out.path(),
        &[("MCP_SLO_AWS_TOKEN", "dev-agent-console-token")],
    );
    assert_eq!(code, 0, "{stderr}\n{:#}", result["objectives"]);
    let fault = &result["faults"][0];
    assert_eq!(
        (fault["name"].as_str(), fault["kind"].as_str()),
        (Some("emulator_down"), Some("cut"))
    );
    let (started, ended) = (
        fault["started_ms"].as_u64().unwrap(),
        fault["ended_ms"].as_u64().unwrap(),
    );
    assert!((25_000..25_500).contains(&started), "{fault}");
    assert!(ended - started >= 25_000, "{fault}");
    let lines = result["objectives"].as_array().unwrap();
    let kinds: Vec<&str> = lines.iter().map(|o| o["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "recovery",
            "answered",
            "clean_errors",
            "server_metric",
            "alarm"
        ]
    );
    // Calls failed while the emulator was unreachable, as tool errors.
    let detail = lines[0]["detail"].as_str().unwrap();
    assert!(detail.contains("tool_error"), "{detail}");
    assert!(!detail.contains("transport_error"), "{detail}");
    assert!(lines.iter().all(|o| o["passed"] == true), "{lines:#?}");
}
