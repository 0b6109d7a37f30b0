//! All percentile, rate and SLO maths: summaries of histograms and the objective verdicts.

use base64::Engine as _;
use hdrhistogram::Histogram;
use hdrhistogram::serialization::{Serializer as _, V2DeflateSerializer};

use crate::measure::{Measurements, Outcomes, ToolMeasure};
use crate::result::{
    JudgedKind, LatencySummary, ObjectiveResult, Quantiles, Summary, TimelinePoint, ToolPoint,
};
use crate::spec::{Objective, ObjectiveKind};
use crate::units::fmt_duration;

pub fn latency_summary(h: &Histogram<u64>) -> LatencySummary {
    if h.is_empty() {
        return LatencySummary::default();
    }
    LatencySummary {
        count: h.len(),
        min_us: h.min(),
        mean_us: h.mean(),
        p50_us: h.value_at_quantile(0.50),
        p90_us: h.value_at_quantile(0.90),
        p95_us: h.value_at_quantile(0.95),
        p99_us: h.value_at_quantile(0.99),
        p999_us: h.value_at_quantile(0.999),
        max_us: h.max(),
    }
}

/// p50, p90, p99 and max of a histogram (zeros when empty).
pub fn quantiles(h: &Histogram<u64>) -> Quantiles {
    if h.is_empty() {
        return Quantiles::default();
    }
    Quantiles {
        p50: h.value_at_quantile(0.50),
        p90: h.value_at_quantile(0.90),
        p99: h.value_at_quantile(0.99),
        max: h.max(),
    }
}

/// `count` events over `seconds`, per second (0 over no time). Every rate of a run is
/// this over the recorded seconds, named for what it counts: `throughput` successful
/// calls, `achieved_rate` answered calls of any outcome.
pub fn per_second(count: u64, seconds: f64) -> f64 {
    if seconds > 0.0 {
        count as f64 / seconds
    } else {
        0.0
    }
}

pub fn error_rate(o: &Outcomes) -> f64 {
    if o.total() == 0 {
        0.0
    } else {
        o.failed() as f64 / o.total() as f64
    }
}

pub fn summary(m: &ToolMeasure, recorded_seconds: f64) -> Summary {
    Summary {
        outcomes: m.outcomes,
        latency: latency_summary(&m.latency),
        error_rate: error_rate(&m.outcomes),
        throughput: per_second(m.outcomes.ok, recorded_seconds),
        first_attempts: (m.retries > 0).then_some(m.first_outcomes),
        retries: m.retries,
        listing: (m.listing.calls > 0).then_some(m.listing),
    }
}

pub fn timeline(m: &Measurements) -> Vec<TimelinePoint> {
    let (start, end) = m.recorded_window;
    m.recorder
        .seconds
        .iter()
        .enumerate()
        .map(|(t, s)| {
            let q = |h: &Histogram<u64>, q: f64| {
                if h.is_empty() {
                    0
                } else {
                    h.value_at_quantile(q)
                }
            };
            TimelinePoint {
                t: t as u32,
                recorded: t >= start && t < end,
                offered: s.offered,
                outcomes: s.outcomes,
                p50_us: q(&s.latency, 0.5),
                p95_us: q(&s.latency, 0.95),
                p99_us: q(&s.latency, 0.99),
                max_us: if s.latency.is_empty() {
                    0
                } else {
                    s.latency.max()
                },
                tools: s
                    .per_tool
                    .iter()
                    .map(|(name, ts)| {
                        (
                            name.clone(),
                            ToolPoint {
                                calls: ts.outcomes.total(),
                                failed: ts.outcomes.failed(),
                                p50_us: q(&ts.latency, 0.5),
                                p95_us: q(&ts.latency, 0.95),
                                p99_us: q(&ts.latency, 0.99),
                            },
                        )
                    })
                    .collect(),
            }
        })
        .collect()
}

/// Serializes a histogram (V2 + deflate, base64).
pub fn encode_histogram(h: &Histogram<u64>) -> String {
    let mut bytes = Vec::new();
    match V2DeflateSerializer::new().serialize(h, &mut bytes) {
        Ok(_) => base64::engine::general_purpose::STANDARD.encode(bytes),
        Err(_) => String::new(),
    }
}

