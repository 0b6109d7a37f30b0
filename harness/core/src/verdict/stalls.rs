//! Stalls of the machine beside the load, and the latency lines they spoilt. The engine's
//! stall meter (a thread that sleeps 1 ms at a time) marks the seconds in which the machine
//! stopped running threads for [`crate::measure::STALL_US`] or more. A failed latency line
//! is inconclusive when it passes without some of those seconds and the next one of each
//! (a call a stall held ends in it or in the next second), longest stall first, and they
//! are at most a tenth of the recorded seconds: the run then measured a stall of the
//! machine, not the server. When that is not enough, the machine was too busy for the run
//! or the server was slow too, and the line fails as measured.

use std::collections::BTreeSet;
use std::time::Duration;

use crate::maths;
use crate::measure::{Measurements, Recorder, growing_histogram};
use crate::result::{MachineInfo, Stall};
use crate::units::fmt_duration;

/// The stall meter's reading over the load and its stalls in the recorded seconds; none
/// when it did not run.
pub fn machine(recorder: &Recorder, window: (usize, usize)) -> Option<MachineInfo> {
    if recorder.machine_stalls.is_empty() {
        return None;
    }
    Some(MachineInfo {
        wake_lateness_us: maths::quantiles(&recorder.machine_stalls),
        stalls: recorder
            .stalled_seconds(window)
            .into_iter()
            .map(|(t, us)| Stall { t: t as u32, us })
            .collect(),
    })
}

/// Why a failed latency objective (`tool`'s calls or all, `percentile` below `below_us`)
/// is inconclusive, or `None` when the stalls do not explain it. The stalled seconds are
/// set aside longest stall first, each with the next second, until the line passes; a line
/// that needs more than a tenth of the recorded seconds set aside fails as measured.
pub fn spoilt_latency(
    m: &Measurements,
    tool: Option<&str>,
    percentile: f64,
    below_us: u64,
) -> Option<String> {
    let (start, end) = m.recorded_window;
    let mut stalled = m.recorder.stalled_seconds(m.recorded_window);
    stalled.sort_by_key(|(t, us)| (std::cmp::Reverse(*us), *t));
    let mut set_aside = BTreeSet::new();
    for (n, (t, _)) in stalled.iter().enumerate() {
        set_aside.extend([*t, t + 1].into_iter().filter(|t| *t < end));
        if set_aside.len() * 10 > end - start {
            return None;
        }
        let without = percentile_without(m, tool, percentile, &set_aside)?;
        if without < below_us {
            return Some(reason(
                &stalled[..=n],
                &set_aside,
                end - start,
                percentile,
                without,
            ));
        }
    }
    None
}

/// The line's percentile over the recorded seconds but `set_aside`, from the per-second
/// record; `None` without calls.
fn percentile_without(
    m: &Measurements,
    tool: Option<&str>,
    percentile: f64,
    set_aside: &BTreeSet<usize>,
) -> Option<u64> {
    let (start, end) = m.recorded_window;
    let mut rest = growing_histogram(2);
    for (t, second) in m.recorder.seconds.iter().enumerate().take(end).skip(start) {
        if set_aside.contains(&t) {
            continue;
        }
        let latency = match tool {
            Some(tool) => match second.per_tool.get(tool) {
                Some(s) => &s.latency,
                None => continue,
            },
            None => &second.latency,
        };
        let _ = rest.add(latency);
    }
    (!rest.is_empty()).then(|| maths::percentile(&rest, percentile))
}

fn reason(
    stalls: &[(usize, u64)],
    set_aside: &BTreeSet<usize>,
    recorded: usize,
    percentile: f64,
    without: u64,
) -> String {
    let us = |v: u64| fmt_duration(Duration::from_micros(v));
    let at: Vec<String> = stalls
        .iter()
        .map(|(t, late)| format!("{} late at t={t}s", us(*late)))
        .collect();
    let seconds: Vec<String> = set_aside.iter().map(|t| format!("{t}s")).collect();
    format!(
        "the machine stalled: the stall meter, asleep for 1 ms, woke {}; without t={} ({} of {recorded} s) p{percentile} = {} (per-second record, 2 significant digits): run it again on a quieter machine",
        at.join(", "),
        seconds.join(", "),
        set_aside.len(),
        us(without),
    )
}

#[cfg(test)]
mod tests;
