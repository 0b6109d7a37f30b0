//! The MCP conformance suite's server scenarios against the local tier over real HTTP:
//! MCP 2025-11-25 with sessions (`--spec-version 2025-11-25`) and the scenarios MCP
//! 2026-07-28 requires (`--requirements 2026-07-28`, stateless). What the tier is known to
//! fail is listed, each with its reason, in `scripts/conformance/server-expected-failures-
//! <revision>.yml`; the suite fails the run on any other failure and on a listed scenario
//! that passes.

mod common;

use std::process::{Command, Stdio};

use common::{installed_suite, local_tier, root, services, suite_path};
use mcp_server_core::stack::Mode;

/// Runs the suite against `url` with `selection` and asserts it passed against the
/// revision's expected-failures file, with checks that passed.
fn suite(url: &str, selection: [&str; 2], revision: &str) {
    let Some(dir) = installed_suite() else { return };
    let expected = root().join(format!(
        "scripts/conformance/server-expected-failures-{revision}.yml"
    ));
    let out_dir = tempfile::tempdir().expect("a temporary directory");
    let output = Command::new(dir.join("node_modules/.bin/conformance"))
        .args(["server", "--url", url])
        .args(selection)
        .arg("--expected-failures")
        .arg(&expected)
        .arg("-o")
        .arg(out_dir.path())
        .env("PATH", suite_path(&dir))
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .expect("the conformance suite runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let shown = format!("--- suite stdout\n{stdout}\n--- suite stderr\n{stderr}");
    assert!(
        output.status.success(),
        "{revision}: {}\n{shown}",
        output.status
    );
    assert!(
        stdout.contains("Baseline check passed"),
        "{revision}: no baseline verdict\n{shown}"
    );
    let passed = stdout
        .lines()
        .find_map(|l| l.strip_prefix("Total: "))
        .and_then(|l| l.split_once(" passed"))
        .and_then(|(n, _)| n.trim().parse::<u32>().ok());
    assert!(
        passed.is_some_and(|n| n >= 20),
        "{revision}: too few checks passed\n{shown}"
    );
    // Scenarios the suite ran and the tier passed, none of them excused.
    for must in ["dns-rebinding-protection", "tools-list"] {
        assert!(
            stdout.contains(&format!("✓ {must}:")),
            "{revision}: {must} did not pass\n{shown}"
        );
    }
}

#[test]
fn the_local_tier_passes_the_2025_11_25_server_scenarios_with_sessions() {
    if !services() {
        return;
    }
    let url = local_tier(Mode::Session);
    suite(&url, ["--spec-version", "2025-11-25"], "2025-11-25");
}

#[test]
fn the_local_tier_passes_the_server_scenarios_2026_07_28_requires() {
    if !services() {
        return;
    }
    let url = local_tier(Mode::Stateless);
    suite(&url, ["--requirements", "2026-07-28"], "2026-07-28");
}
