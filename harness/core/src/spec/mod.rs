//! Scenarios: parsed (`raw`), then validated into the typed model below. Every validation
//! problem is reported at once, each with its path and, where the value was written, its
//! line and column.

pub mod alarm_checks;
pub mod args;
pub mod faults;
pub mod ops;
pub mod probes;
pub mod raw;
pub mod shard;
mod targets;
mod validate;

pub use targets::{ClientAuth, OAuth};

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use args::ArgTemplate;
pub use mcp_slo_vocab::Mode;
use mcp_slo_vocab::{Tier, TierLimits};
use raw::RawScenario;

pub const VERSION: &str = "mcp-slo/v1";

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ServerKind {
    Local,
    Aws,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    Url(String),
    Spawn {
        server: ServerKind,
        args: Vec<String>,
        /// Variables set for the server (`${VAR}` taken from the harness's environment).
        env: Vec<(String, String)>,
    },
}

/// Whether a URL's host is loopback (`localhost`, 127.0.0.0/8, ::1): only there can a
/// caller send from an address of its own (127.0.0.N).
pub fn is_loopback_url(url: &str) -> bool {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => authority.rsplit_once(':').map_or(authority, |(h, _)| h),
    };
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub name: String,
    pub endpoint: Endpoint,
    pub mode: Mode,
    pub protocol: Protocol,
    pub token_env: Option<String>,
    /// A bearer token from an OAuth 2.1 token endpoint (client credentials).
    pub oauth: Option<OAuth>,
    /// Extra HTTP headers, values with `${VAR}` taken from the environment at start.
    pub headers: Vec<(String, String)>,
    /// Another target whose server this one calls (the same server under another
    /// revision, side by side).
    pub same_server_as: Option<String>,
}

/// An MCP protocol revision the harness speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Revision {
    V2025_03_26,
    V2025_06_18,
    V2025_11_25,
    V2026_07_28,
}

impl Revision {
    pub const ALL: [Revision; 4] = [
        Revision::V2025_03_26,
        Revision::V2025_06_18,
        Revision::V2025_11_25,
        Revision::V2026_07_28,
    ];
    /// The newest revision with `initialize` and sessions.
    pub const LATEST_WITH_SESSIONS: Revision = Revision::V2025_11_25;

    pub fn as_str(self) -> &'static str {
        match self {
            Revision::V2025_03_26 => "2025-03-26",
            Revision::V2025_06_18 => "2025-06-18",
            Revision::V2025_11_25 => "2025-11-25",
            Revision::V2026_07_28 => "2026-07-28",
        }
    }

    pub fn parse(text: &str) -> Option<Revision> {
        Revision::ALL.into_iter().find(|r| r.as_str() == text)
    }

    /// 2026-07-28 on: no `initialize`, no sessions; every request carries `_meta` and the
    /// `Mcp-Method` / `Mcp-Name` headers.
    pub fn is_self_contained(self) -> bool {
        self >= Revision::V2026_07_28
    }
}

impl std::fmt::Display for Revision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which revision to speak with a target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// Find out: `server/discover` at 2026-07-28, else `initialize` (the default).
    Auto,
    Fixed(Revision),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RateScope {
    Global,
    PerCaller,
}

#[derive(Debug, Clone, PartialEq)]
pub struct BoundariesRef {
    pub file: PathBuf,
    pub tier: Tier,
    pub scope: RateScope,
    pub limits: TierLimits,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LoadModel {
    Open,
    Closed,
}

impl LoadModel {
    /// The name scenarios and `result.json` give it.
    pub fn as_str(self) -> &'static str {
        match self {
            LoadModel::Open => "open",
            LoadModel::Closed => "closed",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Phase {
    pub name: String,
    pub duration: Duration,
    /// Open model: calls per second.
    pub rate: Option<f64>,
    /// Closed model: users.
    pub users: Option<u32>,
    pub record: bool,
    /// The phase's own mix (fault injection), instead of the scenario's.
    pub mix: Option<Vec<Op>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Load {
    pub model: LoadModel,
    pub phases: Vec<Phase>,
    pub max_users: u32,
    /// Load-engine threads; `None`: one per two cores (see `Load::threads`).
    pub threads: Option<u32>,
    pub callers: u32,
    /// The first of the callers' loopback addresses (127.0.0.(1 + first_caller)): 0 but
    /// in a shard, which calls as its own slice of the callers.
    pub first_caller: u32,
    pub timeout: Duration,
    pub seed: u64,
    pub retries: Option<Retries>,
}

/// Retries: `attempts` in all (the first included), backing off from `base`, doubling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retries {
    pub attempts: u32,
    pub base: Duration,
}

/// The load engine's threads when a scenario does not say: one per two cores, at least one.
pub fn default_threads() -> u32 {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get() as u32);
    (cores / 2).max(1)
}

impl Load {
    /// The load engine's threads: as given, else one per two cores (the rest is left to
    /// the target and its backends when they share the machine), at least one.
    pub fn threads(&self) -> u32 {
        self.threads.unwrap_or_else(default_threads)
    }

    /// Where the first recorded phase starts (the warm-up's length); the whole load when
    /// nothing is recorded.
    pub fn warmup(&self) -> Duration {
        self.phases
            .iter()
            .take_while(|p| !p.record)
            .map(|p| p.duration)
            .sum()
    }