pub fn decode_histogram(text: &str) -> Option<Histogram<u64>> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text)
        .ok()?;
    hdrhistogram::serialization::Deserializer::new()
        .deserialize(&mut bytes.as_slice())
        .ok()
}

/// Availability over time slices (as OpenSLO's Timeslices): the share of slices in the
/// recorded window whose success ratio met `slice_target`. Slices without calls are not
/// counted. Returns (good, total).
pub fn availability_slices(m: &Measurements, slice_s: usize, slice_target: f64) -> (u64, u64) {
    let (start, end) = m.recorded_window;
    let end = end.min(m.recorder.seconds.len());
    let slice_s = slice_s.max(1);
    let (mut good, mut total) = (0, 0);
    let mut t = start;
    while t < end {
        let mut o = Outcomes::default();
        for s in &m.recorder.seconds[t..(t + slice_s).min(end)] {
            o.merge(&s.outcomes);
        }
        if o.total() > 0 {
            total += 1;
            if o.ok as f64 / o.total() as f64 >= slice_target {
                good += 1;
            }
        }
        t += slice_s;
    }
    (good, total)
}

fn pct(x: f64) -> String {
    let v = x * 100.0;
    if v != 0.0 && v.abs() < 0.01 {
        format!("{v:.4}%")
    } else {
        format!("{v:.2}%")
    }
}

