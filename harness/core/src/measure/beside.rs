//! What a run observed beside its calls: the faults as they happened and the servers'
//! metrics pages.

use serde::{Deserialize, Serialize};

/// When a fault was in force, in ms from the start of the load.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct FaultWindow {
    pub name: String,
    /// `run`, `break`, `delay` or `restart`.
    pub kind: String,
    pub started_ms: u64,
    /// `None`: it never ended (its command failed, or the run ended first).
    pub ended_ms: Option<u64>,
    /// Why it could not be injected or ended (a command's status and last output).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A server's metrics page read before and after the load, for the `server_metric`
/// objectives naming its target and URL (as written: `beside` or a URL).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MetricsPage {
    pub target: String,
    pub url: String,
    pub before: Option<String>,
    pub after: Option<String>,
    /// Why a read failed.
    pub error: Option<String>,
}
