use super::*;
use crate::measure::{CallOutcome, Recorder};

/// 1000 calls: latencies 1..=1000 ms, 10 seconds of 100 calls; 2 tool errors in second 3.
pub(crate) fn known() -> Measurements {
    let mut r = Recorder::default();
    for i in 0..1000u64 {
        let outcome = if i == 300 || i == 301 {
            CallOutcome::ToolError
        } else {
            CallOutcome::Ok
        };
        r.record("t", outcome, (i + 1) * 1000, (i / 100) as usize, true);
    }
    Measurements {
        recorder: r,
        recorded_window: (0, 10),
        recorded_seconds: 10.0,
    }
}

#[test]
fn percentiles_of_a_known_histogram() {
    let m = known();
    let s = summary(&m.recorder.overall(), m.recorded_seconds);
    assert_eq!(s.latency.count, 1000);
    // 3 significant digits: values are exact to 0.1%.
    assert!(
        (s.latency.p50_us as f64 - 500_000.0).abs() <= 500.0,
        "{}",
        s.latency.p50_us
    );
    assert!(
        (s.latency.p99_us as f64 - 990_000.0).abs() <= 990.0,
        "{}",
        s.latency.p99_us
    );
    assert_eq!(s.outcomes.tool_error, 2);
    assert!((s.error_rate - 0.002).abs() < 1e-12);
    assert!((s.throughput - 99.8).abs() < 1e-9);
}

#[test]
fn histograms_round_trip() {
    let m = known();
    let h = m.recorder.overall().latency;
    let back = decode_histogram(&encode_histogram(&h)).unwrap();
    assert_eq!(back.len(), h.len());
    assert_eq!(back.value_at_quantile(0.99), h.value_at_quantile(0.99));
}

#[test]
fn periods_keep_or_drop_the_trailing_short_one() {
    assert_eq!(periods(3..10, 3, true), vec![3..6, 6..9, 9..10]);
    assert_eq!(periods(3..10, 3, false), vec![3..6, 6..9]);
    assert_eq!(periods(0..6, 3, false), vec![0..3, 3..6]);
    assert_eq!(
        periods(0..2, 0, false),
        vec![0..1, 1..2],
        "a period is at least 1 s"
    );
    assert!(periods(5..5, 2, true).is_empty());
}

#[test]
fn trailing_error_ratios_cover_what_there_is() {
    // (total, failed) per second.
    let e = TrailingErrors::new(&[(10, 0), (10, 5), (0, 0), (20, 10)]);
    assert_eq!(e.len(), 4);
    assert_eq!(e.ratio(1, 1), 0.0);
    assert_eq!(e.ratio(2, 1), 0.5);
    assert_eq!(
        e.ratio(2, 60),
        0.25,
        "reaches back to the first second only"
    );
    assert_eq!(e.ratio(3, 1), 0.0, "a second without calls");
    assert_eq!(e.ratio(4, 2), 0.5);
    assert_eq!(e.ratio(4, 4), 15.0 / 40.0);
}

#[test]
fn ratios_ranks_and_changes() {
    assert_eq!(ratio(1, 4), 0.25);
    assert_eq!(ratio(3, 0), 0.0);
    assert_eq!(nearest_rank(50.0, 10), 5);
    assert_eq!(nearest_rank(99.0, 10), 10);
    assert_eq!(nearest_rank(0.0, 10), 1);
    assert_eq!(relative_change(100.0, 110.0), 0.1);
    assert_eq!(relative_change(0.0, 1.0), f64::INFINITY);
    assert_eq!(relative_change(0.0, 0.0), 0.0);
    assert_eq!(mean([1.0, 2.0, 6.0]), 3.0);
    assert_eq!(mean(std::iter::empty()), 0.0);
    let h = crate::measure::growing_histogram(3);
    assert_eq!((percentile(&h, 99.0), max(&h)), (0, 0), "empty");
}

fn point(t: u32, recorded: bool, calls: u64, p50_us: u64, p99_us: u64) -> TimelinePoint {
    TimelinePoint {
        t,
        recorded,
        offered: 10,
        outcomes: Outcomes {
            ok: calls,
            ..Outcomes::default()
        },
        p50_us,
        p95_us: p99_us,
        p99_us,
        max_us: p99_us * 2,
        tools: Default::default(),
        stall_us: 0,
    }
}

#[test]
fn timeline_buckets_average_rates_and_keep_the_worst_tail() {
    // Out of order on purpose; second 2 had no calls.
    let timeline = vec![
        point(3, true, 8, 4_000, 9_000),
        point(0, false, 10, 1_000, 2_000),
        point(2, true, 0, 0, 0),
        point(1, true, 6, 3_000, 5_000),
    ];
    let (one, k) = timeline_buckets(&timeline, 10);
    assert_eq!(k, 1);
    assert_eq!(
        one.iter().map(|b| b.t).collect::<Vec<_>>(),
        [0.0, 1.0, 2.0, 3.0]
    );
    let (two, k) = timeline_buckets(&timeline, 2);
    assert_eq!((two.len(), k), (2, 2));
    let (first, second) = (&two[0], &two[1]);
    assert_eq!((first.t, first.width, first.recorded), (0.0, 2.0, true));
    assert_eq!(first.outcomes[0], 8.0, "ok calls per second, averaged");
    assert_eq!(first.calls, 16);
    assert_eq!(first.p50_ms, 2.0, "the mean of the seconds' p50s");
    assert_eq!((first.p99_ms, first.max_ms), (5.0, 10.0), "the highest");
    assert_eq!(second.p50_ms, 4.0, "a second without calls does not count");
    assert_eq!(second.offered, 10.0);
}

#[test]
fn medians_of_odd_even_and_no_values() {
    assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
    assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
    assert_eq!(median(&[]), 0.0);
}

#[test]
fn the_theil_sen_slope_follows_the_trend_and_not_an_outlier() {
    let line: Vec<(f64, f64)> = (0..20).map(|x| (x as f64, 3.0 + 0.5 * x as f64)).collect();
    assert!((theil_sen_slope(&line) - 0.5).abs() < 1e-12);
    let mut spiked = line.clone();
    spiked[10].1 += 1000.0;
    assert!((theil_sen_slope(&spiked) - 0.5).abs() < 1e-12);
    let flat_after_step: Vec<(f64, f64)> = (0..20).map(|x| (x as f64, 32.0)).collect();
    assert_eq!(theil_sen_slope(&flat_after_step), 0.0);
    assert_eq!(theil_sen_slope(&[(1.0, 2.0)]), 0.0);
    assert_eq!(theil_sen_slope(&[(1.0, 2.0), (1.0, 9.0)]), 0.0);
    // A day of samples is thinned to a thousand points, the trend kept.
    let day: Vec<(f64, f64)> = (0..86_400).map(|x| (x as f64, 0.25 * x as f64)).collect();
    assert!((theil_sen_slope(&day) - 0.25).abs() < 1e-12);
}
