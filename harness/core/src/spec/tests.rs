//! Table tests for the scenario spec, in sloth's style: one good fixture, one mutation per
//! case, each asserting the exact list of problems. Line and column numbers in the expected
//! messages refer to the lines of `FIXTURE` (line 1 is `version:`).

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::args::{ArgTemplate, Generator};
use super::*;

/// A complete, valid scenario. `BOUNDARIES_FILE` becomes an absolute path.
const FIXTURE: &str = r#"version: mcp-slo/v1
name: local-sql-steady
description: Steady SQL reads against the local tier, plus an echo over HTTP.
targets:
  local:
    spawn:
      server: local
      args: ["--config", "config/local_mcp_server_config.yaml"]
  remote:
    url: http://127.0.0.1:8080/mcp
    mode: stateless
    protocol_version: "2025-06-18"
    token_env: MCP_TOKEN
boundaries:
  file: BOUNDARIES_FILE
  tier: local
  rate_limit_scope: per_caller
load:
  model: open
  phases:
    - name: warmup
      duration: 5s
      rate: 20/s
      record: false
    - name: steady
      duration: 60s
      rate: 90/s
  max_users: 64
  callers: 4
  timeout: 5s
  seed: 42
mix:
  - target: local
    tool: sql_query
    weight: 3
    args:
      query: "SELECT name FROM items WHERE id = $1"
      params: ["{{int 1 100000}}"]
  - target: remote
    tool: echo
    args:
      text: hello
slo:
  - name: sql p99
    tool: sql_query
    latency:
      p: 99
      below: 100ms
  - error_rate:
      below: 0.1%
  - availability:
      above: 99.9%
      slice: 1s
      slice_target: 99%
  - tool: echo
    throughput:
      above: 20/s
"#;

fn boundaries_file() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../config/deployment_boundaries.yaml"
    ))
}

fn fixture() -> String {
    FIXTURE.replace("BOUNDARIES_FILE", &boundaries_file().display().to_string())
}

/// The fixture with each `(from, to)` applied; every `from` must occur exactly once.
pub(super) fn mutate(replacements: &[(&str, &str)]) -> String {
    let mut text = fixture();
    for (from, to) in replacements {
        assert_eq!(
            text.matches(from).count(),
            1,
            "{from:?} must occur exactly once in the fixture"
        );
        text = text.replacen(from, to, 1);
    }
    text
}

pub(super) fn parse(text: &str) -> Result<Scenario, SpecError> {
    Scenario::from_yaml(Path::new("fixture.yaml"), text)
}

#[test]
fn the_fixture_is_valid_and_fully_typed() {
    let s = parse(&fixture()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.name, "local-sql-steady");
    assert_eq!(
        s.targets["local"].endpoint,
        Endpoint::Spawn {
            server: ServerKind::Local,
            args: vec![
                "--config".into(),
                "config/local_mcp_server_config.yaml".into()
            ],
            env: vec![],
        }
    );
    assert_eq!(s.targets["local"].mode, Mode::Session);
    assert_eq!(
        s.targets["local"].protocol,
        Protocol::Auto,
        "auto by default"
    );
    let remote = &s.targets["remote"];
    assert_eq!(
        remote.endpoint,
        Endpoint::Url("http://127.0.0.1:8080/mcp".into())
    );
    assert_eq!(
        (remote.mode, remote.protocol),
        (Mode::Stateless, Protocol::Fixed(Revision::V2025_06_18))
    );
    assert_eq!(remote.token_env.as_deref(), Some("MCP_TOKEN"));

    let b = s.boundaries.as_ref().expect("boundaries");
    assert_eq!(
        (b.file.clone(), b.tier, b.scope),
        (boundaries_file(), Tier::Local, RateScope::PerCaller)
    );
    assert_eq!(b.limits.rate_limit_per_second.get(), 100);
    assert_eq!(b.limits.max_inflight_requests.get(), 100);

    assert_eq!(s.load.model, LoadModel::Open);
    assert_eq!(
        s.load.phases,
        vec![
            Phase {
                name: "warmup".into(),
                duration: Duration::from_secs(5),
                rate: Some(20.0),
                users: None,
                record: false,
                mix: None,
            },
            Phase {
                name: "steady".into(),
                duration: Duration::from_secs(60),
                rate: Some(90.0),
                users: None,
                record: true,
                mix: None,
            },
        ]
    );
    assert_eq!(
        (
            s.load.max_users,
            s.load.callers,
            s.load.timeout,
            s.load.seed
        ),
        (64, 4, Duration::from_secs(5), 42)
    );
    assert_eq!(s.load.total(), Duration::from_secs(65));
    assert_eq!(s.load.peak_rate(), Some(90.0));

    assert_eq!(s.mix.len(), 2);
    assert_eq!(
        (
            s.mix[0].target.as_str(),
            s.mix[0].tool.as_str(),
            s.mix[0].weight
        ),
        ("local", "sql_query", 3)
    );
    assert_eq!(
        (
            s.mix[1].target.as_str(),
            s.mix[1].tool.as_str(),
            s.mix[1].weight
        ),
        ("remote", "echo", 1)
    );
    let ArgTemplate::Object(fields) = &s.mix[0].args else {
        panic!("{:?}", s.mix[0].args)
    };
    let params = fields.iter().find(|(k, _)| k == "params").map(|(_, t)| t);
    assert_eq!(
        params,
        Some(&ArgTemplate::Array(vec![ArgTemplate::Gen(
            Generator::Int { lo: 1, hi: 100_000 }
        )]))
    );

    let objectives: Vec<(&str, Option<&str>, &ObjectiveKind)> = s
        .objectives
        .iter()
        .map(|o| (o.name.as_str(), o.tool.as_deref(), &o.kind))
        .collect();
    assert_eq!(
        objectives,
        vec![
            (
                "sql p99",
                Some("sql_query"),
                &ObjectiveKind::Latency {
                    percentile: 99.0,
                    below_us: 100_000
                }
            ),
            (
                "error rate < 0.1%",
                None,
                &ObjectiveKind::ErrorRate {
                    below: 0.001,
                    first_attempt: false
                }
            ),
            (
                "availability > 99.9%",
                None,
                &ObjectiveKind::Availability {
                    above: 0.999,
                    slice_ms: 1000,
                    slice_target: 0.99
                }
            ),
            (
                "throughput > 20/s [echo]",
                Some("echo"),
                &ObjectiveKind::Throughput { above: 20.0 }
            ),
        ]
    );
}

/// `(from, to)` replacements applied to the fixture.
pub(super) type Mutations = &'static [(&'static str, &'static str)];

#[test]
fn a_missing_boundaries_file_is_reported_with_its_path() {
    let text = fixture().replace(
        &boundaries_file().display().to_string(),
        "/nonexistent/deployment_boundaries.yaml",
    );
    let Err(SpecError::Invalid { issues, .. }) = parse(&text) else {
        panic!("expected validation issues")
    };
    assert_eq!(
        issues,
        [
            "boundaries.file: /nonexistent/deployment_boundaries.yaml: cannot read: No such file or directory (os error 2)"
        ]
    );
}

#[test]
fn invalid_scenarios_render_every_problem_under_the_file() {
    let text = mutate(&[
        ("version: mcp-slo/v1", "version: mcp-slo/v2"),
        ("weight: 3", "weight: 0"),
    ]);
    let err = parse(&text).unwrap_err();
    assert_eq!(
        err.to_string(),
        "fixture.yaml: 2 problems\n  version: \"mcp-slo/v2\" is not supported (expected \"mcp-slo/v1\") (at line 1 column 10)\n  mix[0].weight: must be at least 1"
    );
}
