//! `growth`: whether a sampled server process's resident memory or open descriptors climb
//! (a soak's leak check). The window runs from `after` (default: the end of the warm-up) to
//! the end of the samples. Levels are medians of at least three samples (a tenth of the
//! window): the window's start level is its first tenth's. What is judged is the climb still
//! going on in the window's second half, its Theil–Sen slope (robust to one burst of
//! connections or one collection) projected over the whole window, but never more than the
//! growth that was seen: from the start level to the end level, or across the second half
//! alone (from its first tenth's level to the end level), whichever is larger, each against
//! the start level.
//!
//! A pool that grows by a step to meet the load and then holds is not a leak: a step in the
//! first half leaves the second half flat, and a step in the second half makes a slope that,
//! projected over the window, would claim more than the step itself (two descriptors read
//! as five), so the step's own size is judged. A leak climbs in the second half as in the
//! first, and its projected climb is about what was seen; one that climbs again after a
//! drop is judged by its climb in the second half.

use super::line::{Line, RunFacts};
use crate::maths::{median, relative_change, theil_sen_slope};
use crate::measure::{Footprint, Resource};
use crate::result::JudgedKind;
use crate::spec::Growth;

/// Samples at the start and at the end of the window, at least.
const EDGE: usize = 3;

/// One process's growth over the window.
struct Judged {
    growth: f64,
    text: String,
}

pub fn judge(g: &Growth, facts: RunFacts) -> Line {
    let target = format!("<= +{:.1}%", g.below * 100.0);
    let failed = |measured: String| Line {
        kind: JudgedKind::Growth,
        target: target.clone(),
        measured,
        target_value: g.below,
        measured_value: f64::NAN,
        passed: false,
        detail: None,
    };
    let chosen: Vec<&Footprint> = facts
        .footprints
        .iter()
        .filter(|f| g.target.is_none() || f.target == g.target)
        .collect();
    if chosen.is_empty() {
        return failed(match &g.target {
            Some(t) => format!("no process of target {t} was sampled"),
            None => "no server process was sampled: spawn the target, or pass --target-pid".into(),
        });
    }
    let after_ms = g.after_ms.unwrap_or(facts.warmup.as_millis() as u64);
    let mut judged = Vec::new();
    for f in chosen {
        match window(f, g.resource, after_ms) {
            Ok(j) => judged.push(j),
            Err(why) => return failed(why),
        }
    }
    let worst = judged
        .iter()
        .map(|j| j.growth)
        .fold(f64::NEG_INFINITY, f64::max);
    Line {
        kind: JudgedKind::Growth,
        target,
        measured: format!("{:+.1}%", worst * 100.0),
        target_value: g.below,
        measured_value: worst,
        passed: worst <= g.below,
        detail: Some(
            judged
                .iter()
                .map(|j| j.text.as_str())
                .collect::<Vec<_>>()
                .join("; "),
        ),
    }
}

fn window(f: &Footprint, resource: Resource, after_ms: u64) -> Result<Judged, String> {
    let name = match &f.target {
        Some(t) => format!("{t} (pid {})", pids(&f.pids)),
        None => format!("pid {}", pids(&f.pids)),
    };
    let points: Vec<(f64, f64)> = f
        .samples
        .iter()
        .filter(|s| s.at_ms >= after_ms)
        .map(|s| (s.at_ms as f64, resource.of(s)))
        .collect();
    let values: Vec<f64> = points.iter().map(|(_, v)| *v).collect();
    let edge = (values.len() / 10).max(EDGE);
    if values.len() < 2 * edge {
        return Err(format!(
            "{name}: {} samples from {:.0}s on, {} needed (one a second): the load is too short to judge",
            values.len(),
            after_ms as f64 / 1000.0,
            2 * edge
        ));
    }
    let start = median(&values[..edge]);
    let end = median(&values[values.len() - edge..]);
    let overall = relative_change(start, end);
    let half = values.len() / 2;
    let second_half = relative_change(start, start + end - median(&values[half..half + edge]));
    let span_ms = points[points.len() - 1].0 - points[0].0;
    let slope = theil_sen_slope(&points[half..]);
    let trend = relative_change(start, start + slope * span_ms);
    let growth = trend.min(overall.max(second_half));
    let peak = values.iter().copied().fold(0.0, f64::max);
    let show = |v: f64| resource.show(v);
    let restarted = if f.pids.len() > 1 {
        " (restarted during the run: each process starts afresh)"
    } else {
        ""
    };
    Ok(Judged {
        growth,
        text: format!(
            "{name}: {} {} → {} ({:+.1}%), peak {}, second half's trend {:+.1}% over the window, {} samples from {:.0}s{restarted}: judged {:+.1}%",
            resource.as_str(),
            show(start),
            show(end),
            overall * 100.0,
            show(peak),
            trend * 100.0,
            values.len(),
            after_ms as f64 / 1000.0,
            growth * 100.0,
        ),
    })
}

fn pids(pids: &[u32]) -> String {
    pids.iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(" → ")
}

#[cfg(test)]
mod tests;
