//! The MCP conformance suite's client scenarios against `mcp-slo call --conformance`: the
//! suite starts a test server per scenario, runs the command with the server's URL, and
//! checks what the client sent. Failures the client is known to have are listed, each with
//! its reason, in `scripts/conformance/client-expected-failures.yml`.
//!
//! The suite is installed by `scripts/conformance/install.sh` (from npm) into
//! `$MCP_SLO_CONFORMANCE_DIR`, default `~/.cache/mcp-slo/conformance`. Without it each test
//! says SKIPPED and why, and fails when `MCP_SLO_REQUIRE_SERVICES=1`.

mod common;

use common::{installed_suite, suite_path};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The longest one scenario may take (they take 1-3 s; the suite's own client timeout is
/// set below this).
const SCENARIO_LIMIT: Duration = Duration::from_secs(60);

/// Runs one client scenario (at the suite's revision for it, or `spec_version`) and
/// asserts the suite passed it with at least one check.
fn scenario(name: &str) {
    scenario_at(name, None);
}

fn scenario_at(name: &str, spec_version: Option<&str>) {
    let Some(dir) = installed_suite() else { return };
    let binary = env!("CARGO_BIN_EXE_mcp-slo");
    // The suite splits the command on spaces.
    assert!(
        !binary.contains(' '),
        "the binary's path has a space: {binary}"
    );
    let expected = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../scripts/conformance/client-expected-failures.yml");
    let path = suite_path(&dir);
    let out_dir = tempfile::tempdir().expect("a temporary directory");
    let mut child = Command::new(dir.join("node_modules/.bin/conformance"))
        .args([
            "client",
            "--command",
            &format!("{binary} call --conformance --timeout 10s"),
        ])
        .args(["--scenario", name, "--timeout", "30000"])
        .args(
            spec_version
                .map(|v| ["--spec-version", v])
                .into_iter()
                .flatten(),
        )
        .arg("--expected-failures")
        .arg(&expected)
        .arg("-o")
        .arg(out_dir.path())
        .env("PATH", path)
        .env("NO_COLOR", "1")
        .env_remove("MCP_CONFORMANCE_SCENARIO")
        .env_remove("MCP_CONFORMANCE_CONTEXT")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the conformance suite starts");
    let started = Instant::now();
    while child.try_wait().expect("the suite's status").is_none() {
        if started.elapsed() > SCENARIO_LIMIT {
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let output = child.wait_with_output().expect("the suite's output");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let client_logs = client_logs(out_dir.path());
    let shown = format!("--- suite stdout\n{stdout}\n--- suite stderr\n{stderr}\n{client_logs}");
    assert!(
        started.elapsed() <= SCENARIO_LIMIT,
        "{name}: not done in {SCENARIO_LIMIT:?}\n{shown}"
    );
    assert!(
        output.status.success(),
        "{name}: the suite failed ({})\n{shown}",
        output.status
    );
    // A client that sends nothing passes some scenarios with 0/0 checks. (The results go
    // to stderr, the baseline's verdict to stdout.)
    let passed = stderr
        .lines()
        .find_map(|l| l.strip_prefix("Passed: "))
        .and_then(|l| l.split_once('/'))
        .and_then(|(n, _)| n.parse::<u32>().ok());
    assert!(
        passed.is_some_and(|n| n > 0),
        "{name}: no check passed\n{shown}"
    );
    let excused = std::fs::read_to_string(&expected)
        .unwrap_or_default()
        .lines()
        .any(|l| l.trim_start().starts_with(&format!("- {name}")));
    if !excused {
        assert!(stderr.contains(" 0 failed, 0 warnings"), "{name}\n{shown}");
    }
}

/// The client's own stdout and stderr, which the suite keeps under `-o`.
fn client_logs(dir: &Path) -> String {
    let mut logs = String::new();
    for run in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        for file in ["stdout.txt", "stderr.txt"] {
            if let Ok(text) = std::fs::read_to_string(run.path().join(file)) {
                logs.push_str(&format!("--- client {file}\n{text}\n"));
            }
        }
    }
    logs
}

#[test]
fn initialize_sends_the_revision_and_client_info() {
    scenario("initialize");
}

#[test]
fn tools_call_calls_add_numbers_with_numbers() {
    scenario("tools_call");
}

#[test]
fn tools_call_at_2026_07_28_is_stateless() {
    scenario_at("tools_call", Some("2026-07-28"));
}

#[test]
fn sse_retry_resumes_a_cut_stream_after_the_retry_delay() {
    scenario("sse-retry");
}

#[test]
fn request_metadata_retries_with_a_supported_revision() {
    scenario("request-metadata");
}

#[test]
fn http_standard_headers_name_the_method_and_target() {
    scenario("http-standard-headers");
}

#[test]
fn http_custom_headers_mirror_marked_arguments() {
    scenario("http-custom-headers");
}

#[test]
fn http_invalid_tool_headers_leave_out_invalid_tools() {
    scenario("http-invalid-tool-headers");
}