    pub fn total(&self) -> Duration {
        self.phases.iter().map(|p| p.duration).sum()
    }
    /// The highest offered rate of a recorded phase (open model).
    pub fn peak_rate(&self) -> Option<f64> {
        self.phases.iter().filter_map(|p| p.rate).reduce(f64::max)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Op {
    pub target: String,
    /// What the op's calls are recorded and judged under ([`ops::Method::label`]): the
    /// tool's name for a `tools/call`.
    pub tool: String,
    pub method: ops::Method,
    pub weight: u32,
    /// The tool's or prompt's arguments; `{uri}` for `resources/read`.
    pub args: ArgTemplate,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ObjectiveKind {
    Latency {
        percentile: f64,
        below_us: u64,
    },
    ErrorRate {
        below: f64,
        /// Judge first attempts instead of final outcomes (with retries).
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        first_attempt: bool,
    },
    Availability {
        above: f64,
        slice_ms: u64,
        slice_target: f64,
    },
    Throughput {
        above: f64,
    },
    /// From the end of `fault` to the start of the first second whose success ratio met
    /// `slice_target`, at most `within_ms`.
    Recovery {
        fault: String,
        within_ms: u64,
        slice_target: f64,
    },
    /// No call hung past the client's timeout or was lost (outside the `except` faults).
    Answered {
        #[serde(skip_serializing_if = "Vec::is_empty")]
        except: Vec<String>,
    },
    /// No call failed without a clean answer (outside the `except` faults).
    CleanErrors {
        #[serde(skip_serializing_if = "Vec::is_empty")]
        except: Vec<String>,
    },
    /// A figure from a target's metrics page: a histogram's percentile over what it
    /// observed during the load, or a value after it.
    ServerMetric(ServerMetric),
    /// A sampled server process's resident memory or open descriptors, from the start of
    /// the judged window to its end.
    Growth(Growth),
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Growth {
    pub resource: crate::measure::Resource,
    /// The largest growth allowed, as a fraction (0.05 for 5 %).
    pub below: f64,
    /// `None`: every sampled process.
    pub target: Option<String>,
    /// The judged window starts this long after the start of the load; `None`: where
    /// the run's first recorded phase starts (after its warm-up).
    pub after_ms: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ServerMetric {
    pub target: String,
    /// `beside` or a URL.
    pub url: String,
    pub name: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// A histogram's percentile (0-100); `None`: the value after the load.
    pub percentile: Option<f64>,
    pub below: Option<f64>,
    pub above: Option<f64>,
    pub min_count: u64,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Objective {
    pub name: String,
    pub tool: Option<String>,
    #[serde(flatten)]
    pub kind: ObjectiveKind,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    pub file: PathBuf,
    pub name: String,
    pub description: Option<String>,
    pub targets: BTreeMap<String, Target>,
    pub boundaries: Option<BoundariesRef>,
    pub load: Load,
    pub mix: Vec<Op>,
    pub objectives: Vec<Objective>,
    pub probes: Option<probes::Probes>,
    pub alarms: Option<alarm_checks::AlarmChecks>,
    pub baseline: Option<Baseline>,
    pub faults: Vec<faults::Fault>,
    pub proxies: Vec<faults::Proxy>,
}

/// The stored result a run is compared with, and the tolerances.
#[derive(Debug, Clone, PartialEq)]
pub struct Baseline {
    pub file: PathBuf,
    pub tolerances: crate::compare::Tolerances,
}

impl Scenario {
    /// Whether the scenario runs load (a probes-only scenario does not).
    pub fn has_load(&self) -> bool {
        !self.load.phases.is_empty()
    }
}

/// Why a scenario cannot be used: unreadable, unparseable (with line and column), or invalid
/// (every problem at once, each as `path: message`, with `(at line L column C)` where the
/// value was written). Rendered like every other configuration file's errors.
pub type SpecError = mcp_slo_vocab::config::ConfigError<String>;

impl Scenario {
    pub fn load(file: &Path) -> Result<Scenario, SpecError> {
        let text = std::fs::read_to_string(file).map_err(|source| SpecError::Read {
            file: file.to_path_buf(),
            source,
        })?;
        Self::from_yaml(file, &text)
    }

    pub fn from_yaml(file: &Path, text: &str) -> Result<Scenario, SpecError> {
        let raw: RawScenario = serde_saphyr::from_str(text).map_err(|e| SpecError::Parse {
            file: file.to_path_buf(),
            message: e.to_string(),
        })?;
        let mut v = validate::Validator::default();
        let scenario = v.scenario(file, raw);
        if v.issues.is_empty()
            && let Some(s) = scenario
        {
            return Ok(s);
        }
        Err(SpecError::Invalid {
            file: file.to_path_buf(),
            issues: v.issues,
        })
    }

    /// The spec's JSON schema (for editors and for `scenarios/schema.json`).
    pub fn json_schema() -> serde_json::Value {
        serde_json::to_value(schemars::schema_for!(RawScenario)).unwrap_or_default()
    }
}

#[cfg(test)]
mod committed_tests;
#[cfg(test)]
mod mutation_tests;
#[cfg(test)]
mod oauth_tests;
#[cfg(test)]
mod parse_tests;
#[cfg(test)]
mod sections_tests;
#[cfg(test)]
mod tests;
