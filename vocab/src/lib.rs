//! What the mcp-slo servers and harness both speak, in one small crate: the tiers and their
//! deployment boundaries (the seed's `deployment_boundaries.yaml`), how a tier serves
//! (`Mode`), the JSON-RPC error codes the tiers answer with, and the loader every
//! configuration validator uses (`config`: parse, collect every issue with its path).
//! The harness's core builds on this, not on the servers' HTTP stack.

mod boundaries;
pub mod config;
pub mod jsonrpc;
mod kinds;
mod mode;

pub use boundaries::{Boundaries, TierLimits};
pub use kinds::{Category, ParamKind, Tier};
pub use mode::Mode;
