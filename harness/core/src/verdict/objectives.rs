//! The scenario's objectives judged from a run's measurements: latency percentiles,
//! error rate, availability over time slices and throughput.

use std::time::Duration;

use super::line::{Line, RunFacts};
use crate::maths::{self, availability_slices, error_rate, per_second};
use crate::measure::{Measurements, ToolMeasure};
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

/// Judges one objective: over all tools or its own tool's calls; with no calls, it fails
/// and says so. A fault objective sees no faults here: use [`evaluate_in`].
pub fn evaluate(objective: &Objective, m: &Measurements) -> ObjectiveResult {
    evaluate_in(objective, m, RunFacts::default())
}

/// [`evaluate`] with the run's faults, as they happened.
pub fn evaluate_in(objective: &Objective, m: &Measurements, faults: RunFacts) -> ObjectiveResult {
    let tool = objective.tool.as_deref();
    let measure = match &objective.tool {
        Some(tool) => m.recorder.per_tool.get(tool).cloned().unwrap_or_default(),
        None => m.recorder.overall(),
    };
    let calls = measure.outcomes.total();
    let judged = match &objective.kind {
        ObjectiveKind::Latency {
            percentile,
            below_us,
        } => latency(&measure, *percentile, *below_us),
        ObjectiveKind::ErrorRate {
            below,
            first_attempt,
        } => errors(&measure, *below, *first_attempt),
        ObjectiveKind::Availability {
            above,
            slice_ms,
            slice_target,
        } => availability(m, *above, *slice_ms, *slice_target),
        ObjectiveKind::Recovery {
            fault,
            within_ms,
            slice_target,
        } => {
            let judged =
                super::faults::recovery(m, tool, faults, (fault, *within_ms, *slice_target));
            return judged_line(objective, judged);
        }
        ObjectiveKind::ServerMetric(metric) => {
            return judged_line(objective, super::server_metric::judge(metric, faults));
        }
        ObjectiveKind::Growth(growth) => {
            return judged_line(objective, super::growth::judge(growth, faults));
        }
        ObjectiveKind::Answered { except } => {
            return judged_line(objective, super::faults::answered(m, tool, faults, except));
        }
        ObjectiveKind::CleanErrors { except } => {
            return judged_line(
                objective,
                super::faults::clean_errors(m, tool, faults, except),
            );
        }
        ObjectiveKind::Throughput { above } => {
            let rate = per_second(measure.outcomes.ok, m.recorded_seconds);
            Line {
                detail: None,
                kind: JudgedKind::Throughput,
                target: format!("> {above:.1}/s"),
                measured: format!("{rate:.1}/s successful"),
                target_value: *above,
                measured_value: rate,
                passed: rate > *above,
            }
        }
    };
    let mut judged = judged;
    if calls == 0 {
        judged.passed = false;
        judged.detail = Some("no calls were recorded".to_owned());
    }
    let mut line = judged_line(objective, judged);
    if let ObjectiveKind::Latency {
        percentile,
        below_us,
    } = &objective.kind
        && !line.passed
        && calls > 0
    {
        line.inconclusive = super::stalls::spoilt_latency(m, tool, *percentile, *below_us);
    }
    line
}

fn judged_line(objective: &Objective, j: Line) -> ObjectiveResult {
    ObjectiveResult {
        name: objective.name.clone(),
        tool: objective.tool.clone(),
        kind: j.kind,
        target: j.target,
        measured: j.measured,
        target_value: j.target_value,
        measured_value: j.measured_value,
        passed: j.passed,
        detail: j.detail,
        inconclusive: None,
    }
}

fn latency(measure: &ToolMeasure, percentile: f64, below_us: u64) -> Line {
    let value = maths::percentile(&measure.latency, percentile);
    let us = |v: u64| fmt_duration(Duration::from_micros(v));
    Line {
        detail: None,
        kind: JudgedKind::Latency,
        target: format!("p{percentile} < {}", us(below_us)),
        measured: format!("p{percentile} = {}", us(value)),
        target_value: below_us as f64,
        measured_value: value as f64,
        passed: value < below_us,
    }
}

/// The error rate of every call, or of first attempts only (`first_attempt`: what callers
/// saw before retries).
fn errors(measure: &ToolMeasure, below: f64, first_attempt: bool) -> Line {
    let judged = if first_attempt {
        &measure.first_outcomes
    } else {
        &measure.outcomes
    };
    let rate = error_rate(judged);
    Line {
        detail: None,
        kind: JudgedKind::ErrorRate,
        target: format!("< {}", pct(below)),
        measured: format!(
            "{} ({} of {} calls failed{})",
            pct(rate),
            judged.failed(),
            measure.outcomes.total(),
            if first_attempt {
                " at their first attempt"
            } else if measure.retries > 0 {
                " after retries"
            } else {
                ""
            }
        ),
        target_value: below,
        measured_value: rate,
        passed: rate < below,
    }
}

/// The share of time slices whose success ratio met `slice_target` (all tools together).
fn availability(m: &Measurements, above: f64, slice_ms: u64, slice_target: f64) -> Line {
    let (good, total) = availability_slices(m, (slice_ms / 1000) as usize, slice_target);
    let value = maths::ratio(good, total);
    Line {
        detail: None,
        kind: JudgedKind::Availability,
        target: format!(
            "> {} of {}s slices at >= {} success",
            pct(above),
            slice_ms / 1000,
            pct(slice_target)
        ),
        measured: format!("{} ({good} of {total} slices good)", pct(value)),
        target_value: above,
        measured_value: value,
        passed: value > above || (total > 0 && good == total),
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
