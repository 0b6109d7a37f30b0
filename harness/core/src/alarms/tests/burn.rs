//! Multiwindow, multi-burn-rate alerts against hand-computed firing times.

use super::super::*;
use crate::measure::{CallOutcome, Recorder};

/// 600 s at 100 calls/s; seconds 300 to 359 fail 2% of calls (burn rate 20 on a 99.9%
/// objective).
fn incident() -> Vec<(u64, u64)> {
    (0..600)
        .map(|t| (100, if (300..360).contains(&t) { 2 } else { 0 }))
        .collect()
}

fn close(got: f64, want: f64) -> bool {
    (got - want).abs() < 1e-9 * want.abs().max(1.0)
}

#[test]
fn windows_scale_and_round_up_to_one_second() {
    let windows = |scale| -> Vec<(u64, u64)> {
        burn_rate_alerts(0.001, &[], scale)
            .iter()
            .map(|r| (r.long_window_s, r.short_window_s))
            .collect()
    };
    assert_eq!(
        windows(1.0),
        [
            (3_600, 300),
            (21_600, 1_800),
            (86_400, 7_200),
            (259_200, 21_600)
        ]
    );
    assert_eq!(
        windows(1.0 / 60.0),
        [(60, 5), (360, 30), (1_440, 120), (4_320, 360)]
    );
    assert_eq!(windows(1e-6), [(1, 1); 4]);
}

#[test]
fn an_incident_fires_the_alerts_whose_both_windows_burn_fast_enough() {
    let results = burn_rate_alerts(0.001, &incident(), 1.0 / 60.0);
    let summary: Vec<(Severity, f64, bool, Option<f64>, bool)> = results
        .iter()
        .map(|r| {
            (
                r.severity,
                r.factor,
                r.fired,
                r.first_fired_s,
                r.window_exceeds_run,
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            // 60 s window: 44 failing seconds of 60 give 14.67 > 14.4.
            (Severity::Page, 14.4, true, Some(344.0), false),
            // 360 s window: at most 120 failures in 36,000 calls, a burn of 3.3 < 6.
            (Severity::Page, 6.0, false, None, false),
            // Longer than the run: the window holds seconds 0..353, a burn just over 3.
            (Severity::Ticket, 3.0, true, Some(353.0), true),
            (Severity::Ticket, 1.0, true, Some(316.0), true),
        ]
    );
    assert!(close(results[0].max_long_burn, 20.0));
    assert!(close(results[0].max_short_burn, 20.0));
    assert!(close(results[1].max_long_burn, 10.0 / 3.0));
    assert!(close(results[1].max_short_burn, 20.0));
    assert!(close(results[2].max_short_burn, 10.0));
    assert!(close(results[3].max_long_burn, 10.0 / 3.0));
}

#[test]
fn a_burn_just_below_the_factor_never_pages() {
    // 1.4% errors on a 0.1% budget: a steady burn of 14, under the 14.4 page.
    let steady = vec![(1_000, 14); 100];
    let results = burn_rate_alerts(0.001, &steady, 1.0 / 60.0);
    let fired: Vec<(bool, Option<f64>)> =
        results.iter().map(|r| (r.fired, r.first_fired_s)).collect();
    assert_eq!(
        fired,
        [
            (false, None),
            (true, Some(1.0)),
            (true, Some(1.0)),
            (true, Some(1.0))
        ]
    );
    assert!(close(results[0].max_long_burn, 14.0));
}

#[test]
fn no_calls_burn_nothing_and_a_zero_budget_stays_finite() {
    let idle = burn_rate_alerts(0.001, &[(0, 0); 10], 1.0);
    assert!(idle.iter().all(|r| !r.fired && r.max_long_burn == 0.0));
    let strict = burn_rate_alerts(0.0, &[(10, 1)], 1.0);
    assert!(
        strict
            .iter()
            .all(|r| r.fired && r.max_short_burn.is_finite())
    );
    assert!(close(strict[0].max_short_burn, 0.1 / MIN_ERROR_BUDGET));
    let json = serde_json::to_value(&strict[0]).expect("serializes");
    assert_eq!(json["severity"], "page");
}

#[test]
fn error_counts_read_a_window_for_one_tool_or_all() {
    let mut r = Recorder::default();
    r.record("sql", CallOutcome::Ok, 1_000, 1, true);
    r.record("sql", CallOutcome::RateLimited, 1_000, 1, true);
    r.record("echo", CallOutcome::ToolError, 1_000, 2, true);
    assert_eq!(
        error_counts(&r.seconds, 1..5, None),
        [(2, 1), (1, 1), (0, 0), (0, 0)]
    );
    assert_eq!(
        error_counts(&r.seconds, 0..3, Some("sql")),
        [(0, 0), (2, 1), (0, 0)]
    );
}
