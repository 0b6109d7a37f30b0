//! The open model's pacer: one OS thread that hands each call to a free worker [`LEAD`]
//! before its intended start. Calls are dealt to the callers in turn (call `n` to caller
//! `n mod callers`, through one queue per caller that only its workers take from), so each
//! caller offers exactly its share of the rate, evenly spaced, as the scenario says: taken
//! from one shared queue by whichever worker was free, a caller's share was left to chance
//! and per-caller rate limits refused calls the scenario never offered. The worker then waits
//! for the start itself ([`crate::wake::StartTimer`]: asleep in its runtime's reactor on a
//! kernel timer until the last 100 µs, which it yields) and sends the call then.
//!
//! Why a thread and not a tokio sleep per worker: tokio's timer wheel has millisecond
//! slots and rounds every deadline up to the next one, so a worker sleeping until its
//! intended start woke 0–2 ms late, and that lateness (the instrument's own, about 1 ms on
//! average) was part of every latency measured from the intended start. The thread sets
//! its timer slack to 1 ns and sleeps until each hand-over; it does not spin: its own
//! lateness (a sleeping thread on a virtual machine wakes 10–80 µs late, more on a busy
//! one) is taken out of the lead, not added to the call. It used to spin the last 80 µs
//! before each hand-over to be exact to the µs; on two cores shared with the server and
//! oha at 1,000 calls/s, in a slow phase of the machine, its p99 lateness was then
//! 1.8–2.6 ms (0.2 ms sleeping, minutes later; in a quiet phase the two were alike).
//!
//! A call still waits in its caller's queue when every worker of that caller is busy: that
//! wait is the server's doing and stays in the latency, measured from the intended start
//! (no coordinated omission).

use std::num::NonZeroU64;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::time::Instant;

use crate::schedule::{Schedule, Slot};

/// How long before its intended start a call is handed to a worker: the pacer's own
/// wake-up, the worker's (woken by the hand-over) and the worker's [`crate::wake::MARGIN`],
/// with room for a busy machine.
pub const LEAD: Duration = Duration::from_micros(400);

/// How calls are started, for reports.
pub const DESCRIPTION: &str = "pacer thread (1 ns timer slack, no spinning), calls dealt to the callers in turn and handed to a worker of that caller 400 µs early, encoded there, each worker asleep on a kernel timer until 100 µs before its intended start and sending then; each call ends at its answer's last byte";

/// How long the pacer waits for every worker to be ready before it starts the clock
/// anyway (the calls then wait for workers, and the lateness shows in the report).
pub const READY_WAIT: Duration = Duration::from_secs(1);

/// A call the pacer released.
#[derive(Debug, Clone, Copy)]
pub struct Released {
    pub slot: Slot,
    /// When the pacer meant to hand it over (`lead` before the intended start).
    pub due: Instant,
    /// When it did: `released - due` is the pacer's own lateness.
    pub released: Instant,
}

/// Workers that have finished their set-up; the pacer starts the clock when all have.
#[derive(Debug, Default)]
pub struct Ready {
    count: AtomicU32,
}

impl Ready {
    pub fn one_more(&self) {
        self.count.fetch_add(1, Ordering::Release);
    }
    fn count(&self) -> u32 {
        self.count.load(Ordering::Acquire)
    }
}

/// The running pacer thread.
pub struct Pacer {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Pacer {
    /// Starts the thread. It waits for `workers` to be ready (at most [`READY_WAIT`]),
    /// starts the schedule's clock and releases every slot, slot `n` into queue
    /// `n mod queues` (one queue per caller, at least one); the queues close when the
    /// schedule is exhausted.
    pub fn start(
        schedule: Arc<Schedule>,
        ready: Arc<Ready>,
        workers: u32,
        queues: u32,
    ) -> std::io::Result<(Pacer, Vec<flume::Receiver<Released>>)> {
        let (txs, rxs): (Vec<_>, Vec<_>) = (0..queues.max(1)).map(|_| flume::unbounded()).unzip();
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let thread = std::thread::Builder::new()
            .name("mcp-slo-pacer".into())
            .spawn(move || pace(&schedule, &ready, workers, &txs, &stopped))?;
        Ok((
            Pacer {
                stop,
                thread: Some(thread),
            },
            rxs,
        ))
    }

    /// Stops releasing calls and waits for the thread.
    pub fn stop(mut self) {
        self.halt();
    }

