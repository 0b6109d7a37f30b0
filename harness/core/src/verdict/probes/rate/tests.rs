//! The rate probe's verdict from calls built by hand: which seconds are judged, how far
//! each may be off, and what every excess call must have been answered with.

use std::time::Duration;

use serde_json::Value;

use super::*;
use crate::spec::args::ArgTemplate;
use crate::spec::ops::Method;
use crate::spec::probes::ProbeOp;

/// 100 calls/s declared globally, offered at 3x for 4 s by 2 callers.
fn probe(scope: RateScope) -> RateProbe {
    RateProbe {
        op: ProbeOp {
            tool: "rate_probe_no_such_tool".into(),
            method: Method::CallTool("rate_probe_no_such_tool".into()),
            args: ArgTemplate::Literal(Value::Object(Default::default())),
        },
        multiple: 3.0,
        window: Duration::from_secs(4),
        callers: 2,
        tolerance: 0.05,
        expect: 100.0,
        scope,
    }
}

fn call(caller: u32, second: u64, k: u64, outcome: CallOutcome) -> ProbeCall {
    let sent = Duration::from_secs(second) + Duration::from_micros(k * 3_000);
    let refused = outcome == CallOutcome::RateLimited;
    ProbeCall {
        caller,
        sent,
        ended: sent + Duration::from_millis(1),
        outcome,
        status: if refused { 429 } else { 200 },
        message: refused.then(|| "rate limited".to_owned()),
        retry_after: refused.then_some(1),
    }
}

/// 300 calls in each of 4 seconds, alternating callers; `admitted(second)` of them pass
/// (as a tool error, the probe's unknown tool), the rest are rate limited.
fn calls(admitted: impl Fn(u64) -> u64) -> Vec<ProbeCall> {
    (0..4)
        .flat_map(|t| {
            let n = admitted(t);
            (0..300).map(move |k| {
                let outcome = if k < n {
                    CallOutcome::ToolError
                } else {
                    CallOutcome::RateLimited
                };
                call((k % 2) as u32, t, k, outcome)
            })
        })
        .collect()
}

#[test]
fn a_limit_held_in_every_judged_second_passes() {
    // The first second holds the limiter's burst (200 admitted): not judged at 3x.
    let all = calls(|t| if t == 0 { 200 } else { 100 });
    let result = judge_rate("local", &probe(RateScope::Global), &all);
    assert!(result.passed, "{:?}", result.failures);
    assert_eq!(result.expected, "100/s ±5%");
    assert_eq!(result.measured_value, 100.0);
    assert_eq!(result.figures["offered_per_second"], 300.0);
    assert_eq!(result.figures["admitted"], 500.0);
    assert_eq!(result.figures["outcome_rate_limited"], 700.0);
    let judged: Vec<u32> = result
        .seconds
        .iter()
        .filter(|s| s.judged)
        .map(|s| s.t)
        .collect();
    assert_eq!(judged, [1, 2, 3]);
}

#[test]
fn a_second_over_the_tolerance_fails_and_is_named() {
    let all = calls(|t| if t == 2 { 106 } else { 100 });
    let result = judge_rate("local", &probe(RateScope::Global), &all);
    assert!(!result.passed);
    assert_eq!(
        result.failures,
        [
            "rate limit: 100–106 calls admitted per second, declared 100/s: +6.0% off at worst (tolerance ±5%) in 1 of 3 judged seconds (2)"
        ]
    );
    // 5% is within.
    let edge = calls(|t| if t == 2 { 105 } else { 100 });
    assert!(judge_rate("local", &probe(RateScope::Global), &edge).passed);
}

#[test]
fn excess_calls_must_be_refused_as_rate_limited_with_retry_after_and_none_lost() {
    let mut all = calls(|_| 100);
    all[150].outcome = CallOutcome::Overloaded;
    all[150].status = 503;
    all[151].retry_after = None;
    all[152].status = 0;
    all[152].outcome = CallOutcome::TransportError;
    all[152].message = Some("connection reset".into());
    let result = judge_rate("local", &probe(RateScope::Global), &all);
    assert!(!result.passed);
    assert_eq!(result.failures.len(), 3, "{:?}", result.failures);
    assert!(
        result.failures[0].starts_with("1 excess calls were refused other than as rate limited")
    );
    assert_eq!(
        result.failures[1],
        "1 rate-limited answers had no Retry-After header"
    );
    assert_eq!(
        result.failures[2],
        "1 of 1200 calls got no answer: connection reset"
    );
    assert_eq!(result.figures["lost"], 1.0);
}

#[test]
fn a_per_caller_limit_is_judged_for_each_caller_on_its_own() {
    // Per caller at 100/s: 2 callers offered 300/s each, 600/s in all.
    let each = |caller: u32, admitted_by_second: [u64; 4]| -> Vec<ProbeCall> {
        (0..4u64)
            .flat_map(|t| {
                let n = admitted_by_second[t as usize];
                (0..300).map(move |k| {
                    let outcome = if k < n {
                        CallOutcome::ToolError
                    } else {
                        CallOutcome::RateLimited
                    };
                    call(caller, t, k, outcome)
                })
            })
            .collect()
    };
    let mut all = each(0, [200, 100, 100, 100]);
    all.extend(each(1, [200, 100, 80, 100]));
    let result = judge_rate("aws", &probe(RateScope::PerCaller), &all);
    assert!(!result.passed);
    assert_eq!(result.expected, "100/s per caller ±5%");
    assert!(
        result.failures[0].contains("in 1 of 6 judged seconds (2 (caller 2))"),
        "{:?}",
        result.failures
    );
    assert_eq!(result.figures["offered_per_second"], 600.0);
}

#[test]
fn the_burst_is_spent_sooner_the_harder_the_limit_is_pushed() {
    assert_eq!(burst_seconds(3.0), 1);
    assert_eq!(burst_seconds(2.0), 1);
    assert_eq!(burst_seconds(1.5), 2);
    assert_eq!(burst_seconds(1.2), 5);
}
