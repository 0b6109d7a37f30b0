//! A client nobody here wrote, the official MCP Python SDK (`scripts/foreign/
//! list_changed_client.py`, run from the venv `scripts/foreign/install.sh` makes), hears
//! of a tool added through the admin endpoint, as a 2025-11-25 session and over a
//! 2026-07-28 `subscriptions/listen` stream, and finds and calls it.
//!
//! Without the venv the test says SKIPPED and why; with `MCP_SLO_REQUIRE_SERVICES=1` it
//! fails instead.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::process::Command;

use crate::list_changed::{admin_add, listeners_reach};
use crate::support::{DataRoot, Setup, repo_root, require_services};

/// The SDK's Python: `$MCP_SLO_FOREIGN/venv`, else `~/.cache/mcp-slo/foreign/venv`.
fn sdk_python() -> Option<PathBuf> {
    let dir = std::env::var_os("MCP_SLO_FOREIGN")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache/mcp-slo/foreign"))
        })?;
    let python = dir.join("venv/bin/python");
    if python.exists() {
        return Some(python);
    }
    let why = format!(
        "the MCP Python SDK is not installed in {} (run scripts/foreign/install.sh)",
        dir.join("venv").display()
    );
    assert!(
        std::env::var("MCP_SLO_REQUIRE_SERVICES").as_deref() != Ok("1"),
        "MCP_SLO_REQUIRE_SERVICES=1 but {why}"
    );
    eprintln!("SKIPPED: {why}");
    None
}

/// Runs the script in `mode` against `url`; once it says READY, `add` runs; returns the
/// script's RESULT.
async fn run_client(
    python: &Path,
    url: &str,
    tool: &str,
    mode: &str,
    add: impl AsyncFnOnce(),
) -> Value {
    let script = repo_root().join("scripts/foreign/list_changed_client.py");
    let mut child = Command::new(python)
        .arg(&script)
        .args([url, tool, mode])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("the SDK's python starts");
    let stdout = child.stdout.take().expect("stdout piped");
    let mut lines = BufReader::new(stdout).lines();
    let mut added = Some(add);
    let mut result = None;
    let read = async {
        while let Ok(Some(line)) = lines.next_line().await {
            if line == "READY"
                && let Some(add) = added.take()
            {
                add().await;
            } else if let Some(json) = line.strip_prefix("RESULT ") {
                result = serde_json::from_str::<Value>(json).ok();
            }
        }
    };
    let finished = tokio::time::timeout(Duration::from_secs(60), read)
        .await
        .is_ok();
    let output = child.wait_with_output().await.expect("the client ends");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        finished && output.status.success(),
        "{mode} client failed: {}\n{stderr}",
        output.status
    );
    result.unwrap_or_else(|| panic!("{mode} client printed no RESULT\n{stderr}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_python_sdk_hears_of_an_added_tool_and_calls_it() {
    require_services!();
    let Some(python) = sdk_python() else { return };
    let data = DataRoot::new();
    let server = Setup {
        mode: mcp_server_core::stack::Mode::Session,
        admin: true,
        ..Setup::new()
    }
    .start(&data)
    .await;
    for (mode, tool) in [
        ("legacy", "py_agents_sql"),
        ("2026-07-28", "py_agents_sql_2026"),
    ] {
        let spec =
            json!({"name": tool, "base": "postgres_query", "preset": {"database": "agents"}});
        let result = run_client(&python, &server.url, tool, mode, async || {
            let (status, body) = admin_add(&server, &spec, &[]).await;
            assert_eq!(status, 201, "{body}");
        })
        .await;
        let listed = |key: &str| {
            result[key]
                .as_array()
                .is_some_and(|t| t.iter().any(|n| n == tool))
        };
        assert!(!listed("before") && listed("after"), "{mode}: {result}");
        assert_eq!(result["is_error"], false, "{mode}: {result}");
        assert!(
            result["text"].as_str().is_some_and(|t| t.contains("one")),
            "{mode}: {result}"
        );
        eprintln!(
            "{mode}: notified {:.1} ms after READY",
            result["waited_s"].as_f64().unwrap_or(0.0) * 1000.0
        );
    }
    assert!(
        listeners_reach(&server, 0.0, Duration::from_secs(5)).await,
        "the clients' session and subscription stop listening when they leave"
    );
    server.stop().await;
}
