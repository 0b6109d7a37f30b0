//! The Mann–Whitney U (Wilcoxon rank-sum) test: does `b` tend to hold larger values than
//! `a`? Rank-based, so it needs no assumption about the shape of latency distributions.
//!
//! Ties get average ranks. When one sample has at most 8 values and nothing is tied, the
//! p-values come from the exact null distribution of U (computed, not tabulated). Otherwise
//! they come from the normal approximation with the tie-corrected variance and a continuity
//! correction, which is adequate once both samples hold about 8 values or more; with ties
//! and fewer values it is the best available, and `exact: false` says so. This is the rule of scipy's `mannwhitneyu(..., method="auto")`, and
//! the p-values agree with it.

use statrs::distribution::{ContinuousCDF, Normal};

/// The exact distribution is used only when the smaller sample has at most this many values
/// (and there are no ties), as scipy does.
const EXACT_MAX_SMALLER: usize = 8;
/// ... and the larger sample at most this many, which bounds the table at 80,001 entries.
const EXACT_MAX_LARGER: usize = 10_000;

/// The outcome of [`mann_whitney_u`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MannWhitney {
    /// U of `b`: the number of pairs `(a[i], b[j])` with `b[j] > a[i]`, ties counting one
    /// half; `scipy.stats.mannwhitneyu(b, a).statistic`.
    pub u: f64,
    /// `(u − n₁n₂/2) / σ` with the tie-corrected σ and no continuity correction: positive
    /// when `b` tends to be larger. `0` when every value is equal.
    pub z: f64,
    /// P-value for H1: the two samples come from different distributions.
    pub p_two_sided: f64,
    /// P-value for H1: `b` is stochastically greater than `a` (e.g. `b` is a candidate's
    /// latencies, `a` the baseline's: a small value means a regression).
    pub p_greater: f64,
    /// `z / √(n₁ + n₂)`: about 0.1 small, 0.3 medium, 0.5 large.
    pub effect_size_r: f64,
    /// `u / (n₁n₂)` = P(B > A) + ½·P(B = A), the probability that a random value of `b`
    /// beats a random value of `a`: 0.5 means no difference.
    pub common_language: f64,
    /// Whether the p-values come from the exact null distribution rather than the normal
    /// approximation.
    pub exact: bool,
}

/// Mann–Whitney U test of `b` against `a` (see the module docs for exact vs approximate).
///
/// `None` when either sample is empty or holds a NaN. When every value in both samples is
/// equal the ranks carry no information: the result has `u = n₁n₂/2`, `z = 0`, both
/// p-values 1 and `exact: true` (the permutation distribution is a single point).
pub fn mann_whitney_u(a: &[f64], b: &[f64]) -> Option<MannWhitney> {
    if a.is_empty() || b.is_empty() || a.iter().chain(b).any(|x| x.is_nan()) {
        return None;
    }
    let (n1, n2) = (a.len() as f64, b.len() as f64);
    let ranked = rank(a, b);
    let u_b = ranked.rank_sum_b - n2 * (n2 + 1.0) / 2.0;
    let u_a = n1 * n2 - u_b;
    let mean = n1 * n2 / 2.0;
    let n = n1 + n2;
    let variance = n1 * n2 / 12.0 * ((n + 1.0) - ranked.tie_term / (n * (n - 1.0)));
    let common_language = u_b / (n1 * n2);
    if variance.is_nan() || variance <= 0.0 {
        return Some(MannWhitney {
            u: u_b,
            z: 0.0,
            p_two_sided: 1.0,
            p_greater: 1.0,
            effect_size_r: 0.0,
            common_language,
            exact: true,
        });
    }
    let sd = variance.sqrt();
    let z = (u_b - mean) / sd;
    let exact = if ranked.has_ties {
        None
    } else {
        ExactNull::new(a.len(), b.len())
    };
    let (p_greater, p_two_sided, exact) = match exact {
        Some(null) => (
            null.p_at_least(u_b),
            2.0 * null.p_at_least(u_b.max(u_a)),
            true,
        ),
        None => {
            let normal = Normal::standard();
            // Continuity correction: always subtract ½, as the upper tail is used.
            let upper = |u: f64| normal.sf((u - mean - 0.5) / sd);
            (upper(u_b), 2.0 * upper(u_b.max(u_a)), false)
        }
    };
    Some(MannWhitney {
        u: u_b,
        z,
        p_two_sided: p_two_sided.clamp(0.0, 1.0),
        p_greater: p_greater.clamp(0.0, 1.0),
        effect_size_r: z / n.sqrt(),
        common_language,
        exact,
    })
}

