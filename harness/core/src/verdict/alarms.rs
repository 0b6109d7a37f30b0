//! A run's alarms: each alarm's state timeline over the run, the scenario's assertions on
//! them (`must_not_fire`, `must_fire`) and the burn-rate alerts, as verdict lines.

use std::num::NonZeroU32;

use crate::alarms::{
    self, AlarmTimeline, BurnRateResult, Severity, burn_rate_alerts, error_counts,
};
use crate::measure::Measurements;
use crate::result::{AlarmsReport, JudgedKind, ObjectiveResult};
use crate::spec::Scenario;
use crate::spec::alarm_checks::FailOn;

/// The alarms section of the result and the verdict lines it adds.
pub fn evaluate(
    scenario: &Scenario,
    m: &Measurements,
) -> Option<(AlarmsReport, Vec<ObjectiveResult>)> {
    let checks = scenario.alarms.as_ref()?;
    let mut timelines = Vec::new();
    let mut datapoints = std::collections::BTreeMap::new();
    let mut scales = Vec::new();
    for alarm in &checks.alarms {
        let period = checks
            .period
            .and_then(|p| NonZeroU32::new(p.as_secs() as u32))
            .or_else(|| NonZeroU32::new(alarm.period_s))
            .unwrap_or(NonZeroU32::MIN);
        if period.get() != alarm.period_s {
            scales.push(format!(
                "{} {} s → {} s",
                alarm.name, alarm.period_s, period
            ));
        }
        let points = alarms::run_datapoints(alarm, m, period);
        timelines.push(alarms::timeline(alarm, &points, period));
        datapoints.insert(alarm.name.clone(), points);
    }
    let mut objectives = Vec::new();
    for name in &checks.must_not_fire {
        if let Some(t) = timelines.iter().find(|t| t.alarm == *name) {
            objectives.push(must_not_fire(t));
        }
    }
    for must in &checks.must_fire {
        let Some(t) = timelines.iter().find(|t| t.alarm == must.alarm) else {
            continue;
        };
        let from = match &must.after {
            Some(phase) => phase_start(scenario, phase),
            None => 0.0,
        };
        objectives.push(must_fire(
            t,
            from,
            must.within.as_secs_f64(),
            must.clear,
            must.after.as_deref(),
        ));
    }
    let burn_rate = checks
        .burn_rate
        .as_ref()
        .map(|b| {
            let (start, end) = m.recorded_window;
            let counts = error_counts(&m.recorder.seconds, start..end, None);
            let results = burn_rate_alerts(b.budget, &counts, b.scale);
            objectives.extend(burn_objectives(&results, b.fail_on, b.target));
            results
        })
        .unwrap_or_default();
    let report = AlarmsReport {
        file: checks.file.display().to_string(),
        period_override_s: checks.period.map(|p| p.as_secs() as u32),
        scaled: scales,
        timelines,
        datapoints,
        burn_rate,
        burn_rate_scale: checks.burn_rate.as_ref().map(|b| b.scale),
        published: None,
    };
    Some((report, objectives))
}

fn line(
    name: String,
    target: String,
    measured: String,
    passed: bool,
    detail: Option<String>,
) -> ObjectiveResult {
    ObjectiveResult {
        name,
        tool: None,
        kind: JudgedKind::Alarm,
        target,
        measured,
        target_value: 0.0,
        measured_value: 0.0,
        passed,
        detail,
        inconclusive: None,
    }
}

fn must_not_fire(t: &AlarmTimeline) -> ObjectiveResult {
    let measured = match t.first_alarm_s {
        Some(at) => format!("ALARM at {at:.0} s"),
        None => format!(
            "never ALARM ({} periods of {} s)",
            t.states.len(),
            t.period_s
        ),
    };
    let detail = t
        .transitions
        .iter()
        .find(|tr| tr.to == alarms::AlarmState::Alarm)
        .map(|tr| tr.reason.clone());
    let mut o = line(
        format!("alarm {} must not fire", t.alarm),
        "stays out of ALARM".to_owned(),
        measured,
        !t.fired,
        detail,
    );
    o.measured_value = t.first_alarm_s.unwrap_or(-1.0);
    o
}

