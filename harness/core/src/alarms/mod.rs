//! CloudWatch-style alarms: configuration, per-period datapoints and evaluation.
//!
//! - [`AlarmsFile`]: `config/cloudwatch_alarms.yaml` (the design document's shape plus
//!   optional CloudWatch fields), parsed and validated with every problem reported at once.
//! - [`datapoints`]: a run's per-second measurements → one datapoint per (scaled) period.
//! - [`evaluate`] / [`timeline`]: CloudWatch's M-of-N evaluation and missing-data rules.
//! - [`burn_rate_alerts`]: multiwindow, multi-burn-rate alerts on an SLO's error budget.

mod burn;
mod config;
mod datapoints;
mod evaluate;
mod raw;
mod validate;

pub use burn::{
    BURN_RATE_WINDOWS, BurnRateResult, BurnRateWindow, MIN_ERROR_BUDGET, Severity,
    burn_rate_alerts, error_counts,
};
pub use config::{Alarm, AlarmsError, AlarmsFile, Comparison, Metric, MissingData, Statistic};
pub use datapoints::{Datapoint, datapoints, run_datapoints};
pub use evaluate::{
    AlarmState, AlarmTimeline, RANGE_EXTRA_PERIODS, StatePoint, Transition, evaluate, timeline,
};
pub use validate::FIELDS;

#[cfg(test)]
mod tests;
