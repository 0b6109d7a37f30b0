//! Section 6: boundary probes. A table of what each probe expected and measured, then a
//! chart for the rate probe (admitted and refused per second against the limit) and for
//! the in-flight probe (admitted and refused calls against the cap).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use mcp_slo_core::result::{ProbeResult, ProbeSecond, RunResult};

use super::chart::{Band, Chart, DARK, GREEN, GREY, Mark, PALETTE, RED, Series, short_number};
use super::{esc, figure, note, result_cell, section_start};

/// Callers drawn one line each in a per-caller rate chart; the rest are left out.
const MAX_CALLERS: usize = 6;

pub(super) fn section(out: &mut String, r: &RunResult) {
    section_start(out, "probes", "Boundary probes");
    if r.probes.is_empty() {
        note(out, "No boundary probes ran.");
        out.push_str("</section>\n");
        return;
    }
    out.push_str(
        "<table>\n<thead><tr><th>Probe</th><th>Expected</th><th>Measured</th><th>Result</th>\
         <th>Failures</th><th>Figures</th></tr></thead>\n<tbody>\n",
    );
    for p in &r.probes {
        let _ = writeln!(
            out,
            "<tr><td>{} <span class=\"note\">({})</span></td><td>{}</td><td>{}</td>{}<td>{}</td>\
             <td>{}</td></tr>",
            esc(&p.probe),
            esc(&p.target),
            esc(&p.expected),
            esc(&p.measured),
            result_cell(p.passed),
            list(&p.failures),
            figures(&p.figures)
        );
    }
    out.push_str("</tbody>\n</table>\n");
    for p in &r.probes {
        match p.probe.as_str() {
            "rate" => rate_chart(out, p),
            "in_flight" => in_flight_chart(out, p),
            _ => {}
        }
    }
    out.push_str("</section>\n");
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        return String::new();
    }
    let lis: String = items
        .iter()
        .map(|i| format!("<li>{}</li>", esc(i)))
        .collect();
    format!("<ul class=\"plain\">{lis}</ul>")
}

