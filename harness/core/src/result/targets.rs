//! What a result says of its targets: each one's address, revision, build and backends.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct TargetInfo {
    pub name: String,
    pub url: String,
    pub mode: String,
    pub spawned: bool,
    /// The MCP revision spoken with the target.
    pub protocol_version: String,
    /// How it was settled, e.g. `server/discover: supports ...` or `initialize: 2025-11-25`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub negotiated: Option<String>,
    /// What served a spawned target's backends (empty for a target given by URL, whose
    /// backends the harness does not know).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub backends: Vec<BackendInfo>,
    /// The build profile the server states (`mcp_build_info` in its `/metrics`); absent
    /// when it states none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build_profile: Option<BuildProfile>,
    /// Where the target's bearer token came from when it is an OAuth client, and how often
    /// it was fetched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oauth: Option<OAuthInfo>,
}

/// A target's OAuth token endpoint (client credentials) over the run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct OAuthInfo {
    pub token_url: String,
    /// Tokens fetched, the first (before the load) included.
    pub fetches: u64,
    /// Refreshes that failed and were tried again.
    pub failed_fetches: u64,
}

/// How a binary was built: its figures (CPU per call above all) differ by an order of
/// magnitude between the two.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum BuildProfile {
    /// Optimised, without debug assertions.
    Release,
    /// Debug assertions on (cargo's `dev` profile).
    Debug,
}

impl BuildProfile {
    pub fn as_str(self) -> &'static str {
        match self {
            BuildProfile::Release => "release",
            BuildProfile::Debug => "debug",
        }
    }

    /// `release` or `debug` (cargo's `dev` too); anything else is not known.
    pub fn parse(text: &str) -> Option<BuildProfile> {
        match text {
            "release" => Some(BuildProfile::Release),
            "debug" | "dev" => Some(BuildProfile::Debug),
            _ => None,
        }
    }
}

impl TargetInfo {
    /// True when any backend was an embedded stand-in: the figures are not the real
    /// databases'.
    pub fn embedded(&self) -> bool {
        self.backends
            .iter()
            .any(|b| b.source == BackendSource::Embedded)
    }
}

/// One backend of a spawned target and where it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct BackendInfo {
    /// `postgres`, `mysql`, `cache`, `files` or `aws`.
    pub service: String,
    pub source: BackendSource,
    /// Where it answered (credentials removed), or what stood in for it.
    pub address: String,
}

/// `postgres=env (postgres://...), cache=embedded (in-process cache)`: how runs print them.
pub fn describe_backends(backends: &[BackendInfo]) -> String {
    backends
        .iter()
        .map(|b| format!("{}={} ({})", b.service, b.source.as_str(), b.address))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Where a backend came from, in the order they are tried.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum BackendSource {
    /// A URL in the environment (`DATABASE_URL`, `REDIS_URL`, `AWS_ENDPOINT_URL`, ...).
    Env,
    /// A service already listening on its default loopback port.
    Loopback,
    /// A container started for the run (a Docker engine answered).
    Container,
    /// An embedded stand-in (SQLite, the in-process cache, a fixture sandbox).
    Embedded,
}

impl BackendSource {
    pub fn as_str(self) -> &'static str {
        match self {
            BackendSource::Env => "env",
            BackendSource::Loopback => "loopback",
            BackendSource::Container => "container",
            BackendSource::Embedded => "embedded",
        }
    }
}
