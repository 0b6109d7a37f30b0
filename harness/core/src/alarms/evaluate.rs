//! CloudWatch's alarm evaluation over a run's datapoints, and the timeline of its states.
//!
//! Implemented from the Amazon CloudWatch User Guide, "Evaluating an alarm" and
//! "Configuring how CloudWatch alarms treat missing data" (its section "How alarm state is
//! evaluated when data is missing"). N is `evaluation_periods`, M `datapoints_to_alarm`.
//!
//! - The alarm starts in INSUFFICIENT_DATA and is evaluated at the end of every period.
//! - Each evaluation retrieves the *evaluation range*: the most recent N + 2 periods. AWS
//!   says its length "depends on the length of the alarm period"; its worked examples
//!   retrieve 5 for N = 3, which N + 2 generalises. Periods before the run count as
//!   missing.
//! - At least N datapoints in the range: the most recent N are evaluated and the
//!   missing-data setting plays no part. ALARM when at least M breach, else OK.
//! - None: `missing` → INSUFFICIENT_DATA, `ignore` → the current state, `breaching` →
//!   ALARM, `notBreaching` → OK.
//! - k of them, 0 < k < N: every real datapoint is evaluated, plus N − k filled-in missing
//!   ones (the most recent missing periods), so "missing data points are used as few times
//!   as possible":
//!   - `breaching`: ALARM when breaching + (N − k) ≥ M, else OK;
//!   - `notBreaching`: ALARM when breaching ≥ M, else OK;
//!   - `missing` and `ignore`: ALARM when breaching ≥ M; else OK when any real datapoint
//!     is within the threshold; else (all real datapoints breach, fewer than M) `ignore`
//!     keeps the current state, and `missing` goes to ALARM when the oldest evaluated
//!     datapoint is a real one, else INSUFFICIENT_DATA. That last rule is the page's own
//!     explanation of its `X - - - -` example: ALARM "because the oldest evaluated data
//!     point is breaching and there aren't any non-breaching data points".
//!
//! These rules give every cell of both of that page's tables (3 of 3 and 2 of 3); the
//! tests reproduce them. Not modelled: the low-sample setting of percentile alarms (a
//! percentile is always evaluated, as with `EvaluateLowSampleCountPercentile: evaluate`).

use std::num::NonZeroU32;

use serde::{Deserialize, Serialize};

use super::config::{Alarm, MissingData};
use super::datapoints::Datapoint;

/// How many periods further back than N the evaluation range reaches.
pub const RANGE_EXTRA_PERIODS: usize = 2;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AlarmState {
    Ok,
    Alarm,
    InsufficientData,
}

impl AlarmState {
    pub fn as_cloudwatch(self) -> &'static str {
        match self {
            AlarmState::Ok => "OK",
            AlarmState::Alarm => "ALARM",
            AlarmState::InsufficientData => "INSUFFICIENT_DATA",
        }
    }
}

/// The state after each evaluation, one per datapoint (at the end of its period).
pub fn evaluate(alarm: &Alarm, points: &[Datapoint]) -> Vec<AlarmState> {
    steps(alarm, points).into_iter().map(|s| s.state).collect()
}

/// One evaluation: the state it set and why.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Step {
    pub(super) state: AlarmState,
    pub(super) reason: String,
}

fn steps(alarm: &Alarm, points: &[Datapoint]) -> Vec<Step> {
    let range_len = alarm.evaluation_periods.max(1) as usize + RANGE_EXTRA_PERIODS;
    let mut state = AlarmState::InsufficientData;
    let mut range = Vec::with_capacity(range_len);
    let mut out = Vec::with_capacity(points.len());
    for i in 0..points.len() {
        range.clear();
        range.extend((0..range_len).rev().map(|back| {
            i.checked_sub(back)
                .and_then(|j| points.get(j))
                .and_then(|p| p.value)
        }));
        let step = decide(alarm, &range, state);
        state = step.state;
        out.push(step);
    }
    out
}

