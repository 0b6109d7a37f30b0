//! Knee of a load/latency curve by Kneedle (Satopää, Albrecht, Irwin & Raghavan, "Finding
//! a 'Kneedle' in a Haystack", ICDCS workshops 2011), for a convex increasing curve: latency
//! stays nearly flat while offered load grows, then climbs steeply once a queue builds.
//!
//! 1. Sort the points by x and scale x and y to `[0, 1]` (min–max).
//! 2. Difference curve `D = x̂ − ŷ`: how far each point lies below the diagonal, i.e. below
//!    the chord from the lightest to the heaviest load in scaled units. (The paper's
//!    `ŷ − x̂` is for concave curves; flipping both axes turns ours into that case.)
//! 3. Each local maximum `i` of D with `D > 0` is a candidate with threshold
//!    `T = D[i] − S·mean(Δx̂)` and sensitivity `S = 1` (the paper's default). It is a knee
//!    when D drops below T at a later point before another local maximum is reached.
//!
//! The paper smooths noisy data first; the harness passes one aggregated point per load
//! level, so no smoothing is done here. When several knees are found the most pronounced
//! one (largest D) is returned; a straight line or a concave curve has none.

/// Sensitivity `S` of the Kneedle threshold: larger is more conservative.
const SENSITIVITY: f64 = 1.0;

/// Index into `points` (`(offered load, latency)` pairs, in any order) of the knee, or
/// `None` when there is no knee, fewer than 3 points, a non-finite value, or x or y does
/// not vary.
pub fn knee(points: &[(f64, f64)]) -> Option<usize> {
    if points.len() < 3 || points.iter().any(|p| !p.0.is_finite() || !p.1.is_finite()) {
        return None;
    }
    let mut order: Vec<usize> = (0..points.len()).collect();
    order.sort_by(|&l, &r| points[l].0.total_cmp(&points[r].0));
    let xs: Vec<f64> = order.iter().map(|&i| points[i].0).collect();
    let ys: Vec<f64> = order.iter().map(|&i| points[i].1).collect();
    let (xn, yn) = (min_max_scaled(&xs)?, min_max_scaled(&ys)?);
    let diff: Vec<f64> = xn.iter().zip(&yn).map(|(x, y)| x - y).collect();
    // Sorted and scaled x runs from 0 to 1, so the mean spacing is 1/(n − 1).
    let threshold_drop = SENSITIVITY / (points.len() - 1) as f64;
    let is_local_max =
        |i: usize| i > 0 && i + 1 < diff.len() && diff[i] >= diff[i - 1] && diff[i] >= diff[i + 1];
    let knee_in_sorted = (1..diff.len() - 1)
        .filter(|&i| is_local_max(i) && diff[i] > 0.0)
        .filter(|&i| {
            let threshold = diff[i] - threshold_drop;
            (i + 1..diff.len())
                .take_while(|&j| !is_local_max(j))
                .any(|j| diff[j] < threshold)
        })
        .max_by(|&l, &r| diff[l].total_cmp(&diff[r]).then(r.cmp(&l)))?;
    order.get(knee_in_sorted).copied()
}

/// `(v − min)/(max − min)` for each value; `None` when all values are equal.
fn min_max_scaled(values: &[f64]) -> Option<Vec<f64>> {
    let min = values.iter().copied().fold(f64::INFINITY, f64::min);
    let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let range = max - min;
    (range > 0.0 && range.is_finite()).then(|| values.iter().map(|v| (v - min) / range).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Latency flat at 10 ms (with ±0.2 ms wiggle) up to `bend`, then 50 ms more per step.
    fn hockey_stick(len: usize, bend: usize) -> Vec<(f64, f64)> {
        (0..len)
            .map(|i| {
                let wiggle = [0.2, -0.1, 0.0, 0.1, -0.2][i % 5];
                let climb = 50.0 * i.saturating_sub(bend) as f64;
                (100.0 * (i + 1) as f64, 10.0 + wiggle + climb)
            })
            .collect()
    }

    #[test]
    fn knee_of_a_hockey_stick_is_where_it_bends() {
        for (len, bend) in [(20, 11), (12, 5), (30, 24), (6, 3)] {
            assert_eq!(
                knee(&hockey_stick(len, bend)),
                Some(bend),
                "len {len}, bend {bend}"
            );
        }
    }

    #[test]
    fn knee_index_refers_to_the_unsorted_input() {
        let mut points = hockey_stick(20, 11);
        let bend = points[11];
        points.reverse();
        points.swap(0, 7);
        let found = knee(&points).unwrap();
        assert_eq!(points[found], bend);
    }

    #[test]
    fn knee_of_a_queueing_curve_is_before_saturation() {
        // M/M/1 with service rate 1000/s: mean latency 1/(μ − λ) at offered λ = 50..950.
        let points: Vec<(f64, f64)> = (1..=19)
            .map(|i| {
                let offered = 50.0 * f64::from(i);
                (offered, 1.0 / (1000.0 - offered))
            })
            .collect();
        let found = knee(&points).unwrap();
        let offered = points[found].0;
        assert!((700.0..=900.0).contains(&offered), "knee at {offered}");
    }

    #[test]
    fn curves_without_a_knee_have_none() {
        let line: Vec<(f64, f64)> = (0..10)
            .map(|i| (f64::from(i), 2.0 * f64::from(i)))
            .collect();
        assert_eq!(knee(&line), None);
        let concave: Vec<(f64, f64)> = (0..10)
            .map(|i| (f64::from(i), f64::from(i).sqrt()))
            .collect();
        assert_eq!(knee(&concave), None);
    }

    #[test]
    fn knee_rejects_degenerate_input() {
        assert_eq!(knee(&[]), None);
        assert_eq!(knee(&[(1.0, 1.0), (2.0, 5.0)]), None);
        assert_eq!(knee(&[(1.0, 1.0), (2.0, 1.0), (3.0, 1.0)]), None);
        assert_eq!(knee(&[(1.0, 1.0), (1.0, 2.0), (1.0, 9.0)]), None);
        assert_eq!(knee(&[(1.0, 1.0), (2.0, f64::NAN), (3.0, 9.0)]), None);
        assert_eq!(knee(&[(1.0, 1.0), (f64::INFINITY, 2.0), (3.0, 9.0)]), None);
    }
}
