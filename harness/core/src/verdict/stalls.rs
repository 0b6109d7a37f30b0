//! Stalls of the machine beside the load, and the latency lines they spoilt. The engine's
//! stall meter (a thread that sleeps 1 ms at a time) marks the seconds in which the machine
//! stopped running threads for [`crate::measure::STALL_US`] or more. A failed latency line
//! is inconclusive when it passes without those seconds and the next one of each (a call a
//! stall held ends in it or in the next second), and they are at most a tenth of the
//! recorded seconds: the run then measured a stall of the machine, not the server. With
//! more stalled seconds than that, the machine was too busy for the run, and the line
//! fails as measured.

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
/// is inconclusive, or `None` when the stalls do not explain it.
pub fn spoilt_latency(
    m: &Measurements,
    tool: Option<&str>,
    percentile: f64,
    below_us: u64,
) -> Option<String> {
    let (start, end) = m.recorded_window;
    let stalled = m.recorder.stalled_seconds(m.recorded_window);
    let worst = *stalled.iter().max_by_key(|(_, us)| *us)?;
    let set_aside: BTreeSet<usize> = stalled
        .iter()
        .flat_map(|(t, _)| [*t, t + 1])
        .filter(|t| *t < end)
        .collect();
    if set_aside.len() * 10 > end - start {
        return None;
    }
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
    let without = maths::percentile(&rest, percentile);
    if rest.is_empty() || without >= below_us {
        return None;
    }
    let us = |v: u64| fmt_duration(Duration::from_micros(v));
    let seconds: Vec<String> = set_aside.iter().map(|t| format!("{t}s")).collect();
    Some(format!(
        "the machine stalled in {} recorded second(s): the stall meter, asleep for 1 ms, woke {} late at t={}s; without t={} ({} of {} s) p{percentile} = {} (per-second record, 2 significant digits): run it again on a quieter machine",
        stalled.len(),
        us(worst.1),
        worst.0,
        seconds.join(", "),
        set_aside.len(),
        end - start,
        us(without),
    ))
}

#[cfg(test)]
mod tests;
