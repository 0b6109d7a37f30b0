//! `--publish-cloudwatch`: the run's alarm datapoints go to CloudWatch (PutMetricData),
//! the scenario's alarms are put (PutMetricAlarm) and read back (DescribeAlarms), and the
//! service's states are set beside the harness's own in the result.

use std::time::{Duration, SystemTime};

use mcp_slo_core::alarms::{Alarm, Metric};
use mcp_slo_core::result::{PublishedAlarmState, PublishedInfo, RunResult};
use mcp_slo_engine::cloudwatch::{
    AlarmDefinition, MetricPoint, MetricUnit, PublishError, PublishTarget, publish,
};

/// Where to publish, from the command line and the AWS environment.
#[derive(Debug, Clone)]
pub struct Publish {
    pub namespace: String,
    pub endpoint: Option<String>,
    pub region: String,
}

fn definition(alarm: &Alarm, period_s: u32) -> AlarmDefinition {
    let statistic = alarm.statistic.as_cloudwatch();
    let extended = alarm.statistic.is_extended();
    AlarmDefinition {
        name: alarm.name.clone(),
        metric: alarm.metric.as_cloudwatch().to_owned(),
        tool: alarm.tool.clone(),
        statistic: (!extended).then(|| statistic.clone()),
        extended_statistic: extended.then_some(statistic),
        threshold: alarm.threshold,
        comparison: alarm.comparison.as_cloudwatch().to_owned(),
        evaluation_periods: alarm.evaluation_periods,
        datapoints_to_alarm: alarm.datapoints_to_alarm,
        period_s,
        treat_missing_data: alarm.treat_missing_data.as_cloudwatch().to_owned(),
        alarm_action: alarm.alarm_action.clone(),
    }
}

/// Publishes and records the outcome in `result.alarms.published`.
pub async fn publish_run(
    target: &Publish,
    alarms: &[Alarm],
    started: SystemTime,
    result: &mut RunResult,
) -> Result<(), PublishError> {
    let Some(report) = result.alarms.as_mut() else {
        return Ok(());
    };
    let mut points = Vec::new();
    let mut definitions = Vec::new();
    for alarm in alarms {
        let Some(timeline) = report.timelines.iter().find(|t| t.alarm == alarm.name) else {
            continue;
        };
        definitions.push(definition(alarm, timeline.period_s));
        let unit = match alarm.metric {
            Metric::Latency => MetricUnit::Milliseconds,
            Metric::ErrorRate => MetricUnit::None,
        };
        for p in report.datapoints.get(&alarm.name).into_iter().flatten() {
            let Some(value) = p.value else { continue };
            points.push(MetricPoint {
                metric: alarm.metric.as_cloudwatch().to_owned(),
                tool: alarm.tool.clone(),
                timestamp: started + Duration::from_secs_f64(p.t_start_s.max(0.0)),
                value,
                unit,
                period_s: timeline.period_s,
            });
        }
    }
    let publish_target = PublishTarget {
        endpoint: target.endpoint.clone(),
        region: target.region.clone(),
        namespace: target.namespace.clone(),
    };
    let published = publish(&publish_target, &points, &definitions).await?;
    let states = published
        .alarms
        .iter()
        .map(|a| {
            let harness = report
                .timelines
                .iter()
                .find(|t| t.alarm == a.name)
                .and_then(|t| t.states.last())
                .map(|s| s.state.as_cloudwatch().to_owned())
                .unwrap_or_else(|| "INSUFFICIENT_DATA".to_owned());
            PublishedAlarmState {
                alarm: a.name.clone(),
                agrees: harness == a.state,
                harness_state: harness,
                service_state: a.state.clone(),
                service_reason: a.reason.clone(),
                published_period_s: a.period_s,
            }
        })
        .collect();
    report.published = Some(PublishedInfo {
        namespace: published.namespace,
        endpoint: target
            .endpoint
            .clone()
            .unwrap_or_else(|| "the AWS SDK's default endpoint".to_owned()),
        metric_points: published.metric_points as u64,
        requests: published.requests as u64,
        period_adjustments: published
            .period_adjustments
            .iter()
            .map(|a| format!("{} {} s → {} s", a.alarm, a.requested_s, a.published_s))
            .collect(),
        alarms: states,
    });
    Ok(())
}
