//! `network_isolation.yaml`: where each tier listens and which browser origins it accepts.

use std::net::SocketAddr;
use std::path::Path;

use serde::Deserialize;

use super::{ConfigError, Issues, Unknown, parse_yaml, read_file};

#[derive(Debug, Deserialize)]
struct RawFile {
    network: Option<RawNetwork>,
    #[serde(flatten)]
    unknown: Unknown,
}

#[derive(Debug, Deserialize)]
struct RawNetwork {
    local_server: Option<RawListener>,
    aws_server: Option<RawListener>,
    #[serde(flatten)]
    unknown: Unknown,
}

#[derive(Debug, Deserialize)]
struct RawListener {
    listen_address: Option<String>,
    #[serde(default)]
    allowed_origins: Vec<String>,
    cors_enabled: Option<bool>,
    vpc_endpoint: Option<String>,
    /// Extension: extra `Host` header values accepted (DNS-rebinding protection); loopback
    /// names are always accepted.
    #[serde(default)]
    allowed_hosts: Vec<String>,
    #[serde(flatten)]
    unknown: Unknown,
}

/// One tier's listener, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listener {
    pub listen_address: SocketAddr,
    /// Origins as `scheme://host[:port]`, compared exactly (after lowercasing).
    pub allowed_origins: Vec<String>,
    pub cors_enabled: bool,
    pub vpc_endpoint: Option<String>,
    pub allowed_hosts: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkIsolation {
    pub local_server: Listener,
    pub aws_server: Listener,
}

impl NetworkIsolation {
    pub fn load(file: &Path) -> Result<Self, ConfigError> {
        Self::from_yaml(file, &read_file(file)?)
    }

    pub fn from_yaml(file: &Path, text: &str) -> Result<Self, ConfigError> {
        let raw: RawFile = parse_yaml(file, text)?;
        let mut issues = Issues::default();
        issues.unknown("", &raw.unknown);
        let Some(net) = raw.network else {
            issues.push("network", "missing");
            return Err(issues.finish(file, ()).unwrap_err());
        };
        issues.unknown("network", &net.unknown);
        let local = listener(&mut issues, "network.local_server", net.local_server);
        let aws = listener(&mut issues, "network.aws_server", net.aws_server);
        match (local, aws) {
            (Some(local_server), Some(aws_server)) => issues.finish(
                file,
                NetworkIsolation {
                    local_server,
                    aws_server,
                },
            ),
            _ => Err(issues.finish(file, ()).unwrap_err()),
        }
    }
}

fn listener(issues: &mut Issues, path: &str, raw: Option<RawListener>) -> Option<Listener> {
    let Some(raw) = raw else {
        issues.push(path, "missing");
        return None;
    };
    issues.unknown(path, &raw.unknown);
    let before = issues.0.len();
    let address = match raw.listen_address.as_deref() {
        None => {
            issues.push(format!("{path}.listen_address"), "missing");
            None
        }
        Some(text) => match text.parse::<SocketAddr>() {
            Ok(addr) => Some(addr),
            Err(_) => {
                issues.push(
                    format!("{path}.listen_address"),
                    format!("{text:?} is not an IP address with a port (e.g. \"127.0.0.1:8080\")"),
                );
                None
            }
        },
    };
    let mut origins = Vec::new();
    for (i, origin) in raw.allowed_origins.iter().enumerate() {
        match normalize_origin(origin) {
            Some(o) => origins.push(o),
            None => issues.push(
                format!("{path}.allowed_origins[{i}]"),
                format!("{origin:?} is not an origin of the form scheme://host[:port]"),
            ),
        }
    }
    if issues.0.len() > before {
        return None;
    }
    Some(Listener {
        listen_address: address?,
        allowed_origins: origins,
        cors_enabled: raw.cors_enabled.unwrap_or(false),
        vpc_endpoint: raw.vpc_endpoint,
        allowed_hosts: raw.allowed_hosts,
    })
}

/// Lowercases an origin and checks its shape; `None` when it is not `scheme://host[:port]`.
pub(crate) fn normalize_origin(origin: &str) -> Option<String> {
    let lower = origin.trim().to_ascii_lowercase();
    let (scheme, rest) = lower.split_once("://")?;
    let valid_scheme = matches!(scheme, "http" | "https");
    let valid_rest =
        !rest.is_empty() && !rest.contains('/') && !rest.contains('?') && !rest.contains('@');
    (valid_scheme && valid_rest).then_some(lower)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"network:
  local_server:
    listen_address: "127.0.0.1:8080"
    allowed_origins: ["http://localhost:3000"]
    cors_enabled: true
  aws_server:
    listen_address: "0.0.0.0:8081"
    allowed_origins: ["https://agent-console.example.com"]
    cors_enabled: true
    vpc_endpoint: "vpce-1234567890"
"#;

    #[test]
    fn the_seed_network_loads() {
        let n = NetworkIsolation::from_yaml(Path::new("n.yaml"), GOOD).unwrap();
        assert_eq!(
            n.local_server.listen_address,
            "127.0.0.1:8080".parse().unwrap()
        );
        assert_eq!(
            n.aws_server.allowed_origins,
            vec!["https://agent-console.example.com"]
        );
        assert_eq!(
            n.aws_server.vpc_endpoint.as_deref(),
            Some("vpce-1234567890")
        );
    }

    #[test]
    fn bad_address_and_origin_are_both_reported() {
        let bad = GOOD.replace("127.0.0.1:8080", "localhost").replace(
            "https://agent-console.example.com",
            "agent-console.example.com/x",
        );
        let err = NetworkIsolation::from_yaml(Path::new("n.yaml"), &bad)
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "n.yaml: 2 problems\n  network.local_server.listen_address: \"localhost\" is not an IP address with a port (e.g. \"127.0.0.1:8080\")\n  network.aws_server.allowed_origins[0]: \"agent-console.example.com/x\" is not an origin of the form scheme://host[:port]"
        );
    }
}
