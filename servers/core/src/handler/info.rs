//! What `initialize` (and `server/discover`) answers: the capabilities, among them
//! `tools.listChanged` (`notify.rs` keeps that promise), and the tier's limits.

use rmcp::model::{Implementation, ServerCapabilities, ServerConfig};

use crate::config::{Tier, TierLimits};

pub(super) fn server_info(name: String, tier: Tier, limits: &TierLimits) -> ServerConfig {
    ServerConfig::new(
        ServerCapabilities::builder()
            .enable_tools()
            .enable_tool_list_changed()
            .build(),
    )
    .with_server_info(Implementation::new(name, env!("CARGO_PKG_VERSION")))
    .with_instructions(format!(
        "{} tier tools. Limits: {} requests in flight, {} tool calls/s, {} ms per call, {} running at once.",
        tier.as_str(),
        limits.max_inflight_requests,
        limits.rate_limit_per_second,
        limits.timeout.as_millis(),
        limits.max_concurrent,
    ))
}
