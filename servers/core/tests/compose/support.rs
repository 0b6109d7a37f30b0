//! Reading docker-compose.yml, the Dockerfile and config/ for the checks.

pub(crate) use std::collections::{BTreeMap, BTreeSet};
pub(crate) use std::net::{IpAddr, SocketAddr};
pub(crate) use std::path::{Path, PathBuf};

pub(crate) use mcp_server_core::config::{ServerConfig, TierFiles};
pub(crate) use serde_json::{Map, Value};

/// Services that run to completion instead of staying up: no health check, `restart: "no"`.
pub(crate) const JOBS: [&str; 2] = ["moto-seed", "harness"];
/// The harness publishes with this CloudWatch namespace by default (`mcp-slo run
/// --cloudwatch-namespace`), so the alarms LocalStack starts with watch the same metrics.
pub(crate) const CLOUDWATCH_NAMESPACE: &str = "MCPSLO";

pub(crate) fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub(crate) fn read(relative: &str) -> String {
    let path = root().join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

pub(crate) fn yaml(relative: &str) -> Value {
    serde_saphyr::from_str(&read(relative)).unwrap_or_else(|e| panic!("{relative}: {e}"))
}

pub(crate) fn compose() -> Value {
    yaml("docker-compose.yml")
}

pub(crate) fn local_tier() -> TierFiles {
    let config = root().join("config");
    TierFiles::load(
        &config.join("local_mcp_server_config.yaml"),
        &config.join("deployment_boundaries.yaml"),
        &config.join("network_isolation.yaml"),
    )
    .expect("the committed local tier config loads")
}

pub(crate) fn aws_config() -> ServerConfig {
    ServerConfig::load(&root().join("config/aws_managed_mcp_config.yaml"))
        .expect("the committed AWS tier config loads")
}

pub(crate) fn services(compose: &Value) -> &Map<String, Value> {
    compose["services"]
        .as_object()
        .expect("docker-compose.yml has services")
}

pub(crate) fn service<'a>(compose: &'a Value, name: &str) -> &'a Map<String, Value> {
    services(compose)
        .get(name)
        .and_then(Value::as_object)
        .unwrap_or_else(|| panic!("docker-compose.yml has no service {name}"))
}

pub(crate) fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

pub(crate) fn strings(value: Option<&Value>) -> Vec<String> {
    value
        .and_then(Value::as_array)
        .map(|items| items.iter().map(text).collect())
        .unwrap_or_default()
}

pub(crate) fn command(svc: &Map<String, Value>) -> Vec<String> {
    strings(svc.get("command"))
}

pub(crate) fn environment(svc: &Map<String, Value>) -> BTreeMap<String, String> {
    match svc.get("environment") {
        Some(Value::Object(map)) => map.iter().map(|(k, v)| (k.clone(), text(v))).collect(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| {
                let item = text(item);
                let (k, v) = item.split_once('=').unwrap_or((&item, ""));
                (k.to_owned(), v.to_owned())
            })
            .collect(),
        _ => BTreeMap::new(),
    }
}

pub(crate) fn networks(svc: &Map<String, Value>) -> BTreeSet<String> {
    match svc.get("networks") {
        Some(Value::Array(items)) => items.iter().map(text).collect(),
        Some(Value::Object(map)) => map.keys().cloned().collect(),
        _ => BTreeSet::new(),
    }
}

/// The value following `flag` in an argument list.
pub(crate) fn flag_value<'a>(args: &'a [String], flag: &str) -> Option<&'a str> {
    args.iter()
        .position(|a| a == flag)
        .and_then(|i| args.get(i + 1))
        .map(String::as_str)
}

/// A short-syntax port mapping: `[HOST_IP:]HOST_PORT:CONTAINER_PORT`.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Publish {
    pub(crate) host_ip: Option<IpAddr>,
    pub(crate) host_port: u16,
    pub(crate) container_port: u16,
}

pub(crate) fn publishes(svc: &Map<String, Value>) -> Vec<Publish> {
    strings(svc.get("ports"))
        .iter()
        .map(|spec| {
            let spec = spec.trim_end_matches("/tcp");
            let parts: Vec<&str> = spec.split(':').collect();
            let port = |s: &str| {
                s.parse::<u16>()
                    .unwrap_or_else(|_| panic!("port mapping {spec:?}: {s:?} is not a port"))
            };
            match parts.as_slice() {
                [host, container] => Publish {
                    host_ip: None,
                    host_port: port(host),
                    container_port: port(container),
                },
                [ip, host, container] => Publish {
                    host_ip: Some(
                        ip.parse()
                            .unwrap_or_else(|_| panic!("port mapping {spec:?}: bad host IP")),
                    ),
                    host_port: port(host),
                    container_port: port(container),
                },
                _ => panic!("port mapping {spec:?} is not [HOST_IP:]HOST:CONTAINER"),
            }
        })
        .collect()
}

/// `(host, port)` of an `http://host:port[/path]` URL.
pub(crate) fn host_port(url: &str) -> (String, u16) {
    let rest = url
        .strip_prefix("http://")
        .unwrap_or_else(|| panic!("{url:?} is not an http:// URL"));
    let authority = rest.split('/').next().unwrap_or_default();
    let (host, port) = authority
        .rsplit_once(':')
        .unwrap_or_else(|| panic!("{url:?} names no port"));
    (
        host.to_owned(),
        port.parse()
            .unwrap_or_else(|_| panic!("{url:?}: bad port {port:?}")),
    )
}

/// The path of a URL (`postgres://u:p@host:5432/agents` → `agents`).
pub(crate) fn url_path(url: &str) -> &str {
    let after_scheme = url.split_once("://").map_or(url, |(_, r)| r);
    after_scheme.split_once('/').map_or("", |(_, p)| p)
}

/// The host of a URL with optional user info.
pub(crate) fn url_host(url: &str) -> &str {
    let after_scheme = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = after_scheme.split('/').next().unwrap_or_default();
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    host_port.split(':').next().unwrap_or_default()
}
