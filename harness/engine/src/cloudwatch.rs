//! Publishing a run's SLO metrics and alarm definitions to CloudWatch.
//!
//! [`publish`] checks every point and alarm first (all problems in one error, nothing sent),
//! then sends the points with PutMetricData, one PutMetricAlarm per alarm, and reads the
//! alarms back with DescribeAlarms. Points that share metric, tool, unit, timestamp and
//! resolution travel as one datum's value list (distinct values with their counts, at most
//! [`MAX_VALUES_PER_DATUM`]); requests hold at most [`DATUMS_PER_REQUEST`] datums (under
//! the API's [`MAX_DATUMS_PER_REQUEST`]; see there why) and stay under the 1 MB request size.
//!
//! Alarm periods: CloudWatch accepts only 10, 30 or a multiple of 60 seconds. A harness that
//! scales time down (a 60 s window run as 1 s) asks for periods it cannot have, so each
//! alarm is published with [`alarm_period_s`], the smallest valid period at least the one
//! asked for, and every change is listed in [`PublishReport::period_adjustments`]. Points
//! whose `period_s` is under 60 are sent as high-resolution metrics (storage resolution 1),
//! which 10 and 30 s alarms need.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use aws_config::{BehaviorVersion, Region};
use aws_sdk_cloudwatch::config::http::HttpResponse;
use aws_sdk_cloudwatch::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_cloudwatch::types::{
    ComparisonOperator, Dimension, MetricAlarm, StandardUnit, Statistic,
};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextMut;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::config_bag::ConfigBag;
use aws_smithy_types::date_time::Format;
use aws_smithy_types::retry::RetryConfig;
use aws_smithy_types::timeout::TimeoutConfig;

mod datums;

pub use datums::{DATUMS_PER_REQUEST, MAX_DATUMS_PER_REQUEST, MAX_VALUES_PER_DATUM};
use datums::{batches, datums};

/// The dimension that carries a point's or an alarm's tool.
pub const TOOL_DIMENSION: &str = "Tool";
/// DescribeAlarms' limit on alarm names per request.
const MAX_NAMES_PER_DESCRIBE: usize = 100;
const COMPARISONS: [&str; 4] = [
    "GreaterThanOrEqualToThreshold",
    "GreaterThanThreshold",
    "LessThanThreshold",
    "LessThanOrEqualToThreshold",
];
const TREAT_MISSING: [&str; 4] = ["missing", "notBreaching", "breaching", "ignore"];

/// Where to publish. `endpoint: None` leaves the endpoint to the SDK's own resolution
/// (`AWS_ENDPOINT_URL`, the profile, else AWS); credentials always come from the SDK's
/// default chain (`AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`, profiles, ...).
#[derive(Debug, Clone)]
pub struct PublishTarget {
    pub endpoint: Option<String>,
    pub region: String,
    pub namespace: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum MetricUnit {
    Milliseconds,
    /// A ratio or other unitless value.
    None,
    Count,
}

impl MetricUnit {
    fn standard(self) -> StandardUnit {
        match self {
            MetricUnit::Milliseconds => StandardUnit::Milliseconds,
            MetricUnit::None => StandardUnit::None,
            MetricUnit::Count => StandardUnit::Count,
        }
    }
}

/// One value of a metric over a window of `period_s` seconds ending or starting at
/// `timestamp` (as the caller aggregates), for one tool (dimension `Tool`) or for all.
#[derive(Debug, Clone)]
pub struct MetricPoint {
    pub metric: String,
    pub tool: Option<String>,
    pub timestamp: SystemTime,
    pub value: f64,
    pub unit: MetricUnit,
    pub period_s: u32,
}

/// A CloudWatch metric alarm on a metric of the target's namespace. Exactly one of
/// `statistic` ("Average", "Maximum", ...) and `extended_statistic` ("p99") is set;
/// `comparison` is a static-threshold ComparisonOperator ("GreaterThanThreshold", ...);
/// `treat_missing_data` is missing, notBreaching, breaching or ignore.
#[derive(Debug, Clone)]
pub struct AlarmDefinition {
    pub name: String,
    pub metric: String,
    pub tool: Option<String>,
    pub statistic: Option<String>,
    pub extended_statistic: Option<String>,
    pub threshold: f64,
    pub comparison: String,
    pub evaluation_periods: u32,
    pub datapoints_to_alarm: u32,
    pub period_s: u32,
    pub treat_missing_data: String,
    pub alarm_action: Option<String>,
}

/// An alarm as CloudWatch holds it. `state` is OK, ALARM or INSUFFICIENT_DATA; `updated`
/// is the state's RFC 3339 timestamp; `period_s` the period CloudWatch evaluates.
#[derive(Debug, Clone, PartialEq)]
pub struct PublishedAlarm {
    pub name: String,
    pub state: String,
    pub reason: Option<String>,
    pub updated: Option<String>,
    pub period_s: Option<u32>,
}

/// An alarm published with another period than the one asked for (see [`alarm_period_s`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeriodAdjustment {
    pub alarm: String,
    pub requested_s: u32,
    pub published_s: u32,
}

