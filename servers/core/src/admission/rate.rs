//! The rate limit on `tools/call`: GCRA, one limit global at the tier's
//! `rate_limit_per_second` and one per caller at `rate_limit_per_caller_per_second`, each
//! with a burst of one second of its rate. A call must fit both.
//!
//! Kept in one of two places ([`RateStore`]):
//! - in the replica: two `governor` limiters;
//! - in Redis, shared by every replica that uses the same key prefix: one Lua script per
//!   check ([`SCRIPT`]) tests both keys and, only if both admit the call, updates both,
//!   atomically and on Redis's clock (`TIME`), so replicas' clocks do not matter (the
//!   caller's key goes along only where it can refuse a call: see `SharedLimit::ask`).
//!   Keys expire once idle for the burst window. The in-flight cap and the concurrency cap
//!   stay per replica.
//!
//! When Redis does not answer within the timeout, the policy decides: `open` judges the
//! call by the replica's own limiter, `closed` refuses it. Either way the outage is logged
//! once, when it starts and when it ends, and during it Redis is asked again once per
//! [`PROBE_INTERVAL`], not once per call.

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use governor::clock::Clock;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tokio::time::Instant;

use crate::config::{RateStore, SharedRate, TierLimits, Unreachable};
use crate::metrics::{Metrics, StoreFailure};
use crate::server::worker_index;

/// GCRA on the keys together, as `governor` runs it: KEYS[1] is the tier's global limit and
/// KEYS[2], if given, the caller's; ARGV[i] is KEYS[i]'s rate per second (the burst is one
/// second of the rate). A key holds its theoretical arrival time (TAT) in µs of Redis's
/// clock. The call is admitted (0) only if every key admits it, and only then are they
/// all moved on; otherwise the wait in µs until all would admit it is returned, and no key
/// changes. A key expires 1 ms after its TAT has passed, when it means no more than a
/// missing key does: at most the burst window after the last admitted call.
pub const SCRIPT: &str = r"
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local wait = 0
local next_tat = {}
for i = 1, #KEYS do
  local rate = tonumber(ARGV[i])
  local interval = 1000000 / rate
  local tolerance = interval * (rate - 1)
  local tat = tonumber(redis.call('GET', KEYS[i])) or now
  local allowed_at = tat - tolerance
  if now < allowed_at then
    wait = math.max(wait, allowed_at - now)
  else
    next_tat[i] = math.max(tat, now) + interval
  end
end
if wait > 0 then
  return math.ceil(wait)
end
for i = 1, #KEYS do
  local ttl_ms = math.ceil((next_tat[i] - now) / 1000) + 1
  redis.call('SET', KEYS[i], string.format('%.0f', next_tat[i]), 'PX', ttl_ms)
end
return 0
";

/// How often Redis is asked again while it does not answer (between, every call goes
/// straight to the policy).
pub const PROBE_INTERVAL: Duration = Duration::from_millis(250);

/// Connections to Redis: one per serving thread (the tier's workers each run a runtime of
/// their own), made on that thread on its first check; beyond this many workers, threads
/// share them.
const CONNECTION_SLOTS: usize = 16;

/// Why a call is not let in.
#[derive(Debug, PartialEq, Eq)]
pub enum RateRefusal {
    /// Over a limit; the wait until the call would fit.
    Limited { wait_ms: u64 },
    /// The shared limit's store did not answer and the policy is `closed`.
    StoreUnavailable,
}

/// The tier's rate limit, kept in the replica or in Redis.
pub enum RateLimit {
    Local(LocalRate),
    Shared(Box<SharedLimit>),
}

impl RateLimit {
    pub fn new(limits: &TierLimits, store: RateStore, metrics: Arc<Metrics>) -> Self {
        let local = LocalRate::new(
            limits.rate_limit_per_second,
            limits.rate_limit_per_caller_per_second,
        );
        match store {
            RateStore::Local => RateLimit::Local(local),
            RateStore::Redis(shared) => {
                RateLimit::Shared(Box::new(SharedLimit::new(*shared, limits, local, metrics)))
            }
        }
    }

