//! The rate limit on `tools/call`: GCRA, one limit global at the tier's
//! `rate_limit_per_second` and one per caller at `rate_limit_per_caller_per_second`, each
//! with a burst of one second of its rate. A call must fit both. Two `governor` limiters,
//! in the replica.

use std::num::NonZeroU32;
use std::sync::Arc;

use governor::clock::Clock;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};
use tokio::time::Instant;

use crate::config::TierLimits;

/// The limiters' clock: tokio's, so that a paused test clock drives them as it drives the
/// deadlines (outside a paused runtime it is the monotonic clock).
#[derive(Clone, Copy, Debug, Default)]
struct TokioClock;

type NoOp = governor::middleware::NoOpMiddleware<std::time::Instant>;

impl Clock for TokioClock {
    type Instant = std::time::Instant;

    fn now(&self) -> std::time::Instant {
        Instant::now().into_std()
    }
}

/// The tier's rate limit: two in-process GCRA limiters.
pub struct RateLimit {
    global: RateLimiter<NotKeyed, InMemoryState, TokioClock, NoOp>,
    per_caller: RateLimiter<Arc<str>, DefaultKeyedStateStore<Arc<str>>, TokioClock, NoOp>,
}

impl RateLimit {
    pub fn new(limits: &TierLimits) -> Self {
        let quota = |rate: NonZeroU32| Quota::per_second(rate).allow_burst(rate);
        RateLimit {
            global: RateLimiter::direct_with_clock(quota(limits.rate_limit_per_second), TokioClock),
            per_caller: RateLimiter::new(
                quota(limits.rate_limit_per_caller_per_second),
                DefaultKeyedStateStore::default(),
                TokioClock,
            ),
        }
    }

    /// Takes one call of `caller` out of both limits; the wait in ms when over either.
    pub fn check(&self, caller: &Arc<str>) -> Result<(), u64> {
        let wait = match self.per_caller.check_key(caller) {
            Err(not_until) => not_until.wait_time_from(TokioClock.now()),
            Ok(()) => match self.global.check() {
                Ok(()) => return Ok(()),
                Err(not_until) => not_until.wait_time_from(TokioClock.now()),
            },
        };
        Err(wait.as_millis() as u64)
    }
}

#[cfg(test)]
mod tests {
    use std::num::NonZeroUsize;
    use std::time::Duration;

    use super::*;

    fn id(name: &str) -> Arc<str> {
        Arc::from(name)
    }

    fn limits(global: u32, per_caller: u32) -> TierLimits {
        TierLimits {
            max_inflight_requests: NonZeroUsize::new(1000).unwrap(),
            rate_limit_per_second: NonZeroU32::new(global).unwrap(),
            rate_limit_per_caller_per_second: NonZeroU32::new(per_caller).unwrap(),
            timeout: Duration::from_secs(5),
            max_concurrent: NonZeroUsize::new(10).unwrap(),
            iam_role_max_duration: None,
            max_request_body_bytes: NonZeroUsize::new(64 * 1024).unwrap(),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn the_local_limit_admits_a_burst_of_the_rate_then_one_call_per_interval() {
        let local = RateLimit::new(&limits(10, 10));
        for n in 0..10 {
            assert_eq!(local.check(&id("a")), Ok(()), "call {n} of the burst");
        }
        assert_eq!(local.check(&id("a")), Err(100), "the next waits 1/rate");
        tokio::time::advance(Duration::from_millis(100)).await;
        assert_eq!(local.check(&id("a")), Ok(()));
        assert_eq!(local.check(&id("a")), Err(100));
    }

    #[tokio::test(start_paused = true)]
    async fn the_local_limit_holds_each_caller_to_its_own_rate_within_the_global_one() {
        let local = RateLimit::new(&limits(4, 2));
        assert_eq!(local.check(&id("a")), Ok(()));
        assert_eq!(local.check(&id("a")), Ok(()));
        assert_eq!(local.check(&id("a")), Err(500), "a's own burst is spent");
        assert_eq!(local.check(&id("b")), Ok(()));
        assert_eq!(local.check(&id("b")), Ok(()));
        assert_eq!(local.check(&id("c")), Err(250), "the global burst is spent");
    }
}
