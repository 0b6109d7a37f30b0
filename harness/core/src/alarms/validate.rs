//! Validation: raw alarms → [`Alarm`]s. Every problem is collected with its path
//! (`alarms[1].comparison`), the value written and, where it was written, its line and
//! column.

use std::collections::BTreeMap;
use std::fmt::Display;

use serde_json::Value;

use super::config::{Alarm, Comparison, Metric, MissingData, Statistic};
use super::raw::{RawAlarm, RawAlarmsFile};
use crate::spec::raw::Located;

/// Every field an alarm may have: the design document's seven, then the extensions.
pub const FIELDS: [&str; 12] = [
    "name",
    "metric",
    "threshold",
    "comparison",
    "evaluation_periods",
    "period",
    "alarm_action",
    "statistic",
    "extended_statistic",
    "datapoints_to_alarm",
    "treat_missing_data",
    "tool",
];

/// CloudWatch refuses alarms whose evaluation periods span more than one day.
const MAX_EVALUATION_S: u64 = 86_400;

/// CloudWatch's limit on alarm names.
const MAX_NAME_CHARS: usize = 255;

const STATISTICS: [(&str, Statistic); 5] = [
    ("Average", Statistic::Average),
    ("Sum", Statistic::Sum),
    ("Minimum", Statistic::Minimum),
    ("Maximum", Statistic::Maximum),
    ("SampleCount", Statistic::SampleCount),
];

#[derive(Default)]
pub(super) struct Validator {
    pub(super) issues: Vec<String>,
}

/// One alarm's fields by name (null values count as absent), with its path.
struct Fields<'a> {
    path: String,
    at: String,
    by_name: BTreeMap<&'a str, &'a Located<Value>>,
}

impl<'a> Fields<'a> {
    fn get(&self, key: &str) -> Option<&'a Located<Value>> {
        self.by_name
            .get(key)
            .copied()
            .filter(|v| !v.value().is_null())
    }

    fn path(&self, key: &str) -> String {
        format!("{}.{key}", self.path)
    }
}

impl Validator {
    fn push(&mut self, path: &str, message: impl Display) {
        self.issues.push(format!("{path}: {message}"));
    }

    fn at<T>(&mut self, path: &str, value: &Located<T>, message: impl Display) {
        self.issues
            .push(format!("{path}: {message} (at {})", value.at()));
    }

    pub(super) fn file(&mut self, raw: &RawAlarmsFile) -> Vec<Alarm> {
        if raw.alarms.is_empty() {
            self.push("alarms", "at least one alarm is needed");
        }
        let mut names = BTreeMap::new();
        let mut alarms = Vec::new();
        for (i, alarm) in raw.alarms.iter().enumerate() {
            let fields = self.fields(format!("alarms[{i}]"), alarm);
            if let Some(alarm) = self.alarm(&fields, &mut names) {
                alarms.push(alarm);
            }
        }
        alarms
    }

