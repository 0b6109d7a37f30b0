//! When calls should start. Open model: a shared pacer hands out intended start times at
//! each phase's rate; latency is measured from the intended start, so a stalled server
//! shows up in the percentiles (no coordinated omission, as in wrk2 and oha). Closed model:
//! how many workers are active at each moment.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use mcp_slo_core::spec::faults::FaultAction;
use mcp_slo_core::spec::{Load, LoadModel, Scenario};
use tokio::time::Instant;

#[derive(Debug, Clone)]
struct PhaseSlots {
    offset: Duration,
    duration: Duration,
    rate: f64,
    users: u32,
    record: bool,
    first_slot: u64,
    slots: u64,
}

/// One scheduled call.
#[derive(Debug, Clone, Copy)]
pub struct Slot {
    pub intended: Instant,
    pub phase: usize,
    pub record: bool,
}

pub struct Schedule {
    model: LoadModel,
    phases: Vec<PhaseSlots>,
    next: AtomicU64,
    total_slots: u64,
    total: Duration,
    start: OnceLock<Instant>,
}

/// Number of workers: closed model, the most users of any phase; open model, enough for
/// 100 ms of latency at the peak rate (at least 8), plus the longest delay a fault adds
/// (a cut: the client's timeout), and at least one per caller, capped by `max_users`.
pub fn workers_for(scenario: &Scenario) -> u32 {
    let load = &scenario.load;
    match load.model {
        LoadModel::Closed => load
            .phases
            .iter()
            .filter_map(|p| p.users)
            .max()
            .unwrap_or(1),
        LoadModel::Open => {
            let peak = load.peak_rate().unwrap_or(1.0);
            // A delay fault holds every call it slows for its `by`: enough workers for
            // that too, or the calls due meanwhile would wait for a worker and then
            // arrive all at once when it ends (a burst the scenario never offered).
            let held = scenario
                .faults
                .iter()
                .filter_map(|f| match f.action {
                    FaultAction::Delay { by, .. } => Some(by.as_secs_f64()),
                    // A server whose backend is cut off may keep trying (and its caller
                    // waiting) up to the client's timeout.
                    FaultAction::Cut { .. } => Some(load.timeout.as_secs_f64()),
                    _ => None,
                })
                .fold(0.0, f64::max);
            // At least one per caller, or a caller without a worker would never call.
            ((peak * (held + 0.1)).ceil() as u32)
                .max(8)
                .max(load.callers)
                .min(load.max_users)
        }
    }
}

impl Schedule {
    pub fn new(load: &Load) -> Self {
        let mut offset = Duration::ZERO;
        let mut first_slot = 0;
        let phases = load
            .phases
            .iter()
            .map(|p| {
                let rate = p.rate.unwrap_or(0.0);
                let slots = (p.duration.as_secs_f64() * rate).floor() as u64;
                let phase = PhaseSlots {
                    offset,
                    duration: p.duration,
                    rate,
                    users: p.users.unwrap_or(0),
                    record: p.record,
                    first_slot,
                    slots,
                };
                offset += p.duration;
                first_slot += slots;
                phase
            })
            .collect();
        Schedule {
            model: load.model,
            phases,
            next: AtomicU64::new(0),
            total_slots: first_slot,
            total: offset,
            start: OnceLock::new(),
        }
    }

    /// Starts the clock (the first caller wins).
    pub fn start(&self) -> Instant {
        *self.start.get_or_init(Instant::now)
    }

    /// When the clock started, if it has.
    pub fn started(&self) -> Option<Instant> {
        self.start.get().copied()
    }

