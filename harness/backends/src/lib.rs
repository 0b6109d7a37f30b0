//! Where a run's backends come from. One resolution, used by `mcp-slo run`, `mcp-slo
//! capacity` and the test suites, tried in this order for each backend a spawned target
//! needs:
//!
//! 1. **env**: a URL in the environment (`DATABASE_URL`, `MYSQL_URL`, `REDIS_URL`,
//!    `MCP_SLO_DATA_ROOT`, `AWS_ENDPOINT_URL`);
//! 2. **loopback**: a service already listening on its default port on 127.0.0.1;
//! 3. **container**: Postgres, MariaDB, Redis or LocalStack started with testcontainers,
//!    when a Docker engine answers;
//! 4. **embedded**: the local tier's stand-ins (SQLite, an in-process cache, a fixture
//!    sandbox; `mcp-local-server --embedded`). The AWS tier has none: without an endpoint
//!    the run stops with instructions (exit 3), never a silent skip.
//!
//! `--backends env|containers|embedded` pins one step instead of trying them in turn.

mod containers;
mod probe;

use std::path::{Path, PathBuf};

use mcp_slo_core::result::{BackendInfo, BackendSource};
use mcp_slo_core::spec::ServerKind;

pub use containers::Containers;
pub use probe::{Probe, System};

/// `--backends`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Choice {
    /// env, then loopback, then containers, then embedded.
    #[default]
    Auto,
    /// Only URLs from the environment.
    Env,
    /// Containers for everything that has one (a Docker engine must answer).
    Containers,
    /// The embedded stand-ins for the local tier (the AWS tier still needs an endpoint).
    Embedded,
}

impl std::str::FromStr for Choice {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "auto" => Ok(Choice::Auto),
            "env" => Ok(Choice::Env),
            "containers" => Ok(Choice::Containers),
            "embedded" => Ok(Choice::Embedded),
            other => Err(format!(
                "unknown backends {other:?}: expected auto, env, containers or embedded"
            )),
        }
    }
}

/// A backend a spawned server needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Service {
    Postgres,
    Mysql,
    Cache,
    Files,
    Aws,
}

impl Service {
    pub fn name(self) -> &'static str {
        match self {
            Service::Postgres => "postgres",
            Service::Mysql => "mysql",
            Service::Cache => "cache",
            Service::Files => "files",
            Service::Aws => "aws",
        }
    }

    /// The environment variable the servers read it from.
    pub fn env(self) -> &'static str {
        match self {
            Service::Postgres => "DATABASE_URL",
            Service::Mysql => "MYSQL_URL",
            Service::Cache => "REDIS_URL",
            Service::Files => "MCP_SLO_DATA_ROOT",
            Service::Aws => "AWS_ENDPOINT_URL",
        }
    }

    /// Default loopback ports, tried in order, and the URL used when one answers.
    fn loopback(self) -> &'static [(u16, &'static str)] {
        match self {
            Service::Postgres => &[(5432, "postgres://mcp_agent@127.0.0.1:5432/agents")],
            Service::Mysql => &[(
                3306,
                "mysql://mcp_agent:mcp_agent_dev@127.0.0.1:3306/agents",
            )],
            Service::Cache => &[(6379, "redis://127.0.0.1:6379/0")],
            Service::Files => &[],
            // LocalStack's edge port, then moto server's default.
            Service::Aws => &[
                (4566, "http://127.0.0.1:4566"),
                (5000, "http://127.0.0.1:5000"),
            ],
        }
    }

    fn has_container(self) -> bool {
        self != Service::Files
    }

    fn has_embedded(self) -> bool {
        self != Service::Aws
    }

    /// What each server kind needs.
    pub fn needed_by(server: &ServerKind) -> &'static [Service] {
        match server {
            ServerKind::Local => &[
                Service::Postgres,
                Service::Mysql,
                Service::Cache,
                Service::Files,
            ],
            ServerKind::Aws => &[Service::Aws],
        }
    }
}

/// Where one backend will come from; `url` is known except for containers not yet started
/// and embedded stand-ins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub service: Service,
    pub source: BackendSource,
    pub url: Option<String>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ResolveError {
    #[error("--backends env: {var} is not set (the {service} backend's URL)")]
    NotInEnv {
        service: &'static str,
        var: &'static str,
    },
    #[error(
        "--backends containers: no Docker engine answers (DOCKER_HOST or /var/run/docker.sock); use --backends auto to fall back to loopback services or the embedded backends"
    )]
    NoDocker,
    #[error(
        "the AWS tier needs an AWS endpoint and none was found: not in AWS_ENDPOINT_URL, nothing listening on 127.0.0.1:4566 (LocalStack) or 127.0.0.1:5000 (moto), and no Docker engine for a LocalStack container. Get one with any of:\n  docker compose up -d localstack moto-seed  (this repository's docker-compose.yml)\n  eval \"$(bash scripts/setup-moto.sh)\"        (moto in a venv, provisioned; sets AWS_ENDPOINT_URL)\n  docker run -d -p 4566:4566 localstack/localstack:4.14.0, then provision it as docker/localstack/ready.d does\nthen run again (or set AWS_ENDPOINT_URL to an endpoint you have)"
    )]
    NoAwsEndpoint,
}

