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

struct Case {
    name: &'static str,
    mutations: Mutations,
    issues: &'static [&'static str],
}

const CASES: &[Case] = &[
    Case {
        name: "wrong version",
        mutations: &[("version: mcp-slo/v1", "version: mcp-slo/v2")],
        issues: &[
            r#"version: "mcp-slo/v2" is not supported (expected "mcp-slo/v1") (at line 1 column 10)"#,
        ],
    },
    Case {
        name: "name with spaces",
        mutations: &[("name: local-sql-steady", "name: local sql steady")],
        issues: &[
            r#"name: "local sql steady" must be non-empty and use only letters, digits, - and _ (at line 2 column 7)"#,
        ],
    },
    Case {
        name: "empty name",
        mutations: &[("name: local-sql-steady", "name: \"\"")],
        issues: &[
            r#"name: "" must be non-empty and use only letters, digits, - and _ (at line 2 column 7)"#,
        ],
    },
    Case {
        name: "url that is not http",
        mutations: &[("url: http://127.0.0.1:8080/mcp", "url: 127.0.0.1:8080/mcp")],
        issues: &[
            r#"targets.remote.url: "127.0.0.1:8080/mcp" is not an http(s) URL (at line 10 column 10)"#,
        ],
    },
    Case {
        name: "unknown mode",
        mutations: &[("mode: stateless", "mode: stateful")],
        issues: &[
            r#"targets.remote.mode: "stateful" is not a mode (session, stateless) (at line 11 column 11)"#,
        ],
    },
    Case {
        name: "unsupported protocol revision",
        mutations: &[(r#""2025-06-18""#, r#""2024-11-05""#)],
        issues: &[
            r#"targets.remote.protocol_version: "2024-11-05" is not a supported revision (auto, 2026-07-28, 2025-11-25, 2025-06-18, 2025-03-26) (at line 12 column 23)"#,
        ],
    },
    Case {
        name: "target with both url and spawn",
        mutations: &[(
            "    mode: stateless\n",
            "    mode: stateless\n    spawn:\n      server: local\n",
        )],
        issues: &[
            "targets.remote: give exactly one of url, spawn or same_server_as",
            r#"mix[1].target: "remote" is not a target (targets: local) (at line 41 column 13)"#,
        ],
    },
    Case {
        name: "spawn of an unknown server",
        mutations: &[("server: local", "server: remote")],
        issues: &[
            r#"targets.local.spawn.server: "remote" is not a server (local, aws) (at line 7 column 15)"#,
            r#"mix[0].target: "local" is not a target (targets: remote) (at line 33 column 13)"#,
        ],
    },
    Case {
        name: "spawn args choosing --listen",
        mutations: &[(
            r#"args: ["--config""#,
            r#"args: ["--listen=127.0.0.1:9000", "--config""#,
        )],
        issues: &["targets.local.spawn.args: --listen is chosen by the harness"],
    },
    Case {
        name: "unknown tier",
        mutations: &[("tier: local", "tier: edge")],
        issues: &[
            r#"boundaries.tier: "edge" is not a tier (local, aws_managed) (at line 16 column 9)"#,
        ],
    },
    Case {
        name: "unknown rate limit scope",
        mutations: &[("rate_limit_scope: per_caller", "rate_limit_scope: per_host")],
        issues: &[
            r#"boundaries.rate_limit_scope: "per_host" is not a scope (global, per_caller) (at line 17 column 21)"#,
        ],
    },
    Case {
        name: "unknown load model",
        mutations: &[("model: open", "model: poisson")],
        issues: &[
            r#"load.model: "poisson" is not a load model (open, closed) (at line 19 column 10)"#,
        ],
    },
    Case {
        name: "duration with a space before the unit",
        mutations: &[("duration: 5s", "duration: 5 ms")],
        issues: &[
            r#"load.phases[0].duration: invalid duration "5 ms": unit must be one of us, ms, s, m, h (at line 22 column 17)"#,
        ],
    },
    Case {
        name: "duration without a unit",
        mutations: &[("duration: 60s", "duration: \"60\"")],
        issues: &[
            r#"load.phases[1].duration: invalid duration "60": missing unit (ms, s, m, h) (at line 26 column 17)"#,
        ],
    },
    Case {
        name: "zero duration",
        mutations: &[("duration: 60s", "duration: 0s")],
        issues: &["load.phases[1].duration: must be longer than 0 (at line 26 column 17)"],
    },
    Case {
        name: "rate with an unknown unit",
        mutations: &[("rate: 90/s", "rate: 90/sec")],
        issues: &[
            r#"load.phases[1].rate: invalid rate "90/sec": the unit must be /s, /m or /h (at line 27 column 13)"#,
        ],
    },
    Case {
        name: "rate without a unit",
        mutations: &[("rate: 90/s", "rate: \"90\"")],
        issues: &[
            r#"load.phases[1].rate: invalid rate "90": write it as N/s or N/m (at line 27 column 13)"#,
        ],
    },
    Case {
        name: "zero rate",
        mutations: &[("rate: 20/s", "rate: 0/s")],
        issues: &[
            r#"load.phases[0].rate: invalid rate "0/s": must be positive (at line 23 column 13)"#,
        ],
    },
    Case {
        name: "open phase without a rate",
        mutations: &[("      rate: 20/s\n", "")],
        issues: &["load.phases[0].rate: missing (an open-model phase needs a rate, e.g. 90/s)"],
    },
    Case {
        name: "open phase with users",
        mutations: &[("      rate: 90/s\n", "      rate: 90/s\n      users: 10\n")],
        issues: &["load.phases[1].users: an open-model phase has a rate, not users"],
    },
    Case {
        name: "closed phase with a rate",
        mutations: &[
            ("model: open", "model: closed"),
            ("      rate: 20/s\n", "      rate: 20/s\n      users: 5\n"),
            ("      rate: 90/s\n", "      users: 20\n"),
        ],
        issues: &["load.phases[0].rate: a closed-model phase has users, not a rate"],
    },
    Case {
        name: "closed phase without users",
        mutations: &[
            ("model: open", "model: closed"),
            ("      rate: 20/s\n", "      users: 5\n"),
        ],
        issues: &["load.phases[1].users: missing (a closed-model phase needs users)"],
    },
    Case {
        name: "no recorded phase",
        mutations: &[(
            "      rate: 90/s\n",
            "      rate: 90/s\n      record: false\n",
        )],
        issues: &["load.phases: every phase has record: false, so nothing would be judged"],
    },
    Case {
        name: "too many callers",
        mutations: &[("callers: 4", "callers: 300")],
        issues: &["load.callers: 300 must be between 1 and 250 (one loopback address each)"],
    },
    Case {
        name: "timeout that is not a duration",
        mutations: &[("timeout: 5s", "timeout: soon")],
        issues: &[r#"load.timeout: invalid duration "soon" (at line 30 column 12)"#],
    },
    Case {
        name: "mix referencing an unknown target",
        mutations: &[("- target: remote", "- target: remote2")],
        issues: &[
            r#"mix[1].target: "remote2" is not a target (targets: local, remote) (at line 39 column 13)"#,
        ],
    },
    Case {
        name: "zero weight",
        mutations: &[("weight: 3", "weight: 0")],
        issues: &["mix[0].weight: must be at least 1"],
    },
    Case {
        name: "empty generator range",
        mutations: &[("{{int 1 100000}}", "{{int 100000 1}}")],
        issues: &[r#"mix[0].args.params[0]: "{{int 100000 1}}": the range is empty (100000 > 1)"#],
    },
    Case {
        name: "unknown generator",
        mutations: &[("{{int 1 100000}}", "{{rand 1 100000}}")],
        issues: &[
            r#"mix[0].args.params[0]: "{{rand 1 100000}}" is not a generator (int LO HI, choice A B ..., seq [START], uuid)"#,
        ],
    },
    Case {
        name: "args that are not a mapping",
        mutations: &[("    args:\n      text: hello\n", "    args: hello\n")],
        issues: &[r#"mix[1].args: must be a mapping of argument names to values, got "hello""#],
    },
    Case {
        name: "percentile of 100",
        mutations: &[("p: 99", "p: 100")],
        issues: &[
            "slo[0].latency.p: 100 must be between 0 and 100 (exclusive) (at line 47 column 10)",
        ],
    },
    Case {
        name: "latency bound that is not a duration",
        mutations: &[("below: 100ms", "below: fast")],
        issues: &[r#"slo[0].latency.below: invalid duration "fast" (at line 48 column 14)"#],
    },
    Case {
        name: "percentage without a percent sign",
        mutations: &[("below: 0.1%", "below: \"0.1\"")],
        issues: &[
            r#"slo[1].error_rate.below: invalid percentage "0.1": write it with %, e.g. "0.1%" (at line 50 column 14)"#,
        ],
    },
    Case {
        name: "percentage above 100",
        mutations: &[("above: 99.9%", "above: 100.1%")],
        issues: &[
            r#"slo[2].availability.above: invalid percentage "100.1%": must be between 0% and 100% (at line 52 column 14)"#,
        ],
    },
    Case {
        name: "objective with two kinds",
        mutations: &[(
            "      below: 0.1%\n",
            "      below: 0.1%\n    throughput:\n      above: 1/s\n",
        )],
        issues: &[
            "slo[1]: give exactly one of latency, error_rate, availability, throughput, recovery, answered, clean_errors, server_metric, growth",
        ],
    },
    Case {
        name: "objective with no kind",
        mutations: &[("    throughput:\n      above: 20/s\n", "")],
        issues: &[
            "slo[3]: give exactly one of latency, error_rate, availability, throughput, recovery, answered, clean_errors, server_metric, growth",
        ],
    },
    Case {
        name: "objective for a tool the mix does not call",
        mutations: &[("- tool: echo", "- tool: echoes")],
        issues: &[r#"slo[3].tool: "echoes" is not called by the mix"#],
    },
    Case {
        name: "availability slice shorter than a second",
        mutations: &[("slice: 1s", "slice: 500ms")],
        issues: &["slo[2].availability.slice: must be a whole number of seconds (1s or more)"],
    },
    Case {
        name: "availability slice of a second and a half",
        mutations: &[("slice: 1s", "slice: 1500ms")],
        issues: &["slo[2].availability.slice: must be a whole number of seconds (1s or more)"],
    },
    Case {
        name: "throughput that is not a rate",
        mutations: &[("above: 20/s", "above: lots")],
        issues: &[
            r#"slo[3].throughput.above: invalid rate "lots": write it as N/s or N/m (at line 57 column 14)"#,
        ],
    },
    Case {
        name: "several errors at once, in document order",
        mutations: &[
            ("version: mcp-slo/v1", "version: mcp-slo/v2"),
            ("duration: 5s", "duration: 5 ms"),
        ],
        issues: &[
            r#"version: "mcp-slo/v2" is not supported (expected "mcp-slo/v1") (at line 1 column 10)"#,
            r#"load.phases[0].duration: invalid duration "5 ms": unit must be one of us, ms, s, m, h (at line 22 column 17)"#,
        ],
    },
];

#[test]
fn each_mutation_reports_exactly_its_problems() {
    for case in CASES {
        match parse(&mutate(case.mutations)) {
            Err(SpecError::Invalid { file, issues }) => {
                assert_eq!(file, Path::new("fixture.yaml"), "{}", case.name);
                assert_eq!(issues, case.issues, "case {:?}", case.name);
            }
            other => panic!(
                "case {:?}: expected validation issues, got {other:?}",
                case.name
            ),
        }
    }
}

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
