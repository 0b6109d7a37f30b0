//! Sample percentiles of `f64` slices: linear interpolation between order statistics
//! (Hyndman & Fan type 7, numpy's default `method="linear"`).

/// The `q`-quantile (`q` in `[0, 1]`) of `xs`, interpolating linearly between the two
/// nearest order statistics: with `h = (n - 1)·q`, the result is
/// `x[⌊h⌋] + (h - ⌊h⌋)·(x[⌊h⌋ + 1] - x[⌊h⌋])`, as `numpy.quantile(xs, q)`.
///
/// `None` when `xs` is empty, holds a non-finite value, or `q` is outside `[0, 1]`.
pub fn percentile(xs: &[f64], q: f64) -> Option<f64> {
    if xs.iter().any(|x| !x.is_finite()) {
        return None;
    }
    let mut sorted = xs.to_vec();
    sorted.sort_by(f64::total_cmp);
    percentile_of_sorted(&sorted, q)
}

/// The median of `xs` (type-7 percentile at `q = 0.5`); `None` as for [`percentile`].
pub fn median(xs: &[f64]) -> Option<f64> {
    percentile(xs, 0.5)
}

/// [`percentile`] of a slice the caller has already sorted ascending (finite values).
pub(crate) fn percentile_of_sorted(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() || !(0.0..=1.0).contains(&q) {
        return None;
    }
    let h = (sorted.len() - 1) as f64 * q;
    let lo = h.floor() as usize;
    let lower = *sorted.get(lo)?;
    match sorted.get(lo + 1) {
        Some(&upper) => Some(lower + (h - lo as f64) * (upper - lower)),
        None => Some(lower),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_match_numpy_linear_interpolation() {
        // numpy.quantile([1, 2, 3, 4], q) for q in (0, .25, .5, .9, 1):
        // 1.0, 1.75, 2.5, 3.7, 4.0
        let xs = [4.0, 1.0, 3.0, 2.0];
        let cases = [(0.0, 1.0), (0.25, 1.75), (0.5, 2.5), (0.9, 3.7), (1.0, 4.0)];
        for (q, want) in cases {
            let got = percentile(&xs, q).unwrap();
            assert!((got - want).abs() < 1e-12, "q={q}: got {got}, want {want}");
        }
    }

    #[test]
    fn percentile_of_one_value_is_that_value() {
        assert_eq!(percentile(&[7.5], 0.99), Some(7.5));
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
    }

    #[test]
    fn percentile_rejects_degenerate_input() {
        assert_eq!(percentile(&[], 0.5), None);
        assert_eq!(percentile(&[1.0, f64::NAN], 0.5), None);
        assert_eq!(percentile(&[1.0, f64::INFINITY], 0.5), None);
        assert_eq!(percentile(&[1.0, 2.0], 1.5), None);
        assert_eq!(percentile(&[1.0, 2.0], -0.1), None);
        assert_eq!(percentile(&[1.0, 2.0], f64::NAN), None);
    }
}
