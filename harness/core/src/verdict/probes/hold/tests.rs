//! The in-flight and concurrency verdicts from calls built by hand.

use std::time::Duration;

use super::*;
use crate::verdict::probes::testing::{call, lost, op};

/// A cap of 4, 2 extra calls, refusals within 50 ms.
fn in_flight_probe() -> InFlightProbe {
    InFlightProbe {
        op: op(),
        extra: 2,
        at_once: Duration::from_millis(50),
        expect: 4,
        rate_limit: None,
    }
}

/// 4 held calls from 0 to 2 s, the extras sent at 500 ms and refused after 3 ms each.
fn held_and_refused() -> InFlightRecord {
    InFlightRecord {
        held: (0..4).map(|k| call(0, k, 2_000, CallOutcome::Ok)).collect(),
        extra: (0..2)
            .map(|_| call(1, 500, 503, CallOutcome::Overloaded))
            .collect(),
        extras_sent: Duration::from_millis(500),
        extras_done: Duration::from_millis(503),
        server_in_flight: Some(4.0),
    }
}

#[test]
fn in_flight_passes_when_exactly_the_cap_is_admitted_and_the_rest_refused_at_once() {
    let r = judge_in_flight("local", &in_flight_probe(), &held_and_refused());
    assert!(r.passed, "{:?}", r.failures);
    assert_eq!(r.measured_value, 4.0);
    assert_eq!(r.figures["extra_overloaded"], 2.0);
    assert_eq!(r.figures["slowest_refusal_ms"], 3.0);
    assert_eq!(r.figures["server_in_flight_seen"], 4.0);
    assert_eq!(r.figures["held_ok"], 4.0);
    assert!(r.measured.ends_with("server gauge 4"), "{}", r.measured);
}

#[test]
fn in_flight_says_by_how_much_an_admitted_extra_went_over_the_cap() {
    let mut rec = held_and_refused();
    rec.extra[0] = call(1, 500, 2_100, CallOutcome::Ok);
    rec.extras_done = Duration::from_millis(2_100);
    let r = judge_in_flight("local", &in_flight_probe(), &rec);
    assert!(!r.passed);
    assert_eq!(r.measured_value, 5.0);
    assert_eq!(
        r.failures,
        vec![
            "in-flight cap: 5 calls admitted at once, declared max_inflight_requests 4: at least 1 over (+25.0% over the declared cap)"
        ]
    );
}

#[test]
fn in_flight_fails_when_held_calls_under_the_cap_are_refused() {
    let mut rec = held_and_refused();
    rec.held[3] = call(0, 3, 5, CallOutcome::Overloaded);
    let r = judge_in_flight("local", &in_flight_probe(), &rec);
    assert!(!r.passed);
    assert_eq!(r.failures.len(), 1, "{:?}", r.failures);
    assert_eq!(
        r.failures[0],
        "in-flight cap: only 3 of the first 4 calls were admitted, declared max_inflight_requests 4: 1 under; refusals: server overloaded"
    );
}

#[test]
fn in_flight_fails_on_refusals_of_the_wrong_kind_and_slow_refusals() {
    let mut rec = held_and_refused();
    rec.extra[0] = call(1, 500, 501, CallOutcome::RateLimited);
    rec.extra[1] = call(1, 500, 620, CallOutcome::Overloaded);
    rec.extras_done = Duration::from_millis(620);
    let r = judge_in_flight("local", &in_flight_probe(), &rec);
    assert_eq!(
        r.failures,
        vec![
            "1 calls over the cap were refused other than as overloaded: rate limited".to_owned(),
            "overloaded refusals took up to 120 ms, expected at once (within 50 ms)".to_owned(),
        ]
    );
}

#[test]
fn in_flight_is_inconclusive_when_held_calls_end_before_the_extras_are_answered() {
    let mut rec = held_and_refused();
    rec.held[0] = call(0, 0, 400, CallOutcome::Ok);
    let r = judge_in_flight("local", &in_flight_probe(), &rec);
    assert!(!r.passed);
    assert_eq!(
        r.failures,
        vec![
            "inconclusive: 1 held calls ended before the extra calls were answered; use a slower op"
        ]
    );
}

#[test]
fn in_flight_without_a_gauge_says_it_was_not_read() {
    let mut rec = held_and_refused();
    rec.server_in_flight = None;
    let r = judge_in_flight("local", &in_flight_probe(), &rec);
    assert!(r.passed, "{:?}", r.failures);
    assert!(!r.figures.contains_key("server_in_flight_seen"));
    assert!(
        r.measured.ends_with("server gauge not read"),
        "{}",
        r.measured
    );
}

/// 20 calls of 100 ms through 5 slots: 4 rounds, 400 ms ±10%.
fn concurrency_probe() -> ConcurrencyProbe {
    ConcurrencyProbe {
        op: op(),
        duration: Duration::from_millis(100),
        calls: 20,
        tolerance: 0.1,
        expect: 5,
    }
}

/// 20 calls sent at once, `at_once` of them running together, each 100 ms.
fn ran(at_once: u64) -> Vec<ProbeCall> {
    (0..20)
        .map(|k| call(0, 0, (k / at_once + 1) * 100, CallOutcome::Ok))
        .collect()
}

#[test]
fn concurrency_passes_when_the_calls_take_their_rounds_through_the_slots() {
    let rec = ConcurrencyRecord {
        calls: ran(5),
        server_peak_before: Some(0.0),
        server_peak: Some(5.0),
    };
    let r = judge_concurrency("local", &concurrency_probe(), &rec);
    assert!(r.passed, "{:?}", r.failures);
    assert_eq!(r.measured_value, 0.4);
    assert_eq!(r.expected_value, 0.4);
    assert_eq!(r.figures["effective_concurrency"], 5.0);
    assert_eq!(r.figures["server_peak"], 5.0);
    assert_eq!(r.figures["outcome_ok"], 20.0);
}

#[test]
fn concurrency_says_how_many_ran_at_once_when_the_cap_did_not_hold() {
    let rec = ConcurrencyRecord {
        calls: ran(10),
        server_peak_before: None,
        server_peak: None,
    };
    let r = judge_concurrency("local", &concurrency_probe(), &rec);
    assert!(!r.passed);
    assert_eq!(
        r.failures,
        vec![
            "concurrency cap: 20 calls of 100 ms took 0.20 s, expected 0.40 s (4 rounds through 5 slots) ±10%: -50.0% off, as if about 10 ran at once, declared max_concurrent 5"
        ]
    );
    assert!(
        r.measured.ends_with("server peak not read"),
        "{}",
        r.measured
    );
}

#[test]
fn concurrency_fails_on_the_servers_own_peak_and_on_failed_calls() {
    let mut calls = ran(5);
    calls[7] = lost(call(0, 0, 100, CallOutcome::TransportError));
    let rec = ConcurrencyRecord {
        calls,
        server_peak_before: None,
        server_peak: Some(6.0),
    };
    let r = judge_concurrency("local", &concurrency_probe(), &rec);
    assert_eq!(
        r.failures,
        vec![
            "concurrency cap: the server's own gauge mcp_tool_executions_peak reached 6, declared max_concurrent 5 (+1)".to_owned(),
            "1 of 20 calls did not succeed: connection reset".to_owned(),
        ]
    );
}
