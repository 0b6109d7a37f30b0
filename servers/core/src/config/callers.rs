//! `aws_callers.yaml`: who may call an authenticating tier. Tokens are stored as SHA-256
//! hashes only; each caller is a principal with the tools it may use.

use std::collections::BTreeSet;
use std::path::Path;

use serde::Deserialize;

use super::{ConfigError, Issues, Unknown, parse_yaml, read_file};

#[derive(Debug, Deserialize)]
struct RawFile {
    #[serde(default)]
    callers: Vec<RawCaller>,
    #[serde(flatten)]
    unknown: Unknown,
}

#[derive(Debug, Deserialize)]
struct RawCaller {
    principal: Option<String>,
    token_sha256: Option<String>,
    #[serde(default)]
    tools: Vec<String>,
    #[serde(flatten)]
    unknown: Unknown,
}

/// One caller: a principal, the SHA-256 of its bearer token, and its tools (`*` = all).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallerEntry {
    pub principal: String,
    pub token_sha256: [u8; 32],
    pub tools: Option<BTreeSet<String>>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Callers {
    pub callers: Vec<CallerEntry>,
}

fn parse_hash(text: &str) -> Option<[u8; 32]> {
    let bytes = text.as_bytes();
    if bytes.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, pair) in bytes.chunks(2).enumerate() {
        let hex = std::str::from_utf8(pair).ok()?;
        out[i] = u8::from_str_radix(hex, 16).ok()?;
    }
    Some(out)
}

impl Callers {
    pub fn load(file: &Path) -> Result<Self, ConfigError> {
        Self::from_yaml(file, &read_file(file)?)
    }

    pub fn from_yaml(file: &Path, text: &str) -> Result<Self, ConfigError> {
        let raw: RawFile = parse_yaml(file, text)?;
        let mut issues = Issues::default();
        issues.unknown("", &raw.unknown);
        let mut callers = Vec::new();
        let mut seen = BTreeSet::new();
        for (i, c) in raw.callers.into_iter().enumerate() {
            let path = format!("callers[{i}]");
            issues.unknown(&path, &c.unknown);
            let principal = c.principal.unwrap_or_default();
            if principal.trim().is_empty() {
                issues.push(format!("{path}.principal"), "missing");
            } else if !seen.insert(principal.clone()) {
                issues.push(
                    format!("{path}.principal"),
                    format!("duplicate principal {principal:?}"),
                );
            }
            let hash = match c
                .token_sha256
                .as_deref()
                .map(|h| (h, parse_hash(&h.to_ascii_lowercase())))
            {
                Some((_, Some(h))) => Some(h),
                Some((h, None)) => {
                    issues.push(
                        format!("{path}.token_sha256"),
                        format!("{h:?} is not 64 hex digits"),
                    );
                    None
                }
                None => {
                    issues.push(format!("{path}.token_sha256"), "missing");
                    None
                }
            };
            if c.tools.is_empty() {
                issues.push(
                    format!("{path}.tools"),
                    "list the tools this caller may use (or \"*\")",
                );
            }
            let tools = (!c.tools.iter().any(|t| t == "*")).then(|| c.tools.into_iter().collect());
            if let Some(token_sha256) = hash {
                callers.push(CallerEntry {
                    principal,
                    token_sha256,
                    tools,
                });
            }
        }
        issues.finish(file, Callers { callers })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn callers_load_and_problems_are_listed() {
        let good = "callers:\n  - principal: console\n    token_sha256: \"8d969eef6ecad3c29a3a629280e686cf0c3f5d5a86aff3ca12020c923adc6c92\"\n    tools: [\"*\"]\n  - principal: reader\n    token_sha256: \"8D969EEF6ECAD3C29A3A629280E686CF0C3F5D5A86AFF3CA12020C923ADC6C92\"\n    tools: [s3_read]\n";
        let c = Callers::from_yaml(Path::new("c.yaml"), good).unwrap();
        assert_eq!(c.callers.len(), 2);
        assert_eq!(c.callers[0].tools, None);
        assert_eq!(c.callers[1].tools.as_ref().unwrap().len(), 1);
        let bad = "callers:\n  - principal: console\n    token_sha256: \"abc\"\n    tools: []\n";
        let err = Callers::from_yaml(Path::new("c.yaml"), bad)
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "c.yaml: 2 problems\n  callers[0].token_sha256: \"abc\" is not 64 hex digits\n  callers[0].tools: list the tools this caller may use (or \"*\")"
        );
    }
}