fn must_fire(
    t: &AlarmTimeline,
    from: f64,
    within: f64,
    clear: bool,
    after: Option<&str>,
) -> ObjectiveResult {
    let fired_at = t
        .transitions
        .iter()
        .find(|tr| tr.to == alarms::AlarmState::Alarm && tr.t_s >= from)
        .map(|tr| tr.t_s);
    let cleared_at = fired_at.and_then(|f| {
        t.transitions
            .iter()
            .find(|tr| tr.from == alarms::AlarmState::Alarm && tr.t_s > f)
            .map(|tr| tr.t_s)
    });
    let since = after.map_or("the start".to_owned(), |p| {
        format!("{p} starts ({from:.0} s)")
    });
    let mut problems = Vec::new();
    match fired_at {
        None => problems.push(format!("never reached ALARM after {since}")),
        Some(at) if at - from > within => problems.push(format!(
            "reached ALARM {:.0} s after {since}, later than {within:.0} s",
            at - from
        )),
        Some(_) => {}
    }
    if clear && fired_at.is_some() && cleared_at.is_none() {
        problems.push("did not clear before the run ended".to_owned());
    }
    let measured = match (fired_at, cleared_at) {
        (Some(f), Some(c)) => format!("ALARM {:.0} s after, cleared at {c:.0} s", f - from),
        (Some(f), None) => format!("ALARM {:.0} s after, not cleared", f - from),
        (None, _) => "never ALARM".to_owned(),
    };
    let mut o = line(
        format!("alarm {} must fire", t.alarm),
        format!(
            "ALARM within {within:.0} s of {since}{}",
            if clear { ", then OK" } else { "" }
        ),
        measured,
        problems.is_empty(),
        (!problems.is_empty()).then(|| problems.join("; ")),
    );
    o.target_value = within;
    o.measured_value = fired_at.map_or(-1.0, |f| f - from);
    o
}

/// Verdict lines for the alerts that can fail the run. With `fail_on: none` there are
/// none: the alerts stay in the report's alarms section, which is where "reported, not
/// judged" belongs (a verdict line that cannot fail would only look like a check).
fn burn_objectives(
    results: &[BurnRateResult],
    fail_on: FailOn,
    target: f64,
) -> Vec<ObjectiveResult> {
    results
        .iter()
        .filter(|r| match fail_on {
            FailOn::None => false,
            FailOn::Page => r.severity == Severity::Page,
            FailOn::Ticket => true,
        })
        .map(|r| {
            let severity = match r.severity {
                Severity::Page => "page",
                Severity::Ticket => "ticket",
            };
            let mut o = line(
                format!(
                    "burn rate {severity} {}s/{}s ×{}",
                    r.long_window_s, r.short_window_s, r.factor
                ),
                format!(
                    "burn < {}× the {:.3}% budget in both windows",
                    r.factor,
                    (1.0 - target) * 100.0
                ),
                match r.first_fired_s {
                    Some(t) => format!(
                        "fired at {t:.0} s (peak burn {:.1}× long, {:.1}× short)",
                        r.max_long_burn, r.max_short_burn
                    ),
                    None => format!(
                        "did not fire (peak burn {:.1}× long, {:.1}× short)",
                        r.max_long_burn, r.max_short_burn
                    ),
                },
                !r.fired,
                r.window_exceeds_run.then(|| {
                    "the long window is longer than the run: judged over the run".to_owned()
                }),
            );
            o.measured_value = r.max_long_burn.min(r.max_short_burn);
            o.kind = JudgedKind::BurnRate;
            o.target_value = r.factor;
            o
        })
        .collect()
}

/// When a phase starts, or a fault is due, in seconds from the start of the load.
fn phase_start(scenario: &Scenario, name: &str) -> f64 {
    if let Some(f) = scenario.faults.iter().find(|f| f.name == name) {
        return f.at.as_secs_f64();
    }
    scenario
        .load
        .phases
        .iter()
        .take_while(|p| p.name != name)
        .map(|p| p.duration.as_secs_f64())
        .sum()
}

#[cfg(test)]
mod tests;
