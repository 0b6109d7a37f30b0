//! Section 7: each alarm's state over the run (OK green, ALARM red, INSUFFICIENT_DATA
//! grey) with its datapoints against the threshold, its transitions, and the burn-rate
//! alerts.

use std::fmt::Write as _;

use mcp_slo_core::alarms::{AlarmState, AlarmTimeline, BurnRateResult, Datapoint, Severity};
use mcp_slo_core::result::{AlarmsReport, PublishedInfo, RunResult};

use super::chart::{BLUE, Band, Chart, Color, DARK, GREEN, GREY, Mark, RED, Series};
use super::timeline::MAX_POINTS;
use super::{esc, figure, note, num, section_start};

/// Transitions listed per alarm; a flapping alarm's others are counted.
const MAX_TRANSITIONS: usize = 20;

pub(super) fn section(out: &mut String, r: &RunResult) {
    section_start(out, "alarms", "Alarms");
    let Some(a) = &r.alarms else {
        note(out, "No alarms were evaluated in this run.");
        out.push_str("</section>\n");
        return;
    };
    let _ = writeln!(out, "<p>Alarms from <code>{}</code>.", esc(&a.file));
    if let Some(p) = a.period_override_s {
        let _ = write!(out, " Every alarm was evaluated with a {p} s period.");
    }
    if !a.scaled.is_empty() {
        let _ = write!(out, " Scaled: {}.", esc(&a.scaled.join("; ")));
    }
    out.push_str("</p>\n");
    if a.timelines.is_empty() {
        note(out, "The alarms file defines no alarms.");
    }
    for t in &a.timelines {
        alarm(out, a, t);
    }
    burn_rate(out, a);
    if let Some(p) = &a.published {
        published(out, p);
    }
    out.push_str("</section>\n");
}

fn state_color(s: AlarmState) -> Color {
    match s {
        AlarmState::Ok => GREEN,
        AlarmState::Alarm => RED,
        AlarmState::InsufficientData => GREY,
    }
}

/// The threshold quoted in a transition's reason (`... the threshold (0.05) ...`).
fn threshold(t: &AlarmTimeline) -> Option<f64> {
    t.transitions.iter().find_map(|tr| {
        let (_, rest) = tr.reason.split_once("the threshold (")?;
        let (value, _) = rest.split_once(')')?;
        value.trim().parse::<f64>().ok().filter(|v| v.is_finite())
    })
}

fn alarm(out: &mut String, a: &AlarmsReport, t: &AlarmTimeline) {
    let _ = writeln!(out, "<h3>{}</h3>", esc(&t.alarm));
    let mut summary = match (t.first_alarm_s, t.cleared_after_alarm_s) {
        (Some(f), Some(c)) => format!("ALARM at {} s, back to OK at {} s.", num(f, 0), num(c, 0)),
        (Some(f), None) => format!("ALARM at {} s, not cleared by the end.", num(f, 0)),
        _ => "Never in ALARM.".to_owned(),
    };
    let _ = write!(summary, " Period {} s", t.period_s);
    let prefix = format!("{} ", t.alarm);
    match a.scaled.iter().find(|s| s.starts_with(&prefix)) {
        Some(s) => {
            let _ = write!(summary, " (scaled: {s}).");
        }
        None => summary.push('.'),
    }
    let period = f64::from(t.period_s.max(1));
    let mut chart = Chart::new(
        format!("Alarm {}: state and datapoints", t.alarm),
        "seconds since start",
        "datapoint value",
    );
    chart.size = (1100, 260);
    chart.bands = state_bands(t, period);
    for s in [
        AlarmState::Ok,
        AlarmState::Alarm,
        AlarmState::InsufficientData,
    ] {
        if t.states.iter().any(|p| p.state == s) {
            chart
                .band_legend
                .push((s.as_cloudwatch().to_owned(), state_color(s)));
        }
    }
    let points = a.datapoints.get(&t.alarm).map_or(&[][..], Vec::as_slice);
    datapoint_series(&mut chart, points, period);
    let mut caption = String::from(
        "Background: the alarm's state after each evaluation. Points: each period's datapoint, \
         drawn mid-period; periods without calls have none.",
    );
    if let Some(v) = threshold(t) {
        chart.push(
            Series::new(format!("threshold {}", num_short(v)), DARK, Mark::Level)
                .with_points(vec![(0.0, v)]),
        );
        caption.push_str(" Dashed: the threshold, as quoted in the transition reasons.");
    } else {
        caption.push_str(" The threshold is not in the result, so it is not drawn.");
    }
    let _ = writeln!(out, "<p>{}</p>", esc(&summary));
    if t.states.is_empty() && points.is_empty() {
        note(out, "No evaluations: the run was shorter than one period.");
    } else {
        figure(out, &chart.to_svg(), &caption);
    }
    transitions(out, t);
}

/// Runs of the same state as bands, each evaluation covering the period before it.
fn state_bands(t: &AlarmTimeline, period: f64) -> Vec<Band> {
    let mut bands: Vec<(Band, AlarmState)> = Vec::new();
    for p in &t.states {
        let start = p.t_end_s - period;
        match bands.last_mut() {
            Some((band, state)) if *state == p.state && (band.x.end - start).abs() < 1e-9 => {
                band.x.end = p.t_end_s;
            }
            _ => bands.push((
                Band {
                    x: start..p.t_end_s,
                    color: state_color(p.state),
                },
                p.state,
            )),
        }
    }
    bands.into_iter().map(|(b, _)| b).collect()
}

