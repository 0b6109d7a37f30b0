//! The alarms file: one good fixture, one mutation per case, each asserting the exact list
//! of problems. Line and column numbers refer to the lines of `FIXTURE` (line 1 is
//! `alarms:`).

use std::path::{Path, PathBuf};

use super::super::*;

const FIXTURE: &str = r#"alarms:
  - name: high_error_rate
    metric: MCPToolCallErrorRate
    threshold: 0.01
    comparison: GreaterThanThreshold
    evaluation_periods: 5
    period: 60
    alarm_action: arn:aws:sns:us-east-1:123456789012:mcp-alerts
  - name: sql_p999
    metric: MCPToolCallLatency
    threshold: 250
    comparison: GreaterThanOrEqualToThreshold
    evaluation_periods: 5
    datapoints_to_alarm: 3
    period: 60
    extended_statistic: p99.9
    treat_missing_data: notBreaching
    tool: sql_query
"#;

fn parse(text: &str) -> Result<AlarmsFile, AlarmsError> {
    AlarmsFile::from_yaml(Path::new("alarms.yaml"), text)
}

fn mutate(mutations: &[(&str, &str)]) -> String {
    let mut text = FIXTURE.to_owned();
    for (from, to) in mutations {
        assert!(text.contains(from), "fixture lacks {from:?}");
        text = text.replacen(from, to, 1);
    }
    text
}

#[test]
fn the_fixture_is_valid_with_defaults_filled_in() {
    let file = parse(FIXTURE).expect("valid");
    assert_eq!(
        file.alarms,
        vec![
            Alarm {
                name: "high_error_rate".into(),
                metric: Metric::ErrorRate,
                threshold: 0.01,
                comparison: Comparison::GreaterThanThreshold,
                evaluation_periods: 5,
                datapoints_to_alarm: 5,
                period_s: 60,
                statistic: Statistic::Average,
                treat_missing_data: MissingData::Missing,
                tool: None,
                alarm_action: Some("arn:aws:sns:us-east-1:123456789012:mcp-alerts".into()),
            },
            Alarm {
                name: "sql_p999".into(),
                metric: Metric::Latency,
                threshold: 250.0,
                comparison: Comparison::GreaterThanOrEqualToThreshold,
                evaluation_periods: 5,
                datapoints_to_alarm: 3,
                period_s: 60,
                statistic: Statistic::Percentile(99.9),
                treat_missing_data: MissingData::NotBreaching,
                tool: Some("sql_query".into()),
                alarm_action: None,
            },
        ]
    );
}

#[test]
fn the_committed_alarms_file_is_the_design_documents() {
    let path = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../config/cloudwatch_alarms.yaml"
    ));
    let file = AlarmsFile::load(&path).unwrap_or_else(|e| panic!("{e}"));
    let action = Some("arn:aws:sns:ap-northeast-1:123456789012:agent-alarms".to_owned());
    assert_eq!(
        file.alarms,
        vec![
            Alarm {
                name: "high_error_rate".into(),
                metric: Metric::ErrorRate,
                threshold: 0.01,
                comparison: Comparison::GreaterThanThreshold,
                evaluation_periods: 5,
                datapoints_to_alarm: 5,
                period_s: 60,
                statistic: Statistic::Average,
                treat_missing_data: MissingData::Missing,
                tool: None,
                alarm_action: action.clone(),
            },
            Alarm {
                name: "high_latency".into(),
                metric: Metric::Latency,
                threshold: 1000.0,
                comparison: Comparison::GreaterThanThreshold,
                evaluation_periods: 3,
                datapoints_to_alarm: 3,
                period_s: 60,
                statistic: Statistic::Percentile(99.0),
                treat_missing_data: MissingData::Missing,
                tool: None,
                alarm_action: action,
            },
        ]
    );
}

struct Case {
    name: &'static str,
    mutations: &'static [(&'static str, &'static str)],
    issues: &'static [&'static str],
}

