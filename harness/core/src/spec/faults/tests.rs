use std::path::Path;
use std::time::Duration;

use crate::spec::{Endpoint, ObjectiveKind, Scenario, SpecError};

use super::*;

fn scenario(extra: &str) -> Result<Scenario, SpecError> {
    let text = format!(
        "version: mcp-slo/v1\nname: t\ntargets:\n  local:\n    spawn:\n      server: local\n      env: {{ DATABASE_URL: \"postgres://u@127.0.0.1:15432/agents\" }}\n  remote: {{ url: \"http://127.0.0.1:1/mcp\" }}\nload:\n  model: open\n  phases:\n    - {{ name: steady, duration: 30s, rate: 10/s }}\nmix:\n  - {{ target: local, tool: q }}\n{extra}"
    );
    Scenario::from_yaml(Path::new("t.yaml"), &text)
}

fn problems(extra: &str) -> Vec<String> {
    match scenario(extra) {
        Err(SpecError::Invalid { issues, .. }) => issues,
        other => panic!("expected problems, got {other:?}"),
    }
}

/// Every expected problem is among `issues` (each by its start), and nothing else is.
fn assert_problems(issues: &[String], expect: &[&str]) {
    for e in expect {
        assert!(
            issues.iter().any(|i| i.starts_with(e)),
            "missing {e:?} in {issues:#?}"
        );
    }
    assert_eq!(issues.len(), expect.len(), "{issues:#?}");
}

const FAULTS: &str = "proxies:\n  pg: { listen: \"127.0.0.1:15432\", to: \"127.0.0.1:5432\" }\nfaults:\n  - { name: restart, at: 5s, run: [bash, restart.sh] }\n  - { name: down, at: 10s, run: [sh, stop.sh], for: 3s, then: [sh, start.sh] }\n  - { name: slow, at: 15s, for: 2s, delay: { proxy: pg, by: 250ms } }\n  - { name: crash, at: 20s, restart: local }\n  - { name: unreachable, at: 24s, for: 3s, cut: pg }\n";

#[test]
fn every_kind_of_fault_its_proxy_and_the_spawn_env_are_read() {
    let s = scenario(&format!(
        "{FAULTS}slo:\n  - {{ recovery: {{ fault: restart, within: 5s }} }}\n  - {{ answered: {{}} }}\n  - {{ clean_errors: {{ except: [crash] }} }}\n"
    ))
    .unwrap_or_else(|e| panic!("{e}"));
    let Endpoint::Spawn { env, .. } = &s.targets["local"].endpoint else {
        panic!("spawned");
    };
    assert_eq!(
        env,
        &[(
            "DATABASE_URL".to_owned(),
            "postgres://u@127.0.0.1:15432/agents".to_owned()
        )]
    );
    assert_eq!(
        s.proxies,
        [Proxy {
            name: "pg".into(),
            listen: "127.0.0.1:15432".parse().unwrap(),
            to: "127.0.0.1:5432".parse().unwrap(),
        }]
    );
    let actions: Vec<(&str, Duration, &FaultAction)> = s
        .faults
        .iter()
        .map(|f| (f.name.as_str(), f.at, &f.action))
        .collect();
    let cmd = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert_eq!(
        actions,
        [
            (
                "restart",
                Duration::from_secs(5),
                &FaultAction::Run {
                    command: cmd(&["bash", "restart.sh"])
                }
            ),
            (
                "down",
                Duration::from_secs(10),
                &FaultAction::Break {
                    command: cmd(&["sh", "stop.sh"]),
                    then: cmd(&["sh", "start.sh"]),
                    lasting: Duration::from_secs(3)
                }
            ),
            (
                "slow",
                Duration::from_secs(15),
                &FaultAction::Delay {
                    proxy: "pg".into(),
                    by: Duration::from_millis(250),
                    lasting: Duration::from_secs(2)
                }
            ),
            (
                "crash",
                Duration::from_secs(20),
                &FaultAction::Restart {
                    target: "local".into(),
                    down: Duration::ZERO
                }
            ),
            (
                "unreachable",
                Duration::from_secs(24),
                &FaultAction::Cut {
                    proxy: "pg".into(),
                    lasting: Duration::from_secs(3)
                }
            ),
        ]
    );
    let kinds: Vec<&ObjectiveKind> = s.objectives.iter().map(|o| &o.kind).collect();
    assert_eq!(
        kinds,
        [
            &ObjectiveKind::Recovery {
                fault: "restart".into(),
                within_ms: 5000,
                slice_target: 0.99
            },
            &ObjectiveKind::Answered { except: vec![] },
            &ObjectiveKind::CleanErrors {
                except: vec!["crash".into()]
            },
        ]
    );
    assert_eq!(s.objectives[0].name, "recovery after restart < 5s");
}

