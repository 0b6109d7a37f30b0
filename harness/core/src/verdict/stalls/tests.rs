use super::*;
use crate::measure::CallOutcome;
use crate::result::Verdict;
use crate::spec::{Objective, ObjectiveKind};
use crate::verdict::{objectives::evaluate, verdict_of};

/// 30 recorded seconds of 40 `s3` calls at 20 ms; in second 20, `slow` of them took 220 ms.
/// The stall meter woke 0.1 ms late each second but those in `stalls` (µs).
fn run(slow: u64, stalls: &[(usize, u64)]) -> Measurements {
    let mut r = Recorder::default();
    for t in 0..30 {
        for i in 0..40 {
            let late = t == 20 && i < slow;
            r.record(
                "s3",
                CallOutcome::Ok,
                if late { 220_000 } else { 20_000 },
                t,
                true,
            );
        }
    }
    let mut meter = crate::measure::StallReading::default();
    for t in 0..30 {
        let stall = stalls.iter().find(|(at, _)| *at == t).map(|(_, us)| *us);
        meter.record(t, stall.unwrap_or(100));
    }
    r.add_stall_meter(&meter);
    Measurements {
        recorder: r,
        recorded_window: (0, 30),
        recorded_seconds: 30.0,
    }
}

fn p99_below_100ms() -> Objective {
    Objective {
        name: "latency p99 < 100ms [s3]".into(),
        tool: Some("s3".into()),
        kind: ObjectiveKind::Latency {
            percentile: 99.0,
            below_us: 100_000,
        },
    }
}

#[test]
fn a_latency_line_that_fails_only_in_a_stalled_second_is_inconclusive() {
    // 20 slow calls of 1200: p99 = 220 ms, all of them in the second the machine stalled.
    let m = run(20, &[(20, 223_000)]);
    let line = evaluate(&p99_below_100ms(), &m);
    assert!(!line.passed);
    assert_eq!(line.measured, "p99 = 220.0ms");
    let why = line.inconclusive.clone().expect("inconclusive");
    assert!(
        why.starts_with("the machine stalled: the stall meter, asleep for 1 ms, woke 223.0ms late at t=20s; without t=20s, 21s (2 of 30 s) p99 = 20.1ms (per-second record, 2 significant digits)"),
        "{why}"
    );
    assert_eq!(
        verdict_of(std::slice::from_ref(&line)),
        Verdict::Inconclusive
    );
    let info = machine(&m.recorder, m.recorded_window).expect("the meter ran");
    assert_eq!(info.stalls, [Stall { t: 20, us: 223_000 }]);
    assert_eq!(info.wake_lateness_us.p50, 100);
}

#[test]
fn without_a_stall_or_with_a_slow_server_the_line_fails() {
    // The same slow second, the machine running: the server was slow.
    let line = evaluate(&p99_below_100ms(), &run(20, &[]));
    assert!(!line.passed && line.inconclusive.is_none());
    assert_eq!(verdict_of(&[line]), Verdict::Fail);
    // A stall elsewhere does not excuse it: without t=5 and 6 the slow second is still there.
    let line = evaluate(&p99_below_100ms(), &run(20, &[(5, 50_000)]));
    assert!(!line.passed && line.inconclusive.is_none());
    // A stall under 10 ms is not one.
    let line = evaluate(&p99_below_100ms(), &run(20, &[(20, 9_000)]));
    assert!(line.inconclusive.is_none());
}

#[test]
fn the_longest_stalls_are_set_aside_first_and_only_as_many_as_it_takes() {
    // Short stalls in four other seconds: setting them all aside would be too much, but
    // the line passes without the longest one.
    let m = run(
        20,
        &[
            (3, 12_000),
            (9, 15_000),
            (14, 11_000),
            (20, 223_000),
            (25, 20_000),
        ],
    );
    let line = evaluate(&p99_below_100ms(), &m);
    let why = line.inconclusive.expect("inconclusive");
    assert!(
        why.starts_with("the machine stalled: the stall meter, asleep for 1 ms, woke 223.0ms late at t=20s; without t=20s, 21s (2 of 30 s)"),
        "{why}"
    );
}

#[test]
fn a_machine_that_stalls_often_fails_the_run_as_measured() {
    // Slow calls in two stalled seconds: set aside longest stall first, the seconds reach
    // more than a tenth of 30 before the line passes.
    let mut m = run(20, &[(20, 223_000), (24, 30_000), (2, 30_000), (9, 30_000)]);
    for _ in 0..20 {
        m.recorder.record("s3", CallOutcome::Ok, 220_000, 24, true);
    }
    let line = evaluate(&p99_below_100ms(), &m);
    assert!(!line.passed && line.inconclusive.is_none());
    // It still shows in the machine's reading.
    let info = machine(&m.recorder, m.recorded_window).expect("the meter ran");
    assert_eq!(info.stalls.len(), 4);
}

#[test]
fn one_conclusive_failure_fails_the_run() {
    let m = run(20, &[(20, 223_000)]);
    let spoilt = evaluate(&p99_below_100ms(), &m);
    let errors = evaluate(
        &Objective {
            name: "errors".into(),
            tool: None,
            kind: ObjectiveKind::ErrorRate {
                below: 0.0,
                first_attempt: false,
            },
        },
        &m,
    );
    assert!(!errors.passed && errors.inconclusive.is_none());
    assert_eq!(verdict_of(&[spoilt, errors]), Verdict::Fail);
}

#[test]
fn a_run_without_the_meter_reports_no_machine() {
    let mut m = run(0, &[]);
    m.recorder.machine_stalls = growing_histogram(2);
    assert!(machine(&m.recorder, m.recorded_window).is_none());
}