    fn halt(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Pacer {
    fn drop(&mut self) {
        self.halt();
    }
}

fn pace(
    schedule: &Schedule,
    ready: &Ready,
    workers: u32,
    txs: &[flume::Sender<Released>],
    stop: &AtomicBool,
) {
    // Without this the kernel may add up to 50 µs (the default slack) to every sleep.
    let _ = rustix::thread::set_current_timer_slack(NonZeroU64::new(1));
    let waiting_since = std::time::Instant::now();
    while ready.count() < workers && waiting_since.elapsed() < READY_WAIT {
        if stop.load(Ordering::Relaxed) {
            return;
        }
        std::thread::sleep(Duration::from_micros(200));
    }
    schedule.start();
    for tx in txs.iter().cycle() {
        let Some(slot) = schedule.next_slot() else {
            return;
        };
        let due = slot.intended.checked_sub(LEAD).unwrap_or(slot.intended);
        if !wait_until(due.into_std(), stop) {
            return;
        }
        let released = Released {
            slot,
            due,
            released: Instant::now(),
        };
        if tx.send(released).is_err() {
            return;
        }
    }
}

/// Sleeps until `at`; false when told to stop first.
fn wait_until(at: std::time::Instant, stop: &AtomicBool) -> bool {
    loop {
        let now = std::time::Instant::now();
        if now >= at {
            return true;
        }
        // Wake at least every 50 ms to notice a stop.
        std::thread::sleep((at - now).min(Duration::from_millis(50)));
        if stop.load(Ordering::Relaxed) {
            return false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mcp_slo_core::spec::{Load, LoadModel, Phase};

    fn load(rate: f64, duration: Duration) -> Load {
        Load {
            model: LoadModel::Open,
            phases: vec![Phase {
                name: "steady".into(),
                duration,
                rate: Some(rate),
                users: None,
                record: true,
                mix: None,
            }],
            max_users: 8,
            threads: None,
            callers: 1,
            first_caller: 0,
            timeout: Duration::from_secs(5),
            seed: 1,
            retries: None,
        }
    }

    /// A pacer over `rate` for `duration` with its one worker ready, dealing to `queues`.
    fn started(
        rate: f64,
        duration: Duration,
        queues: u32,
    ) -> (Arc<Schedule>, Pacer, Vec<flume::Receiver<Released>>) {
        let schedule = Arc::new(Schedule::new(&load(rate, duration)));
        let ready = Arc::new(Ready::default());
        ready.one_more();
        let (pacer, rxs) = Pacer::start(schedule.clone(), ready, 1, queues).expect("thread");
        (schedule, pacer, rxs)
    }

    #[test]
    fn every_slot_is_released_in_order_and_at_most_the_lead_early() {
        let (schedule, pacer, rxs) = started(1000.0, Duration::from_millis(200), 1);
        let released: Vec<Released> = rxs[0].iter().collect();
        pacer.stop();
        assert_eq!(released.len(), 200);
        for (i, r) in released.iter().enumerate() {
            assert!(r.released >= r.due, "slot {i} released before it was due");
            assert!(
                r.slot.intended - r.due <= LEAD,
                "slot {i} handed over at most the lead early"
            );
            assert_eq!(
                r.slot.intended - schedule.start(),
                Duration::from_millis(i as u64),
                "slot {i}"
            );
        }
    }

    #[test]
    fn a_stopped_pacer_ends_its_thread_and_closes_the_channel() {
        let schedule = Arc::new(Schedule::new(&load(1.0, Duration::from_secs(60))));
        let (pacer, rxs) =
            Pacer::start(schedule, Arc::new(Ready::default()), 0, 1).expect("thread");
        assert!(rxs[0].recv().is_ok(), "the first slot is due at once");
        pacer.stop();
        assert!(rxs[0].recv().is_err(), "no more slots after a stop");
    }

    #[test]
    fn calls_are_dealt_to_the_callers_in_turn_each_at_its_share_of_the_rate() {
        // 600 calls/s for 100 ms among 3 callers: each gets 20, one every 5 ms.
        let (schedule, pacer, rxs) = started(600.0, Duration::from_millis(100), 3);
        let per_caller: Vec<Vec<Released>> = rxs.iter().map(|rx| rx.iter().collect()).collect();
        pacer.stop();
        let start = schedule.start();
        for (caller, released) in per_caller.iter().enumerate() {
            let offsets: Vec<Duration> = released.iter().map(|r| r.slot.intended - start).collect();
            let expected: Vec<Duration> = (0..20u32)
                .map(|k| Duration::from_secs_f64(f64::from(3 * k + caller as u32) / 600.0))
                .collect();
            assert_eq!(offsets, expected, "caller {caller}");
        }
    }
}
