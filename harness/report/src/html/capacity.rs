//! Section 9: the capacity curve. The run result holds no capacity data, so the capacity
//! command hands a [`CapacityView`] to [`capacity_html`] and embeds the section it returns
//! (or passes it to [`super::report_html_with_capacity`]).

use std::fmt::Write as _;

use super::chart::{BLUE, CYAN, Chart, GREEN, GREY, Mark, ORANGE, PURPLE, RED, Series, span};
use super::{esc, figure, note, num, result_cell};

/// One step of a capacity run: a fixed offered rate held for a while.
#[derive(Debug, Clone, PartialEq)]
pub struct CapacityStep {
    /// Calls scheduled per second.
    pub offered: f64,
    /// Successful calls per second.
    pub achieved: f64,
    pub p99_ms: f64,
    /// Whether the step met every objective.
    pub passed: bool,
}

/// What the capacity section draws.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CapacityView {
    /// In the order they ran (usually rising offered rate).
    pub steps: Vec<CapacityStep>,
    /// Index into `steps` of the knee, where latency starts to climb.
    pub knee: Option<usize>,
    /// The highest offered rate (calls/s) the target sustained within its objectives.
    pub max_rate: Option<f64>,
    /// A fitted Universal Scalability Law curve: (offered, predicted throughput).
    pub usl: Vec<(f64, f64)>,
}

/// The capacity section: throughput and p99 against offered rate, the knee marked, and
/// the steps as a table. A `<section id="capacity">` ready to embed in a report page.
pub fn capacity_html(view: &CapacityView) -> String {
    let mut out = String::from("<section id=\"capacity\">\n<h2>Capacity</h2>\n");
    if view.steps.is_empty() {
        note(&mut out, "The capacity run has no steps.");
        out.push_str("</section>\n");
        return out;
    }
    let knee = view.knee.and_then(|i| view.steps.get(i));
    let mut summary = Vec::new();
    if let Some(rate) = view.max_rate.filter(|r| r.is_finite()) {
        summary.push(format!(
            "Highest rate within the objectives: {}/s.",
            num(rate, 1)
        ));
    }
    if let Some(k) = knee {
        summary.push(format!(
            "Knee at {}/s offered ({}/s achieved, p99 {} ms).",
            num(k.offered, 1),
            num(k.achieved, 1),
            num(k.p99_ms, 1)
        ));
    }
    if !summary.is_empty() {
        let _ = writeln!(out, "<p>{}</p>", esc(&summary.join(" ")));
    }
    throughput_chart(&mut out, view, knee);
    latency_chart(&mut out, view, knee);
    steps_table(&mut out, view);
    out.push_str("</section>\n");
    out
}

/// Green points for steps that met their objectives, red for those that did not.
fn step_points(chart: &mut Chart<'_>, view: &CapacityView, y: fn(&CapacityStep) -> f64) {
    for (passed, name, color) in [
        (true, "step met objectives", GREEN),
        (false, "step missed objectives", RED),
    ] {
        let points: Vec<(f64, f64)> = view
            .steps
            .iter()
            .filter(|s| s.passed == passed)
            .map(|s| (s.offered, y(s)))
            .collect();
        if !points.is_empty() {
            chart.push(Series::new(name, color, Mark::Points).with_points(points));
        }
    }
}

fn markers(chart: &mut Chart<'_>, view: &CapacityView, knee: Option<&CapacityStep>) {
    if let Some(k) = knee {
        chart.push(
            Series::new(
                format!("knee {}/s", num(k.offered, 1)),
                ORANGE,
                Mark::Marker,
            )
            .with_points(vec![(k.offered, 0.0)]),
        );
    }
    if let Some(rate) = view.max_rate.filter(|r| r.is_finite()) {
        chart.push(
            Series::new(format!("max rate {}/s", num(rate, 1)), PURPLE, Mark::Marker)
                .with_points(vec![(rate, 0.0)]),
        );
    }
}

fn throughput_chart(out: &mut String, view: &CapacityView, knee: Option<&CapacityStep>) {
    let mut chart = Chart::new(
        "Achieved against offered rate",
        "offered (calls/s)",
        "achieved (calls/s)",
    );
    let top = span(view.steps.iter().map(|s| s.offered)).end;
    chart.push(
        Series::new("achieved = offered", GREY, Mark::Dashed)
            .with_points(vec![(0.0, 0.0), (top, top)]),
    );
    if !view.usl.is_empty() {
        chart.push(Series::new("USL fit", CYAN, Mark::Line).with_points(view.usl.clone()));
    }
    chart.push(
        Series::new("achieved", BLUE, Mark::Line)
            .with_points(view.steps.iter().map(|s| (s.offered, s.achieved)).collect()),
    );
    step_points(&mut chart, view, |s| s.achieved);
    markers(&mut chart, view, knee);
    figure(
        out,
        &chart.to_svg(),
        "Successful calls per second at each offered rate; below the ideal line the target \
         no longer keeps up.",
    );
}

fn latency_chart(out: &mut String, view: &CapacityView, knee: Option<&CapacityStep>) {
    let mut chart = Chart::new(
        "p99 latency against offered rate",
        "offered (calls/s)",
        "p99 (ms)",
    );
    chart.push(
        Series::new("p99", BLUE, Mark::Line)
            .with_points(view.steps.iter().map(|s| (s.offered, s.p99_ms)).collect()),
    );
    step_points(&mut chart, view, |s| s.p99_ms);
    markers(&mut chart, view, knee);
    figure(
        out,
        &chart.to_svg(),
        "p99 latency of each step; past the knee it climbs faster than the rate.",
    );
}

fn steps_table(out: &mut String, view: &CapacityView) {
    out.push_str(
        "<table>\n<thead><tr><th>Step</th><th>Offered</th><th>Achieved</th><th>p99</th>\
         <th>Result</th></tr></thead>\n<tbody>\n",
    );
    for (i, s) in view.steps.iter().enumerate() {
        let knee = if view.knee == Some(i) { " (knee)" } else { "" };
        let _ = writeln!(
            out,
            "<tr><td>{}{knee}</td><td class=\"num\">{}/s</td><td class=\"num\">{}/s</td>\
             <td class=\"num\">{} ms</td>{}</tr>",
            i + 1,
            num(s.offered, 1),
            num(s.achieved, 1),
            num(s.p99_ms, 1),
            result_cell(s.passed)
        );
    }
    out.push_str("</tbody>\n</table>\n");
}

/// A page of its own for a capacity run (`capacity.html`): the section under a title that
/// names the scenario and says whether the tier's limits were in place.
pub fn capacity_page(scenario: &str, limits: &str, view: &CapacityView) -> String {
    format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>capacity: {name}</title></head><body>\n<h1>Capacity of {name}</h1>\n<p>Limits {}.</p>\n{}</body></html>\n",
        esc(limits),
        capacity_html(view),
        name = esc(scenario)
    )
}