    /// Takes one call of `caller` out of both limits, or says why not.
    pub async fn check(&self, caller: &Arc<str>) -> Result<(), RateRefusal> {
        match self {
            RateLimit::Local(local) => local
                .check(caller)
                .map_err(|wait_ms| RateRefusal::Limited { wait_ms }),
            RateLimit::Shared(shared) => shared.check(caller).await,
        }
    }
}

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

/// The limit kept in the replica: two in-process GCRA limiters.
pub struct LocalRate {
    global: RateLimiter<NotKeyed, InMemoryState, TokioClock, NoOp>,
    per_caller: RateLimiter<Arc<str>, DefaultKeyedStateStore<Arc<str>>, TokioClock, NoOp>,
}

impl LocalRate {
    fn new(global: NonZeroU32, per_caller: NonZeroU32) -> Self {
        let quota = |rate: NonZeroU32| Quota::per_second(rate).allow_burst(rate);
        LocalRate {
            global: RateLimiter::direct_with_clock(quota(global), TokioClock),
            per_caller: RateLimiter::new(
                quota(per_caller),
                DefaultKeyedStateStore::default(),
                TokioClock,
            ),
        }
    }

    /// The wait in ms when over either limit.
    fn check(&self, caller: &Arc<str>) -> Result<(), u64> {
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

/// The limit kept in Redis (see the module's docs).
pub struct SharedLimit {
    client: redis::Client,
    connection_config: ConnectionManagerConfig,
    connections: [OnceLock<ConnectionManager>; CONNECTION_SLOTS],
    script: redis::Script,
    global_key: String,
    /// The caller's id is appended.
    caller_key: String,
    global_rate: NonZeroU32,
    caller_rate: NonZeroU32,
    unreachable: Unreachable,
    timeout: Duration,
    /// What judges calls while Redis does not answer, when the policy is `open`.
    fallback: LocalRate,
    outage: Outage,
    metrics: Arc<Metrics>,
}

impl SharedLimit {
    fn new(shared: SharedRate, limits: &TierLimits, fallback: LocalRate, m: Arc<Metrics>) -> Self {
        let SharedRate {
            client,
            key_prefix,
            unreachable,
            timeout,
        } = shared;
        // The check's own timeout bounds a call; these bound what is left behind it (a
        // reply that never comes, a connection attempt to a host that does not answer).
        // No retries: while Redis is down, the outage's probes are the retries.
        let connection_config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(timeout.max(Duration::from_millis(500))))
            .set_response_timeout(Some(timeout))
            .set_number_of_retries(0);
        SharedLimit {
            client,
            connection_config,
            connections: Default::default(),
            script: redis::Script::new(SCRIPT),
            // The hash tag keeps a tier's keys in one slot of a Redis Cluster.
            global_key: format!("{{{key_prefix}}}:global"),
            caller_key: format!("{{{key_prefix}}}:caller:"),
            global_rate: limits.rate_limit_per_second,
            caller_rate: limits.rate_limit_per_caller_per_second,
            unreachable,
            timeout,
            fallback,
            outage: Outage::new(),
            metrics: m,
        }
    }

    async fn check(&self, caller: &Arc<str>) -> Result<(), RateRefusal> {
        if self.outage.ask_store() {
            let started = Instant::now();
            let failure = match tokio::time::timeout(self.timeout, self.ask(caller)).await {
                Ok(Ok(wait_us)) => {
                    self.metrics
                        .rate_store_answered(wait_us > 0, started.elapsed());
                    if self.outage.answered() {
                        tracing::info!("rate limit store answers again: the shared limit applies");
                    }
                    return match wait_us {
                        0 => Ok(()),
                        us => Err(RateRefusal::Limited {
                            wait_ms: us.div_ceil(1000),
                        }),
                    };
                }
                Ok(Err(e)) => (StoreFailure::Error, e.to_string()),
                Err(_) => (
                    StoreFailure::Timeout,
                    format!("no answer within {:?}", self.timeout),
                ),
            };
            self.metrics.rate_store_failed(failure.0);
            if self.outage.failed() {
                tracing::warn!(
                    error = %failure.1,
                    policy = self.unreachable.as_str(),
                    "rate limit store unreachable: until it answers, {}",
                    match self.unreachable {
                        Unreachable::Open => "each replica limits tool calls on its own",
                        Unreachable::Closed => "tool calls are refused",
                    }
                );
            }
        }
        match self.unreachable {
            Unreachable::Open => {
                self.metrics.rate_store_fallback();
                self.fallback
                    .check(caller)
                    .map_err(|wait_ms| RateRefusal::Limited { wait_ms })
            }
            Unreachable::Closed => Err(RateRefusal::StoreUnavailable),
        }
    }

    /// Runs the script: 0 when admitted, else the wait in µs. The caller's key goes along
    /// only when its limit is below the global one: at the global rate or above, a caller
    /// whose calls the global limit admits is always within its own (its calls are some of
    /// all calls), so its key would change no answer and cost Redis a read and a write.
    async fn ask(&self, caller: &str) -> redis::RedisResult<u64> {
        let mut connection = self.connection()?;
        let mut invocation = self.script.key(&self.global_key);
        invocation.arg(self.global_rate.get());
        if self.caller_rate < self.global_rate {
            invocation
                .key(format!("{}{caller}", self.caller_key))
                .arg(self.caller_rate.get());
        }
        invocation.invoke_async(&mut connection).await
    }

    /// This thread's connection (see [`CONNECTION_SLOTS`]); it connects on first use and
    /// reconnects by itself.
    fn connection(&self) -> redis::RedisResult<ConnectionManager> {
        let slot = &self.connections[worker_index() % CONNECTION_SLOTS];
        if let Some(connection) = slot.get() {
            return Ok(connection.clone());
        }
        let made = ConnectionManager::new_lazy_with_config(
            self.client.clone(),
            self.connection_config.clone(),
        )?;
        Ok(slot.get_or_init(|| made).clone())
    }
}

/// Whether the store is answering, and when to ask it again if not.
struct Outage {
    since: Instant,
    down: AtomicBool,
    /// Ms after `since` when the next probe is due.
    probe_at: AtomicU64,
}

impl Outage {
    fn new() -> Self {
        Outage {
            since: Instant::now(),
            down: AtomicBool::new(false),
            probe_at: AtomicU64::new(0),
        }
    }

    fn now_ms(&self) -> u64 {
        self.since.elapsed().as_millis() as u64
    }

    /// Whether this call should ask the store: always while it answers; during an outage,
    /// one call per [`PROBE_INTERVAL`].
    fn ask_store(&self) -> bool {
        if !self.down.load(Ordering::Acquire) {
            return true;
        }
        let now = self.now_ms();
        let due = self.probe_at.load(Ordering::Acquire);
        now >= due
            && self
                .probe_at
                .compare_exchange(
                    due,
                    now + PROBE_INTERVAL.as_millis() as u64,
                    Ordering::AcqRel,
                    Ordering::Acquire,
                )
                .is_ok()
    }

    /// The store answered; true when that ends an outage.
    fn answered(&self) -> bool {
        self.down.load(Ordering::Acquire) && self.down.swap(false, Ordering::AcqRel)
    }

    /// The store did not answer; true when that starts an outage.
    fn failed(&self) -> bool {
        self.probe_at.store(
            self.now_ms() + PROBE_INTERVAL.as_millis() as u64,
            Ordering::Release,
        );
        !self.down.swap(true, Ordering::AcqRel)
    }
}

#[cfg(test)]
mod tests;