#[test]
fn bad_faults_are_reported_where_they_are_written() {
    let issues = problems(
        "proxies:\n  pg: { listen: \"127.0.0.1:15432\", to: \"127.0.0.1:5432\" }\n  far: { listen: \"10.0.0.1:15432\", to: \"127.0.0.1:5432\" }\n  bad: { listen: \"127.0.0.1:1\", to: nowhere }\nfaults:\n  - { name: a, at: 5s, run: [x], delay: { proxy: pg, by: 1s } }\n  - { name: b, at: 40s, run: [x] }\n  - { name: c, at: 1s, run: [x], for: 2s }\n  - { name: d, at: 1s, run: [x], then: [y] }\n  - { name: e, at: 1s, restart: remote }\n  - { name: f, at: 1s, restart: nobody }\n  - { name: f, at: 2s, for: 1s, delay: { proxy: none, by: 0ms } }\n  - { name: \"g h\", at: 1s, run: [\"\"] }\n  - { name: i, at: 1s, delay: { proxy: pg, by: 1s } }\n  - { name: j, at: 1s, run: [x], then: [y], for: 2s, restart: local }\n  - { name: k, at: 1s, cut: pg }\n  - { name: l, at: 1s, for: 1s, cut: none }\nslo:\n  - { recovery: { fault: zz, within: 5s } }\n  - { answered: { except: [yy] } }\nalarms:\n  file: ../../config/cloudwatch_alarms.yaml\n  must_fire: [{ alarm: high_error_rate, after: nothing, within: 5s }]\n",
    );
    let expect = [
        "proxies.far.listen: \"10.0.0.1:15432\" must be a loopback address (at line 17",
        "proxies.bad.to: \"nowhere\" is not an address",
        "faults[0]: give exactly one of run, delay, cut, restart",
        "faults[1].at: starts after the load ends (30s) (at line 21",
        "faults[2].for: a run fault lasts while its command runs; give then to end it later (at line 22",
        "faults[3].for: missing: how long after run its then comes",
        "faults[4].restart: \"remote\" is not spawned by the harness",
        "faults[5].restart: \"nobody\" is not a target",
        "faults[6].name: another fault has this name",
        "faults[6].delay.proxy: \"none\" is not under proxies",
        "faults[6].delay.by: \"0ms\" must be above 0 and at most 60s",
        "faults[7].name: \"g h\" must be non-empty",
        "faults[7].run: needs a program",
        "faults[8].for: missing: how long the latency is added",
        "faults[9]: give exactly one of run, delay, cut, restart",
        "faults[10].for: missing: how long the proxy stays cut",
        "faults[11].cut: \"none\" is not under proxies",
        "slo[0].recovery.fault: \"zz\" is not a fault (under faults:)",
        "slo[1].answered.except[0]: \"yy\" is not a fault (under faults:)",
        "alarms.must_fire[0].after: \"nothing\" is not a phase or a fault (steady, ",
    ];
    assert_problems(&issues, &expect);
}

#[test]
fn a_proxy_loop_a_fault_named_like_a_phase_and_one_ending_after_the_load_are_refused() {
    let issues = problems(
        "proxies:\n  self: { listen: \"127.0.0.1:15001\", to: \"127.0.0.1:15001\" }\n  a: { listen: \"127.0.0.1:15002\", to: \"127.0.0.1:15003\" }\n  b: { listen: \"127.0.0.1:15003\", to: \"127.0.0.1:5432\" }\nfaults:\n  - { name: steady, at: 1s, run: [x] }\n  - { name: late, at: 25s, for: 5s, delay: { proxy: b, by: 1s } }\n",
    );
    let expect = [
        "proxies.self.to: is the proxy's own address (at line",
        "proxies.a.to: is another proxy's address: point it at the backend",
        "faults[0].name: a phase has this name (at line",
        "faults[1].for: the fault would end after the load (30s): nothing would show the recovery",
    ];
    assert_problems(&issues, &expect);
}

#[test]
fn faults_need_a_load() {
    let text = "version: mcp-slo/v1\nname: t\ntargets:\n  local: { url: \"http://127.0.0.1:1/mcp\" }\nprobes:\n  rate: { op: { tool: q }, expect: 10/s }\nfaults:\n  - { name: a, at: 1s, run: [x] }\n";
    let Err(SpecError::Invalid { issues, .. }) = Scenario::from_yaml(Path::new("t.yaml"), text)
    else {
        panic!("expected problems");
    };
    assert!(
        issues
            .iter()
            .any(|i| i == "faults: faults happen during a load; this scenario has none"),
        "{issues:?}"
    );
}

#[test]
fn a_server_metric_is_read_with_its_defaults_and_its_problems_reported() {
    let s = scenario(
        "slo:\n  - { server_metric: { target: local, name: mcp_sts_assume_role_duration_seconds, labels: { outcome: ok }, p: 99, below: 200ms, min_count: 2 } }\n  - { server_metric: { target: remote, url: \"http://127.0.0.1:9/m\", name: g, above: \"0.5\" } }\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let ObjectiveKind::ServerMetric(m) = &s.objectives[0].kind else {
        panic!("a server metric");
    };
    assert_eq!(
        (m.url.as_str(), m.percentile, m.below, m.above, m.min_count),
        ("beside", Some(99.0), Some(0.2), None, 2)
    );
    assert_eq!(m.labels["outcome"], "ok");
    assert_eq!(
        s.objectives[0].name,
        "server mcp_sts_assume_role_duration_seconds p99 < 200ms"
    );
    let ObjectiveKind::ServerMetric(g) = &s.objectives[1].kind else {
        panic!("a server metric");
    };
    assert_eq!((g.above, g.percentile, g.min_count), (Some(0.5), None, 1));
    let issues = problems(
        "slo:\n  - { server_metric: { name: m, below: 1s } }\n  - { tool: q, server_metric: { target: nowhere, name: m, p: 100, below: fast, min_count: 3 } }\n  - { server_metric: { target: local, name: m } }\n",
    );
    let expect = [
        "slo[0].server_metric.target: missing: the scenario has more than one target",
        "slo[1].tool: a server_metric reads the server's page, not one tool's calls",
        "slo[1].server_metric.target: \"nowhere\" is not a target (at line",
        "slo[1].server_metric.p: 100 must be between 0 and 100 (exclusive) (at line",
        "slo[1].server_metric.below: \"fast\" is neither a number nor a duration (at line",
        "slo[2].server_metric: give below, above or both",
    ];
    assert_problems(&issues, &expect);
}
