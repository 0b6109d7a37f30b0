//! Bootstrap confidence intervals for the difference of a statistic between two samples
//! (e.g. the median latency, or the p99 of per-second p99s, of a candidate minus a
//! baseline), by the percentile method. Deterministic for a given seed.

use super::percentile::percentile_of_sorted;

/// A point estimate with a confidence interval around it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interval {
    pub lo: f64,
    pub hi: f64,
    pub point: f64,
}

impl Interval {
    /// Whether `x` lies inside the closed interval.
    pub fn contains(&self, x: f64) -> bool {
        self.lo <= x && x <= self.hi
    }
}

/// Percentile-bootstrap interval for `stat(b) − stat(a)` at confidence `level` (e.g. 0.95).
///
/// Each of the `resamples` rounds draws `a.len()` values from `a` and `b.len()` from `b`
/// with replacement, using `fastrand::Rng::with_seed(seed)`, and records the difference of
/// the statistic; the interval runs from the `(1 − level)/2` to the `(1 + level)/2`
/// percentile of those differences. `point` is the difference on the samples themselves.
/// Use 1,000 resamples or more for a 95% interval; the percentile method assumes the
/// statistic is roughly unbiased, which is fine for medians and other percentiles.
///
/// `stat` sees non-empty slices in no particular order; for a percentile, pass e.g.
/// `|s| percentile(s, 0.99).unwrap_or(f64::NAN)`.
///
/// `None` when a sample is empty or holds a non-finite value, `level` is not strictly
/// between 0 and 1, `resamples` is 0, or `stat` returns a non-finite value.
pub fn bootstrap_diff_ci(
    a: &[f64],
    b: &[f64],
    stat: impl Fn(&[f64]) -> f64,
    level: f64,
    resamples: usize,
    seed: u64,
) -> Option<Interval> {
    let finite = |xs: &[f64]| !xs.is_empty() && xs.iter().all(|x| x.is_finite());
    let usable = finite(a) && finite(b) && level > 0.0 && level < 1.0 && resamples > 0;
    if !usable {
        return None;
    }
    let point = stat(b) - stat(a);
    if !point.is_finite() {
        return None;
    }
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut resample = |from: &[f64], into: &mut Vec<f64>| {
        into.clear();
        into.extend((0..from.len()).map(|_| from[rng.usize(..from.len())]));
    };
    let (mut buf_a, mut buf_b) = (Vec::with_capacity(a.len()), Vec::with_capacity(b.len()));
    let mut diffs = Vec::with_capacity(resamples);
    for _ in 0..resamples {
        resample(a, &mut buf_a);
        resample(b, &mut buf_b);
        let diff = stat(&buf_b) - stat(&buf_a);
        if !diff.is_finite() {
            return None;
        }
        diffs.push(diff);
    }
    diffs.sort_by(f64::total_cmp);
    let tail = (1.0 - level) / 2.0;
    Some(Interval {
        lo: percentile_of_sorted(&diffs, tail)?,
        hi: percentile_of_sorted(&diffs, 1.0 - tail)?,
        point,
    })
}

#[cfg(test)]
mod tests {
    use super::super::percentile::{median, percentile};
    use super::*;

    fn med(xs: &[f64]) -> f64 {
        median(xs).unwrap_or(f64::NAN)
    }

    /// `n` values spread uniformly over `[centre − 10, centre + 10)`, drawn with a seed.
    fn uniform(n: usize, centre: f64, seed: u64) -> Vec<f64> {
        let mut rng = fastrand::Rng::with_seed(seed);
        (0..n).map(|_| centre - 10.0 + 20.0 * rng.f64()).collect()
    }

    #[test]
    fn bootstrap_interval_contains_the_true_median_difference() {
        let a = uniform(300, 100.0, 1);
        let b = uniform(300, 115.0, 2);
        let ci = bootstrap_diff_ci(&a, &b, med, 0.95, 2000, 42).unwrap();
        assert!(ci.contains(15.0), "{ci:?}");
        assert!(ci.contains(ci.point), "{ci:?}");
        assert!(ci.hi - ci.lo < 6.0, "too wide: {ci:?}");
        assert!(ci.lo > 10.0, "{ci:?}");
    }

    #[test]
    fn bootstrap_interval_of_equal_populations_contains_zero() {
        let a = uniform(200, 50.0, 3);
        let b = uniform(200, 50.0, 4);
        let p99 = |s: &[f64]| percentile(s, 0.99).unwrap_or(f64::NAN);
        let ci = bootstrap_diff_ci(&a, &b, p99, 0.95, 1000, 7).unwrap();
        assert!(ci.contains(0.0), "{ci:?}");
    }

    #[test]
    fn bootstrap_is_deterministic_for_a_seed() {
        let a = uniform(100, 10.0, 5);
        let b = uniform(80, 12.0, 6);
        let first = bootstrap_diff_ci(&a, &b, med, 0.9, 500, 99).unwrap();
        let again = bootstrap_diff_ci(&a, &b, med, 0.9, 500, 99).unwrap();
        assert_eq!(first, again);
        let other = bootstrap_diff_ci(&a, &b, med, 0.9, 500, 100).unwrap();
        assert_ne!(first, other);
        assert_eq!(first.point, other.point);
    }

    #[test]
    fn constant_samples_give_a_zero_width_interval() {
        let ci = bootstrap_diff_ci(&[2.0; 10], &[5.0; 7], med, 0.95, 100, 1).unwrap();
        assert_eq!(
            ci,
            Interval {
                lo: 3.0,
                hi: 3.0,
                point: 3.0
            }
        );
    }

    #[test]
    fn bootstrap_rejects_degenerate_input() {
        let x = [1.0, 2.0, 3.0];
        assert!(bootstrap_diff_ci(&[], &x, med, 0.95, 100, 1).is_none());
        assert!(bootstrap_diff_ci(&x, &[], med, 0.95, 100, 1).is_none());
        assert!(bootstrap_diff_ci(&x, &[1.0, f64::NAN], med, 0.95, 100, 1).is_none());
        assert!(bootstrap_diff_ci(&x, &[f64::INFINITY], med, 0.95, 100, 1).is_none());
        for level in [0.0, 1.0, -0.5, 1.5, f64::NAN] {
            assert!(bootstrap_diff_ci(&x, &x, med, level, 100, 1).is_none());
        }
        assert!(bootstrap_diff_ci(&x, &x, med, 0.95, 0, 1).is_none());
        assert!(bootstrap_diff_ci(&x, &x, |_| f64::NAN, 0.95, 100, 1).is_none());
    }
}
