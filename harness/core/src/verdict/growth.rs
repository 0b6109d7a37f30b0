//! `growth`: whether a sampled server process's resident memory or open descriptors climb
//! (a soak's leak check). The window runs from `after` (default: the end of the warm-up) to
//! the end of the samples. What is judged is the climb still going on in the window's second
//! half: its Theil–Sen slope (robust to one burst of connections or one collection),
//! projected over the whole window, relative to the level of the window's first tenth (a
//! median, at least three samples). A pool that grows by a step to meet the load and then
//! holds is not a leak; a leak climbs in the second half as in the first. The report also
//! gives the change from the first tenth's median to the last tenth's.

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
    let span_ms = points[points.len() - 1].0 - points[0].0;
    let slope = theil_sen_slope(&points[points.len() / 2..]);
    let growth = relative_change(start, start + slope * span_ms);
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
            "{name}: {} {} → {} ({:+.1}%), peak {}, second half's trend {:+.1}% over the window, {} samples from {:.0}s{restarted}",
            resource.as_str(),
            show(start),
            show(end),
            overall * 100.0,
            show(peak),
            growth * 100.0,
            values.len(),
            after_ms as f64 / 1000.0,
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