const CASES: &[Case] = &[
    Case {
        name: "unknown field",
        mutations: &[(
            "    period: 60\n    alarm",
            "    period: 60\n    colour: red\n    alarm",
        )],
        issues: &[
            "alarms[0].colour: unknown field (fields: name, metric, threshold, comparison, evaluation_periods, period, alarm_action, statistic, extended_statistic, datapoints_to_alarm, treat_missing_data, tool) (at line 8 column 5)",
        ],
    },
    Case {
        name: "bad comparison",
        mutations: &[(
            "comparison: GreaterThanThreshold",
            "comparison: GreaterThan",
        )],
        issues: &[
            r#"alarms[0].comparison: "GreaterThan" is not a comparison (GreaterThanThreshold, GreaterThanOrEqualToThreshold, LessThanThreshold, LessThanOrEqualToThreshold) (at line 5 column 17)"#,
        ],
    },
    Case {
        name: "more datapoints to alarm than evaluation periods",
        mutations: &[("datapoints_to_alarm: 3", "datapoints_to_alarm: 6")],
        issues: &[
            "alarms[1].datapoints_to_alarm: 6 is more than evaluation_periods (5): M of N needs M <= N (at line 14 column 26)",
        ],
    },
    Case {
        name: "statistic and extended statistic together",
        mutations: &[(
            "    extended_statistic",
            "    statistic: Maximum\n    extended_statistic",
        )],
        issues: &[
            "alarms[1].extended_statistic: cannot be combined with statistic: choose one (at line 17 column 25)",
        ],
    },
    Case {
        name: "every problem at once",
        mutations: &[
            ("metric: MCPToolCallErrorRate", "metric: ErrorRate"),
            ("    threshold: 250\n", ""),
            (
                "treat_missing_data: notBreaching",
                "treat_missing_data: notbreaching",
            ),
        ],
        issues: &[
            r#"alarms[0].metric: "ErrorRate" is not a metric (MCPToolCallErrorRate, MCPToolCallLatency) (at line 3 column 13)"#,
            "alarms[1].threshold: missing (alarm at line 9 column 5)",
            r#"alarms[1].treat_missing_data: "notbreaching" is not a missing-data treatment (missing, notBreaching, breaching, ignore) (at line 16 column 25)"#,
        ],
    },
    Case {
        name: "error rate threshold written as a percentage",
        mutations: &[("threshold: 0.01", "threshold: 5")],
        issues: &[
            "alarms[0].threshold: 5 is not a ratio: MCPToolCallErrorRate's Average is failed / total calls, from 0 to 1 (0.01 = 1%) (at line 4 column 16)",
        ],
    },
    Case {
        name: "threshold that is not a number",
        mutations: &[("threshold: 250", "threshold: high")],
        issues: &[r#"alarms[1].threshold: expected a number, got "high" (at line 11 column 16)"#],
    },
    Case {
        name: "period CloudWatch does not accept",
        mutations: &[("    period: 60\n    alarm", "    period: 45\n    alarm")],
        issues: &[
            "alarms[0].period: 45 is not a CloudWatch period: 10, 30 or a multiple of 60 seconds (at line 7 column 13)",
        ],
    },
    Case {
        name: "evaluation longer than a day",
        mutations: &[(
            "evaluation_periods: 5\n    period: 60\n    alarm",
            "evaluation_periods: 1441\n    period: 60\n    alarm",
        )],
        issues: &[
            "alarms[0].period: 1441 evaluation periods of 60s span 86460s: CloudWatch allows at most one day (86400s) (at line 7 column 13)",
        ],
    },
    Case {
        name: "zero evaluation periods",
        mutations: &[(
            "evaluation_periods: 5\n    datapoints",
            "evaluation_periods: 0\n    datapoints",
        )],
        issues: &["alarms[1].evaluation_periods: must be at least 1, got 0 (at line 13 column 25)"],
    },
    Case {
        name: "fractional evaluation periods",
        mutations: &[(
            "evaluation_periods: 5\n    datapoints",
            "evaluation_periods: 2.5\n    datapoints",
        )],
        issues: &[
            "alarms[1].evaluation_periods: expected a whole number, got 2.5 (at line 13 column 25)",
        ],
    },
    Case {
        name: "percentile out of range",
        mutations: &[("extended_statistic: p99.9", "extended_statistic: p101")],
        issues: &[
            r#"alarms[1].extended_statistic: "p101" is not a percentile: write p and a number from 0 to 100, e.g. p99.9 (at line 16 column 25)"#,
        ],
    },
    Case {
        name: "unknown statistic",
        mutations: &[("    extended_statistic: p99.9\n", "    statistic: Median\n")],
        issues: &[
            r#"alarms[1].statistic: "Median" is not a statistic (Average, Sum, Minimum, Maximum, SampleCount) (at line 16 column 16)"#,
        ],
    },
    Case {
        name: "duplicate name",
        mutations: &[("name: sql_p999", "name: high_error_rate")],
        issues: &[
            r#"alarms[1].name: "high_error_rate" is already the name of alarms[0] (at line 9 column 11)"#,
        ],
    },
    Case {
        name: "action that is not an ARN",
        mutations: &[(
            "arn:aws:sns:us-east-1:123456789012:mcp-alerts",
            "mcp-alerts",
        )],
        issues: &[
            r#"alarms[0].alarm_action: "mcp-alerts" is not an ARN (e.g. arn:aws:sns:REGION:ACCOUNT:TOPIC) (at line 8 column 19)"#,
        ],
    },
];

#[test]
fn each_mutation_reports_exactly_its_problems() {
    for case in CASES {
        match parse(&mutate(case.mutations)) {
            Err(AlarmsError::Invalid { file, issues }) => {
                assert_eq!(file, Path::new("alarms.yaml"), "{}", case.name);
                assert_eq!(issues, case.issues, "{}", case.name);
            }
            other => panic!("{}: expected problems, got {other:?}", case.name),
        }
    }
}

#[test]
fn an_empty_list_is_refused() {
    match parse("alarms: []\n") {
        Err(AlarmsError::Invalid { issues, .. }) => {
            assert_eq!(issues, ["alarms: at least one alarm is needed"]);
        }
        other => panic!("expected problems, got {other:?}"),
    }
}

#[test]
fn malformed_structure_is_a_parse_error_with_line_and_column() {
    for (name, text, first_line) in [
        (
            "top level",
            "namespace: MCP\nalarms: []\n",
            "error: line 1 column 1: unknown field `namespace`, expected one of alarms",
        ),
        (
            "an alarm that is not a mapping",
            "alarms:\n  - high_error_rate\n",
            "error: line 2 column 5: expected mapping start",
        ),
        (
            "a field written twice",
            "alarms:\n  - name: a\n    name: b\n",
            "error: line 3 column 5: duplicate mapping key: name, set DuplicateKeyPolicy in Options if acceptable",
        ),
    ] {
        match parse(text) {
            Err(AlarmsError::Parse { file, message }) => {
                assert_eq!(file, Path::new("alarms.yaml"), "{name}");
                assert_eq!(
                    message.lines().next(),
                    Some(first_line),
                    "{name}: {message}"
                );
            }
            other => panic!("{name}: expected a parse error, got {other:?}"),
        }
    }
}

#[test]
fn the_error_names_the_file_and_counts_the_problems() {
    let err = parse(&mutate(&[
        ("comparison: GreaterThanThreshold", "comparison: Above"),
        ("period: 60\n    extended", "period: 7\n    extended"),
    ]))
    .expect_err("invalid");
    let text = err.to_string();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "alarms.yaml: 2 problems");
    assert!(
        lines[1].starts_with("  alarms[0].comparison: \"Above\""),
        "{text}"
    );
    assert!(
        lines[2].starts_with("  alarms[1].period: 7 is not"),
        "{text}"
    );
}