    fn fields<'a>(&mut self, path: String, raw: &'a Located<RawAlarm>) -> Fields<'a> {
        let mut by_name = BTreeMap::new();
        for (key, value) in &raw.value().fields {
            let name = key.value().as_str();
            if !FIELDS.contains(&name) {
                self.at(
                    &format!("{path}.{name}"),
                    key,
                    format!("unknown field (fields: {})", FIELDS.join(", ")),
                );
            } else {
                // The parser refuses a key written twice.
                by_name.insert(name, value);
            }
        }
        Fields {
            path,
            at: raw.at(),
            by_name,
        }
    }

    fn alarm(&mut self, f: &Fields<'_>, names: &mut BTreeMap<String, String>) -> Option<Alarm> {
        let name = self
            .required(f, "name")
            .and_then(|v| self.name(f, v, names));
        let metric = self.required(f, "metric").and_then(|v| {
            let options = Metric::ALL.map(|m| (m.as_cloudwatch(), m));
            self.choice(&f.path("metric"), v, "a metric", &options)
        });
        let threshold = self
            .required(f, "threshold")
            .and_then(|v| self.number(&f.path("threshold"), v));
        let comparison = self.required(f, "comparison").and_then(|v| {
            let options = Comparison::ALL.map(|c| (c.as_cloudwatch(), c));
            self.choice(&f.path("comparison"), v, "a comparison", &options)
        });
        let evaluation_periods = self
            .required(f, "evaluation_periods")
            .and_then(|v| self.whole(&f.path("evaluation_periods"), v, 1));
        let period_s = self
            .required(f, "period")
            .and_then(|v| self.period(f, v, evaluation_periods));
        let datapoints_to_alarm = self.datapoints_to_alarm(f, evaluation_periods);
        let statistic = self.statistic(f, metric);
        if let (Some(metric), Some(statistic), Some(threshold)) = (metric, statistic, threshold) {
            self.ratio_threshold(f, metric, statistic, threshold);
        }
        let treat_missing_data = self.treat_missing_data(f);
        let tool = self.optional_text(f, "tool", |t| {
            if t.trim().is_empty() {
                Err("must name a tool".to_owned())
            } else {
                Ok(())
            }
        });
        let alarm_action = self.optional_text(f, "alarm_action", |a| {
            if a.starts_with("arn:") {
                Ok(())
            } else {
                Err(format!(
                    "{a:?} is not an ARN (e.g. arn:aws:sns:REGION:ACCOUNT:TOPIC)"
                ))
            }
        });
        Some(Alarm {
            name: name?,
            metric: metric?,
            threshold: threshold?,
            comparison: comparison?,
            evaluation_periods: evaluation_periods?,
            datapoints_to_alarm: datapoints_to_alarm?,
            period_s: period_s?,
            statistic: statistic?,
            treat_missing_data: treat_missing_data?,
            tool: tool?,
            alarm_action: alarm_action?,
        })
    }

    fn required<'a>(&mut self, f: &Fields<'a>, key: &str) -> Option<&'a Located<Value>> {
        let value = f.get(key);
        if value.is_none() {
            self.push(&f.path(key), format!("missing (alarm at {})", f.at));
        }
        value
    }

    fn text(&mut self, path: &str, v: &Located<Value>) -> Option<String> {
        match v.value() {
            Value::String(s) => Some(s.clone()),
            other => {
                self.at(path, v, format!("expected text, got {other}"));
                None
            }
        }
    }

    fn number(&mut self, path: &str, v: &Located<Value>) -> Option<f64> {
        match v.value().as_f64() {
            Some(n) if n.is_finite() => Some(n),
            _ => {
                self.at(path, v, format!("expected a number, got {}", v.value()));
                None
            }
        }
    }

    fn whole(&mut self, path: &str, v: &Located<Value>, min: u32) -> Option<u32> {
        match v.value().as_u64().map(u32::try_from) {
            Some(Ok(n)) if n >= min => Some(n),
            Some(Ok(n)) => {
                self.at(path, v, format!("must be at least {min}, got {n}"));
                None
            }
            _ => {
                self.at(
                    path,
                    v,
                    format!("expected a whole number, got {}", v.value()),
                );
                None
            }
        }
    }

    fn choice<T: Copy>(
        &mut self,
        path: &str,
        v: &Located<Value>,
        what: &str,
        options: &[(&str, T)],
    ) -> Option<T> {
        let text = self.text(path, v)?;
        let found = options.iter().find(|(name, _)| *name == text);
        if found.is_none() {
            let names: Vec<&str> = options.iter().map(|(name, _)| *name).collect();
            self.at(
                path,
                v,
                format!("{text:?} is not {what} ({})", names.join(", ")),
            );
        }
        found.map(|(_, t)| *t)
    }

    /// An optional text field: `Some(None)` when absent, `None` when invalid.
    fn optional_text(
        &mut self,
        f: &Fields<'_>,
        key: &str,
        check: impl Fn(&str) -> Result<(), String>,
    ) -> Option<Option<String>> {
        let Some(v) = f.get(key) else {
            return Some(None);
        };
        let text = self.text(&f.path(key), v)?;
        match check(&text) {
            Ok(()) => Some(Some(text)),
            Err(message) => {
                self.at(&f.path(key), v, message);
                None
            }
        }
    }

    fn name(
        &mut self,
        f: &Fields<'_>,
        v: &Located<Value>,
        names: &mut BTreeMap<String, String>,
    ) -> Option<String> {
        let path = f.path("name");
        let name = self.text(&path, v)?;
        let problem = if name.trim().is_empty() {
            Some("must not be empty".to_owned())
        } else if !name.is_ascii() {
            Some(format!("{name:?}: CloudWatch alarm names are ASCII only"))
        } else if name.chars().count() > MAX_NAME_CHARS {
            Some(format!("longer than {MAX_NAME_CHARS} characters"))
        } else {
            names
                .get(&name)
                .map(|first| format!("{name:?} is already the name of {first}"))
        };
        match problem {
            Some(message) => {
                self.at(&path, v, message);
                None
            }
            None => {
                names.insert(name.clone(), f.path.clone());
                Some(name)
            }
        }
    }

    /// A period CloudWatch accepts, over at most a day of evaluation periods.
    fn period(&mut self, f: &Fields<'_>, v: &Located<Value>, n: Option<u32>) -> Option<u32> {
        let path = f.path("period");
        let p = self.whole(&path, v, 1)?;
        if !(p == 10 || p == 30 || p % 60 == 0) {
            self.at(
                &path,
                v,
                format!("{p} is not a CloudWatch period: 10, 30 or a multiple of 60 seconds"),
            );
            return None;
        }
        let span = u64::from(n.unwrap_or(1)) * u64::from(p);
        if let Some(n) = n
            && span > MAX_EVALUATION_S
        {
            self.at(
                &path,
                v,
                format!(
                    "{n} evaluation periods of {p}s span {span}s: CloudWatch allows at most one day ({MAX_EVALUATION_S}s)"
                ),
            );
            return None;
        }
        Some(p)
    }

    /// Error-rate statistics other than counts are ratios: a threshold of 5 meant 5%.
    fn ratio_threshold(&mut self, f: &Fields<'_>, metric: Metric, stat: Statistic, t: f64) {
        let is_ratio =
            metric == Metric::ErrorRate && !matches!(stat, Statistic::Sum | Statistic::SampleCount);
        if let Some(v) = f.get("threshold")
            && is_ratio
            && !(0.0..=1.0).contains(&t)
        {
            self.at(
                &f.path("threshold"),
                v,
                format!(
                    "{t} is not a ratio: MCPToolCallErrorRate's {stat} is failed / total calls, from 0 to 1 (0.01 = 1%)"
                ),
            );
        }
    }

    fn treat_missing_data(&mut self, f: &Fields<'_>) -> Option<MissingData> {
        let Some(v) = f.get("treat_missing_data") else {
            return Some(MissingData::Missing);
        };
        let options = MissingData::ALL.map(|m| (m.as_cloudwatch(), m));
        self.choice(
            &f.path("treat_missing_data"),
            v,
            "a missing-data treatment",
            &options,
        )
    }

    fn datapoints_to_alarm(&mut self, f: &Fields<'_>, n: Option<u32>) -> Option<u32> {
        let Some(v) = f.get("datapoints_to_alarm") else {
            return n;
        };
        let path = f.path("datapoints_to_alarm");
        let m = self.whole(&path, v, 1)?;
        match n {
            Some(n) if m > n => {
                self.at(
                    &path,
                    v,
                    format!("{m} is more than evaluation_periods ({n}): M of N needs M <= N"),
                );
                None
            }
            _ => Some(m),
        }
    }

    fn statistic(&mut self, f: &Fields<'_>, metric: Option<Metric>) -> Option<Statistic> {
        match (f.get("statistic"), f.get("extended_statistic")) {
            (Some(_), Some(extended)) => {
                self.at(
                    &f.path("extended_statistic"),
                    extended,
                    "cannot be combined with statistic: choose one",
                );
                None
            }
            (Some(simple), None) => {
                self.choice(&f.path("statistic"), simple, "a statistic", &STATISTICS)
            }
            (None, Some(extended)) => {
                let path = f.path("extended_statistic");
                let text = self.text(&path, extended)?;
                match Statistic::percentile(&text) {
                    Ok(s) => Some(s),
                    Err(message) => {
                        self.at(&path, extended, message);
                        None
                    }
                }
            }
            (None, None) => metric.map(Metric::default_statistic),
        }
    }
}
