//! The validated alarm model: what `config/cloudwatch_alarms.yaml` defines, in CloudWatch's
//! own terms.

use std::borrow::Cow;
use std::fmt;
use std::num::NonZeroU32;
use std::path::Path;
use std::str::FromStr;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::raw::RawAlarmsFile;
use super::validate::Validator;

/// What an alarm watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum Metric {
    /// One sample per call: 1 when it failed (any outcome but `ok`), 0 when it succeeded.
    /// So `Average` is the period's error ratio, failed / total (0.01 = 1%; CloudWatch's
    /// `Percent` unit is not used), `Sum` the failed calls and `SampleCount` all calls.
    #[serde(rename = "MCPToolCallErrorRate")]
    ErrorRate,
    /// Each call's latency in milliseconds.
    #[serde(rename = "MCPToolCallLatency")]
    Latency,
}

impl Metric {
    pub const ALL: [Metric; 2] = [Metric::ErrorRate, Metric::Latency];

    /// The CloudWatch metric name.
    pub fn as_cloudwatch(self) -> &'static str {
        match self {
            Metric::ErrorRate => "MCPToolCallErrorRate",
            Metric::Latency => "MCPToolCallLatency",
        }
    }

    /// The CloudWatch unit its datapoints are published with.
    pub fn unit(self) -> &'static str {
        match self {
            Metric::ErrorRate => "None",
            Metric::Latency => "Milliseconds",
        }
    }

    /// The statistic used when an alarm names none.
    pub fn default_statistic(self) -> Statistic {
        match self {
            Metric::ErrorRate => Statistic::Average,
            Metric::Latency => Statistic::Percentile(99.0),
        }
    }
}

/// How a datapoint is compared with the threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum Comparison {
    GreaterThanThreshold,
    GreaterThanOrEqualToThreshold,
    LessThanThreshold,
    LessThanOrEqualToThreshold,
}

impl Comparison {
    pub const ALL: [Comparison; 4] = [
        Comparison::GreaterThanThreshold,
        Comparison::GreaterThanOrEqualToThreshold,
        Comparison::LessThanThreshold,
        Comparison::LessThanOrEqualToThreshold,
    ];

    /// The `ComparisonOperator` value of CloudWatch's API.
    pub fn as_cloudwatch(self) -> &'static str {
        match self {
            Comparison::GreaterThanThreshold => "GreaterThanThreshold",
            Comparison::GreaterThanOrEqualToThreshold => "GreaterThanOrEqualToThreshold",
            Comparison::LessThanThreshold => "LessThanThreshold",
            Comparison::LessThanOrEqualToThreshold => "LessThanOrEqualToThreshold",
        }
    }

    /// Whether `value` breaches `threshold`: equality breaches only the `OrEqualTo` ones.
    pub fn breaches(self, value: f64, threshold: f64) -> bool {
        match self {
            Comparison::GreaterThanThreshold => value > threshold,
            Comparison::GreaterThanOrEqualToThreshold => value >= threshold,
            Comparison::LessThanThreshold => value < threshold,
            Comparison::LessThanOrEqualToThreshold => value <= threshold,
        }
    }

    /// As CloudWatch's state reasons say it: "greater than".
    pub fn words(self) -> &'static str {
        match self {
            Comparison::GreaterThanThreshold => "greater than",
            Comparison::GreaterThanOrEqualToThreshold => "greater than or equal to",
            Comparison::LessThanThreshold => "less than",
            Comparison::LessThanOrEqualToThreshold => "less than or equal to",
        }
    }
}

/// How each period's samples become one datapoint.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Statistic {
    Average,
    Sum,
    Minimum,
    Maximum,
    SampleCount,
    /// An extended statistic: `p99` is `Percentile(99.0)`.
    Percentile(f64),
}

impl Statistic {
    pub const SIMPLE: [Statistic; 5] = [
        Statistic::Average,
        Statistic::Sum,
        Statistic::Minimum,
        Statistic::Maximum,
        Statistic::SampleCount,
    ];

    /// `Average`, or an extended statistic such as `p99` or `p99.9`.
    pub fn as_cloudwatch(self) -> String {
        match self {
            Statistic::Average => "Average".into(),
            Statistic::Sum => "Sum".into(),
            Statistic::Minimum => "Minimum".into(),
            Statistic::Maximum => "Maximum".into(),
            Statistic::SampleCount => "SampleCount".into(),
            Statistic::Percentile(p) => format!("p{p}"),
        }
    }

    /// Whether CloudWatch takes it as `ExtendedStatistic` rather than `Statistic`.
    pub fn is_extended(self) -> bool {
        matches!(self, Statistic::Percentile(_))
    }