#[test]
fn statistics_use_cloudwatch_spellings() {
    assert_eq!(Statistic::Percentile(99.0).as_cloudwatch(), "p99");
    assert_eq!(Statistic::Percentile(99.9).as_cloudwatch(), "p99.9");
    assert_eq!(Statistic::SampleCount.as_cloudwatch(), "SampleCount");
    assert!(Statistic::Percentile(50.0).is_extended());
    assert!(!Statistic::Average.is_extended());
    assert_eq!("p99.99".parse(), Ok(Statistic::Percentile(99.99)));
    assert_eq!("Maximum".parse(), Ok(Statistic::Maximum));
    assert!("P99".parse::<Statistic>().is_err());
    assert!("p9x".parse::<Statistic>().is_err());
    let json = serde_json::to_value(Statistic::Percentile(99.9)).expect("serializes");
    assert_eq!(json, serde_json::json!("p99.9"));
    assert_eq!(
        serde_json::from_value::<Statistic>(json).expect("deserializes"),
        Statistic::Percentile(99.9)
    );
    assert_eq!(
        Comparison::LessThanOrEqualToThreshold.as_cloudwatch(),
        "LessThanOrEqualToThreshold"
    );
    assert_eq!(
        serde_json::to_value(MissingData::NotBreaching).expect("serializes"),
        serde_json::json!("notBreaching")
    );
    assert_eq!(
        serde_json::to_value(Metric::Latency).expect("serializes"),
        serde_json::json!("MCPToolCallLatency")
    );
}

#[test]
fn periods_scale_to_whole_seconds_of_at_least_one() {
    let alarm = parse(FIXTURE).expect("valid").alarms.remove(0);
    assert_eq!(alarm.scaled_period_s(1.0).get(), 60);
    assert_eq!(alarm.scaled_period_s(1.0 / 60.0).get(), 1);
    assert_eq!(alarm.scaled_period_s(0.25).get(), 15);
    assert_eq!(alarm.scaled_period_s(0.001).get(), 1);
    assert_eq!(alarm.scaled_period_s(f64::NAN).get(), 1);
}