/// `admitted 99, refused 1`: every figure, numbers trimmed.
fn figures(figures: &BTreeMap<String, f64>) -> String {
    figures
        .iter()
        .map(|(k, v)| format!("{} {}", esc(k), short_number(*v)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Admitted and refused calls per second, the limit dashed across; seconds that were not
/// judged (the limiter's initial burst) shaded grey.
fn rate_chart(out: &mut String, p: &ProbeResult) {
    if p.seconds.is_empty() {
        note(
            out,
            &format!("Rate probe ({}): no per-second data.", p.target),
        );
        return;
    }
    let mut by_caller: BTreeMap<u32, Vec<&ProbeSecond>> = BTreeMap::new();
    for s in &p.seconds {
        by_caller.entry(s.caller).or_default().push(s);
    }
    for seconds in by_caller.values_mut() {
        seconds.sort_by_key(|s| s.t);
    }
    let mut chart = Chart::new(
        format!("Rate probe: admitted and refused per second ({})", p.target),
        "second of the probe",
        "calls per second",
    );
    let mut caption = String::from(
        "Calls the server admitted and refused in each second of the probe window, against \
         the declared limit.",
    );
    if let (1, Some(seconds)) = (by_caller.len(), by_caller.values().next()) {
        let xs: Vec<f64> = seconds.iter().map(|s| f64::from(s.t)).collect();
        let admitted: Vec<f64> = seconds.iter().map(|s| s.admitted as f64).collect();
        let refused: Vec<f64> = seconds.iter().map(|s| s.refused as f64).collect();
        let bars = |ys: &[f64]| xs.iter().copied().zip(ys.iter().copied()).collect();
        chart.push(
            Series::new(
                "refused",
                RED,
                Mark::Bars {
                    half_width: 0.35,
                    base: admitted.clone(),
                },
            )
            .with_points(bars(&refused)),
        );
        chart.push(
            Series::new(
                "admitted",
                GREEN,
                Mark::Bars {
                    half_width: 0.35,
                    base: Vec::new(),
                },
            )
            .with_points(bars(&admitted)),
        );
    } else {
        for ((caller, seconds), color) in by_caller.iter().take(MAX_CALLERS).zip(PALETTE) {
            let who = if *caller == 0 {
                "all callers".to_owned()
            } else {
                format!("caller {caller}")
            };
            let line = |f: fn(&ProbeSecond) -> u64| {
                seconds
                    .iter()
                    .map(|s| (f64::from(s.t), f(s) as f64))
                    .collect()
            };
            chart.push(
                Series::new(format!("{who} admitted"), color, Mark::LinePoints)
                    .with_points(line(|s| s.admitted)),
            );
            chart.push(
                Series::new(format!("{who} refused"), color, Mark::Dashed)
                    .with_points(line(|s| s.refused)),
            );
        }
        if by_caller.len() > MAX_CALLERS {
            let _ = write!(
                caption,
                " The first {MAX_CALLERS} of {} callers are drawn.",
                by_caller.len()
            );
        }
    }
    chart.push(
        Series::new(
            format!("limit {}/s", short_number(p.expected_value)),
            DARK,
            Mark::Level,
        )
        .with_points(vec![(0.0, p.expected_value)]),
    );
    let mut unjudged: Vec<u32> = p
        .seconds
        .iter()
        .filter(|s| !s.judged)
        .map(|s| s.t)
        .collect();
    unjudged.sort_unstable();
    unjudged.dedup();
    chart.bands = unjudged
        .iter()
        .map(|t| Band {
            x: f64::from(*t) - 0.5..f64::from(*t) + 0.5,
            color: GREY,
        })
        .collect();
    if !chart.bands.is_empty() {
        chart
            .band_legend
            .push(("not judged (burst)".to_owned(), GREY));
        caption.push_str(" Grey seconds were not judged: the limiter's initial burst.");
    }
    chart.size = (1100, 300);
    figure(out, &chart.to_svg(), &caption);
}

/// Calls held at the cap and the extra calls beyond it, admitted or refused, against the
/// cap.
fn in_flight_chart(out: &mut String, p: &ProbeResult) {
    let bars = [
        ("held_admitted", "held, admitted", GREEN),
        ("extra_admitted", "extra, admitted", RED),
        ("extra_overloaded", "extra, refused (503)", GREY),
    ];
    if bars.iter().all(|(key, _, _)| !p.figures.contains_key(*key)) {
        note(
            out,
            &format!(
                "In-flight probe ({}): no admitted/refused figures.",
                p.target
            ),
        );
        return;
    }
    let format = |x: &f64| {
        let i = x.round();
        if (x - i).abs() > 1e-6 || i < 0.0 {
            return String::new();
        }
        bars.get(i as usize)
            .map_or_else(String::new, |(_, label, _)| (*label).to_owned())
    };
    let mut chart = Chart::new(
        format!("In-flight probe: calls against the cap ({})", p.target),
        "call group",
        "calls",
    );
    chart.x_format = Some(&format);
    chart.x_ticks = Some(bars.len());
    chart.x_range = Some(-0.6..bars.len() as f64 - 0.4);
    for (i, (key, label, color)) in bars.iter().enumerate() {
        let value = p.figures.get(*key).copied().unwrap_or(0.0);
        chart.push(
            Series::new(
                *label,
                *color,
                Mark::Bars {
                    half_width: 0.3,
                    base: Vec::new(),
                },
            )
            .with_points(vec![(i as f64, value)]),
        );
    }
    chart.push(
        Series::new(
            format!("cap {}", short_number(p.expected_value)),
            DARK,
            Mark::Level,
        )
        .with_points(vec![(0.0, p.expected_value)]),
    );
    chart.size = (820, 300);
    figure(
        out,
        &chart.to_svg(),
        "Calls held open up to the cap were admitted; every extra call beyond it should be \
         refused with 503.",
    );
}
