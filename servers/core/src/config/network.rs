//! `network_isolation.yaml`: where each tier listens and which browser origins it accepts.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

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
    /// The VPC endpoint (`vpce-...`) this tier is reached through (see [`VpcEndpoint`]).
    vpc_endpoint: Option<String>,
    /// Extension: refuse requests that did not come through `vpc_endpoint` at all.
    vpc_endpoint_required: Option<bool>,
    /// Extension: extra `Host` header values accepted (DNS-rebinding protection); loopback
    /// names are always accepted.
    #[serde(default)]
    allowed_hosts: Vec<String>,
    /// Extension: accept browser origins on loopback names (`http://127.0.0.1:PORT`,
    /// `http://localhost:PORT`, `http://[::1]:PORT`, any port). Default: on when the tier
    /// listens on a loopback address (a page elsewhere cannot be one of them; a DNS-rebinding
    /// page's origin is its own name), off otherwise.
    allow_loopback_origins: Option<bool>,
    /// Extension: the HTTP transport's limits (`transport.rs`).
    transport: Option<RawTransport>,
    /// Extension: the loopback-only admin endpoint (`admin/`).
    admin: Option<RawAdmin>,
    #[serde(flatten)]
    unknown: Unknown,
}

#[derive(Debug, Deserialize)]
struct RawAdmin {
    enabled: Option<bool>,
    #[serde(default)]
    principals: Vec<String>,
    #[serde(flatten)]
    unknown: Unknown,
}

/// The admin endpoint (`POST /admin/tools`, `DELETE /admin/tools/{name}`): off unless
/// `enabled`; answered on loopback connections only; on a tier that authenticates its
/// callers, only to the `principals` listed here.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AdminAccess {
    pub enabled: bool,
    pub principals: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct RawTransport {
    header_read_timeout_ms: Option<u64>,
    max_connections: Option<u64>,
    max_header_bytes: Option<u64>,
    http2_max_concurrent_streams: Option<u32>,
    http2_max_frame_size: Option<u32>,
    http2_max_header_list_size: Option<u32>,
    http2_keep_alive_interval_ms: Option<u64>,
    #[serde(flatten)]
    unknown: Unknown,
}

/// A tier's transport limits (see `transport.rs`); every field has a safe default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transport {
    /// A whole request head must arrive within this of the connection opening or of the
    /// previous answer (so it is also the HTTP/1.1 idle keep-alive timeout).
    pub header_read_timeout: Duration,
    /// Open connections at most; more are closed as soon as they are accepted. Far above
    /// the in-flight caps (100, 500), so that overload is answered with a 503 on a
    /// connection already open, and below the descriptors a process gets (20,000 here),
    /// so idle sockets cannot exhaust them.
    pub max_connections: usize,
    /// Largest HTTP/1.1 request head (hyper's read buffer; at least 8,192).
    pub max_header_bytes: usize,
    pub http2_max_concurrent_streams: u32,
    /// 16,384 to 16,777,215 (RFC 9113).
    pub http2_max_frame_size: u32,
    pub http2_max_header_list_size: u32,
    /// Pings on an idle HTTP/2 connection; one unanswered for 20 s closes it.
    pub http2_keep_alive_interval: Duration,
}

impl Default for Transport {
    fn default() -> Self {
        Transport {
            header_read_timeout: Duration::from_secs(10),
            max_connections: 4096,
            max_header_bytes: 64 * 1024,
            http2_max_concurrent_streams: 100,
            http2_max_frame_size: 16 * 1024,
            http2_max_header_list_size: 16 * 1024,
            http2_keep_alive_interval: Duration::from_secs(30),
        }
    }
}

/// One tier's listener, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listener {
    pub listen_address: SocketAddr,
    /// Origins as `scheme://host[:port]`, compared exactly (after lowercasing).
    pub allowed_origins: Vec<String>,
    pub cors_enabled: bool,
    pub vpc_endpoint: Option<VpcEndpoint>,
    pub allowed_hosts: Vec<String>,
    pub allow_loopback_origins: bool,
    pub transport: Transport,
    pub admin: AdminAccess,
}

/// The VPC endpoint a tier is reached through. An AWS endpoint that forwards HTTP (an API
/// Gateway private endpoint in front of the tier) names itself in the `x-amzn-vpce-id`
/// request header: a request forwarded by any *other* endpoint is refused (403), and with
/// `required` so is a request that came through no endpoint at all (the tier must then only
/// be reachable through its proxy, as its security group makes it). The guard in
/// `stack.rs` checks it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VpcEndpoint {
    pub id: String,
    pub required: bool,
}

