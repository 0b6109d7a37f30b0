//! The rate probe's verdict.

use std::collections::BTreeMap;

use super::{ProbeCall, outcome_figures, percent, sample_messages};
use crate::maths;
use crate::measure::CallOutcome;
use crate::result::{ProbeResult, ProbeSecond};
use crate::spec::RateScope;
use crate::spec::probes::RateProbe;

/// What the rate probe offers: per caller or globally, the limit over all callers, and
/// each caller's rate (the multiple of its own limit, or its share of the global one).
pub struct RatePlan {
    pub per_caller: bool,
    pub total_limit: f64,
    pub caller_rate: f64,
}

impl RatePlan {
    pub fn of(p: &RateProbe) -> Self {
        let per_caller = p.scope == RateScope::PerCaller;
        let total_limit = if per_caller {
            p.expect * f64::from(p.callers)
        } else {
            p.expect
        };
        RatePlan {
            per_caller,
            total_limit,
            caller_rate: p.multiple * total_limit / f64::from(p.callers),
        }
    }
}

/// Judges the rate probe's calls: in every judged second, each caller (or all of them,
/// for a global limit) had `expect` calls admitted within the tolerance; every excess call
/// was refused as rate limited, with `Retry-After`; no call went unanswered.
pub fn judge_rate(target: &str, p: &RateProbe, calls: &[ProbeCall]) -> ProbeResult {
    let RatePlan {
        per_caller,
        total_limit,
        caller_rate,
    } = RatePlan::of(p);
    let seconds = per_second(p, per_caller, calls);
    let judged: Vec<&ProbeSecond> = seconds.iter().filter(|s| s.judged).collect();
    let spread = Spread::of(p, &judged);
    let mut failures = Vec::new();
    if !spread.off.is_empty() {
        failures.push(format!(
            "rate limit: {:.0}–{:.0} calls admitted per second{}, declared {}/s: {} off at worst (tolerance ±{:.0}%) in {} of {} judged seconds ({})",
            spread.lo,
            spread.hi,
            if per_caller { " per caller" } else { "" },
            p.expect,
            percent(spread.worst),
            p.tolerance * 100.0,
            spread.off.len(),
            judged.len(),
            spread.off.join(", ")
        ));
    }
    failures.extend(answer_failures(calls));
    if judged.is_empty() {
        failures.push("the window had no full second after the first to judge".into());
    }
    let mut figures = BTreeMap::new();
    figures.insert("calls".into(), calls.len() as f64);
    figures.insert(
        "offered_per_second".into(),
        caller_rate * f64::from(p.callers),
    );
    figures.insert("callers".into(), f64::from(p.callers));
    figures.insert(
        "admitted".into(),
        calls.iter().filter(|c| c.admitted()).count() as f64,
    );
    figures.insert(
        "lost".into(),
        calls.iter().filter(|c| c.lost()).count() as f64,
    );
    figures.insert("min_admitted_per_second".into(), spread.lo);
    figures.insert("max_admitted_per_second".into(), spread.hi);
    outcome_figures(calls, "outcome_", &mut figures);
    let scope = if per_caller { " per caller" } else { "" };
    ProbeResult {
        probe: "rate".into(),
        target: target.into(),
        passed: failures.is_empty(),
        expected: format!("{}/s{scope} ±{:.0}%", p.expect, p.tolerance * 100.0),
        measured: format!(
            "admitted {:.0}–{:.0}/s{scope} (offered {:.0}/s in all, {} callers; total limit {total_limit}/s)",
            spread.lo,
            spread.hi,
            caller_rate * f64::from(p.callers),
            p.callers
        ),
        expected_value: p.expect,
        measured_value: maths::mean(judged.iter().map(|s| s.admitted as f64)),
        failures,
        figures,
        seconds,
    }
}

