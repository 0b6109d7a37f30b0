//! Publishing to CloudWatch against moto (`eval "$(bash scripts/setup-moto.sh)"`), with IAM
//! enforcement on and the base user's keys from the environment. With
//! `MCP_SLO_REQUIRE_SERVICES=1` a missing emulator fails the test; without it the test says
//! it was skipped and why.

use std::time::{Duration, SystemTime};

use aws_sdk_cloudwatch::types::{DimensionFilter, StateValue, Statistic};
use mcp_slo_engine::cloudwatch::{
    AlarmDefinition, DATUMS_PER_REQUEST, MetricPoint, MetricUnit, PeriodAdjustment, PublishError,
    PublishTarget, TOOL_DIMENSION, alarm_period_s, client, describe_alarms, publish,
};

/// The moto endpoint and keys from `scripts/setup-moto.sh`, or why there are none.
fn moto(test: &str) -> Option<String> {
    let endpoint = std::env::var("AWS_ENDPOINT_URL")
        .ok()
        .filter(|e| e.starts_with("http://127.0.0.1"));
    let up = endpoint.as_ref().is_some_and(|e| {
        let addr = e.trim_start_matches("http://").trim_end_matches('/');
        addr.parse().ok().is_some_and(|a| {
            std::net::TcpStream::connect_timeout(&a, Duration::from_millis(500)).is_ok()
        })
    });
    let keys = std::env::var("AWS_ACCESS_KEY_ID").is_ok()
        && std::env::var("AWS_SECRET_ACCESS_KEY").is_ok();
    if up && keys {
        return endpoint;
    }
    let message = format!(
        "{test}: needs moto on 127.0.0.1 and its base user's keys (eval \"$(bash scripts/setup-moto.sh)\")"
    );
    if std::env::var("MCP_SLO_REQUIRE_SERVICES").as_deref() == Ok("1") {
        panic!("{message}");
    }
    eprintln!("SKIPPED {message}");
    None
}

macro_rules! require_moto {
    ($test:expr) => {
        match moto($test) {
            Some(e) => e,
            None => return,
        }
    };
}

fn target(endpoint: &str) -> PublishTarget {
    let unique = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    PublishTarget {
        endpoint: Some(endpoint.to_owned()),
        region: "ap-northeast-1".into(),
        namespace: format!("mcp-slo-test/{}-{unique}", std::process::id()),
    }
}

fn alarms(namespace: &str) -> Vec<AlarmDefinition> {
    let p99 = AlarmDefinition {
        name: format!("{namespace}/s3_read p99 latency"),
        metric: "latency_ms".into(),
        tool: Some("s3_read".into()),
        statistic: None,
        extended_statistic: Some("p99".into()),
        threshold: 250.0,
        comparison: "GreaterThanThreshold".into(),
        evaluation_periods: 3,
        datapoints_to_alarm: 2,
        // A 60 s window run at 1/60 scale: CloudWatch's smallest period is 10 s.
        period_s: 1,
        treat_missing_data: "notBreaching".into(),
        alarm_action: None,
    };
    let errors = AlarmDefinition {
        name: format!("{namespace}/error ratio"),
        metric: "error_ratio".into(),
        tool: None,
        statistic: Some("Average".into()),
        extended_statistic: None,
        threshold: 0.01,
        comparison: "GreaterThanOrEqualToThreshold".into(),
        evaluation_periods: 5,
        datapoints_to_alarm: 5,
        period_s: 60,
        treat_missing_data: "missing".into(),
        alarm_action: Some("arn:aws:sns:ap-northeast-1:123456789012:slo-alerts".into()),
    };
    vec![p99, errors]
}

fn points(now: SystemTime) -> Vec<MetricPoint> {
    let mut out = Vec::new();
    for (second, values) in [(3u64, [12.0, 14.0, 12.0]), (2, [30.0, 11.0, 9.5])] {
        for value in values {
            out.push(MetricPoint {
                metric: "latency_ms".into(),
                tool: Some("s3_read".into()),
                timestamp: now - Duration::from_secs(second),
                value,
                unit: MetricUnit::Milliseconds,
                period_s: 1,
            });
        }
    }
    out.push(MetricPoint {
        metric: "error_ratio".into(),
        tool: None,
        timestamp: now - Duration::from_secs(1),
        value: 0.002,
        unit: MetricUnit::None,
        period_s: 60,
    });
    out
}

