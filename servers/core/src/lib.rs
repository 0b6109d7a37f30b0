//! Shared core of the mcp-slo reference MCP servers.
//!
//! Both tiers are built from the same parts: configuration in the seed document's YAML
//! shapes ([`config`]), one admission stack ([`stack`], [`admission`]), a tool registry
//! built for runtime registration and paged, per-caller listing ([`registry`]), the MCP
//! handler that runs tools under the concurrency cap and deadline ([`handler`]), the audit
//! trail ([`audit`]), telemetry and metrics, health and graceful shutdown.

pub mod admin;
pub mod admission;
pub mod admitted;
pub mod audit;
pub mod caller;
pub mod config;
pub mod direct;
pub mod families;
pub mod handler;
pub mod health;
pub mod jsonrpc;
pub mod metrics;
pub mod registry;
pub mod reload;
pub mod resources;
pub mod server;
pub mod sql;
pub mod stack;
pub mod telemetry;
pub mod transport;

pub use rmcp;