/// Decides where each of `services` comes from under `choice`. Pure apart from `probe`.
pub fn decide(
    services: &[Service],
    choice: Choice,
    probe: &dyn Probe,
) -> Result<Vec<Decision>, ResolveError> {
    let mut docker = None;
    let mut docker_answers = || *docker.get_or_insert_with(|| probe.docker());
    let mut out = Vec::with_capacity(services.len());
    for &service in services {
        let from_env = probe.env(service.env()).map(|url| Decision {
            service,
            source: BackendSource::Env,
            url: Some(url),
        });
        let from_loopback = || {
            service
                .loopback()
                .iter()
                .find(|(port, _)| probe.listening(*port))
                .map(|(_, url)| Decision {
                    service,
                    source: BackendSource::Loopback,
                    url: Some((*url).to_owned()),
                })
        };
        let container = Decision {
            service,
            source: BackendSource::Container,
            url: None,
        };
        let embedded = Decision {
            service,
            source: BackendSource::Embedded,
            url: None,
        };
        let decision = match choice {
            Choice::Env => from_env.ok_or(ResolveError::NotInEnv {
                service: service.name(),
                var: service.env(),
            })?,
            Choice::Containers if service.has_container() => {
                if !docker_answers() {
                    return Err(ResolveError::NoDocker);
                }
                container
            }
            // A data directory has no container: the environment's, else the sandbox.
            Choice::Containers => from_env.unwrap_or(embedded),
            Choice::Embedded if service.has_embedded() => embedded,
            Choice::Embedded => from_env
                .or_else(from_loopback)
                .ok_or(ResolveError::NoAwsEndpoint)?,
            Choice::Auto => match from_env.or_else(from_loopback) {
                Some(found) => found,
                None if service.has_container() && docker_answers() => container,
                None if service.has_embedded() => embedded,
                None => return Err(ResolveError::NoAwsEndpoint),
            },
        };
        out.push(decision);
    }
    Ok(out)
}

/// Resolved backends of one spawned server, ready to hand to it.
#[derive(Debug, Default)]
pub struct Provisioned {
    /// Environment for the server: `Some` sets a variable, `None` removes it (so a backend
    /// resolved as embedded is not taken from the harness's own environment).
    pub env: Vec<(String, Option<String>)>,
    /// Extra arguments (`--embedded DIR`).
    pub args: Vec<String>,
    /// For the report.
    pub served: Vec<BackendInfo>,
}

/// Turns decisions into a server's environment: starts the containers (kept in
/// `containers` until the run ends) and names the embedded directory `embedded_dir`.
pub async fn provision(
    decisions: &[Decision],
    embedded_dir: &Path,
    root: &Path,
    containers: &mut Containers,
) -> Result<Provisioned, containers::ContainerError> {
    let mut out = Provisioned::default();
    let mut embedded = false;
    for decision in decisions {
        let service = decision.service;
        let (url, address) = match decision.source {
            BackendSource::Env | BackendSource::Loopback => {
                let url = decision.url.clone().unwrap_or_default();
                let address = redact(&url);
                (Some(url), address)
            }
            BackendSource::Container => {
                let started = containers.start(service, root).await?;
                out.env
                    .extend(started.extra_env.iter().cloned().map(|(k, v)| (k, Some(v))));
                let address = format!("{} ({})", redact(&started.url), started.image);
                (Some(started.url), address)
            }
            BackendSource::Embedded => {
                embedded = true;
                (None, embedded_address(service, embedded_dir))
            }
        };
        out.env.push((service.env().to_owned(), url));
        out.served.push(BackendInfo {
            service: service.name().to_owned(),
            source: decision.source,
            address,
        });
    }
    // The server also reads MCP_SLO_EMBEDDED_DIR: only the flag below may turn stand-ins on.
    out.env.push(("MCP_SLO_EMBEDDED_DIR".to_owned(), None));
    if embedded {
        out.args.push("--embedded".into());
        out.args.push(embedded_dir.display().to_string());
    }
    Ok(out)
}

fn embedded_address(service: Service, dir: &Path) -> String {
    match service {
        Service::Postgres | Service::Mysql => {
            format!("sqlite ({})", dir.join("sqlite").display())
        }
        Service::Cache => "in-process cache".into(),
        Service::Files => format!("fixture sandbox ({})", dir.join("files").display()),
        Service::Aws => "none".into(),
    }
}

/// A URL without its password (`user:***@`), for reports and logs.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or_default();
            let hidden = if userinfo.contains(':') { ":***" } else { "" };
            format!("{scheme}://{user}{hidden}@{host}{path}")
        }
        None => url.to_owned(),
    }
}

/// The repository root the container mounts come from: `MCP_SLO_ROOT`, else the current
/// directory; absolute, as bind mounts need.
pub fn repo_root() -> PathBuf {
    let root = std::env::var_os("MCP_SLO_ROOT")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."));
    std::path::absolute(&root).unwrap_or(root)
}

/// Where a target's embedded backends live: `$MCP_SLO_EMBEDDED_DIR/<target>`, else the
/// user's cache (`$XDG_CACHE_HOME` or `~/.cache`)`/mcp-slo/embedded/<target>`. Kept
/// between runs, as a database keeps its data: the fixtures (about 23 MB) load once, not
/// into every report directory.
pub fn embedded_dir(target: &str) -> PathBuf {
    let env = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    let base = env("MCP_SLO_EMBEDDED_DIR").unwrap_or_else(|| {
        env("XDG_CACHE_HOME")
            .or_else(|| env("HOME").map(|h| h.join(".cache")))
            .unwrap_or_else(std::env::temp_dir)
            .join("mcp-slo/embedded")
    });
    base.join(target)
}

#[cfg(test)]
mod tests;
