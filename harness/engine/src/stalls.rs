//! The stall meter: a thread beside the load that asks to sleep 1 ms at a time and records
//! how much later than that it woke, as jHiccup measures a machine. An idle machine wakes it
//! within about 0.1 ms; when the machine stops running threads (a busy neighbour on a
//! shared host, a frozen VM, memory pressure, or the load itself keeping every core busy),
//! it wakes late by as long, whatever the server does. Its reading goes into the run's
//! record: the lateness over the load and the longest in each second of the load's clock.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use mcp_slo_core::measure::StallReading;

use crate::schedule::Schedule;

/// How long the meter asks to sleep each time.
pub const PERIOD: Duration = Duration::from_millis(1);

pub struct StallMeter {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<StallReading>,
}

impl StallMeter {
    /// Starts the meter; it reads from when `schedule`'s clock starts.
    pub fn start(schedule: Arc<Schedule>) -> std::io::Result<StallMeter> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("mcp-slo-stall-meter".into())
            .spawn(move || measure(&schedule, &flag))?;
        Ok(StallMeter { stop, thread })
    }

    /// Stops the meter and hands over its reading.
    pub fn stop(self) -> StallReading {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().unwrap_or_default()
    }
}

fn measure(schedule: &Schedule, stop: &AtomicBool) -> StallReading {
    let mut reading = StallReading::default();
    while !stop.load(Ordering::Relaxed) {
        let asked = Instant::now();
        std::thread::sleep(PERIOD);
        let woke = Instant::now();
        let Some(since) = schedule
            .started()
            .and_then(|start| woke.checked_duration_since(start.into_std()))
        else {
            continue;
        };
        let late = woke.saturating_duration_since(asked + PERIOD);
        reading.record(since.as_secs() as usize, late.as_micros() as u64);
    }
    reading
}
