//! The shared rate limit's store in `/metrics` (`admission/rate.rs` reports to it).

use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use super::Metrics;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StoreCheckLabels {
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StoreFailureLabels {
    reason: &'static str,
}

/// Why a check of the shared rate limit got no answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreFailure {
    /// No answer within `--rate-limit-redis-timeout`.
    Timeout,
    /// A connection or command error.
    Error,
}

/// The shared rate limit's store: checks by result (`admitted`, `limited`, `failed`), the
/// latency of those answered, failures by reason, and calls judged by the replica's own
/// limiter because the store did not answer.
pub(super) struct RateStoreMetrics {
    /// Admitted, limited, failed.
    checks: [Counter; 3],
    latency: Histogram,
    /// Timeout, error.
    failures: [Counter; 2],
    fallbacks: Counter,
}

impl RateStoreMetrics {
    pub(super) fn register(registry: &mut Registry) -> Self {
        let checks = Family::<StoreCheckLabels, Counter>::default();
        let failures = Family::<StoreFailureLabels, Counter>::default();
        // 25 µs .. ~200 ms, doubling: a loopback round trip is tens of µs.
        let latency = Histogram::new(exponential_buckets(0.000025, 2.0, 14));
        let fallbacks = Counter::default();
        let metrics = RateStoreMetrics {
            checks: ["admitted", "limited", "failed"]
                .map(|result| checks.get_or_create(&StoreCheckLabels { result }).clone()),
            latency: latency.clone(),
            failures: ["timeout", "error"].map(|reason| {
                failures
                    .get_or_create(&StoreFailureLabels { reason })
                    .clone()
            }),
            fallbacks: fallbacks.clone(),
        };
        registry.register(
            "rate_limit_store_checks",
            "Tool calls checked against the shared rate limit in Redis, by result",
            checks,
        );
        registry.register(
            "rate_limit_store_check_duration_seconds",
            "Time for the shared rate limit's answer (checks answered)",
            latency,
        );
        registry.register(
            "rate_limit_store_failures",
            "Checks of the shared rate limit that got no answer, by reason",
            failures,
        );
        registry.register(
            "rate_limit_store_fallbacks",
            "Tool calls judged by the replica's own rate limiter because the store did not answer",
            fallbacks,
        );
        metrics
    }
}

impl Metrics {
    /// A check the shared rate limit's store answered, admitted or not, after `elapsed`.
    pub fn rate_store_answered(&self, limited: bool, elapsed: Duration) {
        self.rate_store.checks[usize::from(limited)].inc();
        self.rate_store.latency.observe(elapsed.as_secs_f64());
    }

    /// A check the shared rate limit's store did not answer.
    pub fn rate_store_failed(&self, why: StoreFailure) {
        self.rate_store.checks[2].inc();
        self.rate_store.failures[why as usize].inc();
    }

    /// A call judged by the replica's own limiter while the store does not answer.
    pub fn rate_store_fallback(&self) {
        self.rate_store.fallbacks.inc();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[test]
    fn the_shared_rate_limit_s_checks_failures_and_fallbacks_are_exposed() {
        let m = Metrics::new(Arc::default());
        m.rate_store_answered(false, Duration::from_micros(80));
        m.rate_store_answered(true, Duration::from_micros(120));
        m.rate_store_answered(true, Duration::from_micros(90));
        m.rate_store_failed(StoreFailure::Timeout);
        m.rate_store_fallback();
        let text = m.render();
        for line in [
            "mcp_rate_limit_store_checks_total{result=\"admitted\"} 1",
            "mcp_rate_limit_store_checks_total{result=\"limited\"} 2",
            "mcp_rate_limit_store_checks_total{result=\"failed\"} 1",
            "mcp_rate_limit_store_check_duration_seconds_count 3",
            "mcp_rate_limit_store_failures_total{reason=\"timeout\"} 1",
            "mcp_rate_limit_store_failures_total{reason=\"error\"} 0",
            "mcp_rate_limit_store_fallbacks_total 1",
        ] {
            assert!(text.contains(line), "{line} in\n{text}");
        }
    }
}
