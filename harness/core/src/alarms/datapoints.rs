//! A run's per-second measurements → one datapoint per alarm period, as CloudWatch would
//! have aggregated the metric.

use std::num::NonZeroU32;
use std::ops::Range;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use super::config::{Alarm, Metric, Statistic};
use crate::maths::{nearest_rank, percentile, periods, ratio};
use crate::measure::{Measurements, Outcomes, Second, growing_histogram};

/// One period's value of an alarm's metric and statistic.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Datapoint {
    /// Start of the period, in seconds since the run started.
    pub t_start_s: f64,
    /// `None` when the period had no calls: CloudWatch would have no datapoint.
    pub value: Option<f64>,
    /// Calls in the period (the metric's sample count).
    pub samples: u64,
}

/// The datapoints of `alarm` over `window` (indices into `seconds`, i.e. seconds since the
/// run started), one per `period_s` seconds from the window's start ([`periods`]). A
/// trailing period shorter than `period_s` is dropped, as CloudWatch would not have closed
/// it yet. Seconds past the end of `seconds` had no calls.
///
/// Values: [`Metric::ErrorRate`] treats each call as a sample, 1 if it failed and 0 if it
/// succeeded (`Average` = failed / total, `Sum` = failed, `SampleCount` = calls, `pN` the
/// nearest-rank percentile of those samples). [`Metric::Latency`] is in milliseconds, read
/// from 2-significant-digit histograms: values are the top of their bucket, within 1%, so
/// an alarm errs towards firing.
pub fn datapoints(
    alarm: &Alarm,
    seconds: &[Second],
    window: Range<usize>,
    period_s: NonZeroU32,
) -> Vec<Datapoint> {
    periods(window, period_s.get() as usize, false)
        .into_iter()
        .map(|range| {
            let len = seconds.len();
            let slice = seconds
                .get(range.start.min(len)..range.end.min(len))
                .unwrap_or(&[]);
            datapoint(alarm, slice, range.start as f64)
        })
        .collect()
}

/// [`datapoints`] over a run's recorded window.
pub fn run_datapoints(alarm: &Alarm, m: &Measurements, period_s: NonZeroU32) -> Vec<Datapoint> {
    let (start, end) = m.recorded_window;
    datapoints(alarm, &m.recorder.seconds, start..end, period_s)
}

fn datapoint(alarm: &Alarm, seconds: &[Second], t_start_s: f64) -> Datapoint {
    let mut outcomes = Outcomes::default();
    let mut latency = match alarm.metric {
        Metric::Latency => Some(growing_histogram(2)),
        Metric::ErrorRate => None,
    };
    for second in seconds {
        let (o, h) = match &alarm.tool {
            None => (&second.outcomes, &second.latency),
            Some(tool) => match second.per_tool.get(tool) {
                Some(t) => (&t.outcomes, &t.latency),
                None => continue,
            },
        };
        outcomes.merge(o);
        if let Some(all) = latency.as_mut() {
            let _ = all.add(h);
        }
    }
    let samples = outcomes.total();
    let value = if samples == 0 {
        None
    } else {
        match &latency {
            None => Some(error_rate_value(alarm.statistic, &outcomes)),
            Some(h) => latency_ms(alarm.statistic, h),
        }
    };
    Datapoint {
        t_start_s,
        value,
        samples,
    }
}

/// A statistic of the period's calls as 0/1 samples (1 = failed). `o` has calls.
fn error_rate_value(statistic: Statistic, o: &Outcomes) -> f64 {
    let (total, failed) = (o.total(), o.failed());
    let one_if = |failed: bool| if failed { 1.0 } else { 0.0 };
    match statistic {
        Statistic::Average => ratio(failed, total),
        Statistic::Sum => failed as f64,
        Statistic::SampleCount => total as f64,
        Statistic::Minimum => one_if(failed == total),
        Statistic::Maximum => one_if(failed > 0),
        Statistic::Percentile(p) => {
            // Sorted, the samples are `ok` zeros then `failed` ones.
            one_if(nearest_rank(p, total) > o.ok)
        }
    }
}

fn latency_ms(statistic: Statistic, h: &Histogram<u64>) -> Option<f64> {
    if h.is_empty() {
        return None;
    }
    let us = match statistic {
        Statistic::Average => h.mean(),
        Statistic::Sum => h.mean() * h.len() as f64,
        Statistic::Minimum => h.min() as f64,
        Statistic::Maximum => h.max() as f64,
        Statistic::SampleCount => return Some(h.len() as f64),
        Statistic::Percentile(p) => percentile(h, p) as f64,
    };
    Some(us / 1000.0)
}