/// The datapoints, or their bucket minimum and maximum when there are too many to draw.
fn datapoint_series(chart: &mut Chart<'_>, points: &[Datapoint], period: f64) {
    let values: Vec<(f64, f64)> = points
        .iter()
        .filter_map(|p| Some((p.t_start_s + period / 2.0, p.value?)))
        .collect();
    if values.len() <= MAX_POINTS {
        chart.push(Series::new("datapoint", BLUE, Mark::LinePoints).with_points(values));
        return;
    }
    let k = values.len().div_ceil(MAX_POINTS);
    let (mut lows, mut highs) = (Vec::new(), Vec::new());
    for chunk in values.chunks(k) {
        let x = chunk.first().map_or(0.0, |p| p.0);
        let lo = chunk.iter().map(|p| p.1).fold(f64::INFINITY, f64::min);
        let hi = chunk.iter().map(|p| p.1).fold(f64::NEG_INFINITY, f64::max);
        lows.push((x, lo));
        highs.push((x, hi));
    }
    chart.push(Series::new(format!("datapoint max per {k}"), BLUE, Mark::Line).with_points(highs));
    chart.push(Series::new(format!("datapoint min per {k}"), BLUE, Mark::Dashed).with_points(lows));
}

fn transitions(out: &mut String, t: &AlarmTimeline) {
    if t.transitions.is_empty() {
        return;
    }
    out.push_str(
        "<table>\n<thead><tr><th>At</th><th>From</th><th>To</th><th>Reason</th></tr></thead>\n\
         <tbody>\n",
    );
    for tr in t.transitions.iter().take(MAX_TRANSITIONS) {
        let _ = writeln!(
            out,
            "<tr><td class=\"num\">{} s</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            num(tr.t_s, 0),
            tr.from.as_cloudwatch(),
            tr.to.as_cloudwatch(),
            esc(&tr.reason)
        );
    }
    out.push_str("</tbody>\n</table>\n");
    if t.transitions.len() > MAX_TRANSITIONS {
        note(
            out,
            &format!(
                "{} more transitions not listed.",
                t.transitions.len() - MAX_TRANSITIONS
            ),
        );
    }
}

fn burn_rate(out: &mut String, a: &AlarmsReport) {
    out.push_str("<h3>Burn-rate alerts</h3>\n");
    if a.burn_rate.is_empty() {
        note(out, "No burn-rate alerts were evaluated.");
        return;
    }
    if let Some(scale) = a.burn_rate_scale {
        note(
            out,
            &format!(
                "Windows scaled by {}: run seconds per SRE-workbook second.",
                num_short(scale)
            ),
        );
    }
    out.push_str(
        "<table>\n<thead><tr><th>Severity</th><th>Long window</th><th>Short window</th>\
         <th>Factor</th><th>Fired</th><th>First fired</th><th>Max long burn</th>\
         <th>Max short burn</th><th>Note</th></tr></thead>\n<tbody>\n",
    );
    for b in &a.burn_rate {
        burn_row(out, b);
    }
    out.push_str("</tbody>\n</table>\n");
}

fn burn_row(out: &mut String, b: &BurnRateResult) {
    let severity = match b.severity {
        Severity::Page => "page",
        Severity::Ticket => "ticket",
    };
    let fired = if b.fired {
        "<td class=\"fail\">fired</td>"
    } else {
        "<td class=\"pass\">quiet</td>"
    };
    let first = b
        .first_fired_s
        .map_or_else(String::new, |s| format!("{} s", num(s, 0)));
    let note = if b.window_exceeds_run {
        "long window longer than the run: evaluated over what there was"
    } else {
        ""
    };
    let _ = writeln!(
        out,
        "<tr><td>{severity}</td><td class=\"num\">{} s</td><td class=\"num\">{} s</td>\
         <td class=\"num\">{}</td>{fired}<td class=\"num\">{first}</td><td class=\"num\">{}</td>\
         <td class=\"num\">{}</td><td>{note}</td></tr>",
        b.long_window_s,
        b.short_window_s,
        num_short(b.factor),
        num(b.max_long_burn, 2),
        num(b.max_short_burn, 2)
    );
}

/// What was sent to CloudWatch, and each alarm's state there beside the harness's.
fn published(out: &mut String, p: &PublishedInfo) {
    out.push_str("<h3>Published to CloudWatch</h3>\n");
    let _ = writeln!(
        out,
        "<p>Namespace <code>{}</code> at <code>{}</code>: {} metric points in {} requests.</p>",
        esc(&p.namespace),
        esc(&p.endpoint),
        p.metric_points,
        p.requests
    );
    if !p.period_adjustments.is_empty() {
        note(
            out,
            &format!(
                "Periods CloudWatch accepts instead of the scaled ones: {}.",
                p.period_adjustments.join("; ")
            ),
        );
    }
    if p.alarms.is_empty() {
        return;
    }
    out.push_str(
        "<table>\n<thead><tr><th>Alarm</th><th>Harness</th><th>CloudWatch</th><th>Agrees</th>\
         <th>Period</th><th>CloudWatch's reason</th></tr></thead>\n<tbody>\n",
    );
    for a in &p.alarms {
        let agrees = if a.agrees {
            "<td class=\"pass\">yes</td>"
        } else {
            "<td class=\"fail\">no</td>"
        };
        let period = a
            .published_period_s
            .map_or_else(String::new, |s| format!("{s} s"));
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td>{agrees}<td class=\"num\">{period}</td>\
             <td>{}</td></tr>",
            esc(&a.alarm),
            esc(&a.harness_state),
            esc(&a.service_state),
            esc(a.service_reason.as_deref().unwrap_or(""))
        );
    }
    out.push_str("</tbody>\n</table>\n");
}

/// `0.05`, `14.4`, `1000`: no trailing zeros.
fn num_short(v: f64) -> String {
    if !v.is_finite() {
        return "n/a".to_owned();
    }
    let text = format!("{v:.4}");
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}
