//! Section 5: the latency distribution from the stored HdrHistograms, drawn against
//! percentiles on a "nines" axis (x = -log10(1 - p): 90% at 1, 99% at 2, 99.9% at 3), one
//! line per tool plus all tools together; then the per-tool summary table.

use std::fmt::Write as _;

use mcp_slo_core::maths::decode_histogram;
use mcp_slo_core::result::{RunResult, Summary};

use super::chart::{Chart, DARK, Mark, PALETTE, Series};
use super::{figure, note, num, section_start};
use crate::fmt_us;
use crate::markdown::error_kinds;

/// Points per decade of the nines axis.
const STEPS_PER_NINE: u32 = 50;
/// The axis never reaches past 99.99999%.
const MOST_NINES: f64 = 7.0;

/// `0%`, `90%`, `99%`, `99.9%`; between whole nines, one decimal.
pub(super) fn nines_label(x: f64) -> String {
    if !x.is_finite() || x <= 0.0 {
        return "0%".to_owned();
    }
    let p = 100.0 * (1.0 - 10f64.powf(-x));
    let whole = (x - x.round()).abs() < 1e-6;
    let decimals = if whole {
        (x.round() as usize).saturating_sub(2)
    } else {
        1
    };
    let text = format!("{p:.decimals$}");
    let text = if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        text
    };
    format!("{text}%")
}

pub(super) fn section(out: &mut String, r: &RunResult) {
    section_start(out, "distribution", "Latency distribution");
    let mut lines = Vec::new();
    let mut unreadable = Vec::new();
    let mut most_calls = 0u64;
    // Tools first, then all tools together in a dark line on top.
    let names = r
        .histograms
        .keys()
        .filter(|k| k.as_str() != "overall")
        .chain(r.histograms.keys().filter(|k| k.as_str() == "overall"));
    let mut colors = PALETTE.iter().cycle();
    for name in names {
        let text = r.histograms.get(name).map_or("", String::as_str);
        let Some(h) = decode_histogram(text) else {
            unreadable.push(name.as_str());
            continue;
        };
        if h.is_empty() {
            continue;
        }
        most_calls = most_calls.max(h.len());
        let (label, color) = if name == "overall" {
            ("all tools".to_owned(), DARK)
        } else {
            (name.clone(), colors.next().copied().unwrap_or(DARK))
        };
        lines.push((label, color, h));
    }
    // Past 1 / calls the histogram only repeats its maximum.
    let nines = (most_calls.max(1) as f64)
        .log10()
        .ceil()
        .clamp(2.0, MOST_NINES);
    let steps = (nines as u32) * STEPS_PER_NINE;
    let format = |x: &f64| nines_label(*x);
    let mut chart = Chart::new(
        "Latency by percentile",
        "percentile (nines scale)",
        "latency (ms)",
    );
    chart.x_format = Some(&format);
    chart.x_ticks = Some(nines as usize + 1);
    chart.x_range = Some(0.0..nines);
    for (label, color, h) in &lines {
        let points = (0..=steps)
            .map(|i| {
                let x = f64::from(i) / f64::from(STEPS_PER_NINE);
                let q = (1.0 - 10f64.powf(-x)).clamp(0.0, 1.0);
                (x, h.value_at_quantile(q) as f64 / 1000.0)
            })
            .collect();
        chart.push(Series::new(label.as_str(), *color, Mark::Line).with_points(points));
    }
    if lines.is_empty() {
        note(out, "No latency histograms with calls in this run.");
    } else {
        figure(
            out,
            &chart.to_svg(),
            "Latency at each percentile from the run's HdrHistograms (µs precision, shown in \
             ms). Each step right adds a nine; beyond 1 / calls a line only repeats its maximum.",
        );
    }
    if !unreadable.is_empty() {
        note(
            out,
            &format!(
                "Histograms that could not be decoded: {}.",
                unreadable.join(", ")
            ),
        );
    }
    summary_table(out, r);
    out.push_str("</section>\n");
}

fn summary_table(out: &mut String, r: &RunResult) {
    out.push_str(
        "<table>\n<thead><tr><th>Tool</th><th>Calls</th><th>OK</th><th>Errors</th><th>p50</th>\
         <th>p90</th><th>p99</th><th>p99.9</th><th>Max</th><th>Throughput</th></tr></thead>\n\
         <tbody>\n",
    );
    for (name, s) in &r.tools {
        summary_row(out, &super::esc(name), s);
    }
    if r.tools.len() != 1 {
        summary_row(out, "<strong>all tools</strong>", &r.overall);
    }
    out.push_str("</tbody>\n</table>\n");
}

fn summary_row(out: &mut String, name: &str, s: &Summary) {
    let l = &s.latency;
    let _ = writeln!(
        out,
        "<tr><td>{name}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td>\
         <td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
         <td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}/s</td></tr>",
        s.outcomes.total(),
        s.outcomes.ok,
        super::esc(&error_kinds(&s.outcomes)),
        fmt_us(l.p50_us),
        fmt_us(l.p90_us),
        fmt_us(l.p99_us),
        fmt_us(l.p999_us),
        fmt_us(l.max_us),
        num(s.throughput, 1)
    );
}
