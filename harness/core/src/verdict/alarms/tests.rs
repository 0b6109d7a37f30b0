//! The alarm verdict lines, from timelines and burn-rate results built by hand.

use super::*;
use crate::alarms::{AlarmState, StatePoint, Transition};

fn transition(t_s: f64, from: AlarmState, to: AlarmState) -> Transition {
    Transition {
        t_s,
        from,
        to,
        reason: format!(
            "{} → {} at {t_s} s",
            from.as_cloudwatch(),
            to.as_cloudwatch()
        ),
    }
}

/// `high_error_rate` over 10 periods of 6 s, with these transitions.
fn timeline(transitions: Vec<Transition>) -> AlarmTimeline {
    let first_alarm_s = transitions
        .iter()
        .find(|t| t.to == AlarmState::Alarm)
        .map(|t| t.t_s);
    AlarmTimeline {
        alarm: "high_error_rate".into(),
        period_s: 6,
        states: (1..=10)
            .map(|i| StatePoint {
                t_end_s: f64::from(i) * 6.0,
                state: AlarmState::Ok,
            })
            .collect(),
        cleared_after_alarm_s: None,
        fired: first_alarm_s.is_some(),
        first_alarm_s,
        transitions,
    }
}

#[test]
fn an_alarm_that_must_not_fire_passes_only_while_it_stays_out_of_alarm() {
    let quiet = must_not_fire(&timeline(vec![transition(
        6.0,
        AlarmState::InsufficientData,
        AlarmState::Ok,
    )]));
    assert!(quiet.passed);
    assert_eq!(quiet.kind, JudgedKind::Alarm);
    assert_eq!(quiet.measured, "never ALARM (10 periods of 6 s)");
    assert_eq!(quiet.measured_value, -1.0);

    let fired = must_not_fire(&timeline(vec![
        transition(6.0, AlarmState::InsufficientData, AlarmState::Ok),
        transition(24.0, AlarmState::Ok, AlarmState::Alarm),
    ]));
    assert!(!fired.passed);
    assert_eq!(fired.measured, "ALARM at 24 s");
    assert_eq!(fired.measured_value, 24.0);
    assert_eq!(fired.detail.as_deref(), Some("OK → ALARM at 24 s"));
}

#[test]
fn an_alarm_that_must_fire_is_timed_from_its_phase_and_must_clear_when_asked() {
    let fires_and_clears = timeline(vec![
        transition(6.0, AlarmState::InsufficientData, AlarmState::Ok),
        // Before the phase: does not count.
        transition(12.0, AlarmState::Ok, AlarmState::Alarm),
        transition(18.0, AlarmState::Alarm, AlarmState::Ok),
        transition(36.0, AlarmState::Ok, AlarmState::Alarm),
        transition(54.0, AlarmState::Alarm, AlarmState::Ok),
    ]);
    let ok = must_fire(&fires_and_clears, 30.0, 10.0, true, Some("fault"));
    assert!(ok.passed, "{:?}", ok.detail);
    assert_eq!(ok.measured, "ALARM 6 s after, cleared at 54 s");
    assert_eq!(
        ok.target,
        "ALARM within 10 s of fault starts (30 s), then OK"
    );
    assert_eq!((ok.target_value, ok.measured_value), (10.0, 6.0));

    let late = must_fire(&fires_and_clears, 30.0, 5.0, false, Some("fault"));
    assert!(!late.passed);
    assert_eq!(
        late.detail.as_deref(),
        Some("reached ALARM 6 s after fault starts (30 s), later than 5 s")
    );

    let stuck = timeline(vec![
        transition(6.0, AlarmState::InsufficientData, AlarmState::Ok),
        transition(36.0, AlarmState::Ok, AlarmState::Alarm),
    ]);
    let not_cleared = must_fire(&stuck, 0.0, 60.0, true, None);
    assert!(!not_cleared.passed);
    assert_eq!(
        not_cleared.detail.as_deref(),
        Some("did not clear before the run ended")
    );
    // Not asked to clear: passes.
    assert!(must_fire(&stuck, 0.0, 60.0, false, None).passed);

    let never = must_fire(&timeline(Vec::new()), 0.0, 60.0, false, None);
    assert!(!never.passed);
    assert_eq!(never.measured, "never ALARM");
    assert_eq!(never.measured_value, -1.0);
    assert_eq!(
        never.detail.as_deref(),
        Some("never reached ALARM after the start")
    );
}

fn burn(severity: Severity, fired: bool) -> BurnRateResult {
    BurnRateResult {
        severity,
        long_window_s: 60,
        short_window_s: 5,
        factor: 14.4,
        fired,
        first_fired_s: fired.then_some(42.0),
        max_long_burn: 20.0,
        max_short_burn: 30.0,
        window_exceeds_run: false,
    }
}

#[test]
fn burn_rate_alerts_become_verdict_lines_only_at_or_above_fail_on() {
    let results = [burn(Severity::Page, true), burn(Severity::Ticket, false)];
    assert!(burn_objectives(&results, FailOn::None, 0.999).is_empty());
    let page = burn_objectives(&results, FailOn::Page, 0.999);
    assert_eq!(page.len(), 1);
    assert_eq!(page[0].kind, JudgedKind::BurnRate);
    assert!(!page[0].passed, "a fired page alert fails the run");
    assert_eq!(page[0].name, "burn rate page 60s/5s ×14.4");
    assert_eq!(
        page[0].measured,
        "fired at 42 s (peak burn 20.0× long, 30.0× short)"
    );
    assert_eq!(
        page[0].target,
        "burn < 14.4× the 0.100% budget in both windows"
    );
    assert_eq!(page[0].measured_value, 20.0);
    let all = burn_objectives(&results, FailOn::Ticket, 0.999);
    assert_eq!(all.len(), 2);
    assert!(all[1].passed, "the ticket alert did not fire");
}
