//! Unknown fields are parse errors that name the field and its line, at every level of a
//! scenario (mutations of the table tests' fixture).

use std::path::Path;

use super::SpecError;
use super::tests::{Mutations, mutate, parse};

/// Unknown fields are refused while parsing (serde), before validation. serde-saphyr's
/// message starts with the location and the field, then shows the offending lines.
#[test]
fn unknown_fields_are_parse_errors_naming_field_and_line() {
    let cases: &[(&str, Mutations, &str)] = &[
        (
            "top level",
            &[("targets:\n", "owner: sre\ntargets:\n")],
            "error: line 4 column 1: unknown field `owner`, expected one of version, name, description, targets, boundaries, load, mix, slo, faults, proxies, probes, alarms, baseline",
        ),
        (
            "in a phase",
            &[("      rate: 90/s\n", "      rate: 90/s\n      ramp: 10s\n")],
            "error: line 28 column 7: unknown field `ramp`, expected one of name, duration, rate, users, record, mix",
        ),
        (
            "in an objective",
            &[("      slice: 1s\n", "      slice: 1s\n      window: 30d\n")],
            "error: line 54 column 7: unknown field `window`, expected one of above, slice, slice_target",
        ),
        (
            "in a target",
            &[(
                "    token_env: MCP_TOKEN\n",
                "    token_env: MCP_TOKEN\n    cookies: {}\n",
            )],
            "error: line 14 column 5: unknown field `cookies`, expected one of url, spawn, mode, protocol_version, token_env, oauth, headers, same_server_as",
        ),
    ];
    for (name, mutations, first_line) in cases {
        match parse(&mutate(mutations)) {
            Err(SpecError::Parse { file, message }) => {
                assert_eq!(file, Path::new("fixture.yaml"), "{name}");
                assert_eq!(
                    message.lines().next(),
                    Some(*first_line),
                    "{name}: {message}"
                );
            }
            other => panic!("{name}: expected a parse error, got {other:?}"),
        }
    }
}