    /// Tells `tx` when the clock starts: the pacer (open model) or the first worker
    /// (closed) starts it, within 2 ms of which this hears of it.
    pub fn tell_start(
        self: &Arc<Self>,
        tx: tokio::sync::oneshot::Sender<Instant>,
    ) -> tokio::task::JoinHandle<()> {
        let schedule = self.clone();
        tokio::spawn(async move {
            loop {
                if let Some(start) = schedule.start.get() {
                    let _ = tx.send(*start);
                    return;
                }
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        })
    }

    pub fn total(&self) -> Duration {
        self.total
    }

    pub fn total_slots(&self) -> u64 {
        self.total_slots
    }

    /// Which second of the run an instant falls in (0 before the clock has started).
    pub fn second_of(&self, at: Instant) -> usize {
        self.start.get().map_or(0, |start| {
            at.saturating_duration_since(*start).as_secs() as usize
        })
    }

    /// `[first, last)` seconds covered by recorded phases, and their total length.
    pub fn recorded_window(&self) -> ((usize, usize), f64) {
        let recorded: Vec<&PhaseSlots> = self.phases.iter().filter(|p| p.record).collect();
        let first = recorded
            .first()
            .map_or(0, |p| p.offset.as_secs_f64().floor() as usize);
        let last = recorded
            .last()
            .map_or(0, |p| (p.offset + p.duration).as_secs_f64().ceil() as usize);
        let seconds = recorded.iter().map(|p| p.duration.as_secs_f64()).sum();
        ((first, last), seconds)
    }

    /// Seconds from the run's start to the first recorded phase.
    pub fn recorded_offset(&self) -> f64 {
        self.phases
            .iter()
            .find(|p| p.record)
            .map_or(0.0, |p| p.offset.as_secs_f64())
    }

    /// Open model: the next call to make, or `None` when the schedule is exhausted.
    pub fn next_slot(&self) -> Option<Slot> {
        let i = self.next.fetch_add(1, Ordering::Relaxed);
        if i >= self.total_slots {
            return None;
        }
        let (index, phase) = self
            .phases
            .iter()
            .enumerate()
            .find(|(_, p)| i >= p.first_slot && i < p.first_slot + p.slots)?;
        let within = (i - phase.first_slot) as f64 / phase.rate;
        Some(Slot {
            intended: self.start() + phase.offset + Duration::from_secs_f64(within),
            phase: index,
            record: phase.record,
        })
    }

    /// Slots handed out so far (open model).
    pub fn issued(&self) -> u64 {
        self.next.load(Ordering::Relaxed).min(self.total_slots)
    }

    /// Closed model: the phase running at `now` and whether worker `index` is active in it;
    /// `None` once the run is over.
    pub fn closed_active(&self, index: usize, now: Instant) -> Option<(usize, bool, bool)> {
        let elapsed = now.saturating_duration_since(self.start());
        let (i, phase) = self
            .phases
            .iter()
            .enumerate()
            .find(|(_, p)| elapsed >= p.offset && elapsed < p.offset + p.duration)?;
        Some((i, (index as u32) < phase.users, phase.record))
    }

    pub fn is_over(&self, now: Instant) -> bool {
        match self.model {
            LoadModel::Open => self.issued() >= self.total_slots,
            LoadModel::Closed => now.saturating_duration_since(self.start()) >= self.total,
        }
    }

    /// Offered calls per second over recorded phases (open model).
    pub fn offered_rate(&self) -> f64 {
        let (slots, secs) = self
            .phases
            .iter()
            .filter(|p| p.record)
            .fold((0u64, 0.0), |(n, s), p| {
                (n + p.slots, s + p.duration.as_secs_f64())
            });
        if secs > 0.0 { slots as f64 / secs } else { 0.0 }
    }

    pub fn recorded_slots(&self) -> u64 {
        self.phases
            .iter()
            .filter(|p| p.record)
            .map(|p| p.slots)
            .sum()
    }

    pub fn max_users(&self) -> u32 {
        self.phases.iter().map(|p| p.users).max().unwrap_or(0)
    }

    pub fn model(&self) -> LoadModel {
        self.model
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mcp_slo_core::spec::Phase;

    fn load() -> Load {
        Load {
            model: LoadModel::Open,
            phases: vec![
                Phase {
                    name: "warmup".into(),
                    duration: Duration::from_secs(1),
                    rate: Some(10.0),
                    users: None,
                    record: false,
                    mix: None,
                },
                Phase {
                    name: "steady".into(),
                    duration: Duration::from_secs(2),
                    rate: Some(100.0),
                    users: None,
                    record: true,
                    mix: None,
                },
            ],
            max_users: 8,
            threads: None,
            callers: 1,
            first_caller: 0,
            timeout: Duration::from_secs(5),
            seed: 1,
            retries: None,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn slots_follow_each_phases_rate_and_then_run_out() {
        let s = Schedule::new(&load());
        let start = s.start();
        let slots: Vec<Slot> = std::iter::from_fn(|| s.next_slot()).collect();
        assert_eq!(slots.len(), 10 + 200);
        assert_eq!(slots[0].intended, start);
        assert_eq!(slots[9].intended - start, Duration::from_millis(900));
        assert!(!slots[9].record);
        assert_eq!(slots[10].intended - start, Duration::from_secs(1));
        assert!(slots[10].record);
        assert_eq!(slots[11].intended - start, Duration::from_millis(1010));
        assert_eq!(slots[209].intended - start, Duration::from_millis(2990));
        assert!(s.next_slot().is_none());
        assert!(s.is_over(Instant::now()));
        assert_eq!(s.recorded_window(), ((1, 3), 2.0));
        assert_eq!(s.offered_rate(), 100.0);
    }

    #[tokio::test(start_paused = true)]
    async fn closed_phases_activate_the_first_n_workers() {
        let mut l = load();
        l.model = LoadModel::Closed;
        l.phases[0].users = Some(2);
        l.phases[1].users = Some(5);
        let s = Schedule::new(&l);
        let start = s.start();
        assert_eq!(s.closed_active(1, start), Some((0, true, false)));
        assert_eq!(s.closed_active(2, start), Some((0, false, false)));
        tokio::time::advance(Duration::from_millis(1500)).await;
        assert_eq!(s.closed_active(4, Instant::now()), Some((1, true, true)));
        assert_eq!(s.closed_active(5, Instant::now()), Some((1, false, true)));
        tokio::time::advance(Duration::from_secs(2)).await;
        assert_eq!(s.closed_active(0, Instant::now()), None);
        assert!(s.is_over(Instant::now()));
    }
}