/// Rank sums of the pooled samples, with average ranks for ties.
struct Ranked {
    rank_sum_b: f64,
    /// Σ (t³ − t) over groups of `t` tied values.
    tie_term: f64,
    has_ties: bool,
}

fn rank(a: &[f64], b: &[f64]) -> Ranked {
    let mut pooled: Vec<(f64, bool)> = a
        .iter()
        .map(|&x| (x, false))
        .chain(b.iter().map(|&x| (x, true)))
        .collect();
    pooled.sort_by(|l, r| l.0.total_cmp(&r.0));
    let mut ranked = Ranked {
        rank_sum_b: 0.0,
        tie_term: 0.0,
        has_ties: false,
    };
    let mut start = 0;
    for group in pooled.chunk_by(|l, r| l.0 == r.0) {
        let t = group.len() as f64;
        // Ranks start+1 ..= start+len, averaged.
        let average_rank = start as f64 + (t + 1.0) / 2.0;
        let in_b = group.iter().filter(|(_, from_b)| *from_b).count() as f64;
        ranked.rank_sum_b += average_rank * in_b;
        if group.len() > 1 {
            ranked.has_ties = true;
            ranked.tie_term += t * t * t - t;
        }
        start += group.len();
    }
    ranked
}

/// The exact null distribution of U for samples of sizes `m` and `n` without ties.
struct ExactNull {
    /// `counts[u]`: how many of the C(m+n, m) equally likely orderings give U = u.
    counts: Vec<i128>,
    total: f64,
}

impl ExactNull {
    /// `None` when the sizes are outside the exact rule or the counts would overflow.
    fn new(n1: usize, n2: usize) -> Option<Self> {
        let (m, n) = (n1.min(n2), n1.max(n2));
        if m > EXACT_MAX_SMALLER || n > EXACT_MAX_LARGER {
            return None;
        }
        // The generating function of U is the Gaussian binomial coefficient
        // [m+n choose m]_q = Π_{i=1..m} (1 − q^(n+i)) / (1 − q^i). It is computed as a power
        // series truncated after q^(mn), its degree, so truncation loses nothing.
        let len = m * n + 1;
        let mut counts = vec![0_i128; len];
        *counts.first_mut()? = 1;
        for i in 1..=m {
            let shift = n + i;
            for k in (shift..len).rev() {
                counts[k] = counts[k].checked_sub(counts[k - shift])?;
            }
            for k in i..len {
                counts[k] = counts[k].checked_add(counts[k - i])?;
            }
        }
        let total = counts
            .iter()
            .try_fold(0_i128, |sum, &c| sum.checked_add(c))?;
        Some(Self {
            counts,
            total: total as f64,
        })
    }