impl VpcEndpoint {
    /// The header an AWS endpoint forwarding the request sets to its id.
    pub const HEADER: &'static str = "x-amzn-vpce-id";
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
            return Err(issues.fail(file));
        };
        issues.unknown("network", &net.unknown);
        let local = listener(&mut issues, "network.local_server", net.local_server, false);
        let aws = listener(&mut issues, "network.aws_server", net.aws_server, true);
        match (local, aws) {
            (Some(local_server), Some(aws_server)) => issues.finish(
                file,
                NetworkIsolation {
                    local_server,
                    aws_server,
                },
            ),
            _ => Err(issues.fail(file)),
        }
    }
}

/// `authenticates`: the tier's callers have principals (the AWS tier).
fn listener(
    issues: &mut Issues,
    path: &str,
    raw: Option<RawListener>,
    authenticates: bool,
) -> Option<Listener> {
    let Some(raw) = raw else {
        issues.push(path, "missing");
        return None;
    };
    issues.unknown(path, &raw.unknown);
    let before = issues.len();
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
    let transport = transport(issues, &format!("{path}.transport"), raw.transport);
    let vpc_endpoint = vpc_endpoint(issues, path, raw.vpc_endpoint, raw.vpc_endpoint_required);
    let admin = admin(issues, &format!("{path}.admin"), raw.admin, authenticates);
    if issues.len() > before {
        return None;
    }
    let listen_address = address?;
    Some(Listener {
        listen_address,
        allowed_origins: origins,
        cors_enabled: raw.cors_enabled.unwrap_or(false),
        vpc_endpoint,
        allowed_hosts: raw.allowed_hosts,
        allow_loopback_origins: raw
            .allow_loopback_origins
            .unwrap_or(listen_address.ip().is_loopback()),
        transport,
        admin,
    })
}

fn admin(
    issues: &mut Issues,
    path: &str,
    raw: Option<RawAdmin>,
    authenticates: bool,
) -> AdminAccess {
    let Some(raw) = raw else {
        return AdminAccess::default();
    };
    issues.unknown(path, &raw.unknown);
    let enabled = raw.enabled.unwrap_or(false);
    if authenticates && enabled && raw.principals.is_empty() {
        issues.push(
            format!("{path}.principals"),
            "list the caller principals that may use the admin endpoint",
        );
    }
    if !authenticates && !raw.principals.is_empty() {
        issues.push(
            format!("{path}.principals"),
            "this tier authenticates no callers: loopback access is the only check",
        );
    }
    AdminAccess {
        enabled,
        principals: raw.principals,
    }
}

fn vpc_endpoint(
    issues: &mut Issues,
    path: &str,
    id: Option<String>,
    required: Option<bool>,
) -> Option<VpcEndpoint> {
    let Some(id) = id else {
        if required == Some(true) {
            issues.push(
                format!("{path}.vpc_endpoint_required"),
                "true needs vpc_endpoint (the endpoint requests must come through)",
            );
        }
        return None;
    };
    let well_formed = id.strip_prefix("vpce-").is_some_and(|rest| {
        (1..=32).contains(&rest.len())
            && rest
                .bytes()
                .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase())
    });
    if !well_formed {
        issues.push(
            format!("{path}.vpc_endpoint"),
            format!("{id:?} is not a VPC endpoint id (vpce- and lowercase letters or digits)"),
        );
    }
    Some(VpcEndpoint {
        id,
        required: required.unwrap_or(false),
    })
}