#[derive(Debug, Clone)]
pub struct PublishReport {
    pub namespace: String,
    /// Points sent (before merging into value lists).
    pub metric_points: usize,
    /// PutMetricData requests the points took.
    pub requests: usize,
    /// The published alarms as DescribeAlarms returned them, in the order given.
    pub alarms: Vec<PublishedAlarm>,
    pub period_adjustments: Vec<PeriodAdjustment>,
}

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("nothing was published to CloudWatch: {}", problems.join("; "))]
    Invalid { problems: Vec<String> },
    #[error("CloudWatch {operation} at {endpoint} failed: {message}")]
    Api {
        operation: &'static str,
        endpoint: String,
        message: String,
    },
    #[error("CloudWatch DescribeAlarms at {endpoint} does not list alarm {alarm:?} just put")]
    Missing { alarm: String, endpoint: String },
}

/// The smallest period CloudWatch accepts for an alarm that is at least `requested_s`:
/// 10, 30, or a multiple of 60 seconds.
pub fn alarm_period_s(requested_s: u32) -> u32 {
    match requested_s {
        0..=10 => 10,
        11..=30 => 30,
        s => s.div_ceil(60).saturating_mul(60),
    }
}

/// A CloudWatch client for `target`: region and endpoint from it, three attempts with
/// backoff, 5 s to connect and 30 s per operation, bodies uncompressed and spaces sent as
/// `+` (see [`FormSpaces`]).
pub async fn client(target: &PublishTarget) -> aws_sdk_cloudwatch::Client {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(target.region.clone()))
        .retry_config(RetryConfig::standard().with_max_attempts(3))
        // moto answers a gzip-compressed PutMetricData (the SDK compresses bodies over
        // 10 KiB) with SignatureDoesNotMatch; a run's metrics are small enough to send plain.
        .disable_request_compression(true)
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(5))
                .operation_timeout(Duration::from_secs(30))
                .build(),
        );
    if let Some(url) = &target.endpoint {
        loader = loader.endpoint_url(url.clone());
    }
    let sdk = loader.load().await;
    let conf = aws_sdk_cloudwatch::config::Builder::from(&sdk)
        .interceptor(FormSpaces)
        .build();
    aws_sdk_cloudwatch::Client::from_conf(conf)
}

/// Writes a space in the form-encoded request body as `+` instead of the SDK's `%20`.
/// moto checks a query-protocol signature against its own re-encoding of the form, which
/// uses `+`, so any value with a space (an alarm name, a reason) failed there with
/// SignatureDoesNotMatch. Both are the form encoding of a space, and `+` is what botocore
/// sends to AWS; a `+` in a value is already `%2B`, and `%20` in the body can only be a space
/// (a `%` in a value is `%25`). The body is changed before signing, so it is what is signed.
#[derive(Debug)]
struct FormSpaces;

impl Intercept for FormSpaces {
    fn name(&self) -> &'static str {
        "FormSpaces"
    }

    fn modify_before_signing(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let request = context.request_mut();
        if request.headers().contains_key("content-encoding") {
            return Ok(()); // compressed: not form text
        }
        let Some(body) = request.body().bytes() else {
            return Ok(());
        };
        if !body.windows(3).any(|w| w == b"%20") {
            return Ok(());
        }
        let body = String::from_utf8_lossy(body).replace("%20", "+");
        request
            .headers_mut()
            .insert("content-length", body.len().to_string());
        *request.body_mut() = SdkBody::from(body);
        Ok(())
    }
}

