//! The cost side of capacity: a server process's CPU time and resident memory, sampled from
//! `/proc` while the load runs.

use std::time::Duration;

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
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    let rss_pages: u64 = fields.get(21)?.parse().ok()?;
    let ticks = rustix::param::clock_ticks_per_second() as f64;
    Some(ProcSample {
        cpu_seconds: (utime + stime) / ticks,
        rss_bytes: rss_pages * page_size(),
    })
}

fn page_size() -> u64 {
    rustix::param::page_size() as u64
}

/// What one process spent over the sampled window.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Usage {
    pub pid: u32,
    /// User and system CPU time of all its threads.
    pub cpu_seconds: f64,
    pub peak_rss_bytes: u64,
    pub samples: u32,
}

/// Samples a process until stopped.
pub struct Sampler {
    pid: u32,
    first: Option<ProcSample>,
    last: Option<ProcSample>,
    peak_rss: u64,
    samples: u32,
}

impl Sampler {
    pub fn new(pid: u32) -> Self {
        Sampler {
            pid,
            first: None,
            last: None,
            peak_rss: 0,
            samples: 0,
        }
    }

    pub fn tick(&mut self) {
        if let Some(s) = sample(self.pid) {
            self.first.get_or_insert(s);
            self.peak_rss = self.peak_rss.max(s.rss_bytes);
            self.last = Some(s);
            self.samples += 1;
        }
    }

    /// Marks the start of the measured window.
    pub fn reset_window(&mut self) {
        self.first = sample(self.pid);
        self.last = self.first;
    }

    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// What the process spent between the first and the last sample; `None` before two
    /// samples could be read (it had exited, or was never there). Dividing by calls is the
    /// caller's: only it knows which calls went to this process.
    pub fn usage(&self) -> Option<Usage> {
        let (first, last) = (self.first?, self.last?);
        Some(Usage {
            pid: self.pid,
            cpu_seconds: (last.cpu_seconds - first.cpu_seconds).max(0.0),
            peak_rss_bytes: self.peak_rss,
            samples: self.samples,
        })
    }

    pub const INTERVAL: Duration = Duration::from_millis(250);
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
        let mut s = Sampler::new(me);
        s.tick();
        s.tick();
        let usage = s.usage().unwrap();
        assert_eq!((usage.pid, usage.samples), (me, 2));
        assert!(usage.peak_rss_bytes > 0 && usage.cpu_seconds >= 0.0);
        assert_eq!(Sampler::new(me).usage(), None, "no samples, no usage");
    }
}
