//! A worker's wait for its call's intended start, inside its load thread's runtime.
//!
//! tokio's timer has millisecond slots, too coarse for a start that must be exact to a
//! few µs. Spinning (yielding in a loop) from the hand-over to the start is exact but keeps
//! the load thread runnable for that whole stretch, and a thread that spins uses up its
//! share of a busy machine's cores: measured side by side with oha at 1,000 calls/s on two
//! cores, the scheduler then left the load thread (and the pacer thread, which spun too)
//! waiting for a core for milliseconds at a time, and those waits were in the harness's
//! p99 but not in oha's. Here the thread sleeps in its reactor on a `timerfd` (a kernel
//! timer with ns resolution and no slack) until [`MARGIN`] before the start, then yields
//! only that last stretch: a sleeping thread is woken promptly, and the spin is short.

use std::os::fd::OwnedFd;
use std::time::Duration;

use rustix::time::{
    ClockId, Itimerspec, TimerfdClockId, TimerfdFlags, TimerfdTimerFlags, Timespec,
};
use tokio::io::unix::AsyncFd;
use tokio::time::Instant;

/// How long before the start the timer fires; the rest is yielded. A thread woken by a
/// kernel timer on a virtual machine runs 10–80 µs later.
pub const MARGIN: Duration = Duration::from_micros(100);

/// One worker's timer, registered with its load thread's reactor.
pub struct StartTimer {
    fd: Option<AsyncFd<OwnedFd>>,
}

impl StartTimer {
    /// A timer on this thread's runtime; without one (no `timerfd`, or no runtime with
    /// a reactor here) the wait yields all the way.
    pub fn new() -> StartTimer {
        if tokio::runtime::Handle::try_current().is_err() {
            return StartTimer { fd: None };
        }
        let fd = rustix::time::timerfd_create(
            TimerfdClockId::Monotonic,
            TimerfdFlags::NONBLOCK | TimerfdFlags::CLOEXEC,
        )
        .ok()
        .and_then(|fd| {
            // `AsyncFd::new` is deprecated for objects whose descriptor could change or
            // close under it (its replacement is `unsafe`, which this workspace forbids);
            // an `OwnedFd` owned by the `AsyncFd` cannot.
            #[allow(deprecated)]
            AsyncFd::new(fd).ok()
        });
        StartTimer { fd }
    }

    /// Returns at `at` (or at once when it has passed).
    pub async fn until(&self, at: Instant) {
        let left = at.saturating_duration_since(Instant::now());
        if left > MARGIN
            && let Some(fd) = &self.fd
        {
            // A failed timer falls back to yielding.
            let _ = sleep(fd, left - MARGIN).await;
        }
        while Instant::now() < at {
            tokio::task::yield_now().await;
        }
    }
}

impl Default for StartTimer {
    fn default() -> Self {
        StartTimer::new()
    }
}

/// Sleeps `wait` in the reactor on `fd` (armed on the monotonic clock, absolute).
async fn sleep(fd: &AsyncFd<OwnedFd>, wait: Duration) -> std::io::Result<()> {
    let now = rustix::time::clock_gettime(ClockId::Monotonic);
    let nanos = now.tv_nsec as u64 + u64::from(wait.subsec_nanos());
    let value = Timespec {
        tv_sec: now.tv_sec + wait.as_secs() as i64 + (nanos / 1_000_000_000) as i64,
        tv_nsec: (nanos % 1_000_000_000) as _,
    };
    let zero = Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    rustix::time::timerfd_settime(
        fd.get_ref(),
        TimerfdTimerFlags::ABSTIME,
        &Itimerspec {
            it_interval: zero,
            it_value: value,
        },
    )?;
    loop {
        let mut ready = fd.readable().await?;
        let mut expirations = [0u8; 8];
        match rustix::io::read(fd.get_ref(), &mut expirations) {
            Ok(_) => return Ok(()),
            Err(rustix::io::Errno::AGAIN) => ready.clear_ready(),
            Err(e) => return Err(e.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::future::Future as _;

    use super::*;

    #[tokio::test(flavor = "current_thread")]
    async fn it_returns_at_the_start_not_before() {
        let timer = StartTimer::new();
        assert!(timer.fd.is_some(), "a timerfd on Linux");
        for wait_us in [0u64, 50, 300, 2_000] {
            let at = Instant::now() + Duration::from_micros(wait_us);
            timer.until(at).await;
            assert!(
                Instant::now() >= at,
                "returned before the start ({wait_us} µs)"
            );
        }
    }

    #[test]
    fn outside_a_runtime_there_is_no_timer_and_no_panic() {
        assert!(StartTimer::new().fd.is_none());
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_start_in_the_past_is_ready_at_the_first_poll() {
        let timer = StartTimer::new();
        let wait = timer.until(Instant::now() - Duration::from_millis(5));
        let mut wait = std::pin::pin!(wait);
        let mut context = std::task::Context::from_waker(std::task::Waker::noop());
        assert!(wait.as_mut().poll(&mut context).is_ready());
    }
}