/// Publishes `points` and `alarms` into `target.namespace` and reads the alarms back.
pub async fn publish(
    target: &PublishTarget,
    points: &[MetricPoint],
    alarms: &[AlarmDefinition],
) -> Result<PublishReport, PublishError> {
    let problems = check(target, points, alarms);
    if !problems.is_empty() {
        return Err(PublishError::Invalid { problems });
    }
    let cw = client(target).await;
    let endpoint = endpoint_text(target);
    let batches = batches(datums(points));
    let requests = batches.len();
    for batch in batches {
        cw.put_metric_data()
            .namespace(&target.namespace)
            .set_metric_data(Some(batch))
            .send()
            .await
            .map_err(|e| api_error("PutMetricData", &endpoint, e))?;
    }
    let mut period_adjustments = Vec::new();
    for alarm in alarms {
        let period_s = alarm_period_s(alarm.period_s);
        if period_s != alarm.period_s {
            period_adjustments.push(PeriodAdjustment {
                alarm: alarm.name.clone(),
                requested_s: alarm.period_s,
                published_s: period_s,
            });
        }
        let mut put = cw
            .put_metric_alarm()
            .alarm_name(&alarm.name)
            .namespace(&target.namespace)
            .metric_name(&alarm.metric)
            .period(to_i32(period_s))
            .threshold(alarm.threshold)
            .comparison_operator(ComparisonOperator::from(alarm.comparison.as_str()))
            .evaluation_periods(to_i32(alarm.evaluation_periods))
            .datapoints_to_alarm(to_i32(alarm.datapoints_to_alarm))
            .treat_missing_data(&alarm.treat_missing_data)
            .set_dimensions(alarm.tool.as_deref().map(|t| vec![tool_dimension(t)]))
            .set_statistic(alarm.statistic.as_deref().map(Statistic::from))
            .set_extended_statistic(alarm.extended_statistic.clone());
        if let Some(action) = &alarm.alarm_action {
            put = put.alarm_actions(action);
        }
        put.send()
            .await
            .map_err(|e| api_error("PutMetricAlarm", &endpoint, e))?;
    }
    let names: Vec<String> = alarms.iter().map(|a| a.name.clone()).collect();
    let published = describe(&cw, &endpoint, &names).await?;
    if let Some(missing) = names
        .iter()
        .find(|n| !published.iter().any(|p| &p.name == *n))
    {
        return Err(PublishError::Missing {
            alarm: missing.clone(),
            endpoint,
        });
    }
    Ok(PublishReport {
        namespace: target.namespace.clone(),
        metric_points: points.len(),
        requests,
        alarms: published,
        period_adjustments,
    })
}

/// The named metric alarms as CloudWatch holds them now, in the order given; names it does
/// not know are left out.
pub async fn describe_alarms(
    target: &PublishTarget,
    names: &[String],
) -> Result<Vec<PublishedAlarm>, PublishError> {
    describe(&client(target).await, &endpoint_text(target), names).await
}

async fn describe(
    cw: &aws_sdk_cloudwatch::Client,
    endpoint: &str,
    names: &[String],
) -> Result<Vec<PublishedAlarm>, PublishError> {
    let mut found = BTreeMap::new();
    for chunk in names.chunks(MAX_NAMES_PER_DESCRIBE) {
        let mut token = None;
        loop {
            let page = cw
                .describe_alarms()
                .set_alarm_names(Some(chunk.to_vec()))
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| api_error("DescribeAlarms", endpoint, e))?;
            for alarm in page.metric_alarms() {
                if let Some(name) = alarm.alarm_name() {
                    found.insert(name.to_owned(), published_alarm(name, alarm));
                }
            }
            token = page.next_token().map(str::to_owned);
            if token.is_none() {
                break;
            }
        }
    }
    Ok(names.iter().filter_map(|n| found.remove(n)).collect())
}

fn published_alarm(name: &str, alarm: &MetricAlarm) -> PublishedAlarm {
    PublishedAlarm {
        name: name.to_owned(),
        state: alarm
            .state_value()
            .map(|s| s.as_str().to_owned())
            .unwrap_or_default(),
        reason: alarm.state_reason().map(str::to_owned),
        updated: alarm
            .state_updated_timestamp()
            .and_then(|t| t.fmt(Format::DateTime).ok()),
        period_s: alarm.period().and_then(|p| u32::try_from(p).ok()),
    }
}

