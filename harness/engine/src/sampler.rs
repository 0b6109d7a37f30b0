//! The cost and footprint of a server process, sampled from `/proc` while the load runs:
//! its CPU time and resident memory for the cost per call, and once a second its resident
//! memory and open descriptors for the growth objectives of a soak.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// CPU time (user + system, all threads) and resident set of a process.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProcSample {
    pub cpu_seconds: f64,
    pub rss_bytes: u64,
}

pub fn sample(pid: u32) -> Option<ProcSample> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may contain spaces: fields start after the last ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // A zombie has no memory or descriptors to speak of: it is gone.
    if fields.first() == Some(&"Z") {
        return None;
    }
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    let rss_pages: u64 = fields.get(21)?.parse().ok()?;
    let ticks = rustix::param::clock_ticks_per_second() as f64;
    Some(ProcSample {
        cpu_seconds: (utime + stime) / ticks,
        rss_bytes: rss_pages * page_size(),
    })
}

/// The descriptors a process holds open (`None` if its `/proc/<pid>/fd` cannot be read).
pub fn open_descriptors(pid: u32) -> Option<u32> {
    let entries = std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?;
    Some(entries.filter(|e| e.is_ok()).count() as u32)
}

fn page_size() -> u64 {
    rustix::param::page_size() as u64
}

/// What one process spent over the sampled window.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Usage {
    /// The process sampled last (a restarted target's new one).
    pub pid: u32,
    /// User and system CPU time of all its threads (of every process it was, across
    /// restarts).
    pub cpu_seconds: f64,
    pub peak_rss_bytes: u64,
    pub samples: u32,
}

/// One point of a process's footprint.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Footprint {
    pub at: Instant,
    pub pid: u32,
    pub rss_bytes: u64,
    pub fds: u32,
}

/// Which process to sample: a fixed one, or whichever a restartable target is now.
#[derive(Debug, Clone)]
pub enum Pid {
    Fixed(u32),
    Following(Arc<AtomicU32>),
}

impl Pid {
    fn now(&self) -> u32 {
        match self {
            Pid::Fixed(p) => *p,
            Pid::Following(cell) => cell.load(Ordering::Relaxed),
        }
    }
}

/// Samples a process until stopped.
pub struct Sampler {
    pid: Pid,
    /// The process of `first` and `last`.
    current: u32,
    first: Option<ProcSample>,
    last: Option<ProcSample>,
    /// CPU spent by the processes this one replaced (a target restarted during the run).
    spent_before: f64,
    peak_rss: u64,
    samples: u32,
    footprints: Vec<Footprint>,
}

impl Sampler {
    pub fn new(pid: Pid) -> Self {
        let current = pid.now();
        Sampler {
            pid,
            current,
            first: None,
            last: None,
            spent_before: 0.0,
            peak_rss: 0,
            samples: 0,
            footprints: Vec::new(),
        }
    }

    pub fn tick(&mut self) {
        let pid = self.pid.now();
        if pid != self.current {
            // The target was restarted: what the old process spent is kept.
            if let (Some(first), Some(last)) = (self.first, self.last) {
                self.spent_before += (last.cpu_seconds - first.cpu_seconds).max(0.0);
            }
            self.current = pid;
            self.first = None;
            self.last = None;
        }
        let Some(s) = sample(pid) else {
            return;
        };
        self.first.get_or_insert(s);
        self.peak_rss = self.peak_rss.max(s.rss_bytes);
        self.last = Some(s);
        self.samples += 1;
        let now = Instant::now();
        // Ticks come every INTERVAL, a little late: within half a tick of a second is due,
        // or the footprints would be 1.25 s apart.
        let due = self
            .footprints
            .last()
            .is_none_or(|f| now.duration_since(f.at) >= Self::FOOTPRINT_EVERY - Self::INTERVAL / 2);
        if due && let Some(fds) = open_descriptors(pid) {
            self.footprints.push(Footprint {
                at: now,
                pid,
                rss_bytes: s.rss_bytes,
                fds,
            });
        }
    }

    /// Marks the start of the measured window.
    pub fn reset_window(&mut self) {
        self.current = self.pid.now();
        self.first = sample(self.current);
        self.last = self.first;
        self.spent_before = 0.0;
    }

    pub fn pid(&self) -> u32 {
        self.current
    }