#[tokio::test]
async fn published_metrics_and_alarms_read_back_and_alarm_state_round_trips() {
    let endpoint = require_moto!("published_metrics_and_alarms_read_back");
    let target = target(&endpoint);
    let defs = alarms(&target.namespace);
    let names: Vec<String> = defs.iter().map(|a| a.name.clone()).collect();
    let now = SystemTime::now();

    let report = publish(&target, &points(now), &defs)
        .await
        .expect("publishes");
    assert_eq!(report.namespace, target.namespace);
    assert_eq!(report.metric_points, 7);
    assert_eq!(report.requests, 1);
    assert_eq!(
        report.period_adjustments,
        [PeriodAdjustment {
            alarm: names[0].clone(),
            requested_s: 1,
            published_s: 10
        }]
    );
    let states: Vec<(&str, &str, Option<u32>)> = report
        .alarms
        .iter()
        .map(|a| (a.name.as_str(), a.state.as_str(), a.period_s))
        .collect();
    // moto never evaluates alarms: they stay in their initial state.
    assert_eq!(
        states,
        [
            (names[0].as_str(), "OK", Some(10)),
            (names[1].as_str(), "OK", Some(60))
        ]
    );

    let cw = client(&target).await;
    let reason = "p99 of s3_read over 250 ms";
    cw.set_alarm_state()
        .alarm_name(&names[0])
        .state_value(StateValue::Alarm)
        .state_reason(reason)
        .send()
        .await
        .expect("SetAlarmState");
    let read = describe_alarms(&target, &names).await.expect("describes");
    assert_eq!(read.len(), 2);
    assert_eq!(read[0].state, "ALARM");
    assert_eq!(read[0].reason.as_deref(), Some(reason));
    assert!(read[0].updated.is_some(), "{read:?}");
    assert_eq!(read[1].state, "OK");

    let listed = cw
        .list_metrics()
        .namespace(&target.namespace)
        .metric_name("latency_ms")
        .dimensions(
            DimensionFilter::builder()
                .name(TOOL_DIMENSION)
                .value("s3_read")
                .build(),
        )
        .send()
        .await
        .expect("ListMetrics");
    assert_eq!(listed.metrics().len(), 1, "{listed:?}");
    let stats = cw
        .get_metric_statistics()
        .namespace(&target.namespace)
        .metric_name("latency_ms")
        .dimensions(
            aws_sdk_cloudwatch::types::Dimension::builder()
                .name(TOOL_DIMENSION)
                .value("s3_read")
                .build(),
        )
        .start_time((now - Duration::from_secs(600)).into())
        .end_time((now + Duration::from_secs(60)).into())
        .period(60)
        .statistics(Statistic::SampleCount)
        .statistics(Statistic::Maximum)
        .send()
        .await
        .expect("GetMetricStatistics");
    let samples: f64 = stats
        .datapoints()
        .iter()
        .filter_map(|d| d.sample_count())
        .sum();
    let max = stats
        .datapoints()
        .iter()
        .filter_map(|d| d.maximum())
        .fold(f64::MIN, f64::max);
    assert_eq!(samples, 6.0, "{stats:?}");
    assert_eq!(max, 30.0, "{stats:?}");

    cw.delete_alarms()
        .set_alarm_names(Some(names))
        .send()
        .await
        .expect("DeleteAlarms");
}