    /// P(U ≥ u) under the null hypothesis.
    fn p_at_least(&self, u: f64) -> f64 {
        let from = u.ceil().max(0.0) as usize;
        let tail: i128 = self.counts.iter().skip(from).sum();
        tail as f64 / self.total
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One reference case: our `(a, b)` is scipy's `mannwhitneyu(b, a, ...)`.
    struct Reference {
        name: &'static str,
        a: Vec<f64>,
        b: Vec<f64>,
        u_b: f64,
        p_greater: f64,
        p_two_sided: f64,
        /// `mannwhitneyu(a, b, alternative="greater").pvalue`: our test with a and b swapped.
        p_greater_swapped: f64,
        exact: bool,
    }

    fn floats(xs: &[i32]) -> Vec<f64> {
        xs.iter().map(|&x| f64::from(x)).collect()
    }

    /// Reference numbers from scipy 1.17.1, `method="auto"` (the default):
    /// `g = mannwhitneyu(b, a, alternative="greater")` gives `u_b` (statistic) and
    /// `p_greater`; `mannwhitneyu(b, a, alternative="two-sided").pvalue` gives
    /// `p_two_sided`; `mannwhitneyu(a, b, alternative="greater").pvalue` gives
    /// `p_greater_swapped`.
    fn references() -> Vec<Reference> {
        vec![
            Reference {
                name: "untied, 5 vs 6: exact",
                a: vec![1.1, 2.3, 3.0, 4.7, 5.2],
                b: vec![3.5, 4.9, 6.1, 7.0, 8.4, 9.9],
                u_b: 27.0,
                p_greater: 0.015151515151515152,
                p_two_sided: 0.030303030303030304,
                p_greater_swapped: 0.9913419913419913,
                exact: true,
            },
            Reference {
                name: "untied, 4 vs 30: exact",
                a: vec![0.5, 2.5, 4.5, 6.5],
                b: (1..=30).map(f64::from).collect(),
                u_b: 108.0,
                p_greater: 0.003342245989304813,
                p_two_sided: 0.006684491978609626,
                p_greater_swapped: 0.9973908918406073,
                exact: true,
            },
            Reference {
                name: "untied, 12 vs 15: normal approximation",
                a: vec![
                    12.1, 13.4, 11.8, 15.2, 14.9, 12.7, 13.3, 16.1, 11.2, 14.4, 12.9, 15.8,
                ],
                b: vec![
                    13.9, 15.5, 14.1, 17.2, 16.3, 15.1, 13.6, 18.0, 16.8, 14.6, 17.7, 15.9, 16.6,
                    14.8, 17.4,
                ],
                u_b: 151.0,
                p_greater: 0.001578115141351001,
                p_two_sided: 0.003156230282702002,
                p_greater_swapped: 0.9986540530934304,
                exact: false,
            },
            Reference {
                name: "tied, 10 vs 12: normal approximation",
                a: floats(&[1, 2, 2, 3, 3, 3, 4, 5, 5, 6]),
                b: floats(&[2, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8]),
                u_b: 94.5,
                p_greater: 0.011795404134068856,
                p_two_sided: 0.02359080826813771,
                p_greater_swapped: 0.990105085192874,
                exact: false,
            },
            Reference {
                name: "tied, 4 vs 5: ties force the normal approximation",
                a: floats(&[1, 2, 2, 3]),
                b: floats(&[2, 3, 3, 4, 5]),
                u_b: 17.0,
                p_greater: 0.04967112392673264,
                p_two_sided: 0.09934224785346528,
                p_greater_swapped: 0.9713880745611612,
                exact: false,
            },
        ]
    }

    fn assert_close(what: &str, got: f64, want: f64) {
        assert!(
            (got - want).abs() <= 1e-9 * want.abs().max(1e-3),
            "{what}: got {got}, want {want}"
        );
    }

    #[test]
    fn mann_whitney_matches_scipy_references() {
        for r in references() {
            let got = mann_whitney_u(&r.a, &r.b).unwrap();
            assert_close(&format!("{}: u", r.name), got.u, r.u_b);
            assert_close(
                &format!("{}: p_greater", r.name),
                got.p_greater,
                r.p_greater,
            );
            assert_close(
                &format!("{}: two-sided", r.name),
                got.p_two_sided,
                r.p_two_sided,
            );
            assert_eq!(got.exact, r.exact, "{}: exact", r.name);

            let swapped = mann_whitney_u(&r.b, &r.a).unwrap();
            let n1n2 = (r.a.len() * r.b.len()) as f64;
            assert_close(&format!("{}: swapped u", r.name), swapped.u, n1n2 - r.u_b);
            assert_close(
                &format!("{}: swapped p_greater", r.name),
                swapped.p_greater,
                r.p_greater_swapped,
            );
            assert_close(
                &format!("{}: swapped two-sided", r.name),
                swapped.p_two_sided,
                r.p_two_sided,
            );
            assert_close(&format!("{}: swapped z", r.name), swapped.z, -got.z);
        }
    }

    #[test]
    fn identical_samples_give_p_of_one() {
        // scipy: mannwhitneyu(x, x) with x = 1..=10 gives statistic 50.0, pvalue 1.0;
        // alternative="greater" gives 0.5151319787899796.
        let x: Vec<f64> = (1..=10).map(f64::from).collect();
        let got = mann_whitney_u(&x, &x).unwrap();
        assert_eq!(got.u, 50.0);
        assert_eq!(got.z, 0.0);
        assert_eq!(got.p_two_sided, 1.0);
        assert_close("p_greater", got.p_greater, 0.5151319787899796);
        assert_eq!(got.common_language, 0.5);
        assert!(!got.exact);
    }

    #[test]
    fn a_thirty_percent_shift_with_low_noise_gives_a_tiny_p() {
        let noise = |i: usize| 1.0 + 0.02 * ((i * 7919 % 101) as f64 / 100.0 - 0.5);
        let baseline: Vec<f64> = (0..40).map(|i| 100.0 * noise(i)).collect();
        let candidate: Vec<f64> = (0..40).map(|i| 130.0 * noise(i + 3)).collect();
        let got = mann_whitney_u(&baseline, &candidate).unwrap();
        assert!(got.p_greater < 1e-12, "p_greater = {}", got.p_greater);
        assert!(got.p_two_sided < 1e-12);
        assert_eq!(got.common_language, 1.0);
        assert!(got.effect_size_r > 0.8, "r = {}", got.effect_size_r);
        let reverse = mann_whitney_u(&candidate, &baseline).unwrap();
        assert!(reverse.p_greater > 0.999_999);
    }

    #[test]
    fn exact_null_distribution_has_binomial_total_and_symmetry() {
        let null = ExactNull::new(5, 6).unwrap();
        assert_eq!(null.total, 462.0); // C(11, 5)
        assert_eq!(null.counts.len(), 31);
        for (u, &c) in null.counts.iter().enumerate() {
            assert_eq!(c, null.counts[30 - u], "count at u = {u}");
        }
        assert_eq!(null.p_at_least(0.0), 1.0);
        assert_eq!(null.p_at_least(30.0), 1.0 / 462.0);
        assert!(ExactNull::new(9, 9).is_none());
        assert!(ExactNull::new(8, EXACT_MAX_LARGER + 1).is_none());
    }

    #[test]
    fn all_equal_values_carry_no_evidence() {
        let got = mann_whitney_u(&[3.0; 5], &[3.0; 12]).unwrap();
        assert_eq!(got.u, 30.0);
        assert_eq!((got.p_greater, got.p_two_sided, got.z), (1.0, 1.0, 0.0));
        assert!(got.exact);
    }

    #[test]
    fn mann_whitney_rejects_empty_and_nan_samples() {
        assert!(mann_whitney_u(&[], &[1.0]).is_none());
        assert!(mann_whitney_u(&[1.0], &[]).is_none());
        assert!(mann_whitney_u(&[1.0, f64::NAN], &[2.0]).is_none());
        assert!(mann_whitney_u(&[1.0], &[f64::NAN]).is_none());
    }

    #[test]
    fn single_values_on_each_side_use_the_exact_distribution() {
        // scipy: mannwhitneyu([2.0], [1.0], alternative="greater") -> pvalue 0.5;
        // two-sided -> 1.0.
        let got = mann_whitney_u(&[1.0], &[2.0]).unwrap();
        assert!(got.exact);
        assert_eq!((got.u, got.p_greater, got.p_two_sided), (1.0, 0.5, 1.0));
    }
}
