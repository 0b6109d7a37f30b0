//! The scenario spec's table of mutations: each case changes the fixture of `tests.rs` and
//! asserts the exact list of problems. Line and column numbers in the expected messages
//! refer to the lines of the fixture (line 1 is `version:`).

use std::path::Path;

use super::SpecError;
use super::tests::{Mutations, mutate, parse};

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
