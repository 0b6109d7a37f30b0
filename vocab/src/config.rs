//! Loading a configuration file in three stages: the YAML is parsed into `Raw*` types
//! (syntax and type errors stop here, with line and column), the raw values are validated
//! into typed models with every problem collected ([`Issues`], each with its path and
//! value), and only typed models leave the loader.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::de::{DeserializeOwned, IgnoredAny};

/// Unknown keys are collected here (rather than with `deny_unknown_fields`, which stops at
/// the first one) so that all of them are reported together.
pub type Unknown = BTreeMap<String, IgnoredAny>;

/// One problem found in a configuration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigIssue {
    pub path: String,
    pub message: String,
}

impl fmt::Display for ConfigIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// Every problem found while loading one configuration file. Each problem is a
/// [`ConfigIssue`] unless `I` says otherwise: the harness's scenario and alarms validators
/// keep theirs as the text they render (`path: message (at line L column C)`).
#[derive(Debug, thiserror::Error)]
pub enum ConfigError<I: fmt::Display = ConfigIssue> {
    #[error("{file}: cannot read: {source}")]
    Read {
        file: PathBuf,
        source: std::io::Error,
    },
    #[error("{file}: {message}")]
    Parse { file: PathBuf, message: String },
    #[error("{}", render_issues(file, issues))]
    Invalid { file: PathBuf, issues: Vec<I> },
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

    /// Each problem as `path: message`, in order.
    pub fn messages(&self) -> Vec<String> {
        self.issues().iter().map(ToString::to_string).collect()
    }
}

/// `file: N problems`, then each problem on its own line.
fn render_issues(file: &Path, issues: &[impl fmt::Display]) -> String {
    let mut out = format!(
        "{}: {} problem{}",
        file.display(),
        issues.len(),
        if issues.len() == 1 { "" } else { "s" }
    );
    for issue in issues {
        out.push_str(&format!("\n  {issue}"));
    }
    out
}

/// Collects validation problems with their paths.
#[derive(Default)]
pub struct Issues(Vec<ConfigIssue>);

impl Issues {
    /// How many problems were found so far.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn push(&mut self, path: impl Into<String>, message: impl fmt::Display) {
        self.0.push(ConfigIssue {
            path: path.into(),
            message: message.to_string(),
        });
    }

    pub fn unknown(&mut self, path: &str, unknown: &Unknown) {
        for key in unknown.keys() {
            let at = if path.is_empty() {
                key.clone()
            } else {
                format!("{path}.{key}")
            };
            self.push(at, "unknown field");
        }
    }

    /// The error of a file given up on: every problem collected. A file given up on with
    /// none recorded still fails, and says so, rather than passing or panicking.
    pub fn fail(mut self, file: &Path) -> ConfigError {
        if self.0.is_empty() {
            self.push("", "invalid (no problem recorded)");
        }
        ConfigError::Invalid {
            file: file.to_path_buf(),
            issues: self.0,
        }
    }

    pub fn finish<T>(self, file: &Path, value: T) -> Result<T, ConfigError> {
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

/// Parses YAML text into a raw type. The one place YAML is read.
pub fn parse_yaml<T: DeserializeOwned>(file: &Path, text: &str) -> Result<T, ConfigError> {
    serde_saphyr::from_str(text).map_err(|err| ConfigError::Parse {
        file: file.to_path_buf(),
        message: err.to_string(),
    })
}

pub fn read_file(file: &Path) -> Result<String, ConfigError> {
    std::fs::read_to_string(file).map_err(|source| ConfigError::Read {
        file: file.to_path_buf(),
        source,
    })
}

/// Parses a duration written in milliseconds (the seed's `timeout_ms`) or with a unit.
pub fn positive_ms(value: u64) -> Option<std::time::Duration> {
    (value > 0).then(|| std::time::Duration::from_millis(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_given_up_on_fails_with_its_problems_or_says_none_were_recorded() {
        let file = Path::new("tier.yaml");
        let mut issues = Issues::default();
        issues.push("server", "missing");
        assert_eq!(
            issues.fail(file).to_string(),
            "tier.yaml: 1 problem\n  server: missing"
        );
        let none = Issues::default().fail(file).to_string();
        assert_eq!(
            none,
            "tier.yaml: 1 problem\n  : invalid (no problem recorded)"
        );
    }
}
