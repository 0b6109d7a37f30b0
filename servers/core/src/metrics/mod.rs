//! Prometheus-style `/metrics`: calls, outcomes, rejections and latency per tool, plus the
//! gauges the boundary probes read (requests in flight, tool executions running and their
//! peak), the shared rate limit's store (checks, latency, failures, fallbacks), and the
//! build the server runs (`mcp_build_info`: version and profile).

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::{Family, MetricConstructor};
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::audit::Outcome;

mod rate_store;

use rate_store::RateStoreMetrics;
pub use rate_store::StoreFailure;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CallLabels {
    tool: String,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ToolLabels {
    tool: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RoleLabels {
    role: String,
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RejectionLabels {
    reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DirectLabels {
    method: &'static str,
    form: &'static str,
}

/// The methods the direct path answers (see `direct/`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DirectMethod {
    CallTool,
    ListTools,
    Discover,
}

#[derive(Clone)]
struct LatencyBuckets;

impl MetricConstructor<Histogram> for LatencyBuckets {
    fn new_metric(&self) -> Histogram {
        // 100 µs .. ~52 s, doubling.
        Histogram::new(exponential_buckets(0.0001, 2.0, 20))
    }
}

/// Shared server metrics.
pub struct Metrics {
    registry: Registry,
    calls: Family<CallLabels, Counter>,
    latency: Family<ToolLabels, Histogram, LatencyBuckets>,
    assume_role: Family<RoleLabels, Histogram, LatencyBuckets>,
    rejections: Family<RejectionLabels, Counter>,
    inflight: Gauge,
    executing: Gauge,
    connections_open: Gauge,
    connections_refused: Counter,
    /// Sessions and subscriptions waiting for `tools/list_changed`, and those sent.
    listeners: Gauge,
    list_changed_sent: Counter,
    /// Requests the direct path answered, by method (`DirectMethod`) and form (legacy,
    /// 2026-07-28).
    direct_requests: [[Counter; 2]; 3],
    rate_store: RateStoreMetrics,
    executing_now: AtomicI64,
    executing_peak: Arc<AtomicU64>,
    audit_dropped: Arc<AtomicU64>,
}

/// Why the admission stack refused a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    Origin,
    Host,
    VpcEndpoint,
    BodyTooLarge,
    ContentType,
    Malformed,
    Overloaded,
    RateLimited,
    Unauthenticated,
    /// Refused before authentication: the peer failed it too often.
    AuthLocked,
    TimedOut,
    /// The shared rate limit's store did not answer and the policy is `closed`.
    RateStoreUnavailable,
}

impl Rejection {
    pub fn as_str(self) -> &'static str {
        match self {
            Rejection::Origin => "origin",
            Rejection::Host => "host",
            Rejection::VpcEndpoint => "vpc_endpoint",
            Rejection::BodyTooLarge => "body_too_large",
            Rejection::ContentType => "content_type",
            Rejection::Malformed => "malformed",
            Rejection::Overloaded => "overloaded",
            Rejection::RateLimited => "rate_limited",
            Rejection::Unauthenticated => "unauthenticated",
            Rejection::AuthLocked => "auth_locked",
            Rejection::TimedOut => "timed_out",
            Rejection::RateStoreUnavailable => "rate_limit_store_unavailable",
        }
    }
}

impl Metrics {
    pub fn new(audit_dropped: Arc<AtomicU64>) -> Arc<Self> {
        let mut registry = Registry::with_prefix("mcp");
        let calls = Family::<CallLabels, Counter>::default();
        let latency = Family::new_with_constructor(LatencyBuckets);
        let rejections = Family::<RejectionLabels, Counter>::default();
        let assume_role = Family::new_with_constructor(LatencyBuckets);
        let inflight = Gauge::default();
        let executing = Gauge::default();
        let connections_open = Gauge::default();
        let connections_refused = Counter::default();
        let (listeners, list_changed_sent) = register_list_changed(&mut registry);
        let rate_store = RateStoreMetrics::register(&mut registry);
        registry.register(
            "connections_open",
            "HTTP connections open",
            connections_open.clone(),
        );
        registry.register(
            "connections_refused",
            "Connections closed at once because the tier's connection cap was reached",
            connections_refused.clone(),
        );
        let direct = Family::<DirectLabels, Counter>::default();
        let direct_requests = ["tools/call", "tools/list", "server/discover"].map(|method| {
            ["legacy", "2026-07-28"]
                .map(|form| direct.get_or_create(&DirectLabels { method, form }).clone())
        });
        registry.register(
            "direct_requests",
            "MCP requests answered without building an rmcp service for them, by method and request form",
            direct,
        );
        registry.register(
            "tool_calls",
            "Tool calls by tool and outcome",
            calls.clone(),
        );
        registry.register(
            "tool_call_duration_seconds",
            "Tool call latency from admission to result",
            latency.clone(),
        );
        registry.register(
            "admission_rejections",
            "Requests refused by the admission stack, by reason",
            rejections.clone(),
        );
        registry.register(
            "sts_assume_role_duration_seconds",
            "STS AssumeRole latency by role and outcome",
            assume_role.clone(),
        );
        registry.register(
            "requests_in_flight",
            "MCP requests being served",
            inflight.clone(),
        );
        registry.register(
            "tool_executions_in_progress",
            "Tool calls holding a concurrency permit",
            executing.clone(),
        );
        Arc::new(Metrics {
            registry,
            calls,
            latency,
            assume_role,
            rejections,
            inflight,
            executing,
            connections_open,
            connections_refused,
            listeners,
            list_changed_sent,
            direct_requests,
            rate_store,
            executing_now: AtomicI64::new(0),
            executing_peak: Arc::default(),
            audit_dropped,
        })
    }

    pub fn call(&self, tool: &str, outcome: Outcome, elapsed: Duration) {
        self.calls
            .get_or_create(&CallLabels {
                tool: tool.to_owned(),
                outcome: outcome.as_str(),
            })
            .inc();
        self.latency
            .get_or_create(&ToolLabels {
                tool: tool.to_owned(),
            })
            .observe(elapsed.as_secs_f64());
    }

    pub fn assume_role(&self, role: &str, elapsed: Duration, ok: bool) {
        self.assume_role
            .get_or_create(&RoleLabels {
                role: role.to_owned(),
                outcome: if ok { "ok" } else { "error" }.to_owned(),
            })
            .observe(elapsed.as_secs_f64());
    }

    pub fn reject(&self, why: Rejection) {
        self.rejections
            .get_or_create(&RejectionLabels {
                reason: why.as_str(),
            })
            .inc();
    }

    /// A request answered by the direct path, in the 2026-07-28 form or not.
    pub fn direct_request(&self, method: DirectMethod, current: bool) {
        self.direct_requests[method as usize][usize::from(current)].inc();
    }

    pub fn connection_opened(&self) {
        self.connections_open.inc();
    }

    pub fn connection_closed(&self) {
        self.connections_open.dec();
    }

    pub fn connection_refused(&self) {
        self.connections_refused.inc();
    }

    /// Marks a session or subscription as listening for `tools/list_changed`; the guard
    /// marks it gone.
    pub fn listening(self: &Arc<Self>) -> ListeningGuard {
        self.listeners.inc();
        ListeningGuard(self.clone())
    }

    pub fn list_changed_sent(&self) {
        self.list_changed_sent.inc();
    }

    pub fn inflight_gauge(&self) -> &Gauge {
        &self.inflight
    }

    /// Marks a tool execution as started; the guard marks it finished.
    pub fn executing(self: &Arc<Self>) -> ExecutingGuard {
        let now = self.executing_now.fetch_add(1, Ordering::SeqCst) + 1;
        self.executing.set(now);
        self.executing_peak.fetch_max(now as u64, Ordering::SeqCst);
        ExecutingGuard(self.clone())
    }

    pub fn executing_peak(&self) -> u64 {
        self.executing_peak.load(Ordering::SeqCst)
    }

    pub fn render(&self) -> String {
        let mut out = String::with_capacity(8 * 1024);
        if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &self.registry) {
            return format!("# encoding failed: {e}\n");
        }
        // Counters kept outside the registry (no label family needed).
        let eof = out.rfind("# EOF").unwrap_or(out.len());
        out.truncate(eof);
        out.push_str(&build_info());
        out.push_str(&format!(
            "# HELP mcp_tool_executions_peak Highest number of concurrent tool executions seen\n# TYPE mcp_tool_executions_peak gauge\nmcp_tool_executions_peak {}\n# HELP mcp_audit_dropped_total Audit records dropped because the trail fell behind or a write failed\n# TYPE mcp_audit_dropped_total counter\nmcp_audit_dropped_total {}\n# EOF\n",
            self.executing_peak(),
            self.audit_dropped.load(Ordering::Relaxed)
        ));
        out
    }
}