/// Every problem with the input, each naming the point or alarm.
fn check(
    target: &PublishTarget,
    points: &[MetricPoint],
    alarms: &[AlarmDefinition],
) -> Vec<String> {
    let mut problems = Vec::new();
    if target.namespace.is_empty() || target.namespace.starts_with("AWS/") {
        problems.push(format!(
            "namespace {:?}: must be non-empty and not start with \"AWS/\"",
            target.namespace
        ));
    }
    for (i, p) in points.iter().enumerate() {
        if p.metric.is_empty() {
            problems.push(format!("points[{i}]: empty metric name"));
        }
        if !p.value.is_finite() {
            problems.push(format!(
                "points[{i}] ({}): value {} is not finite",
                p.metric, p.value
            ));
        }
    }
    for a in alarms {
        let mut bad = |what: String| problems.push(format!("alarm {:?}: {what}", a.name));
        if a.name.is_empty() || a.name.len() > 255 {
            bad("name must have 1 to 255 characters".into());
        }
        if a.metric.is_empty() {
            bad("empty metric name".into());
        }
        match (&a.statistic, &a.extended_statistic) {
            (Some(s), None) if !Statistic::values().contains(&s.as_str()) => bad(format!(
                "statistic {s:?} is not one of {}",
                Statistic::values().join(", ")
            )),
            (None, Some(e)) if e.is_empty() => bad("extended_statistic is empty".into()),
            (Some(_), None) | (None, Some(_)) => {}
            _ => bad("set exactly one of statistic and extended_statistic".into()),
        }
        if !COMPARISONS.contains(&a.comparison.as_str()) {
            bad(format!(
                "comparison {:?} is not one of {}",
                a.comparison,
                COMPARISONS.join(", ")
            ));
        }
        if !TREAT_MISSING.contains(&a.treat_missing_data.as_str()) {
            bad(format!(
                "treat_missing_data {:?} is not one of {}",
                a.treat_missing_data,
                TREAT_MISSING.join(", ")
            ));
        }
        if a.evaluation_periods == 0 || a.datapoints_to_alarm == 0 {
            bad("evaluation_periods and datapoints_to_alarm must be at least 1".into());
        } else if a.datapoints_to_alarm > a.evaluation_periods {
            bad(format!(
                "datapoints_to_alarm {} exceeds evaluation_periods {}",
                a.datapoints_to_alarm, a.evaluation_periods
            ));
        }
        if !a.threshold.is_finite() {
            bad(format!("threshold {} is not finite", a.threshold));
        }
    }
    problems
}

fn tool_dimension(tool: &str) -> Dimension {
    Dimension::builder()
        .name(TOOL_DIMENSION)
        .value(tool)
        .build()
}

/// Checked by [`check`] or bounded by CloudWatch's own limits, far below `i32::MAX`.
fn to_i32(v: u32) -> i32 {
    i32::try_from(v).unwrap_or(i32::MAX)
}

fn endpoint_text(target: &PublishTarget) -> String {
    match &target.endpoint {
        Some(url) => url.clone(),
        None => format!("the default endpoint of {}", target.region),
    }
}

fn api_error<E>(
    operation: &'static str,
    endpoint: &str,
    err: SdkError<E, HttpResponse>,
) -> PublishError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let status = err.raw_response().map(|r| r.status().as_u16());
    // moto's denials are XML under a text/html content type, which the SDK leaves unparsed.
    let body = err.raw_response().and_then(|r| r.body().bytes());
    let field = |name: &str| body.and_then(|b| xml_field(b, name));
    let (code, text) = match &err {
        SdkError::ServiceError(e) if e.err().code().is_some() => (
            e.err().code().map(str::to_owned),
            e.err().message().map(str::to_owned),
        ),
        _ => (field("Code"), field("Message")),
    };
    let message = match (code, status) {
        (Some(code), status) => format!(
            "{code}: {} (HTTP {})",
            text.as_deref().unwrap_or("no message"),
            status.unwrap_or_default()
        ),
        (None, Some(403)) => "access denied (HTTP 403): the credentials may not do this".into(),
        (None, Some(status)) => format!("HTTP {status}: {}", DisplayErrorContext(&err)),
        (None, None) => DisplayErrorContext(&err).to_string(),
    };
    PublishError::Api {
        operation,
        endpoint: endpoint.to_owned(),
        message,
    }
}

/// The text of the first `<name>` element of an XML error body.
fn xml_field(body: &[u8], name: &str) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?;
    let start = text.find(&format!("<{name}>"))? + name.len() + 2;
    let len = text[start..].find(&format!("</{name}>"))?;
    Some(text[start..start + len].to_owned())
}
