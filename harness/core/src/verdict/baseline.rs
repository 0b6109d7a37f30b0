//! The scenario's `baseline:`: the run compared with a stored result, as one verdict line
//! failing on any regression beyond tolerance and noise ([`crate::compare`]).

use crate::compare::{Comparison, Tolerances, compare};
use crate::result::{JudgedKind, ObjectiveResult, RunResult};

/// The comparison of `current` with `baseline` (named `label` in the line, e.g. its file)
/// and the verdict line it gives.
pub fn judge_baseline(
    label: &str,
    baseline: &RunResult,
    current: &RunResult,
    tol: &Tolerances,
) -> (ObjectiveResult, Comparison) {
    let comparison = compare(baseline, current, tol);
    let regressions: Vec<String> = comparison
        .deltas
        .iter()
        .filter(|d| d.regression)
        .map(|d| {
            format!(
                "{} {} worse by {:.1}% (p = {:.3})",
                d.scope,
                d.measure,
                d.worse_by * 100.0,
                d.p_value.unwrap_or(1.0)
            )
        })
        .collect();
    let line = ObjectiveResult {
        name: "no regression vs baseline".to_owned(),
        tool: None,
        kind: JudgedKind::Baseline,
        target: format!(
            "{label}: p99 +{:.0}%, rate -{:.0}% at most, beyond noise",
            tol.p99 * 100.0,
            tol.rate * 100.0
        ),
        measured: format!("{} regressions (compare.md)", regressions.len()),
        target_value: 0.0,
        measured_value: regressions.len() as f64,
        passed: regressions.is_empty(),
        detail: (!regressions.is_empty()).then(|| regressions.join("; ")),
        inconclusive: None,
    };
    (line, comparison)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compare::tests::{noisy, run};
    use crate::result::Verdict;
    use crate::verdict::add_line;

    #[test]
    fn the_same_run_again_passes_and_keeps_the_verdict() {
        let base = run(&noisy(1_000, 100, 30, 1));
        let mut current = run(&noisy(1_000, 100, 30, 2));
        let (line, comparison) =
            judge_baseline("base.json", &base, &current, &Tolerances::default());
        assert!(line.passed, "{:?}", line.detail);
        assert_eq!(comparison.regressions, 0);
        assert_eq!(line.measured, "0 regressions (compare.md)");
        assert_eq!(
            line.target,
            "base.json: p99 +10%, rate -5% at most, beyond noise"
        );
        add_line(&mut current, line);
        assert_eq!(current.verdict, Verdict::Pass);
    }

    #[test]
    fn a_shifted_p99_fails_the_line_and_the_run() {
        let base = run(&noisy(1_000, 100, 30, 1));
        let mut current = run(&noisy(1_300, 100, 30, 2));
        let (line, comparison) =
            judge_baseline("base.json", &base, &current, &Tolerances::default());
        assert!(!line.passed);
        assert_eq!(line.measured_value, comparison.regressions as f64);
        let detail = line.detail.clone().unwrap_or_default();
        assert!(detail.contains("overall p99 worse by"), "{detail}");
        assert_eq!(current.verdict, Verdict::Pass, "before the line");
        add_line(&mut current, line);
        assert_eq!(current.verdict, Verdict::Fail);
    }
}
