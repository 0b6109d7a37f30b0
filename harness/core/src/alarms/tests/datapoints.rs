//! Datapoints from a synthetic recorder. The run: a warm-up second 0 (all sql calls fail),
//! then the recorded window, seconds 2 to 9, read in 3-second periods:
//! - second 2: sql 99 ok at 10 ms and 1 timed out at 5 s; echo 100 ok at 1 ms;
//! - second 4: sql 100 ok at 20 ms;
//! - seconds 5 to 7: no calls (a missing period);
//! - second 8: one echo call, in a trailing partial period that is dropped.

use std::num::NonZeroU32;

use super::super::*;
use crate::measure::{CallOutcome, Measurements, Recorder};

fn run() -> Measurements {
    let mut r = Recorder::default();
    for _ in 0..10 {
        r.record("sql", CallOutcome::TransportError, 1_000, 0, false);
    }
    for _ in 0..99 {
        r.record("sql", CallOutcome::Ok, 10_000, 2, true);
    }
    r.record("sql", CallOutcome::TimedOut, 5_000_000, 2, true);
    for _ in 0..100 {
        r.record("echo", CallOutcome::Ok, 1_000, 2, true);
        r.record("sql", CallOutcome::Ok, 20_000, 4, true);
    }
    r.record("echo", CallOutcome::Ok, 1_000, 8, true);
    Measurements {
        recorder: r,
        recorded_window: (2, 9),
        recorded_seconds: 7.0,
    }
}

fn alarm(metric: Metric, statistic: Statistic, tool: Option<&str>) -> Alarm {
    Alarm {
        name: "a".into(),
        metric,
        threshold: 0.01,
        comparison: Comparison::GreaterThanThreshold,
        evaluation_periods: 1,
        datapoints_to_alarm: 1,
        period_s: 60,
        statistic,
        treat_missing_data: MissingData::Missing,
        tool: tool.map(str::to_owned),
        alarm_action: None,
    }
}

const PERIOD: NonZeroU32 = NonZeroU32::new(3).expect("non-zero");

fn values(a: &Alarm) -> Vec<Option<f64>> {
    run_datapoints(a, &run(), PERIOD)
        .iter()
        .map(|p| p.value)
        .collect()
}

fn close(got: Option<f64>, want: f64) -> bool {
    got.is_some_and(|g| (g - want).abs() <= want.abs() * 0.01)
}

#[test]
fn periods_align_to_the_window_and_drop_the_partial_one() {
    let a = alarm(Metric::ErrorRate, Statistic::Average, None);
    let points = run_datapoints(&a, &run(), PERIOD);
    assert_eq!(
        points,
        [
            Datapoint {
                t_start_s: 2.0,
                value: Some(1.0 / 300.0),
                samples: 300,
            },
            Datapoint {
                t_start_s: 5.0,
                value: None,
                samples: 0,
            },
        ]
    );
    // A window that ends inside the recorder's seconds, or beyond them.
    let m = run();
    assert_eq!(datapoints(&a, &m.recorder.seconds, 0..3, PERIOD).len(), 1);
    let beyond = datapoints(&a, &m.recorder.seconds, 6..15, PERIOD);
    let beyond: Vec<(f64, u64)> = beyond.iter().map(|p| (p.t_start_s, p.samples)).collect();
    assert_eq!(beyond, [(6.0, 1), (9.0, 0), (12.0, 0)]);
}

#[test]
fn error_rate_statistics_treat_each_call_as_a_0_or_1_sample() {
    let cases = [
        (Statistic::Average, 1.0 / 300.0),
        (Statistic::Sum, 1.0),
        (Statistic::SampleCount, 300.0),
        (Statistic::Minimum, 0.0),
        (Statistic::Maximum, 1.0),
        (Statistic::Percentile(99.0), 0.0),
        (Statistic::Percentile(99.9), 1.0),
    ];
    for (statistic, want) in cases {
        let got = values(&alarm(Metric::ErrorRate, statistic, None));
        assert_eq!(got, [Some(want), None], "{statistic}");
    }
}

#[test]
fn per_tool_error_rate_counts_only_that_tools_calls() {
    let sql = values(&alarm(Metric::ErrorRate, Statistic::Average, Some("sql")));
    assert_eq!(sql, [Some(1.0 / 200.0), None]);
    let echo = values(&alarm(Metric::ErrorRate, Statistic::Average, Some("echo")));
    assert_eq!(echo, [Some(0.0), None]);
    let nobody = values(&alarm(Metric::ErrorRate, Statistic::Average, Some("nope")));
    assert_eq!(nobody, [None, None]);
}

#[test]
fn latency_statistics_are_milliseconds_per_period_and_tool() {
    let sql = |s| values(&alarm(Metric::Latency, s, Some("sql")))[0];
    assert!(
        close(sql(Statistic::Percentile(99.0)), 20.0),
        "{:?}",
        sql(Statistic::Percentile(99.0))
    );
    assert!(close(sql(Statistic::Percentile(99.9)), 5_000.0));
    assert!(close(sql(Statistic::Maximum), 5_000.0));
    assert!(close(sql(Statistic::Minimum), 10.0));
    assert!(close(sql(Statistic::Average), 7_990.0 / 200.0));
    assert!(close(sql(Statistic::Sum), 7_990.0));
    assert_eq!(sql(Statistic::SampleCount), Some(200.0));
    let echo = values(&alarm(
        Metric::Latency,
        Statistic::Percentile(99.0),
        Some("echo"),
    ));
    assert!(close(echo[0], 1.0));
    assert_eq!(echo[1], None, "no calls, no datapoint");
    // All tools: 300 calls, of which the slowest 1 is the timed-out sql call.
    let all = values(&alarm(Metric::Latency, Statistic::Percentile(99.0), None));
    assert!(close(all[0], 20.0));
    let all_max = values(&alarm(Metric::Latency, Statistic::Maximum, None));
    assert!(close(all_max[0], 5_000.0));
}

#[test]
fn datapoints_feed_the_evaluation() {
    let mut a = alarm(Metric::ErrorRate, Statistic::Average, Some("sql"));
    a.threshold = 0.004;
    let points = run_datapoints(&a, &run(), PERIOD);
    let t = timeline(&a, &points, PERIOD);
    let states: Vec<(f64, AlarmState)> = t.states.iter().map(|s| (s.t_end_s, s.state)).collect();
    // 0.5% > 0.4% at the end of second 5; the next period has no calls but the range
    // still holds that datapoint, so it is evaluated again.
    assert_eq!(states, [(5.0, AlarmState::Alarm), (8.0, AlarmState::Alarm)]);
    assert_eq!(t.first_alarm_s, Some(5.0));
}
