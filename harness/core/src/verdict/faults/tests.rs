use super::*;
use crate::measure::Recorder;
use crate::verdict::RunFacts;

/// A 10 s run at 100 calls/s: `bad` seconds have the given outcome for `n` of their calls.
fn run(bad: &[(usize, CallOutcome, u64)]) -> Measurements {
    let mut r = Recorder::default();
    for s in 0..10 {
        let failed: u64 = bad
            .iter()
            .filter(|(b, _, _)| *b == s)
            .map(|(_, o, n)| {
                for _ in 0..*n {
                    r.record("q", *o, 2000, s, true);
                }
                *n
            })
            .sum();
        for _ in failed..100 {
            r.record("q", CallOutcome::Ok, 1000, s, true);
        }
    }
    Measurements {
        recorder: r,
        recorded_window: (0, 10),
        recorded_seconds: 10.0,
    }
}

fn window(name: &str, started_ms: u64, ended_ms: Option<u64>) -> FaultWindow {
    FaultWindow {
        name: name.into(),
        kind: "run".into(),
        started_ms,
        ended_ms,
        error: None,
    }
}

#[test]
fn recovery_is_the_time_from_the_fault_end_to_the_first_second_back() {
    // A restart from 3.2 s to 4.4 s: seconds 3-5 fail, 6 is back.
    let m = run(&[
        (3, CallOutcome::ToolError, 40),
        (4, CallOutcome::ToolError, 100),
        (5, CallOutcome::ToolError, 5),
    ]);
    let windows = [window("pg", 3200, Some(4400))];
    let faults = RunFacts {
        windows: &windows,
        offered_calls: Some(1000),
        ..RunFacts::default()
    };
    let r = recovery(&m, None, faults, ("pg", 2000, 0.99));
    assert_eq!(r.measured_value, 1600.0, "{}", r.measured);
    assert!(r.passed);
    assert!(!recovery(&m, None, faults, ("pg", 1500, 0.99)).passed);
    // At 95 %, second 5 (95 of 100) is already back: 600 ms after 4.4 s.
    assert_eq!(
        recovery(&m, None, faults, ("pg", 2000, 0.95)).measured_value,
        600.0
    );
    let detail = r.detail.unwrap_or_default();
    assert!(
        detail.contains("pg (3s-5s): 300 calls, 145 tool_error"),
        "{detail}"
    );
}

#[test]
fn recovery_fails_when_the_fault_never_ended_never_ran_or_calls_never_came_back() {
    let m = run(&[
        (8, CallOutcome::ToolError, 50),
        (9, CallOutcome::ToolError, 50),
    ]);
    let mut never = window("pg", 7000, None);
    never.error = Some("exit status 1: pg_ctlcluster: not found".into());
    let windows = [never, window("redis", 7000, Some(7500))];
    let faults = RunFacts {
        windows: &windows,
        offered_calls: None,
        ..RunFacts::default()
    };
    let r = recovery(&m, None, faults, ("pg", 5000, 0.99));
    assert!(!r.passed);
    assert_eq!(r.measured, "the fault never ended");
    assert_eq!(
        r.detail.as_deref(),
        Some("exit status 1: pg_ctlcluster: not found")
    );
    let r = recovery(&m, None, faults, ("other", 5000, 0.99));
    assert_eq!(
        (r.passed, r.measured.as_str()),
        (false, "the fault did not happen")
    );
    // Second 7 is back at once (the fault ended in it), but not after a later fault.
    assert!(recovery(&m, None, faults, ("redis", 5000, 0.99)).passed);
    let late = [window("late", 8000, Some(8100))];
    let r = recovery(
        &m,
        None,
        RunFacts {
            windows: &late,
            offered_calls: None,
            ..RunFacts::default()
        },
        ("late", 5000, 0.99),
    );
    assert_eq!(
        (r.passed, r.measured.as_str()),
        (false, "not back by the end of the run")
    );
}

#[test]
fn answered_counts_hung_and_lost_calls_and_leaves_out_excepted_faults() {
    let m = run(&[
        (4, CallOutcome::Unanswered, 3),
        (4, CallOutcome::TransportError, 7),
    ]);
    let windows = [window("crash", 3900, Some(4200))];
    let faults = RunFacts {
        windows: &windows,
        offered_calls: Some(1000),
        ..RunFacts::default()
    };
    let a = answered(&m, None, faults, &[]);
    assert!(!a.passed);
    assert_eq!(a.measured, "3 unanswered of 1000 calls, 0 lost");
    // Leaving the crash out leaves out seconds 3 to 5.
    let a = answered(&m, None, faults, &["crash".to_owned()]);
    assert!(a.passed, "{}", a.measured);
    assert_eq!(a.measured, "0 unanswered of 700 calls, 0 lost");
    // Offered calls with no recorded answer are lost, whatever was left out.
    let lossy = RunFacts {
        windows: &windows,
        offered_calls: Some(1004),
        ..RunFacts::default()
    };
    let a = answered(&m, None, lossy, &["crash".to_owned()]);
    assert_eq!((a.passed, a.measured_value), (false, 4.0));
}

#[test]
fn clean_errors_fail_on_transport_errors_only() {
    let clean = run(&[
        (2, CallOutcome::ToolError, 20),
        (2, CallOutcome::Overloaded, 5),
        (2, CallOutcome::RateLimited, 5),
        (2, CallOutcome::TimedOut, 5),
    ]);
    let none = RunFacts::default();
    let c = clean_errors(&clean, None, none, &[]);
    assert!(c.passed, "{}", c.measured);
    assert_eq!(
        c.measured,
        "0 of 35 failed calls without a clean answer (reset, refused, bare 5xx)"
    );
    let dirty = run(&[
        (2, CallOutcome::ToolError, 20),
        (6, CallOutcome::TransportError, 2),
    ]);
    let c = clean_errors(&dirty, None, none, &[]);
    assert_eq!((c.passed, c.measured_value), (false, 2.0));
    // Judged for one tool: another tool's calls do not count.
    let c = clean_errors(&dirty, Some("other"), none, &[]);
    assert!(
        !c.passed,
        "no calls of the tool: nothing shows the errors were clean"
    );
}