#[tokio::test]
async fn thousands_of_points_go_in_requests_within_the_api_limits() {
    let endpoint = require_moto!("thousands_of_points_go_in_requests");
    let target = target(&endpoint);
    let start = SystemTime::now() - Duration::from_secs(3000);
    let points: Vec<MetricPoint> = (0..2100u32)
        .map(|i| MetricPoint {
            metric: "calls".into(),
            tool: Some("lambda_invoke".into()),
            timestamp: start + Duration::from_secs(u64::from(i)),
            value: f64::from(i % 7),
            unit: MetricUnit::Count,
            period_s: 1,
        })
        .collect();
    let report = publish(&target, &points, &[]).await.expect("publishes");
    // 2,100 datums (distinct timestamps) in requests of DATUMS_PER_REQUEST.
    assert_eq!(report.metric_points, 2100);
    assert_eq!(report.requests, 2100usize.div_ceil(DATUMS_PER_REQUEST));
    let stats = client(&target)
        .await
        .get_metric_statistics()
        .namespace(&target.namespace)
        .metric_name("calls")
        .dimensions(
            aws_sdk_cloudwatch::types::Dimension::builder()
                .name(TOOL_DIMENSION)
                .value("lambda_invoke")
                .build(),
        )
        .start_time((start - Duration::from_secs(60)).into())
        .end_time(SystemTime::now().into())
        .period(3600)
        .statistics(Statistic::SampleCount)
        .send()
        .await
        .expect("GetMetricStatistics");
    let samples: f64 = stats
        .datapoints()
        .iter()
        .filter_map(|d| d.sample_count())
        .sum();
    assert_eq!(samples, 2100.0, "{stats:?}");
}

#[tokio::test]
async fn an_unreachable_endpoint_fails_naming_the_operation_and_the_endpoint() {
    let _endpoint = require_moto!("an_unreachable_endpoint_fails");
    let mut target = target("http://127.0.0.1:9");
    target.namespace = "mcp-slo-test/unreachable".into();
    let err = publish(&target, &points(SystemTime::now()), &[])
        .await
        .expect_err("nothing listens on port 9");
    assert!(
        matches!(&err, PublishError::Api { operation: "PutMetricData", endpoint, .. } if endpoint == "http://127.0.0.1:9"),
        "{err}"
    );
    assert!(
        err.to_string()
            .starts_with("CloudWatch PutMetricData at http://127.0.0.1:9 failed: "),
        "{err}"
    );
}

#[test]
fn alarm_periods_round_up_to_10_30_or_a_multiple_of_60() {
    for (asked, published) in [
        (0, 10),
        (1, 10),
        (10, 10),
        (11, 30),
        (30, 30),
        (31, 60),
        (60, 60),
        (61, 120),
        (300, 300),
    ] {
        assert_eq!(alarm_period_s(asked), published, "asked {asked}");
    }
}

/// Needs no emulator: nothing is sent when the input is wrong.
#[tokio::test]
async fn every_problem_is_reported_before_anything_is_sent() {
    let mut target = target("http://127.0.0.1:9");
    target.namespace = "AWS/Lambda".into();
    let mut bad = alarms("ns").remove(0);
    bad.statistic = Some("Median".into());
    bad.comparison = "Above".into();
    bad.datapoints_to_alarm = 4;
    let mut nan = points(SystemTime::now()).remove(0);
    nan.value = f64::NAN;
    let Err(PublishError::Invalid { problems }) = publish(&target, &[nan], &[bad]).await else {
        panic!("invalid input was accepted");
    };
    assert_eq!(
        problems,
        [
            "namespace \"AWS/Lambda\": must be non-empty and not start with \"AWS/\"",
            "points[0] (latency_ms): value NaN is not finite",
            "alarm \"ns/s3_read p99 latency\": set exactly one of statistic and extended_statistic",
            "alarm \"ns/s3_read p99 latency\": comparison \"Above\" is not one of GreaterThanOrEqualToThreshold, GreaterThanThreshold, LessThanThreshold, LessThanOrEqualToThreshold",
            "alarm \"ns/s3_read p99 latency\": datapoints_to_alarm 4 exceeds evaluation_periods 3",
        ]
    );
    let mut median = alarms("ns").remove(1);
    median.statistic = Some("Median".into());
    target.namespace = "mcp-slo-test/invalid".into();
    let err = publish(&target, &[], &[median]).await.expect_err("Median");
    assert_eq!(
        err.to_string(),
        "nothing was published to CloudWatch: alarm \"ns/error ratio\": statistic \"Median\" is not one of Average, Maximum, Minimum, SampleCount, Sum"
    );
}
