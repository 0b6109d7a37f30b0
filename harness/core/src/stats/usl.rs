//! Gunther's Universal Scalability Law, fitted to measured (concurrency, throughput) points:
//!
//! ```text
//! X(N) = λN / (1 + σ(N − 1) + κN(N − 1))
//! ```
//!
//! λ is the throughput of one unit of concurrency, σ ≥ 0 the contention (serial fraction)
//! and κ ≥ 0 the coherency cost (crosstalk). With κ > 0 throughput peaks at
//! `N* = √((1 − σ)/κ)` and then falls.
//!
//! In an open-model capacity search the harness sets offered rates, not concurrency. The N
//! to fit against is the mean number of requests in flight, which Little's law gives from
//! what was measured: [`littles_law_concurrency`]`(achieved_rate, mean_latency_s)`.

/// Concurrency a system holds on average (Little's law, L = λW): `rate` completions per
/// second, each taking `mean_latency_s` seconds. `None` for negative or non-finite input.
pub fn littles_law_concurrency(rate: f64, mean_latency_s: f64) -> Option<f64> {
    let ok = |x: f64| x.is_finite() && x >= 0.0;
    (ok(rate) && ok(mean_latency_s)).then_some(rate * mean_latency_s)
}

/// A fitted Universal Scalability Law curve.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct UslFit {
    /// Throughput per unit of concurrency without contention or coherency costs.
    pub lambda: f64,
    /// Contention, ≥ 0.
    pub sigma: f64,
    /// Coherency, ≥ 0.
    pub kappa: f64,
    /// 1 − SS_res/SS_tot of the fitted throughputs.
    pub r_squared: f64,
    /// `√((1 − σ)/κ)`, the concurrency of peak throughput, when κ > 0 and σ < 1. It may lie
    /// far beyond the largest N measured when κ is small: compare before trusting it.
    pub peak_n: Option<f64>,
    /// The model's throughput at `peak_n`.
    pub peak_x: Option<f64>,
}

/// The fitted curve's throughput at concurrency `n`. NaN only where the model is undefined
/// (its denominator ≤ 0, possible only for `n < 1`).
pub fn usl_predict(fit: &UslFit, n: f64) -> f64 {
    model(&[fit.lambda, fit.sigma, fit.kappa], n).unwrap_or(f64::NAN)
}

/// Fits the USL to `(N, X)` points by nonlinear least squares on X.
///
/// The start is Gunther's estimate: λ from the point with the smallest N (taken as free of
/// contention), then σ and κ from the regression of `N/C(N) − 1` on `N − 1` and
/// `N(N − 1)`, where `C(N) = X(N)/λ`. Levenberg–Marquardt then refines all three with
/// σ, κ ≥ 0 held by projection (a bound whose gradient pushes outward is held fixed for
/// that step). A second start with σ = κ = 0 guards against a poor first estimate; the
/// fit with the lower residual wins.
///
/// `None` when there are fewer than 3 distinct N, a value is non-finite, N ≤ 0 or X < 0,
/// every X is equal (nothing to fit), or no point has X > 0.
pub fn usl_fit(points: &[(f64, f64)]) -> Option<UslFit> {
    let valid = |&(n, x): &(f64, f64)| n.is_finite() && x.is_finite() && n > 0.0 && x >= 0.0;
    if !points.iter().all(valid) || distinct_n(points) < 3 {
        return None;
    }
    let mean_x = points.iter().map(|p| p.1).sum::<f64>() / points.len() as f64;
    let ss_tot: f64 = points.iter().map(|p| (p.1 - mean_x).powi(2)).sum();
    if ss_tot <= 0.0 {
        return None;
    }
    let gunther = gunther_estimate(points)?;
    let (params, ss_res) = [gunther, [gunther[0], 0.0, 0.0]]
        .into_iter()
        .filter_map(|start| levenberg_marquardt(points, start))
        .min_by(|l, r| l.1.total_cmp(&r.1))?;
    let [lambda, sigma, kappa] = params;
    let peak_n = (kappa > 0.0 && sigma < 1.0).then(|| ((1.0 - sigma) / kappa).sqrt());
    Some(UslFit {
        lambda,
        sigma,
        kappa,
        r_squared: 1.0 - ss_res / ss_tot,
        peak_n,
        peak_x: peak_n.and_then(|n| model(&params, n)),
    })
}

type Params = [f64; 3];

const MAX_ITERATIONS: usize = 500;
/// Stop when an accepted step lowers the residual by less than this fraction.
const RELATIVE_TOLERANCE: f64 = 1e-15;
/// Give up lowering the residual once the damping has grown this large.
const MAX_DAMPING: f64 = 1e16;

fn model(p: &Params, n: f64) -> Option<f64> {
    let denominator = 1.0 + p[1] * (n - 1.0) + p[2] * n * (n - 1.0);
    (denominator > 0.0).then(|| p[0] * n / denominator)
}

fn distinct_n(points: &[(f64, f64)]) -> usize {
    let mut ns: Vec<f64> = points.iter().map(|p| p.0).collect();
    ns.sort_by(f64::total_cmp);
    ns.dedup();
    ns.len()
}

