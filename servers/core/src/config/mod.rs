//! Server configuration in the seed document's own YAML shapes.
//!
//! Loading runs in three stages: the YAML is parsed into `Raw*` types (syntax and type
//! errors stop here, with line and column), the raw values are validated into typed models
//! (every problem is collected, each with its file, path and value), and only the typed
//! models leave this module. Secrets never live in these files: database URLs and passwords
//! come from the environment.

mod boundaries;
mod callers;
mod kinds;
mod network;
mod security;
mod tools;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::de::{DeserializeOwned, IgnoredAny};

pub use boundaries::{Boundaries, TierLimits};
pub use callers::{CallerEntry, Callers};
pub use kinds::{Category, ParamKind, Tier};
pub use network::{Listener, NetworkIsolation, Transport, VpcEndpoint};
pub use tools::{ParamSpec, ServerConfig, ToolConfig, ToolOptions, ToolSecurity};

/// Unknown keys are collected here (rather than with `deny_unknown_fields`, which stops at
/// the first one) so that all of them are reported together.
pub(crate) type Unknown = BTreeMap<String, IgnoredAny>;

/// One problem found in a configuration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigIssue {
    pub path: String,
    pub message: String,
}

/// Every problem found while loading one configuration file.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{file}: cannot read: {source}")]
    Read {
        file: PathBuf,
        source: std::io::Error,
    },
    #[error("{file}: {message}")]
    Parse { file: PathBuf, message: String },
    #[error("{}", render_issues(file, issues))]
    Invalid {
        file: PathBuf,
        issues: Vec<ConfigIssue>,
    },
}

impl ConfigError {
    /// The individual problems (one for read and parse errors).
    pub fn issues(&self) -> Vec<ConfigIssue> {
        match self {
            ConfigError::Invalid { issues, .. } => issues.clone(),
            other => vec![ConfigIssue {
                path: String::new(),
                message: other.to_string(),
            }],
        }
    }
}

fn render_issues(file: &Path, issues: &[ConfigIssue]) -> String {
    let mut out = format!(
        "{}: {} problem{}",
        file.display(),
        issues.len(),
        if issues.len() == 1 { "" } else { "s" }
    );
    for issue in issues {
        out.push_str(&format!("\n  {}: {}", issue.path, issue.message));
    }
    out
}

/// Collects validation problems with their paths.
#[derive(Default)]
pub(crate) struct Issues(Vec<ConfigIssue>);

impl Issues {
    pub(crate) fn push(&mut self, path: impl Into<String>, message: impl fmt::Display) {
        self.0.push(ConfigIssue {
            path: path.into(),
            message: message.to_string(),
        });
    }

    pub(crate) fn unknown(&mut self, path: &str, unknown: &Unknown) {
        for key in unknown.keys() {
            let at = if path.is_empty() {
                key.clone()
            } else {
                format!("{path}.{key}")
            };
            self.push(at, "unknown field");
        }
    }

    pub(crate) fn finish<T>(self, file: &Path, value: T) -> Result<T, ConfigError> {
        if self.0.is_empty() {
            Ok(value)
        } else {
            Err(ConfigError::Invalid {
                file: file.to_path_buf(),
                issues: self.0,
            })
        }
    }
}

/// The three files a tier starts from, loaded together so that every problem in any of
/// them is reported at once.
pub struct TierFiles {
    pub server: ServerConfig,
    pub boundaries: Boundaries,
    pub network: NetworkIsolation,
}

impl TierFiles {
    pub fn load(server: &Path, boundaries: &Path, network: &Path) -> Result<TierFiles, String> {
        let mut errors = Vec::new();
        let server = ServerConfig::load(server)
            .map_err(|e| errors.push(e.to_string()))
            .ok();
        let boundaries = Boundaries::load(boundaries)
            .map_err(|e| errors.push(e.to_string()))
            .ok();
        let network = NetworkIsolation::load(network)
            .map_err(|e| errors.push(e.to_string()))
            .ok();
        match (server, boundaries, network) {
            (Some(server), Some(boundaries), Some(network)) => Ok(TierFiles {
                server,
                boundaries,
                network,
            }),
            _ => Err(errors.join("\n")),
        }
    }
}

/// Parses YAML text into a raw type. The one place YAML is read.
pub(crate) fn parse_yaml<T: DeserializeOwned>(file: &Path, text: &str) -> Result<T, ConfigError> {
    serde_saphyr::from_str(text).map_err(|err| ConfigError::Parse {
        file: file.to_path_buf(),
        message: err.to_string(),
    })
}

pub(crate) fn read_file(file: &Path) -> Result<String, ConfigError> {
    std::fs::read_to_string(file).map_err(|source| ConfigError::Read {
        file: file.to_path_buf(),
        source,
    })
}

/// Parses a duration written in milliseconds (the seed's `timeout_ms`) or with a unit.
pub(crate) fn positive_ms(value: u64) -> Option<std::time::Duration> {
    (value > 0).then(|| std::time::Duration::from_millis(value))
}

#[cfg(test)]
mod committed {
    use std::path::Path;

    /// Every file in `config/` loads and validates.
    #[test]
    fn every_committed_config_is_valid() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config");
        let mut checked = 0;
        for entry in std::fs::read_dir(&dir).expect("config/ exists") {
            let path = entry.expect("entry").path();
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default()
                .to_owned();
            match name.as_str() {
                "deployment_boundaries.yaml" => drop(super::Boundaries::load(&path).unwrap()),
                "network_isolation.yaml" => drop(super::NetworkIsolation::load(&path).unwrap()),
                "aws_callers.yaml" => drop(super::Callers::load(&path).unwrap()),
                // The harness's alarm definitions: mcp-slo-core's alarms tests validate it.
                "cloudwatch_alarms.yaml" => continue,
                n if n.ends_with("_config.yaml") => drop(super::ServerConfig::load(&path).unwrap()),
                other => panic!("config/{other}: no validator knows this file; add one"),
            }
            checked += 1;
        }
        assert!(checked >= 3, "checked {checked} files");
    }
}