/// Judges one objective.
pub fn evaluate(objective: &Objective, m: &Measurements) -> ObjectiveResult {
    let measure = match &objective.tool {
        Some(tool) => m.recorder.per_tool.get(tool).cloned().unwrap_or_default(),
        None => m.recorder.overall(),
    };
    let calls = measure.outcomes.total();
    let result =
        |kind: JudgedKind, target: String, measured: String, tv: f64, mv: f64, passed: bool| {
            ObjectiveResult {
                name: objective.name.clone(),
                tool: objective.tool.clone(),
                kind,
                target,
                measured,
                target_value: tv,
                measured_value: mv,
                passed: passed && calls > 0,
                detail: (calls == 0).then(|| "no calls were recorded".to_owned()),
            }
        };
    match &objective.kind {
        ObjectiveKind::Latency {
            percentile,
            below_us,
        } => {
            let value = if measure.latency.is_empty() {
                0
            } else {
                measure.latency.value_at_percentile(*percentile)
            };
            result(
                JudgedKind::Latency,
                format!(
                    "p{percentile} < {}",
                    fmt_duration(std::time::Duration::from_micros(*below_us))
                ),
                format!(
                    "p{percentile} = {}",
                    fmt_duration(std::time::Duration::from_micros(value))
                ),
                *below_us as f64,
                value as f64,
                value < *below_us,
            )
        }
        ObjectiveKind::ErrorRate {
            below,
            first_attempt,
        } => {
            let judged = if *first_attempt {
                &measure.first_outcomes
            } else {
                &measure.outcomes
            };
            let rate = error_rate(judged);
            result(
                JudgedKind::ErrorRate,
                format!("< {}", pct(*below)),
                format!(
                    "{} ({} of {} calls failed{})",
                    pct(rate),
                    judged.failed(),
                    calls,
                    if *first_attempt {
                        " at their first attempt"
                    } else if measure.retries > 0 {
                        " after retries"
                    } else {
                        ""
                    }
                ),
                *below,
                rate,
                rate < *below,
            )
        }
        ObjectiveKind::Availability {
            above,
            slice_ms,
            slice_target,
        } => {
            let (good, total) = availability_slices(m, (*slice_ms / 1000) as usize, *slice_target);
            let value = if total == 0 {
                0.0
            } else {
                good as f64 / total as f64
            };
            result(
                JudgedKind::Availability,
                format!(
                    "> {} of {}s slices at >= {} success",
                    pct(*above),
                    slice_ms / 1000,
                    pct(*slice_target)
                ),
                format!("{} ({good} of {total} slices good)", pct(value)),
                *above,
                value,
                value > *above || (total > 0 && good == total),
            )
        }
        ObjectiveKind::Throughput { above } => {
            let rate = per_second(measure.outcomes.ok, m.recorded_seconds);
            result(
                JudgedKind::Throughput,
                format!("> {above:.1}/s"),
                format!("{rate:.1}/s successful"),
                *above,
                rate,
                rate > *above,
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::measure::{CallOutcome, Recorder};

    fn objective(kind: ObjectiveKind) -> Objective {
        Objective {
            name: "o".into(),
            tool: None,
            kind,
        }
    }

    /// 1000 calls: latencies 1..=1000 ms, 10 seconds of 100 calls; 2 tool errors in second 3.
    fn known() -> Measurements {
        let mut r = Recorder::default();
        for i in 0..1000u64 {
            let outcome = if i == 300 || i == 301 {
                CallOutcome::ToolError
            } else {
                CallOutcome::Ok
            };
            r.record("t", outcome, (i + 1) * 1000, (i / 100) as usize, true);
        }
        Measurements {
            recorder: r,
            recorded_window: (0, 10),
            recorded_seconds: 10.0,
        }
    }

    #[test]
    fn percentiles_of_a_known_histogram() {
        let m = known();
        let s = summary(&m.recorder.overall(), m.recorded_seconds);
        assert_eq!(s.latency.count, 1000);
        // 3 significant digits: values are exact to 0.1%.
        assert!(
            (s.latency.p50_us as f64 - 500_000.0).abs() <= 500.0,
            "{}",
            s.latency.p50_us
        );
        assert!(
            (s.latency.p99_us as f64 - 990_000.0).abs() <= 990.0,
            "{}",
            s.latency.p99_us
        );
        assert_eq!(s.outcomes.tool_error, 2);
        assert!((s.error_rate - 0.002).abs() < 1e-12);
        assert!((s.throughput - 99.8).abs() < 1e-9);
    }

    #[test]
    fn objectives_pass_and_fail_on_the_right_side() {
        let m = known();
        let p99 = |below_ms: u64| {
            evaluate(
                &objective(ObjectiveKind::Latency {
                    percentile: 99.0,
                    below_us: below_ms * 1000,
                }),
                &m,
            )
        };
        assert!(p99(1000).passed);
        assert!(!p99(900).passed);
        assert_eq!(p99(900).measured, "p99 = 990.2ms");
        let err = |below: f64| {
            evaluate(
                &objective(ObjectiveKind::ErrorRate {
                    below,
                    first_attempt: false,
                }),
                &m,
            )
        };
        assert!(err(0.003).passed);
        assert!(!err(0.002).passed, "0.2% is not below 0.2%");
        assert_eq!(err(0.001).measured, "0.20% (2 of 1000 calls failed)");
        let tput = |above: f64| evaluate(&objective(ObjectiveKind::Throughput { above }), &m);
        assert!(tput(99.0).passed);
        assert!(!tput(100.0).passed);
    }

    #[test]
    fn availability_counts_slices_not_calls() {
        let m = known();
        // Second 3 has 98% success: below a 99% slice target, so 9 of 10 slices are good.
        let a = evaluate(
            &objective(ObjectiveKind::Availability {
                above: 0.999,
                slice_ms: 1000,
                slice_target: 0.99,
            }),
            &m,
        );
        assert_eq!(a.measured_value, 0.9);
        assert!(!a.passed);
        let lenient = evaluate(
            &objective(ObjectiveKind::Availability {
                above: 0.85,
                slice_ms: 1000,
                slice_target: 0.98,
            }),
            &m,
        );
        assert_eq!(lenient.measured_value, 1.0);
        assert!(lenient.passed);
        // 5 s slices: seconds 0-4 hold 498 of 500 ok = 99.6%.
        assert_eq!(availability_slices(&m, 5, 0.99), (2, 2));
    }

    #[test]
    fn an_objective_with_no_calls_fails_and_says_why() {
        let m = Measurements {
            recorder: Recorder::default(),
            recorded_window: (0, 0),
            recorded_seconds: 1.0,
        };
        let r = evaluate(
            &objective(ObjectiveKind::ErrorRate {
                below: 0.01,
                first_attempt: false,
            }),
            &m,
        );
        assert!(!r.passed);
        assert_eq!(r.detail.as_deref(), Some("no calls were recorded"));
    }

    #[test]
    fn histograms_round_trip() {
        let m = known();
        let h = m.recorder.overall().latency;
        let back = decode_histogram(&encode_histogram(&h)).unwrap();
        assert_eq!(back.len(), h.len());
        assert_eq!(back.value_at_quantile(0.99), h.value_at_quantile(0.99));
    }
}