/// The build this server runs: `mcp_build_info{version="0.1.0",profile="release"} 1`. The
/// harness reads it to say whether a run's cost figures are a release build's.
pub const BUILD_PROFILE: &str = if cfg!(debug_assertions) {
    "debug"
} else {
    "release"
};

fn build_info() -> String {
    format!(
        "# HELP mcp_build_info The server's version and build profile\n# TYPE mcp_build_info gauge\nmcp_build_info{{version=\"{}\",profile=\"{BUILD_PROFILE}\"}} 1\n",
        env!("CARGO_PKG_VERSION")
    )
}

pub struct ExecutingGuard(Arc<Metrics>);

impl Drop for ExecutingGuard {
    fn drop(&mut self) {
        let now = self.0.executing_now.fetch_sub(1, Ordering::SeqCst) - 1;
        self.0.executing.set(now);
    }
}

pub struct ListeningGuard(Arc<Metrics>);

impl Drop for ListeningGuard {
    fn drop(&mut self) {
        self.0.listeners.dec();
    }
}

fn register_list_changed(registry: &mut Registry) -> (Gauge, Counter) {
    let listeners = Gauge::default();
    let sent = Counter::default();
    registry.register(
        "list_changed_listeners",
        "Sessions and subscriptions/listen streams waiting for tools/list_changed",
        listeners.clone(),
    );
    registry.register(
        "list_changed_notifications",
        "tools/list_changed notifications sent",
        sent.clone(),
    );
    (listeners, sent)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_rejections_and_peak_are_exposed() {
        let m = Metrics::new(Arc::default());
        m.call("postgres_query", Outcome::Ok, Duration::from_millis(3));
        m.reject(Rejection::RateLimited);
        {
            let _a = m.executing();
            let _b = m.executing();
        }
        let _c = m.executing();
        let text = m.render();
        assert!(
            text.contains("mcp_tool_calls_total{tool=\"postgres_query\",outcome=\"ok\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("mcp_admission_rejections_total{reason=\"rate_limited\"} 1"),
            "{text}"
        );
        assert!(text.contains("mcp_tool_executions_in_progress 1"), "{text}");
        assert!(
            text.contains("mcp_rate_limit_store_fallbacks_total 0"),
            "{text}"
        );
        assert!(text.contains("mcp_tool_executions_peak 2"), "{text}");
        let profile = if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        };
        assert!(
            text.contains(&format!(
                "mcp_build_info{{version=\"{}\",profile=\"{profile}\"}} 1\n",
                env!("CARGO_PKG_VERSION")
            )),
            "{text}"
        );
        assert!(text.trim_end().ends_with("# EOF"));
    }
}
