//! The MCP conformance suite's server scenarios against both tiers over real HTTP: MCP
//! 2025-11-25 with sessions (`--spec-version 2025-11-25`) and the scenarios MCP 2026-07-28
//! requires (`--requirements 2026-07-28`, stateless). The local tier runs in this process;
//! the AWS tier runs as its binary (built with the tests, spawned against moto with its
//! seed configuration), reached through a loopback proxy that adds a caller's bearer
//! token, since the suite sends none. What a tier is known to fail is listed, each with its reason, in
//! `scripts/conformance/server-expected-failures-<tier>-<revision>.yml`; the suite fails
//! the run on any other failure and on a listed scenario that passes.

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::{installed_suite, local_tier, moto, root, services, suite_path};
use mcp_server_core::stack::Mode;

/// Runs the suite against `url` with `selection` and asserts it passed against the
/// tier's and revision's expected-failures file, with checks that passed and the
/// scenarios in `must_pass` among them.
fn suite(url: &str, selection: [&str; 2], tier: &str, revision: &str, must_pass: &[&str]) {
    let Some(dir) = installed_suite() else { return };
    let expected = root().join(format!(
        "scripts/conformance/server-expected-failures-{tier}-{revision}.yml"
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
    let what = format!("{tier} tier, {revision}");
    assert!(
        output.status.success(),
        "{what}: {}\n{shown}",
        output.status
    );
    assert!(
        stdout.contains("Baseline check passed"),
        "{what}: no baseline verdict\n{shown}"
    );
    let passed = stdout
        .lines()
        .find_map(|l| l.strip_prefix("Total: "))
        .and_then(|l| l.split_once(" passed"))
        .and_then(|(n, _)| n.trim().parse::<u32>().ok());
    assert!(
        passed.is_some_and(|n| n >= 20),
        "{what}: too few checks passed\n{shown}"
    );
    // Scenarios the suite ran and the tier passed, none of them excused.
    for must in must_pass {
        assert!(
            stdout.contains(&format!("✓ {must}:")),
            "{what}: {must} did not pass\n{shown}"
        );
    }
}

#[test]
fn the_local_tier_passes_the_2025_11_25_server_scenarios_with_sessions() {
    if !services() {
        return;
    }
    let url = local_tier(Mode::Session);
    let must = ["dns-rebinding-protection", "tools-list"];
    suite(
        &url,
        ["--spec-version", "2025-11-25"],
        "local",
        "2025-11-25",
        &must,
    );
}

#[test]
fn the_local_tier_passes_the_server_scenarios_2026_07_28_requires() {
    if !services() {
        return;
    }
    let url = local_tier(Mode::Stateless);
    let must = ["dns-rebinding-protection", "tools-list"];
    suite(
        &url,
        ["--requirements", "2026-07-28"],
        "local",
        "2026-07-28",
        &must,
    );
}

/// The token of the development caller `agent-console` in `config/aws_callers.yaml`.
const AWS_TOKEN: &str = "dev-agent-console-token";

#[test]
fn the_aws_tier_passes_the_2025_11_25_server_scenarios_with_sessions() {
    let Some(endpoint) = moto() else { return };
    with_aws_tier(Mode::Session, &endpoint, |url| {
        let must = ["tools-list", "server-initialize"];
        suite(
            url,
            ["--spec-version", "2025-11-25"],
            "aws",
            "2025-11-25",
            &must,
        );
    });
}

#[test]
fn the_aws_tier_passes_the_server_scenarios_2026_07_28_requires() {
    let Some(endpoint) = moto() else { return };
    with_aws_tier(Mode::Stateless, &endpoint, |url| {
        let must = ["tools-list", "http-header-validation"];
        suite(
            url,
            ["--requirements", "2026-07-28"],
            "aws",
            "2026-07-28",
            &must,
        );
    });
}

/// Spawns the AWS tier (its seed configuration, against moto at `endpoint`) and a token
/// proxy in front of it, runs `test` with the proxy's URL, and stops the tier (killed
/// if `test` panics).
fn with_aws_tier(mode: Mode, endpoint: &str, test: impl FnOnce(&str) + Send + 'static) {
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    runtime.block_on(async {
        let logs = tempfile::tempdir().expect("a log directory");
        let server = common::spawn_aws_tier(endpoint, mode, logs.path()).await;
        let url = common::token_proxy(&server.url, AWS_TOKEN).await;
        let outcome = tokio::task::spawn_blocking(move || test(&url)).await;
        server.stop(Duration::from_secs(5)).await;
        if let Err(failed) = outcome {
            std::panic::resume_unwind(failed.into_panic());
        }
    });
}
