//! Boundary probes end to end: `mcp-slo run` on the committed boundary scenario against a
//! spawned local tier (real Postgres, Redis, MariaDB), and against one started with wider
//! limits than the scenario declares, which must fail naming each limit and the gap.

mod common;

use common::{judged_admitted, moto, probe, root, run_scenario, services};

use std::path::Path;

/// The probes measure timing: two runs at once on a small machine would disturb each other.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[test]
fn the_local_tier_holds_its_declared_boundaries() {
    if !services() {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let out = tempfile::tempdir().unwrap();
    let (code, stderr, result) = run_scenario(
        &root().join("scenarios/boundaries-local.yaml"),
        out.path(),
        &[],
    );
    assert_eq!(code, 0, "{stderr}\n{:#}", result["probes"]);
    for name in ["rate", "in_flight", "concurrency", "timeout"] {
        let p = probe(&result, name);
        assert_eq!(p["passed"], true, "{p:#}");
    }
    let rate = probe(&result, "rate");
    let judged = judged_admitted(rate);
    assert_eq!(judged.len(), 4, "{rate:#}");
    assert!(judged.iter().all(|a| (95..=105).contains(a)), "{judged:?}");
    assert_eq!(rate["figures"]["lost"], 0.0);
    let in_flight = probe(&result, "in_flight");
    assert_eq!(in_flight["figures"]["held_admitted"], 100.0);
    assert_eq!(in_flight["figures"]["extra_overloaded"], 10.0);
    let concurrency = probe(&result, "concurrency");
    assert!(concurrency["figures"]["server_peak"].as_f64().unwrap() <= 10.0);
    let timeout = probe(&result, "timeout");
    assert!(
        timeout["figures"]["cancelled_after_ms"].is_number(),
        "{timeout:#}"
    );
    // Probes are verdict lines too.
    let kinds: Vec<&str> = result["objectives"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["probe"; 4]);
    let junit = std::fs::read_to_string(out.path().join("junit.xml")).unwrap();
    assert!(junit.contains("rate probe"), "{junit}");
}

#[test]
fn a_server_with_wider_limits_than_declared_fails_each_probe_by_name() {
    if !services() {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let dir = tempfile::tempdir().unwrap();
    // The server runs with every limit wider than the scenario's boundaries file says.
    let wider = dir.path().join("wider_boundaries.yaml");
    std::fs::write(
        &wider,
        "boundaries:\n  local:\n    max_inflight_requests: 120\n    rate_limit_per_second: 150\n    timeout_ms: 6000\n    max_concurrent: 20\n  aws_managed:\n    max_inflight_requests: 500\n    rate_limit_per_second: 1000\n    timeout_ms: 10000\n    max_concurrent: 50\n",
    )
    .unwrap();
    let committed =
        std::fs::read_to_string(root().join("scenarios/boundaries-local.yaml")).unwrap();
    let declared = root().join("config/deployment_boundaries.yaml");
    let text = committed
        .replace(
            r#"args: ["--audit", "off"]"#,
            &format!(
                r#"args: ["--audit", "off", "--boundaries", "{}"]"#,
                wider.display()
            ),
        )
        .replace(
            "../config/deployment_boundaries.yaml",
            &declared.display().to_string(),
        );
    assert_ne!(text, committed);
    let scenario = dir.path().join("misconfigured.yaml");
    std::fs::write(&scenario, text).unwrap();
    let out = dir.path().join("out");
    let (code, stderr, result) = run_scenario(&scenario, &out, &[]);
    assert_eq!(code, 1, "{stderr}");
    let failures = |name: &str| -> String {
        let p = probe(&result, name);
        assert_eq!(p["passed"], false, "{p:#}");
        p["failures"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f.as_str().unwrap())
            .collect::<Vec<_>>()
            .join("\n")
    };
    let rate = failures("rate");
    assert!(
        rate.contains("calls admitted per second, declared 100/s"),
        "{rate}"
    );
    assert!(
        rate.contains("+4") || rate.contains("+5"),
        "~150 admitted is ~+50%: {rate}"
    );
    let in_flight = failures("in_flight");
    assert!(
        in_flight.contains("declared max_inflight_requests 100: at least 10 over"),
        "{in_flight}"
    );
    let concurrency = failures("concurrency");
    assert!(
        concurrency.contains("declared max_concurrent 10"),
        "{concurrency}"
    );
    let peak = probe(&result, "concurrency")["figures"]["server_peak"]
        .as_f64()
        .unwrap();
    assert!(
        peak > 10.0,
        "the server's own gauge shows the wider cap: {peak}"
    );
    let timeout = failures("timeout");
    assert!(
        timeout.contains("declared timeout_ms 5000") && timeout.contains("+10"),
        "ends ~1000 ms late: {timeout}"
    );
    // The verdict lines carry the same messages.
    let detail: Vec<&str> = result["objectives"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|o| o["detail"].as_str())
        .collect();
    assert_eq!(detail.len(), 4, "{detail:?}");
}

#[test]
fn the_aws_tier_holds_its_declared_boundaries() {
    if moto().is_none() {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let out = tempfile::tempdir().unwrap();
    let (code, stderr, result) = run_scenario(
        Path::new("scenarios/boundaries-aws.yaml"),
        out.path(),
        &[("MCP_SLO_AWS_TOKEN", "dev-agent-console-token")],
    );
    assert_eq!(code, 0, "{stderr}\n{:#}", result["probes"]);
    let rate = probe(&result, "rate");
    assert_eq!(rate["expected_value"], 1000.0);
    assert_eq!(rate["figures"]["lost"], 0.0);
    let in_flight = probe(&result, "in_flight");
    assert_eq!(in_flight["figures"]["held_admitted"], 500.0);
    assert_eq!(in_flight["figures"]["extra_overloaded"], 50.0);
    let concurrency = probe(&result, "concurrency");
    assert!(concurrency["figures"]["server_peak"].as_f64().unwrap() <= 50.0);
    let timeout = probe(&result, "timeout");
    let took = timeout["figures"]["took_ms"].as_f64().unwrap();
    assert!((9750.0..=10250.0).contains(&took), "{took}");
}
