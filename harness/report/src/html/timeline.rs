//! Sections 3 and 4: per-second latency, and offered rate against outcomes, over the run.
//! Timelines longer than [`MAX_POINTS`] seconds are drawn in buckets of several seconds.

use std::fmt::Write as _;

use mcp_slo_core::maths::{TimelineBucket as Bucket, timeline_buckets};
use mcp_slo_core::measure::{CallOutcome, Outcomes};
use mcp_slo_core::result::RunResult;

use super::chart::{
    BLUE, BROWN, Band, CYAN, Chart, Color, DARK, GREEN, GREY, Mark, OLIVE, ORANGE, PINK, PURPLE,
    RED, Series,
};
use super::{figure, note, num, section_start};

/// Most points drawn per series; longer runs are bucketed.
pub(super) const MAX_POINTS: usize = 600;

/// Grey bands over the seconds outside the recorded phases.
fn unrecorded_bands(buckets: &[Bucket]) -> Vec<Band> {
    let mut bands: Vec<Band> = Vec::new();
    for b in buckets.iter().filter(|b| !b.recorded) {
        match bands.last_mut() {
            Some(last) if (last.x.end - b.t).abs() < 1e-9 => last.x.end = b.t + b.width,
            _ => bands.push(Band {
                x: b.t..b.t + b.width,
                color: GREY,
            }),
        }
    }
    bands
}

fn bucket_words(seconds: usize, k: usize) -> String {
    if k > 1 {
        format!(
            "{seconds} seconds, drawn in buckets of {k} s (rates averaged, p50 the mean, p99 and \
             max the highest of each bucket)"
        )
    } else {
        format!("{seconds} seconds")
    }
}

/// Section 3: p50, p99 and max per second, all tools together.
pub(super) fn latency_section(out: &mut String, r: &RunResult) {
    section_start(out, "latency", "Latency over time");
    if r.timeline.is_empty() {
        note(out, "No timeline: the run recorded no seconds.");
        out.push_str("</section>\n");
        return;
    }
    let (buckets, k) = timeline_buckets(&r.timeline, MAX_POINTS);
    let with_calls: Vec<&Bucket> = buckets.iter().filter(|b| b.calls > 0).collect();
    let series = |name: &str, color: Color, mark: Mark, value: fn(&Bucket) -> f64| {
        let points = with_calls.iter().map(|b| (b.t, value(b))).collect();
        Series::new(name, color, mark).with_points(points)
    };
    let mut chart = Chart::new(
        "Latency per second (all tools)",
        "seconds since start",
        "latency (ms)",
    );
    chart.push(series("max", RED, Mark::Dashed, |b| b.max_ms));
    chart.push(series("p99", ORANGE, Mark::Line, |b| b.p99_ms));
    chart.push(series("p50", BLUE, Mark::Line, |b| b.p50_ms));
    add_unrecorded(&mut chart, &buckets);
    let caption = format!(
        "Latency of the calls that ended in each second, all tools together (the result holds \
         no per-tool timeline); seconds without calls are skipped. {}.",
        bucket_words(r.timeline.len(), k)
    );
    figure(out, &chart.to_svg(), &caption);
    out.push_str("</section>\n");
}

fn add_unrecorded(chart: &mut Chart<'_>, buckets: &[Bucket]) {
    chart.bands = unrecorded_bands(buckets);
    if !chart.bands.is_empty() {
        chart
            .band_legend
            .push(("not recorded (warm-up)".to_owned(), GREY));
    }
    let end = buckets.last().map_or(1.0, |b| b.t + b.width);
    let start = buckets.first().map_or(0.0, |b| b.t);
    chart.x_range = Some(start..end);
}

/// The colour of each outcome, in [`CallOutcome::ALL`] order.
const OUTCOME_COLORS: [Color; CallOutcome::ALL.len()] =
    [GREEN, ORANGE, PURPLE, CYAN, PINK, RED, BROWN, OLIVE, DARK];

/// Section 4: offered calls per second against the outcomes of the calls answered.
pub(super) fn rate_section(out: &mut String, r: &RunResult) {
    section_start(out, "rate", "Offered and achieved rate");
    let l = &r.load;
    let _ = writeln!(
        out,
        "<p>Offered {}/s, achieved {}/s over the recorded phases; {} late starts.</p>",
        num(l.offered_rate, 1),
        num(l.achieved_rate, 1),
        l.late_starts
    );
    if let Some(i) = &l.instrument {
        let _ = writeln!(
            out,
            "<p>Instrument: {}.</p>",
            crate::junit::escape(&crate::instrument_line(i))
        );
    }
    if let Some(m) = &l.machine {
        let _ = writeln!(
            out,
            "<p>Machine: {}.</p>",
            crate::junit::escape(&crate::machine_line(m))
        );
    }
    if r.timeline.is_empty() {
        note(out, "No timeline: the run recorded no seconds.");
        out.push_str("</section>\n");
        return;
    }
    let (buckets, k) = timeline_buckets(&r.timeline, MAX_POINTS);
    let mut totals = Outcomes::default();
    for p in &r.timeline {
        totals.merge(&p.outcomes);
    }
    let mut chart = Chart::new(
        "Offered rate and outcomes per second",
        "seconds since start",
        "calls per second",
    );
    // Stacked: each outcome's area reaches up to the sum of those before it, so drawing
    // the highest first leaves every band visible.
    let mut stacked = vec![0.0; buckets.len()];
    let mut layers = Vec::new();
    let colored = CallOutcome::ALL.into_iter().zip(OUTCOME_COLORS);
    for (i, (outcome, color)) in colored.enumerate() {
        for (top, b) in stacked.iter_mut().zip(&buckets) {
            *top += b.outcomes.get(i).copied().unwrap_or(0.0);
        }
        if outcome == CallOutcome::Ok || totals.get(outcome) > 0 {
            let points = buckets.iter().zip(&stacked).map(|(b, y)| (b.t, *y));
            layers.push(
                Series::new(outcome.as_str(), color, Mark::Area).with_points(points.collect()),
            );
        }
    }
    chart.series.extend(layers.into_iter().rev());
    // Last, so the stack does not cover it.
    chart.push(
        Series::new("offered", DARK, Mark::Dashed)
            .with_points(buckets.iter().map(|b| (b.t, b.offered)).collect()),
    );
    add_unrecorded(&mut chart, &buckets);
    let caption = format!(
        "Calls offered (scheduled) per second against the outcomes of the calls that ended in \
         each second, stacked: the top of the stack is the achieved rate. Outcomes that never \
         occurred are left out. {}.",
        bucket_words(r.timeline.len(), k)
    );
    figure(out, &chart.to_svg(), &caption);
    out.push_str("</section>\n");
}
