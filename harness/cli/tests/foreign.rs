//! The harness against MCP code nobody here wrote: `scenarios/foreign-python-sdk.yaml` runs
//! the official MCP Python SDK (PyPI `mcp`; `scripts/foreign/sdk_server.py` only registers
//! tools) behind Debian's nginx limiting it to 50 calls/s, as 2026-07-28 and as 2025-11-25
//! sessions side by side, with its objectives and the rate probe.
//!
//! `scripts/foreign/install.sh` installs the SDK into `$MCP_SLO_FOREIGN/venv` (default
//! `~/.cache/mcp-slo/foreign`) and nginx; `scripts/foreign/servers.sh` starts and stops
//! both on 127.0.0.1:18765 / :18766. Without them the test says SKIPPED and why, and fails
//! when `MCP_SLO_REQUIRE_SERVICES=1`.

mod common;

use common::{ScriptServers, judged_admitted, probe, root, run_scenario};

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

/// `$MCP_SLO_FOREIGN`, else `~/.cache/mcp-slo/foreign`.
fn foreign_dir() -> Option<PathBuf> {
    std::env::var_os("MCP_SLO_FOREIGN")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache/mcp-slo/foreign")))
}

/// True when the SDK's venv and nginx are installed; else SKIPPED said (a failure when
/// services are required).
fn installed() -> bool {
    let nginx =
        Path::new("/usr/sbin/nginx").exists() || Command::new("nginx").arg("-v").output().is_ok();
    let why = match foreign_dir() {
        Some(dir) if !dir.join("venv/bin/python").exists() => format!(
            "the MCP Python SDK is not installed in {} (run scripts/foreign/install.sh)",
            dir.join("venv").display()
        ),
        Some(_) if !nginx => "nginx is not installed (run scripts/foreign/install.sh)".to_owned(),
        Some(_) => return true,
        None => "neither MCP_SLO_FOREIGN nor HOME is set".to_owned(),
    };
    assert!(
        std::env::var("MCP_SLO_REQUIRE_SERVICES").as_deref() != Ok("1"),
        "MCP_SLO_REQUIRE_SERVICES=1 but {why}"
    );
    eprintln!("SKIPPED: {why}");
    false
}

fn target<'a>(result: &'a Value, name: &str) -> &'a Value {
    result["targets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == name)
        .unwrap_or_else(|| panic!("no target {name} in {:#}", result["targets"]))
}

#[test]
fn the_python_sdk_behind_nginx_meets_its_objectives_under_both_revisions() {
    if !installed() {
        return;
    }
    let servers = ScriptServers::start(
        "scripts/foreign/servers.sh",
        &["sdk.log", "nginx-error.log"],
    );
    let out = tempfile::tempdir().unwrap();
    let (code, stderr, result) = run_scenario(
        &root().join("scenarios/foreign-python-sdk.yaml"),
        out.path(),
        &[],
    );
    let context = || format!("{stderr}{}", servers.logs());
    assert_eq!(code, 0, "{}", context());

    let sdk = target(&result, "sdk");
    assert_eq!(sdk["protocol_version"], "2026-07-28", "{sdk:#}");
    assert!(
        sdk["negotiated"]
            .as_str()
            .unwrap_or("")
            .starts_with("server/discover"),
        "{sdk:#}"
    );
    let sessions = target(&result, "sdk_sessions");
    assert_eq!(sessions["protocol_version"], "2025-11-25", "{sessions:#}");
    assert!(
        sessions["negotiated"]
            .as_str()
            .unwrap_or("")
            .starts_with("initialize"),
        "{sessions:#}"
    );

    // Every op kind, on each target under its own label.
    for target in ["sdk", "sdk_sessions"] {
        for op in ["echo", "add", "tools/list", "resources/read", "prompts/get"] {
            let label = format!("{target} {op}");
            let summary = &result["tools"][&label];
            let ok = summary["outcomes"]["ok"].as_u64().unwrap_or(0);
            assert!(ok > 0, "no {label} call answered: {:#}", result["tools"]);
            assert_eq!(
                summary["latency"]["count"].as_u64(),
                Some(ok),
                "{label}: {summary:#}"
            );
        }
    }
    let failed: Vec<&Value> = result["objectives"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["passed"] != true)
        .collect();
    assert!(failed.is_empty(), "{failed:#?}");

    let rate = probe(&result, "rate");
    assert_eq!(rate["passed"], true, "{rate:#}");
    assert_eq!(rate["target"], "sdk");
    let judged = judged_admitted(rate);
    assert_eq!(judged.len(), 4, "{rate:#}");
    assert!(judged.iter().all(|a| (48..=52).contains(a)), "{judged:?}");
    assert_eq!(rate["figures"]["lost"], 0.0, "{rate:#}");
    assert!(
        rate["figures"]["outcome_rate_limited"]
            .as_f64()
            .unwrap_or(0.0)
            > 0.0,
        "nginx refused nothing: {rate:#}"
    );
}
