//! The timeout verdict from calls built by hand.

use std::time::Duration;

use super::*;
use crate::verdict::probes::testing::{call, lost, op};

/// A 5 s deadline ±250 ms.
fn probe(with_check: bool) -> TimeoutProbe {
    TimeoutProbe {
        op: op(),
        tolerance: Duration::from_millis(250),
        expect: Duration::from_secs(5),
        cancelled: with_check.then(|| crate::spec::probes::CancelCheck {
            op: op(),
            count: "/running".into(),
            within: Duration::from_secs(2),
        }),
    }
}

fn record(call: ProbeCall, cancelled: Option<Result<Duration, String>>) -> TimeoutRecord {
    TimeoutRecord { call, cancelled }
}

#[test]
fn a_timeout_error_at_the_deadline_with_its_work_cancelled_passes() {
    let r = judge_timeout(
        "local",
        &probe(true),
        &record(
            call(0, 0, 5_040, CallOutcome::TimedOut),
            Some(Ok(Duration::from_millis(300))),
        ),
    );
    assert!(r.passed, "{:?}", r.failures);
    assert_eq!(r.measured_value, 5_040.0);
    assert!((r.figures["off_by_ms"] - 40.0).abs() < 1e-9);
    assert_eq!(r.figures["cancelled_after_ms"], 300.0);
    assert_eq!(
        r.measured,
        "timed_out after 5040 ms, backend work gone after 300 ms"
    );
}

#[test]
fn a_late_success_fails_twice_over() {
    let r = judge_timeout(
        "local",
        &probe(false),
        &record(call(0, 0, 7_000, CallOutcome::Ok), None),
    );
    assert_eq!(
        r.failures,
        vec![
            "timeout: the call ended after 7000 ms as ok (ok), expected a timeout error at the declared timeout_ms 5000".to_owned(),
            "timeout: the call ended +2000 ms from the declared timeout_ms 5000 (tolerance ±250 ms)".to_owned(),
        ]
    );
}

#[test]
fn the_clients_own_timeout_is_not_the_servers_deadline() {
    let r = judge_timeout(
        "local",
        &probe(false),
        &record(lost(call(0, 0, 5_000, CallOutcome::TimedOut)), None),
    );
    assert!(!r.passed);
    assert_eq!(r.failures.len(), 1, "{:?}", r.failures);
    assert!(
        r.failures[0].contains("as timed_out (connection reset), expected a timeout error"),
        "{}",
        r.failures[0]
    );
}

#[test]
fn backend_work_left_running_fails() {
    let r = judge_timeout(
        "local",
        &probe(true),
        &record(
            call(0, 0, 5_000, CallOutcome::TimedOut),
            Some(Err("after 2000 ms the check still says /running = 1".into())),
        ),
    );
    assert_eq!(
        r.failures,
        vec![
            "timeout: the backend work was not cancelled: after 2000 ms the check still says /running = 1"
        ]
    );
    assert!(r.measured.ends_with(", backend work still running"));
    assert!(!r.figures.contains_key("cancelled_after_ms"));
}
