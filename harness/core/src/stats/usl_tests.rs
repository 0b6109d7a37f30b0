use super::*;

fn usl(lambda: f64, sigma: f64, kappa: f64, n: f64) -> f64 {
    lambda * n / (1.0 + sigma * (n - 1.0) + kappa * n * (n - 1.0))
}

/// Points from the formula, each multiplied by `1 + noise(i)`.
fn synthetic(
    ns: &[f64],
    (lambda, sigma, kappa): (f64, f64, f64),
    noise: impl Fn(usize) -> f64,
) -> Vec<(f64, f64)> {
    ns.iter()
        .enumerate()
        .map(|(i, &n)| (n, usl(lambda, sigma, kappa, n) * (1.0 + noise(i))))
        .collect()
}

/// A fixed ±2% pattern that is neither monotone nor symmetric.
fn two_percent(i: usize) -> f64 {
    [
        0.02, -0.015, 0.01, -0.02, 0.005, 0.018, -0.008, -0.012, 0.015, -0.004,
    ][i % 10]
}

fn rel_err(got: f64, want: f64) -> f64 {
    ((got - want) / want).abs()
}

const NS: [f64; 10] = [1.0, 2.0, 4.0, 8.0, 12.0, 16.0, 24.0, 32.0, 48.0, 64.0];

#[test]
fn usl_fit_recovers_exact_parameters_and_peak() {
    let truth = (1000.0, 0.05, 0.0008);
    let fit = usl_fit(&synthetic(&NS, truth, |_| 0.0)).unwrap();
    assert!(rel_err(fit.lambda, 1000.0) < 1e-6, "{fit:?}");
    assert!(rel_err(fit.sigma, 0.05) < 1e-5, "{fit:?}");
    assert!(rel_err(fit.kappa, 0.0008) < 1e-5, "{fit:?}");
    assert!(fit.r_squared > 0.999_999_999, "{fit:?}");
    let peak_n = (0.95_f64 / 0.0008).sqrt();
    assert!(rel_err(fit.peak_n.unwrap(), peak_n) < 1e-5, "{fit:?}");
    let peak_x = usl(1000.0, 0.05, 0.0008, peak_n);
    assert!(rel_err(fit.peak_x.unwrap(), peak_x) < 1e-6, "{fit:?}");
}

#[test]
fn usl_fit_tolerates_two_percent_noise() {
    let truth = (1000.0, 0.05, 0.0008);
    let fit = usl_fit(&synthetic(&NS, truth, two_percent)).unwrap();
    assert!(rel_err(fit.lambda, 1000.0) < 0.05, "{fit:?}");
    assert!((fit.sigma - 0.05).abs() < 0.02, "{fit:?}");
    assert!(rel_err(fit.kappa, 0.0008) < 0.25, "{fit:?}");
    assert!(
        rel_err(fit.peak_n.unwrap(), (0.95_f64 / 0.0008).sqrt()) < 0.15,
        "{fit:?}"
    );
    assert!(fit.r_squared > 0.95, "{fit:?}");
}

#[test]
fn usl_fit_finds_the_same_optimum_as_scipy() {
    // scipy 1.17.1, with f = lambda n, l, s, k: l*n/(1 + s*(n-1) + k*n*(n-1)):
    // curve_fit(f, NS, x, p0=[10, 0.3, 0.01], bounds=([0, 0, 0], [inf, inf, inf]),
    //           xtol=1e-15, ftol=1e-15, gtol=1e-15)
    // -> [10.074818571951178, 0.3070273321162628, 0.00988642003442152]
    let five_percent = |i: usize| {
        [
            0.05, -0.04, 0.03, -0.05, 0.01, 0.045, -0.02, -0.03, 0.04, -0.01,
        ][i]
    };
    let fit = usl_fit(&synthetic(&NS, (10.0, 0.3, 0.01), five_percent)).unwrap();
    assert!(rel_err(fit.lambda, 10.074818571951178) < 1e-6, "{fit:?}");
    assert!(rel_err(fit.sigma, 0.3070273321162628) < 1e-6, "{fit:?}");
    assert!(rel_err(fit.kappa, 0.00988642003442152) < 1e-6, "{fit:?}");
}