    /// Parses an extended statistic: `p` and a percentile from 0 to 100.
    pub fn percentile(text: &str) -> Result<Statistic, String> {
        let number = text.strip_prefix('p').ok_or_else(|| {
            format!("{text:?} is not a percentile: write p and a number, e.g. p99 or p99.9")
        })?;
        let valid = number.chars().all(|c| c.is_ascii_digit() || c == '.');
        match number.parse::<f64>() {
            Ok(p) if valid && (0.0..=100.0).contains(&p) => Ok(Statistic::Percentile(p)),
            _ => Err(format!(
                "{text:?} is not a percentile: write p and a number from 0 to 100, e.g. p99.9"
            )),
        }
    }
}

impl fmt::Display for Statistic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.as_cloudwatch())
    }
}

impl FromStr for Statistic {
    type Err = String;

    fn from_str(text: &str) -> Result<Statistic, String> {
        Statistic::SIMPLE
            .into_iter()
            .find(|s| s.as_cloudwatch() == text)
            .map_or_else(|| Statistic::percentile(text), Ok)
    }
}

impl Serialize for Statistic {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.as_cloudwatch())
    }
}

impl<'de> Deserialize<'de> for Statistic {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Statistic, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for Statistic {
    fn schema_name() -> Cow<'static, str> {
        "Statistic".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "Average, Sum, Minimum, Maximum, SampleCount or a percentile (p99, p99.9)",
            "type": "string",
            "pattern": "^(Average|Sum|Minimum|Maximum|SampleCount|p[0-9.]+)$"
        })
    }
}

/// How periods without a datapoint count (`TreatMissingData`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum MissingData {
    Missing,
    NotBreaching,
    Breaching,
    Ignore,
}

impl MissingData {
    pub const ALL: [MissingData; 4] = [
        MissingData::Missing,
        MissingData::NotBreaching,
        MissingData::Breaching,
        MissingData::Ignore,
    ];

    pub fn as_cloudwatch(self) -> &'static str {
        match self {
            MissingData::Missing => "missing",
            MissingData::NotBreaching => "notBreaching",
            MissingData::Breaching => "breaching",
            MissingData::Ignore => "ignore",
        }
    }
}

/// One metric alarm.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Alarm {
    pub name: String,
    pub metric: Metric,
    pub threshold: f64,
    pub comparison: Comparison,
    /// N: how many of the most recent periods are evaluated.
    pub evaluation_periods: u32,
    /// M: how many of them must breach for ALARM (1..=N).
    pub datapoints_to_alarm: u32,
    /// Seconds per datapoint, as written (before any scaling).
    pub period_s: u32,
    pub statistic: Statistic,
    pub treat_missing_data: MissingData,
    /// Only this tool's calls (a dimension); `None` is every tool.
    pub tool: Option<String>,
    /// Notified on ALARM, e.g. an SNS topic ARN.
    pub alarm_action: Option<String>,
}

impl Alarm {
    /// The period after scaling (a scenario may run 60 s periods as 1 s), rounded to whole
    /// seconds and at least 1 s.
    pub fn scaled_period_s(&self, scale: f64) -> NonZeroU32 {
        let scaled = (f64::from(self.period_s) * scale).round();
        let seconds = if scaled.is_finite() && scaled >= 1.0 {
            scaled.min(f64::from(u32::MAX)) as u32
        } else {
            1
        };
        NonZeroU32::new(seconds).unwrap_or(NonZeroU32::MIN)
    }
}

/// A `cloudwatch_alarms.yaml` file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AlarmsFile {
    pub alarms: Vec<Alarm>,
}

/// Why an alarms file cannot be used: unreadable, unparseable (with line and column) or
/// invalid (every problem at once), as for scenarios.
pub use crate::spec::SpecError as AlarmsError;

impl AlarmsFile {
    pub fn load(file: &Path) -> Result<AlarmsFile, AlarmsError> {
        let text = std::fs::read_to_string(file).map_err(|source| AlarmsError::Read {
            file: file.to_path_buf(),
            source,
        })?;
        Self::from_yaml(file, &text)
    }

    /// Parses and validates; every problem is reported at once.
    pub fn from_yaml(file: &Path, text: &str) -> Result<AlarmsFile, AlarmsError> {
        let raw: RawAlarmsFile = serde_saphyr::from_str(text).map_err(|e| AlarmsError::Parse {
            file: file.to_path_buf(),
            message: e.to_string(),
        })?;
        let mut v = Validator::default();
        let alarms = v.file(&raw);
        if v.issues.is_empty() {
            Ok(AlarmsFile { alarms })
        } else {
            Err(AlarmsError::Invalid {
                file: file.to_path_buf(),
                issues: v.issues,
            })
        }
    }
}
