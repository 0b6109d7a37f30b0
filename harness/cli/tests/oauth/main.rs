//! `targets.<name>.oauth` end to end: `mcp-slo run` against an MCP server (the engine's
//! calibration server behind a gate) that takes only bearer tokens that a token endpoint
//! issued and that have not expired. The token endpoint implements the client credentials
//! grant (RFC 6749 section 4.4): it authenticates the client by HTTP Basic or in the form,
//! checks the grant type, the scope and the RFC 8707 resource, and issues tokens that live
//! 2 s, so a run of a few seconds only succeeds when the harness refreshes them in time.
//! `authlib.rs` runs the same against an authorization server nobody here wrote.

#[path = "../common/mod.rs"]
mod common;

mod authlib;
mod servers;

use common::{root, run_scenario};

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::Ordering;

use servers::{BASIC_CLIENT, POST_CLIENT, SCOPE};

/// Two targets on the gated server: `basic` (auto revision, HTTP Basic, scope and
/// resource) and `post` (2025-11-25 sessions, credentials in the form), 40 calls/s for
/// `seconds`.
fn scenario(dir: &Path, mcp: &str, token: &str, seconds: u32) -> PathBuf {
    let text = format!(
        r#"version: mcp-slo/v1
name: oauth
targets:
  basic:
    url: "{mcp}"
    oauth:
      token_url: "{token}"
      client_id: "${{OAUTH_TEST_CLIENT}}"
      client_secret_env: OAUTH_TEST_SECRET
      scope: "{SCOPE}"
      resource: "{mcp}"
  post:
    same_server_as: basic
    protocol_version: "2025-11-25"
    oauth:
      token_url: "{token}"
      client_id: {post_id}
      client_secret_env: OAUTH_TEST_POST_SECRET
      auth_method: post
load:
  model: open
  phases:
    - {{ name: steady, duration: {seconds}s, rate: 40/s }}
mix:
  - {{ target: basic, tool: calibrate, label: basic }}
  - {{ target: post, tool: calibrate, label: post }}
slo:
  - {{ error_rate: {{ below: 0.1% }} }}
"#,
        post_id = POST_CLIENT.0,
    );
    let path = dir.join("oauth.yaml");
    std::fs::write(&path, text).unwrap();
    path
}

/// The credentials' variables, with `secret` for the Basic client.
fn credentials(secret: &str) -> Vec<(&'static str, String)> {
    vec![
        ("OAUTH_TEST_CLIENT", BASIC_CLIENT.0.to_owned()),
        ("OAUTH_TEST_SECRET", secret.to_owned()),
        ("OAUTH_TEST_POST_SECRET", POST_CLIENT.1.to_owned()),
    ]
}

/// Runs the 5 s scenario and checks that every call succeeded, that no request reached the
/// server without a current token, and that each target fetched at least four tokens, as
/// many as `issued(client)` says the token endpoint issued. Returns the stderr.
fn run_and_check(
    mcp: &str,
    token_url: &str,
    gate: &servers::GateCounts,
    issued: impl Fn(&str) -> u64,
) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = scenario(dir.path(), mcp, token_url, 5);
    let env = credentials(BASIC_CLIENT.1);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (code, stderr, result) = run_scenario(&path, &dir.path().join("out"), &env);
    assert_eq!(code, 0, "{stderr}");
    let offered = result["load"]["offered_calls"].as_u64().unwrap();
    assert_eq!(offered, 200, "{}", result["load"]);
    assert_eq!(
        result["overall"]["outcomes"]["ok"], offered,
        "every call succeeded: {}\n{stderr}",
        result["overall"]["outcomes"]
    );
    assert_eq!(gate.refused.load(Ordering::Relaxed), 0, "{stderr}");
    // 5 s of load with 2 s tokens: the first token and at least three refreshes each.
    for (target, client) in [("basic", BASIC_CLIENT.0), ("post", POST_CLIENT.0)] {
        let info = result["targets"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"] == target)
            .unwrap_or_else(|| panic!("{target} in {}", result["targets"]));
        let oauth = &info["oauth"];
        assert_eq!(oauth["token_url"], token_url);
        assert_eq!(oauth["failed_fetches"], 0, "{oauth}");
        let fetches = oauth["fetches"].as_u64().unwrap();
        assert!(fetches >= 4, "{target}: {oauth}\n{stderr}");
        assert_eq!(
            issued(client),
            fetches,
            "{target}: the token endpoint issued what the harness counted"
        );
    }
    assert!(
        stderr.contains("target basic: OAuth token from"),
        "{stderr}"
    );
    let errors = common::schema_errors(&result);
    assert!(errors.is_empty(), "{errors:?}");
    stderr
}

/// `mcp-slo run` with `env` set (and the credentials' variables otherwise removed): exit
/// code and stderr.
fn run_failing(path: &Path, out: &Path, env: &[(&str, String)]) -> (i32, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_mcp-slo"))
        .args(["run", path.to_str().unwrap(), "--out"])
        .arg(out)
        .arg("--no-progress-bar")
        .env_remove("OAUTH_TEST_CLIENT")
        .env_remove("OAUTH_TEST_SECRET")
        .env_remove("OAUTH_TEST_POST_SECRET")
        .envs(env.iter().map(|(k, v)| (k, v)))
        .current_dir(root())
        .output()
        .expect("mcp-slo runs");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn tokens_are_refreshed_in_the_background_and_every_call_succeeds() {
    let servers = servers::start(None);
    let issuer = servers.issuer.clone();
    run_and_check(&servers.mcp_url, &servers.token_url, &servers.gate, |c| {
        issuer.issued(c)
    });
    assert_eq!(issuer.refused_grants.load(Ordering::Relaxed), 0);
}

#[test]
fn a_wrong_secret_or_a_missing_variable_stops_the_run_before_any_load() {
    let servers = servers::start(None);
    let dir = tempfile::tempdir().unwrap();
    let path = scenario(dir.path(), &servers.mcp_url, &servers.token_url, 2);
    let (code, stderr) = run_failing(&path, &dir.path().join("out"), &credentials("wrong"));
    assert_eq!(code, 3, "an unreachable target's exit code\n{stderr}");
    let expected = format!(
        "target basic: token endpoint {} refused (HTTP 401): invalid_client: client authentication failed",
        servers.token_url
    );
    assert!(stderr.contains(&expected), "{stderr}");
    assert_eq!(servers.gate.requests.load(Ordering::Relaxed), 0);
    assert!(!dir.path().join("out/result.json").exists());

    let mut env = credentials(BASIC_CLIENT.1);
    env.retain(|(k, _)| *k != "OAUTH_TEST_SECRET");
    let (code, stderr) = run_failing(&path, &dir.path().join("out"), &env);
    assert_eq!(code, 2, "invalid input\n{stderr}");
    assert!(
        stderr.contains(
            "targets.basic.oauth.client_secret_env: environment variable OAUTH_TEST_SECRET is not set"
        ),
        "{stderr}"
    );
    assert_eq!(servers.gate.requests.load(Ordering::Relaxed), 0);
    assert_eq!(servers.issuer.issued(BASIC_CLIENT.0), 0);
}
