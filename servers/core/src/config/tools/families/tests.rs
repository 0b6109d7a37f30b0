//! Family declarations as each tier's committed config takes them.

use std::path::Path;

use super::*;
use crate::config::{ConfigError, ServerConfig};

fn committed(file: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../config")
        .join(file);
    std::fs::read_to_string(path).unwrap()
}

/// The committed config of a tier with `family` as its only family.
fn with(file: &str, family: &str) -> Result<ServerConfig, ConfigError> {
    let text = committed(file);
    let text = match text.find("  families:\n") {
        Some(at) => text[..at].to_owned(),
        None => text,
    };
    ServerConfig::from_yaml(
        Path::new(file),
        &format!("{text}\n  families:\n    - {family}\n"),
    )
}

fn check(file: &str, cases: &[(&str, &str)]) {
    for (family, expected) in cases {
        let err = with(file, family).unwrap_err();
        assert_eq!(err.messages(), vec![expected.to_string()], "for {family}");
    }
}

const LOCAL: &str = "local_mcp_server_config.yaml";
const AWS: &str = "aws_managed_mcp_config.yaml";

#[test]
fn a_postgres_tables_family_is_checked_against_its_base_tool() {
    let family = with(
        LOCAL,
        r#"{ name: "tables", kind: "postgres_tables", schemas: ["catalog"] }"#,
    )
    .unwrap()
    .families
    .remove(0);
    assert_eq!(
        family,
        FamilyConfig {
            name: "tables".into(),
            kind: FamilyKind::PostgresTables {
                databases: vec!["agents".into(), "production".into()],
                schemas: vec!["catalog".into()],
            },
            base: "postgres_query".into(),
            max_tools: 5000,
            callers: None,
        }
    );
    check(
        LOCAL,
        &[
            (
                r#"{ name: "t", kind: "mysql_tables" }"#,
                "server.families[0].kind: \"mysql_tables\" is not a family kind (postgres_tables, s3_prefixes, lambda_functions)",
            ),
            (
                r#"{ name: "t", kind: "postgres_tables", base: "file_read" }"#,
                "server.families[0].base: \"file_read\" cannot serve a postgres_tables family (postgres_query can)",
            ),
            (
                r#"{ name: "t", kind: "postgres_tables", databases: ["staging"] }"#,
                "server.families[0].databases[0]: \"staging\" is not one of postgres_query's allowed databases (agents, production)",
            ),
            (
                r#"{ name: "t", kind: "postgres_tables", schemas: ["public\"; DROP"] }"#,
                "server.families[0].schemas[0]: \"public\\\"; DROP\" is not a schema name (1-63 of a-z 0-9 _)",
            ),
            (
                r#"{ name: "t", kind: "postgres_tables", max_tools: 0 }"#,
                "server.families[0].max_tools: 0 is not between 1 and 100000",
            ),
            (
                r#"{ name: "t", kind: "s3_prefixes", bucket: "b" }"#,
                "server.families[0].kind: s3_prefixes families belong to the aws_managed tier",
            ),
            (
                r#"{ name: "t", kind: "postgres_tables", callers: ["agent-console"] }"#,
                "server.families[0].callers: the local tier has no authenticated callers to scope a family to",
            ),
        ],
    );
}

#[test]
fn aws_families_take_their_own_fields_and_stay_within_their_base() {
    let config = with(
        AWS,
        r#"{ name: "notes", kind: "s3_prefixes", bucket: "mcp-slo-reports", prefixes: ["notes/"], callers: ["agent-console"] }"#,
    )
    .unwrap();
    assert_eq!(
        config.families[0],
        FamilyConfig {
            name: "notes".into(),
            kind: FamilyKind::S3Prefixes {
                bucket: "mcp-slo-reports".into(),
                prefixes: Some(vec!["notes/".into()]),
            },
            base: "s3_read".into(),
            max_tools: 5000,
            callers: Some(vec!["agent-console".into()]),
        }
    );
    let config = with(
        AWS,
        r#"{ name: "fns", kind: "lambda_functions", function_prefix: "agent-" }"#,
    )
    .unwrap();
    assert_eq!(
        config.families[0].kind,
        FamilyKind::LambdaFunctions(Functions::Prefix("agent-".into()))
    );
    check(
        AWS,
        &[
            (
                r#"{ name: "t", kind: "s3_prefixes", bucket: "Reports_Bucket" }"#,
                "server.families[0].bucket: \"Reports_Bucket\" is not a bucket name (3-63 of a-z 0-9 . -)",
            ),
            (
                r#"{ name: "t", kind: "s3_prefixes", bucket: "reports", prefixes: ["notes/../private/"] }"#,
                "server.families[0].prefixes[0]: \"notes/../private/\" must not start with / or hold . or .. segments",
            ),
            (
                r#"{ name: "t", kind: "s3_prefixes", bucket: "reports", schemas: ["public"] }"#,
                "server.families[0].schemas: not a field of s3_prefixes families (they take: bucket, prefixes)",
            ),
            (
                r#"{ name: "t", kind: "lambda_functions", functions: ["prod-billing"] }"#,
                "server.families[0].functions[0]: \"prod-billing\" is not one of lambda_invoke's allowed functions (agent-echo, sleeper)",
            ),
            (
                r#"{ name: "t", kind: "lambda_functions", functions: ["agent-echo"], function_prefix: "agent-" }"#,
                "server.families[0].functions: give functions or function_prefix, not both",
            ),
            (
                r#"{ name: "t", kind: "lambda_functions" }"#,
                "server.families[0].functions: missing: give functions (a list) or function_prefix (ListFunctions)",
            ),
            (
                r#"{ name: "t", kind: "lambda_functions", base: "s3_read", functions: ["agent-echo"] }"#,
                "server.families[0].base: \"s3_read\" cannot serve a lambda_functions family (lambda_invoke can)",
            ),
            (
                r#"{ name: "t", kind: "lambda_functions", function_prefix: "agent-", callers: [] }"#,
                "server.families[0].callers: empty: no caller could use the family (leave it out for all)",
            ),
            (
                r#"{ name: "t", kind: "postgres_tables" }"#,
                "server.families[0].kind: postgres_tables families belong to the local tier",
            ),
        ],
    );
}

#[test]
fn allowed_functions_take_names_arns_and_prefixes() {
    let security = crate::config::ToolSecurity {
        allowed_functions: vec!["agent-echo".into(), "reports-*".into()],
        ..Default::default()
    };
    assert!(security.allows_function("agent-echo"));
    assert!(
        security.allows_function("arn:aws:lambda:ap-northeast-1:123456789012:function:agent-echo")
    );
    assert!(security.allows_function("reports-daily"));
    assert!(!security.allows_function("agent-echo-2"));
    assert!(!security.allows_function("prod-billing"));
}