/// Gunther's starting point: λ = X/N at the smallest N with X > 0, then σ and κ by linear
/// least squares (no intercept) on the points with X > 0, clamped at 0.
fn gunther_estimate(points: &[(f64, f64)]) -> Option<Params> {
    let &(n_ref, x_ref) = points
        .iter()
        .filter(|p| p.1 > 0.0)
        .min_by(|l, r| l.0.total_cmp(&r.0))?;
    let lambda = x_ref / n_ref;
    // y = σu + κv with u = N − 1, v = N(N − 1), y = N/C(N) − 1.
    let (mut uu, mut uv, mut vv, mut uy, mut vy) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for &(n, x) in points.iter().filter(|p| p.1 > 0.0) {
        let (u, v, y) = (n - 1.0, n * (n - 1.0), n * lambda / x - 1.0);
        uu += u * u;
        uv += u * v;
        vv += v * v;
        uy += u * y;
        vy += v * y;
    }
    let det = uu * vv - uv * uv;
    let (sigma, kappa) = if det.abs() > f64::EPSILON * uu * vv && det.is_finite() {
        ((uy * vv - vy * uv) / det, (vy * uu - uy * uv) / det)
    } else {
        (0.0, 0.0)
    };
    let clamp = |v: f64| if v.is_finite() { v.max(0.0) } else { 0.0 };
    Some([lambda, clamp(sigma), clamp(kappa)])
}

/// Sum of squared residuals, `None` where the model is undefined or λ ≤ 0.
fn residual_ss(points: &[(f64, f64)], p: &Params) -> Option<f64> {
    if p[0] <= 0.0 || p[1] < 0.0 || p[2] < 0.0 {
        return None;
    }
    points
        .iter()
        .try_fold(0.0, |ss, &(n, x)| Some(ss + (x - model(p, n)?).powi(2)))
        .filter(|ss| ss.is_finite())
}

/// Normal equations at `p`: `JᵀJ` and `Jᵀr` with `r = X − f(N)` and `J = ∂f/∂p`.
fn normal_equations(points: &[(f64, f64)], p: &Params) -> ([[f64; 3]; 3], [f64; 3]) {
    let mut jtj = [[0.0; 3]; 3];
    let mut jtr = [0.0; 3];
    for &(n, x) in points {
        let d = 1.0 + p[1] * (n - 1.0) + p[2] * n * (n - 1.0);
        let f = p[0] * n / d;
        let grad = [n / d, -f * (n - 1.0) / d, -f * n * (n - 1.0) / d];
        for (row, g_row) in grad.iter().enumerate() {
            jtr[row] += g_row * (x - f);
            for (col, g_col) in grad.iter().enumerate() {
                jtj[row][col] += g_row * g_col;
            }
        }
    }
    (jtj, jtr)
}

/// Levenberg–Marquardt from `start`; the final parameters and their residual sum of squares.
fn levenberg_marquardt(points: &[(f64, f64)], start: Params) -> Option<(Params, f64)> {
    let mut p = start;
    let mut ss = residual_ss(points, &p)?;
    let mut damping = 1e-3;
    for _ in 0..MAX_ITERATIONS {
        if ss == 0.0 || damping > MAX_DAMPING {
            break;
        }
        let (jtj, jtr) = normal_equations(points, &p);
        // σ and κ sitting on their bound with the descent direction pointing below it stay
        // put this step (λ is kept positive by rejecting steps instead).
        let free = [true, p[1] > 0.0 || jtr[1] > 0.0, p[2] > 0.0 || jtr[2] > 0.0];
        let Some(step) = damped_step(&jtj, &jtr, damping, free) else {
            damping *= 10.0;
            continue;
        };
        let candidate = [
            p[0] + step[0],
            (p[1] + step[1]).max(0.0),
            (p[2] + step[2]).max(0.0),
        ];
        match residual_ss(points, &candidate) {
            Some(new_ss) if new_ss < ss => {
                let converged = ss - new_ss <= RELATIVE_TOLERANCE * ss;
                p = candidate;
                ss = new_ss;
                damping = (damping / 10.0).max(1e-12);
                if converged {
                    break;
                }
            }
            _ => damping *= 10.0,
        }
    }
    Some((p, ss))
}

/// Solves `(JᵀJ + μ·diag(JᵀJ)) δ = Jᵀr` over the free parameters (δ = 0 for the others) by
/// Gaussian elimination with partial pivoting; `None` when the system is singular.
fn damped_step(
    jtj: &[[f64; 3]; 3],
    jtr: &[f64; 3],
    damping: f64,
    free: [bool; 3],
) -> Option<Params> {
    let index: Vec<usize> = (0..3).filter(|&i| free[i]).collect();
    let k = index.len();
    // Augmented matrix [A | b] of the free sub-system.
    let mut m: Vec<Vec<f64>> = index
        .iter()
        .enumerate()
        .map(|(r, &i)| {
            let mut row: Vec<f64> = index.iter().map(|&j| jtj[i][j]).collect();
            row[r] += damping * jtj[i][i].max(f64::MIN_POSITIVE);
            row.push(jtr[i]);
            row
        })
        .collect();
    for col in 0..k {
        let pivot = (col..k).max_by(|&l, &r| m[l][col].abs().total_cmp(&m[r][col].abs()))?;
        m.swap(col, pivot);
        let head = m[col][col];
        if !head.is_finite() || head.abs() < f64::MIN_POSITIVE {
            return None;
        }
        let pivot_row = m[col].clone();
        for row in m.iter_mut().skip(col + 1) {
            let factor = row[col] / head;
            for (target, source) in row.iter_mut().zip(&pivot_row).skip(col) {
                *target -= factor * source;
            }
        }
    }
    let mut solution = vec![0.0; k];
    for row in (0..k).rev() {
        let tail: f64 = (row + 1..k).map(|c| m[row][c] * solution[c]).sum();
        solution[row] = (m[row][k] - tail) / m[row][row];
    }
    let mut step = [0.0; 3];
    for (slot, value) in index.iter().zip(solution) {
        step[*slot] = value;
    }
    step.iter().all(|s| s.is_finite()).then_some(step)
}

#[cfg(test)]
#[path = "usl_tests.rs"]
mod tests;