#[test]
fn usl_fit_works_when_the_smallest_n_is_not_one() {
    // Little's-law concurrencies from an open-model search rarely start at 1.
    let ns = [0.6, 3.0, 7.5, 15.0, 30.0, 60.0, 90.0, 120.0, 160.0];
    let truth = (200.0, 0.1, 0.0001);
    let fit = usl_fit(&synthetic(&ns, truth, |_| 0.0)).unwrap();
    assert!(rel_err(fit.lambda, 200.0) < 1e-5, "{fit:?}");
    assert!(rel_err(fit.sigma, 0.1) < 1e-4, "{fit:?}");
    assert!(rel_err(fit.kappa, 0.0001) < 1e-4, "{fit:?}");
    assert!(
        rel_err(fit.peak_n.unwrap(), 0.9_f64.sqrt() * 100.0) < 1e-4,
        "{fit:?}"
    );
}

#[test]
fn amdahl_curve_fits_with_zero_kappa_and_no_peak() {
    let truth = (50.0, 0.2, 0.0);
    let fit = usl_fit(&synthetic(&NS, truth, |_| 0.0)).unwrap();
    assert!(rel_err(fit.sigma, 0.2) < 1e-5, "{fit:?}");
    assert!(fit.kappa < 1e-9, "{fit:?}");
    if fit.kappa == 0.0 {
        assert_eq!((fit.peak_n, fit.peak_x), (None, None));
    } else {
        assert!(fit.peak_n.unwrap() > 1e3, "{fit:?}");
    }
}

#[test]
fn linear_scaling_fits_with_no_contention() {
    let points: Vec<(f64, f64)> = NS.iter().map(|&n| (n, 30.0 * n)).collect();
    let fit = usl_fit(&points).unwrap();
    assert!(rel_err(fit.lambda, 30.0) < 1e-9, "{fit:?}");
    assert!(fit.sigma < 1e-9 && fit.kappa < 1e-12, "{fit:?}");
    assert!(fit.r_squared > 0.999_999_999);
}

#[test]
fn usl_predict_follows_the_formula() {
    let fit = usl_fit(&synthetic(&NS, (1000.0, 0.05, 0.0008), |_| 0.0)).unwrap();
    for n in [1.0, 10.0, 34.0, 100.0] {
        let want = usl(fit.lambda, fit.sigma, fit.kappa, n);
        assert!(rel_err(usl_predict(&fit, n), want) < 1e-12);
    }
    let undefined = UslFit {
        lambda: 1.0,
        sigma: 1.0,
        kappa: 0.0,
        r_squared: 1.0,
        peak_n: None,
        peak_x: None,
    };
    assert!(usl_predict(&undefined, 0.0).is_nan());
}

#[test]
fn usl_fit_rejects_degenerate_input() {
    let ok = synthetic(&NS, (1000.0, 0.05, 0.0008), |_| 0.0);
    let cases: Vec<(&str, Vec<(f64, f64)>)> = vec![
        ("empty", vec![]),
        ("two points", ok[..2].to_vec()),
        (
            "two distinct n",
            vec![(1.0, 10.0), (2.0, 15.0), (2.0, 16.0), (1.0, 11.0)],
        ),
        ("nan throughput", [&ok[..5], &[(70.0, f64::NAN)]].concat()),
        ("infinite n", [&ok[..5], &[(f64::INFINITY, 1.0)]].concat()),
        ("zero n", [&ok[..5], &[(0.0, 1.0)]].concat()),
        ("negative throughput", [&ok[..5], &[(70.0, -1.0)]].concat()),
        (
            "constant throughput",
            NS.iter().map(|&n| (n, 42.0)).collect(),
        ),
        (
            "all zero throughput",
            NS.iter().map(|&n| (n, 0.0)).collect(),
        ),
    ];
    for (name, points) in cases {
        assert_eq!(usl_fit(&points), None, "{name}");
    }
}

#[test]
fn littles_law_multiplies_rate_by_latency() {
    assert_eq!(littles_law_concurrency(200.0, 0.05), Some(10.0));
    assert_eq!(littles_law_concurrency(0.0, 0.05), Some(0.0));
    assert_eq!(littles_law_concurrency(-1.0, 0.05), None);
    assert_eq!(littles_law_concurrency(10.0, f64::NAN), None);
    assert_eq!(littles_law_concurrency(f64::INFINITY, 1.0), None);
}
