//! What a run observed beside its calls: the faults as they happened, the servers'
//! metrics pages, and the sampled server processes' footprints (resident memory and open
//! descriptors once a second, for the `growth` objectives of a soak and the report).

use serde::{Deserialize, Serialize};

/// When a fault was in force, in ms from the start of the load.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct FaultWindow {
    pub name: String,
    /// `run`, `break`, `delay`, `cut` or `restart`.
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
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MetricsPage {
    pub target: String,
    pub url: String,
    pub before: Option<String>,
    pub after: Option<String>,
    /// Why a read failed.
    pub error: Option<String>,
}

/// What a sampled server process (or the processes a restarted target was) held over the
/// run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Footprint {
    /// The target it served (`None`: a `--target-pid` the run could not place on one).
    pub target: Option<String>,
    /// Its processes in the order they ran (more than one when it was restarted).
    pub pids: Vec<u32>,
    /// Once a second, from the start of the load.
    pub samples: Vec<FootprintSample>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct FootprintSample {
    /// From the start of the load.
    pub at_ms: u64,
    pub rss_bytes: u64,
    /// Open file descriptors (sockets included).
    pub fds: u32,
}

/// What a footprint is judged on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Resource {
    /// Resident memory.
    Rss,
    /// Open file descriptors.
    Fds,
}

impl Resource {
    pub fn as_str(self) -> &'static str {
        match self {
            Resource::Rss => "rss",
            Resource::Fds => "fds",
        }
    }

    /// The sample's value of this resource.
    pub fn of(self, s: &FootprintSample) -> f64 {
        match self {
            Resource::Rss => s.rss_bytes as f64,
            Resource::Fds => f64::from(s.fds),
        }
    }

    /// A value as the report writes it: MiB for memory, a count for descriptors.
    pub fn show(self, value: f64) -> String {
        match self {
            Resource::Rss => format!("{:.1} MiB", value / (1024.0 * 1024.0)),
            Resource::Fds => format!("{value:.0}"),
        }
    }
}