    /// What the process spent between the first and the last sample; `None` before two
    /// samples could be read (it had exited, or was never there). Dividing by calls is the
    /// caller's: only it knows which calls went to this process.
    pub fn usage(&self) -> Option<Usage> {
        let (first, last) = (self.first?, self.last?);
        Some(Usage {
            pid: self.current,
            cpu_seconds: self.spent_before + (last.cpu_seconds - first.cpu_seconds).max(0.0),
            peak_rss_bytes: self.peak_rss,
            samples: self.samples,
        })
    }

    /// The footprint once a second, as sampled.
    pub fn footprints(&self) -> &[Footprint] {
        &self.footprints
    }

    pub const INTERVAL: Duration = Duration::from_millis(250);
    /// How often a footprint is kept.
    pub const FOOTPRINT_EVERY: Duration = Duration::from_secs(1);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn our_own_process_can_be_sampled() {
        let me = std::process::id();
        let before = sample(me).expect("own /proc entry");
        let mut x = 0u64;
        for i in 0..20_000_000u64 {
            x = x.wrapping_add(i * i);
        }
        assert!(x > 0);
        let after = sample(me).unwrap();
        assert!(after.cpu_seconds >= before.cpu_seconds);
        assert!(after.rss_bytes > 1024 * 1024, "rss {}", after.rss_bytes);
        let mut s = Sampler::new(Pid::Fixed(me));
        s.tick();
        s.tick();
        let usage = s.usage().unwrap();
        assert_eq!((usage.pid, usage.samples), (me, 2));
        assert!(usage.peak_rss_bytes > 0 && usage.cpu_seconds >= 0.0);
        assert_eq!(
            Sampler::new(Pid::Fixed(me)).usage(),
            None,
            "no samples, no usage"
        );
        // Two ticks within a second keep one footprint.
        assert_eq!(s.footprints().len(), 1);
        assert_eq!(s.footprints()[0].pid, me);
    }

    #[test]
    fn descriptors_are_counted() {
        let start = |script: &str| {
            std::process::Command::new("sh")
                .args(["-c", script])
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .expect("spawn sh")
        };
        let mut plain = start("exec sleep 30");
        let mut more = start("exec 3</dev/null 4</dev/null 5</dev/null 6</dev/null; exec sleep 30");
        // Both inherit whatever the test process left open (a jobserver's pipe, say); the
        // second holds four more. Until `exec sleep` has happened its shell may hold one
        // of its own.
        let deadline = Instant::now() + Duration::from_secs(5);
        let counts = loop {
            let counts = (open_descriptors(plain.id()), open_descriptors(more.id()));
            let settled = matches!(counts, (Some(p), Some(m)) if m == p + 4 && p >= 3);
            if settled || Instant::now() > deadline {
                break counts;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        for c in [&mut plain, &mut more] {
            let _ = c.kill();
            let _ = c.wait();
        }
        let (Some(p), Some(m)) = counts else {
            panic!("unreadable: {counts:?}");
        };
        assert!(p >= 3 && m == p + 4, "{counts:?}");
        assert_eq!(open_descriptors(u32::MAX), None);
    }

    #[test]
    fn a_followed_process_replaced_keeps_what_the_old_one_spent() {
        let mut old = std::process::Command::new("sh")
            .args([
                "-c",
                "i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done; sleep 30",
            ])
            .spawn()
            .expect("spawn sh");
        let cell = Arc::new(AtomicU32::new(old.id()));
        let mut s = Sampler::new(Pid::Following(cell.clone()));
        s.tick();
        std::thread::sleep(Duration::from_millis(1500));
        s.tick();
        let spent = s.usage().expect("two samples").cpu_seconds;
        assert!(spent > 0.0, "the old process was busy");
        let mut new = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .expect("spawn sleep");
        cell.store(new.id(), Ordering::Relaxed);
        let _ = old.kill();
        let _ = old.wait();
        s.tick();
        s.tick();
        let usage = s.usage().expect("the new process is sampled");
        assert_eq!(usage.pid, new.id());
        assert!(usage.cpu_seconds >= spent, "{usage:?} after {spent}");
        let pids: Vec<u32> = s.footprints().iter().map(|f| f.pid).collect();
        assert_eq!(pids.first(), Some(&old.id()));
        let _ = new.kill();
        let _ = new.wait();
    }
}