fn transport(issues: &mut Issues, path: &str, raw: Option<RawTransport>) -> Transport {
    let mut t = Transport::default();
    let Some(raw) = raw else { return t };
    issues.unknown(path, &raw.unknown);
    let mut at_least = |field: &str, value: Option<u64>, min: u64, max: u64| -> Option<u64> {
        let v = value?;
        if (min..=max).contains(&v) {
            Some(v)
        } else {
            issues.push(
                format!("{path}.{field}"),
                format!("{v} is out of range ({min} to {max})"),
            );
            None
        }
    };
    if let Some(ms) = at_least(
        "header_read_timeout_ms",
        raw.header_read_timeout_ms,
        1,
        3_600_000,
    ) {
        t.header_read_timeout = Duration::from_millis(ms);
    }
    if let Some(n) = at_least("max_connections", raw.max_connections, 1, 1_000_000) {
        t.max_connections = n as usize;
    }
    if let Some(n) = at_least("max_header_bytes", raw.max_header_bytes, 8192, 16 << 20) {
        t.max_header_bytes = n as usize;
    }
    let streams = raw.http2_max_concurrent_streams.map(u64::from);
    if let Some(n) = at_least("http2_max_concurrent_streams", streams, 1, 10_000) {
        t.http2_max_concurrent_streams = n as u32;
    }
    let frame = raw.http2_max_frame_size.map(u64::from);
    if let Some(n) = at_least("http2_max_frame_size", frame, 16_384, 16_777_215) {
        t.http2_max_frame_size = n as u32;
    }
    let list = raw.http2_max_header_list_size.map(u64::from);
    if let Some(n) = at_least("http2_max_header_list_size", list, 1024, 16 << 20) {
        t.http2_max_header_list_size = n as u32;
    }
    let ping = raw.http2_keep_alive_interval_ms;
    if let Some(ms) = at_least("http2_keep_alive_interval_ms", ping, 1000, 3_600_000) {
        t.http2_keep_alive_interval = Duration::from_millis(ms);
    }
    t
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
            n.aws_server.vpc_endpoint,
            Some(VpcEndpoint {
                id: "vpce-1234567890".into(),
                required: false
            })
        );
        assert_eq!(n.local_server.vpc_endpoint, None);
    }

    #[test]
    fn vpc_endpoints_are_checked() {
        let required = GOOD.replace(
            "vpc_endpoint: \"vpce-1234567890\"",
            "vpc_endpoint: \"vpce-0a1b2c3d4e5f67890\"\n    vpc_endpoint_required: true",
        );
        let n = NetworkIsolation::from_yaml(Path::new("n.yaml"), &required).unwrap();
        assert_eq!(
            n.aws_server.vpc_endpoint,
            Some(VpcEndpoint {
                id: "vpce-0a1b2c3d4e5f67890".into(),
                required: true
            })
        );
        let bad = GOOD.replace("vpce-1234567890", "vpc-123").replace(
            "    cors_enabled: true\n  aws_server:",
            "    cors_enabled: true\n    vpc_endpoint_required: true\n  aws_server:",
        );
        let err = NetworkIsolation::from_yaml(Path::new("n.yaml"), &bad)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("network.local_server.vpc_endpoint_required: true needs vpc_endpoint"),
            "{err}"
        );
        assert!(
            err.contains("network.aws_server.vpc_endpoint: \"vpc-123\" is not a VPC endpoint id"),
            "{err}"
        );
    }

    #[test]
    fn transport_limits_default_safely_and_are_checked() {
        let n = NetworkIsolation::from_yaml(Path::new("n.yaml"), GOOD).unwrap();
        assert_eq!(n.local_server.transport, Transport::default());
        assert!(n.local_server.allow_loopback_origins, "loopback-bound");
        assert!(
            !n.aws_server.allow_loopback_origins,
            "bound to every address"
        );
        let tuned = GOOD.replace(
            "    cors_enabled: true\n  aws_server:",
            "    cors_enabled: true\n    allow_loopback_origins: false\n    transport: { header_read_timeout_ms: 500, max_connections: 8 }\n  aws_server:",
        );
        let n = NetworkIsolation::from_yaml(Path::new("n.yaml"), &tuned).unwrap();
        assert!(!n.local_server.allow_loopback_origins);
        assert_eq!(
            n.local_server.transport.header_read_timeout,
            Duration::from_millis(500)
        );
        assert_eq!(n.local_server.transport.max_connections, 8);
        let bad = GOOD.replace(
            "    cors_enabled: true\n  aws_server:",
            "    cors_enabled: true\n    transport: { max_connections: 0, http2_max_frame_size: 100, idle: 1 }\n  aws_server:",
        );
        let err = NetworkIsolation::from_yaml(Path::new("n.yaml"), &bad)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(
                "network.local_server.transport.max_connections: 0 is out of range (1 to 1000000)"
            ),
            "{err}"
        );
        assert!(
            err.contains(
                "network.local_server.transport.http2_max_frame_size: 100 is out of range"
            ),
            "{err}"
        );
        assert!(err.contains("network.local_server.transport.idle"), "{err}");
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