/// The calls offered and admitted in each whole second of the window (by when they were
/// sent), per caller (numbered from 1) or for all of them (caller 0); the seconds in which
/// a limiter may still spend its burst are not judged.
fn per_second(p: &RateProbe, per_caller: bool, calls: &[ProbeCall]) -> Vec<ProbeSecond> {
    let whole_seconds = p.window.as_secs() as u32;
    let groups = if per_caller { p.callers } else { 1 };
    // [group][second] = (offered, admitted)
    let mut counts = vec![vec![(0u64, 0u64); whole_seconds as usize]; groups as usize];
    for c in calls {
        let group = if per_caller { c.caller } else { 0 };
        let slot = counts
            .get_mut(group as usize)
            .and_then(|g| g.get_mut(c.sent.as_secs() as usize));
        if let Some((offered, admitted)) = slot {
            *offered += 1;
            *admitted += u64::from(c.admitted());
        }
    }
    let unjudged = burst_seconds(p.multiple);
    let mut seconds = Vec::new();
    for (g, group) in counts.iter().enumerate() {
        for (t, &(offered, admitted)) in group.iter().enumerate() {
            seconds.push(ProbeSecond {
                t: t as u32,
                caller: if per_caller { g as u32 + 1 } else { 0 },
                offered,
                admitted,
                refused: offered - admitted,
                judged: t as u32 >= unjudged,
            });
        }
    }
    seconds
}

/// How the judged seconds' admitted calls spread around the declared limit.
struct Spread {
    lo: f64,
    hi: f64,
    /// The largest deviation beyond the tolerance, signed.
    worst: f64,
    /// The seconds beyond the tolerance (`t` or `t (caller c)`).
    off: Vec<String>,
}

impl Spread {
    fn of(p: &RateProbe, judged: &[&ProbeSecond]) -> Spread {
        let (mut lo, mut hi) = (f64::INFINITY, 0.0_f64);
        let mut worst = 0.0_f64;
        let mut off = Vec::new();
        for s in judged {
            let admitted = s.admitted as f64;
            lo = lo.min(admitted);
            hi = hi.max(admitted);
            let deviation = (admitted - p.expect) / p.expect;
            if deviation.abs() > p.tolerance {
                if deviation.abs() > worst.abs() {
                    worst = deviation;
                }
                off.push(if s.caller == 0 {
                    format!("{}", s.t)
                } else {
                    format!("{} (caller {})", s.t, s.caller)
                });
            }
        }
        Spread {
            lo: if lo.is_finite() { lo } else { 0.0 },
            hi,
            worst,
            off,
        }
    }
}

/// What was wrong with the answers: excess calls refused other than as rate limited,
/// rate-limited answers without `Retry-After`, calls without an answer.
fn answer_failures(calls: &[ProbeCall]) -> Vec<String> {
    let mut failures = Vec::new();
    let refused: Vec<&ProbeCall> = calls
        .iter()
        .filter(|c| !c.admitted() && !c.lost())
        .collect();
    let wrong_kind: Vec<&ProbeCall> = refused
        .iter()
        .copied()
        .filter(|c| c.outcome != CallOutcome::RateLimited)
        .collect();
    if !wrong_kind.is_empty() {
        failures.push(format!(
            "{} excess calls were refused other than as rate limited: {}",
            wrong_kind.len(),
            sample_messages(wrong_kind.iter().copied())
        ));
    }
    let no_retry = refused
        .iter()
        .filter(|c| c.outcome == CallOutcome::RateLimited && c.retry_after.is_none())
        .count();
    if no_retry > 0 {
        failures.push(format!(
            "{no_retry} rate-limited answers had no Retry-After header"
        ));
    }
    let lost: Vec<&ProbeCall> = calls.iter().filter(|c| c.lost()).collect();
    if !lost.is_empty() {
        failures.push(format!(
            "{} of {} calls got no answer: {}",
            lost.len(),
            calls.len(),
            sample_messages(lost.iter().copied())
        ));
    }
    failures
}

/// Seconds at the start of the window that are not judged: a limiter whose burst is one
/// second of its rate (GCRA or a token bucket sized so) admits that burst on top of the rate
/// until it is spent, which at `multiple` × the rate takes 1 / (multiple − 1) seconds.
pub fn burst_seconds(multiple: f64) -> u32 {
    // (less a hair: 1 / (1.2 - 1) is 5.000000000000001 in floating point)
    ((1.0 / (multiple - 1.0) - 1e-9).ceil() as u32).max(1)
}

#[cfg(test)]
mod tests;
