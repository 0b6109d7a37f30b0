//! The scenario's objectives judged from a run's measurements: latency percentiles,
//! error rate, availability over time slices and throughput.

use std::time::Duration;

use crate::maths::{self, availability_slices, error_rate, per_second};
use crate::measure::Measurements;
use crate::result::{JudgedKind, ObjectiveResult};
use crate::spec::{Objective, ObjectiveKind};
use crate::units::fmt_duration;

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
            let value = maths::percentile(&measure.latency, *percentile);
            result(
                JudgedKind::Latency,
                format!(
                    "p{percentile} < {}",
                    fmt_duration(Duration::from_micros(*below_us))
                ),
                format!(
                    "p{percentile} = {}",
                    fmt_duration(Duration::from_micros(value))
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
    use crate::maths::tests::known;
    use crate::measure::Recorder;

    fn objective(kind: ObjectiveKind) -> Objective {
        Objective {
            name: "o".into(),
            tool: None,
            kind,
        }
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
}