/// One evaluation over `range`, the evaluation range oldest first (`None` = missing).
pub(super) fn decide(alarm: &Alarm, range: &[Option<f64>], current: AlarmState) -> Step {
    let n = alarm.evaluation_periods.max(1) as usize;
    let m = (alarm.datapoints_to_alarm as usize).clamp(1, n);
    let breaches = |v: f64| alarm.comparison.breaches(v, alarm.threshold);
    let real: Vec<(usize, f64)> = range
        .iter()
        .enumerate()
        .filter_map(|(i, v)| v.map(|v| (i, v)))
        .collect();
    let k = real.len();
    let against = format!(
        "{} the threshold ({})",
        alarm.comparison.words(),
        fmt_value(alarm.threshold)
    );
    if k >= n {
        let evaluated: Vec<f64> = real[k - n..].iter().map(|(_, v)| *v).collect();
        let b = evaluated.iter().filter(|v| breaches(**v)).count();
        return Step {
            state: if b >= m {
                AlarmState::Alarm
            } else {
                AlarmState::Ok
            },
            reason: format!(
                "{b} of the last {n} datapoints {} were {against}; ALARM needs {m}",
                fmt_values(&evaluated)
            ),
        };
    }
    let treat = alarm.treat_missing_data;
    if k == 0 {
        let state = match treat {
            MissingData::Missing => AlarmState::InsufficientData,
            MissingData::Ignore => current,
            MissingData::Breaching => AlarmState::Alarm,
            MissingData::NotBreaching => AlarmState::Ok,
        };
        return Step {
            state,
            reason: format!(
                "no datapoints in the last {} periods (treat_missing_data: {})",
                range.len(),
                treat.as_cloudwatch()
            ),
        };
    }
    let fills = n - k;
    let values: Vec<f64> = real.iter().map(|(_, v)| *v).collect();
    let b = values.iter().filter(|v| breaches(**v)).count();
    let within = k - b;
    let state = if b >= m {
        AlarmState::Alarm
    } else {
        match treat {
            MissingData::Breaching if b + fills >= m => AlarmState::Alarm,
            MissingData::Breaching | MissingData::NotBreaching => AlarmState::Ok,
            _ if within > 0 => AlarmState::Ok,
            MissingData::Ignore => current,
            MissingData::Missing if oldest_evaluated_is_real(range, fills) => AlarmState::Alarm,
            MissingData::Missing => AlarmState::InsufficientData,
        }
    };
    Step {
        state,
        reason: format!(
            "{k} datapoint{} {} in the last {} periods, {b} {against}; {fills} missing treated as {}; ALARM needs {m} of {n}",
            if k == 1 { "" } else { "s" },
            fmt_values(&values),
            range.len(),
            treat.as_cloudwatch()
        ),
    }
}

/// Whether the oldest datapoint evaluated is a real one, when the `fills` most recent
/// missing periods of `range` are filled in.
fn oldest_evaluated_is_real(range: &[Option<f64>], fills: usize) -> bool {
    let oldest_real = range.iter().position(Option::is_some);
    let first_fill = range
        .iter()
        .enumerate()
        .filter(|(_, v)| v.is_none())
        .map(|(i, _)| i)
        .rev()
        .take(fills)
        .last();
    matches!((oldest_real, first_fill), (Some(real), Some(fill)) if real < fill)
}

/// `0.05`, `1000`, `12.3457`.
fn fmt_value(v: f64) -> String {
    let text = format!("{v:.4}");
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

fn fmt_values(values: &[f64]) -> String {
    let items: Vec<String> = values.iter().map(|v| fmt_value(*v)).collect();
    format!("[{}]", items.join(", "))
}

/// The state at the end of one period.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct StatePoint {
    /// Seconds since the run started.
    pub t_end_s: f64,
    pub state: AlarmState,
}

/// A change of state, with CloudWatch-style reason text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Transition {
    /// Seconds since the run started (the end of the period whose evaluation changed it).
    pub t_s: f64,
    pub from: AlarmState,
    pub to: AlarmState,
    pub reason: String,
}

/// How an alarm would have behaved over a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AlarmTimeline {
    pub alarm: String,
    /// The period evaluated, after scaling.
    pub period_s: u32,
    pub states: Vec<StatePoint>,
    pub transitions: Vec<Transition>,
    /// When it first went to ALARM.
    pub first_alarm_s: Option<f64>,
    /// When it first went from ALARM back to OK after that.
    pub cleared_after_alarm_s: Option<f64>,
    pub fired: bool,
}

/// Evaluates `alarm` over `points` (periods of `period_s` seconds) into its timeline.
pub fn timeline(alarm: &Alarm, points: &[Datapoint], period_s: NonZeroU32) -> AlarmTimeline {
    let period = f64::from(period_s.get());
    let mut states = Vec::with_capacity(points.len());
    let mut transitions = Vec::new();
    let mut current = AlarmState::InsufficientData;
    for (point, step) in points.iter().zip(steps(alarm, points)) {
        let t = point.t_start_s + period;
        if step.state != current {
            transitions.push(Transition {
                t_s: t,
                from: current,
                to: step.state,
                reason: step.reason,
            });
            current = step.state;
        }
        states.push(StatePoint {
            t_end_s: t,
            state: current,
        });
    }
    let first_alarm_s = transitions
        .iter()
        .find(|t| t.to == AlarmState::Alarm)
        .map(|t| t.t_s);
    let cleared_after_alarm_s = first_alarm_s.and_then(|fired| {
        transitions
            .iter()
            .find(|t| t.t_s > fired && t.from == AlarmState::Alarm && t.to == AlarmState::Ok)
            .map(|t| t.t_s)
    });
    AlarmTimeline {
        alarm: alarm.name.clone(),
        period_s: period_s.get(),
        states,
        transitions,
        first_alarm_s,
        cleared_after_alarm_s,
        fired: first_alarm_s.is_some(),
    }
}
