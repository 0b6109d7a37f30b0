//! The machine's own stalls beside the load, as the engine's stall meter saw them: a thread
//! that sleeps 1 ms at a time and records how late it woke (as jHiccup measures). Kept over
//! the whole load and per second, so that a verdict can tell the seconds a stall touched.

use hdrhistogram::Histogram;

use super::{MAX_LATENCY_US, Recorder, growing_histogram};

/// A wake-up this late (µs) is a stall of the machine, not timer slack or a busy moment: on
/// this project's two-core machine an idle meter wakes within about 0.1 ms, and one beside
/// a load that keeps both cores busy within a few.
pub const STALL_US: u64 = 10_000;

/// What the stall meter read: how late it woke over the load (µs), and the longest in each
/// second of the load's clock.
#[derive(Debug, Clone)]
pub struct StallReading {
    pub lateness: Histogram<u64>,
    pub per_second: Vec<u64>,
}

impl Default for StallReading {
    fn default() -> Self {
        StallReading {
            lateness: growing_histogram(2),
            per_second: Vec::new(),
        }
    }
}

impl StallReading {
    /// The meter woke `late_us` late in second `second` of the load.
    pub fn record(&mut self, second: usize, late_us: u64) {
        let late_us = late_us.clamp(1, MAX_LATENCY_US);
        let _ = self.lateness.record(late_us);
        if self.per_second.len() <= second {
            self.per_second.resize(second + 1, 0);
        }
        self.per_second[second] = self.per_second[second].max(late_us);
    }
}

impl Recorder {
    /// Adds the stall meter's reading. Seconds the run did not reach are left out of the
    /// time series.
    pub fn add_stall_meter(&mut self, reading: &StallReading) {
        let _ = self.machine_stalls.add(&reading.lateness);
        for (second, late) in self.seconds.iter_mut().zip(&reading.per_second) {
            second.stall_us = second.stall_us.max(*late);
        }
    }

    /// The seconds in `[start, end)` in which the machine stalled, with the stall (µs).
    pub fn stalled_seconds(&self, (start, end): (usize, usize)) -> Vec<(usize, u64)> {
        self.seconds
            .iter()
            .enumerate()
            .take(end)
            .skip(start)
            .filter(|(_, s)| s.stall_us >= STALL_US)
            .map(|(t, s)| (t, s.stall_us))
            .collect()
    }
}
