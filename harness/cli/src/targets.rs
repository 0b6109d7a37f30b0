//! A scenario's targets: the spawned servers started on their backends, and every
//! target's endpoint, token and MCP revision settled before the load starts.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use anyhow::anyhow;
use mcp_slo_backends::{Choice, Containers, Service};
use mcp_slo_core::result::TargetInfo;
use mcp_slo_core::spec::{Endpoint as SpecEndpoint, Mode, Scenario};
use mcp_slo_engine::client::Endpoint;
use mcp_slo_engine::spawn::{Spawned, spawn};

use crate::Outcome;

/// What a run started: its servers and their backends' containers. `stop` ends them.
pub struct Started {
    backends: Choice,
    /// Each spawned server with its target's name.
    pub spawned: Vec<(String, Spawned)>,
    containers: Containers,
}

impl Started {
    pub fn new(backends: Choice) -> Self {
        Started {
            backends,
            spawned: Vec::new(),
            containers: Containers::default(),
        }
    }

    /// Stops the servers (graceful shutdown first), then removes the containers.
    pub async fn stop(self) {
        for (_, s) in self.spawned {
            s.stop(Duration::from_secs(10)).await;
        }
        drop(self.containers);
    }
}

/// The client that settles each target's revision before the run.
fn reqwest_client() -> mcp_slo_engine::client::Http {
    mcp_slo_engine::reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap_or_default()
        .into()
}

/// Starts the scenario's spawned targets (with `extra_args` added, e.g. `--lift-limits`)
/// on the backends the resolution picks (see `mcp_slo_backends`), and resolves every
/// target's endpoint and token. What starts goes into `started`, so the caller stops it
/// whatever happens next.
pub async fn start_targets(
    scenario: &Scenario,
    out: &Path,
    extra_args: &[String],
    started: &mut Started,
) -> Result<(BTreeMap<String, Endpoint>, Vec<TargetInfo>), Outcome> {
    let mut endpoints = BTreeMap::new();
    let mut infos = Vec::new();
    let negotiating = reqwest_client();
    // Targets with their own server first, so a same_server_as target finds its URL.
    let mut order: Vec<(&String, &mcp_slo_core::spec::Target)> = scenario.targets.iter().collect();
    order.sort_by_key(|(_, t)| t.same_server_as.is_some());
    for (name, target) in order {
        let shared = target.same_server_as.as_ref().and_then(|other| {
            let info = infos.iter().find(|i: &&TargetInfo| &i.name == other)?;
            Some((
                info.url.clone(),
                info.spawned,
                info.backends.clone(),
                info.build_profile,
            ))
        });
        let (url, is_spawned, backends, build_profile) = match (&target.endpoint, shared) {
            (_, Some(shared)) => shared,
            (SpecEndpoint::Url(url), None) => {
                let profile = mcp_slo_engine::build_info::build_profile(url).await;
                (url.clone(), false, Vec::new(), profile)
            }
            (SpecEndpoint::Spawn { server, args, env }, None) => {
                let infra = |e: String| Outcome::Infrastructure(anyhow!("target {name}: {e}"));
                let decisions = mcp_slo_backends::decide(
                    Service::needed_by(server),
                    started.backends,
                    &mcp_slo_backends::System,
                )
                .map_err(|e| infra(e.to_string()))?;
                let plan = mcp_slo_backends::provision(
                    &decisions,
                    &mcp_slo_backends::embedded_dir(name),
                    &mcp_slo_backends::repo_root(),
                    &mut started.containers,
                )
                .await
                .map_err(|e| infra(e.to_string()))?;
                let served = mcp_slo_core::result::describe_backends(&plan.served);
                eprintln!("target {name}: backends {served}");
                let args: Vec<String> = args
                    .iter()
                    .chain(extra_args)
                    .chain(&plan.args)
                    .cloned()
                    .collect();
                let mut env_vars = plan.env.clone();
                for (key, value) in env {
                    let value = crate::target_headers::expand(value, &|v| std::env::var(v).ok())
                        .map_err(|var| infra(format!("spawn.env.{key}: ${{{var}}} is not set")))?;
                    env_vars.push((key.clone(), Some(value)));
                }
                match spawn(server, target.mode, &args, &env_vars, out).await {
                    Ok(s) => {
                        let (url, profile) = (s.url.clone(), s.build_profile);
                        started.spawned.push((name.clone(), s));
                        (url, true, plan.served, profile)
                    }
                    Err(e) => {
                        return Err(infra(format!(
                            "{e}\nits backends: {served}\n(a loopback service may lack the role or fixtures: run scripts/setup-services.sh, or pass --backends embedded)"
                        )));
                    }
                }
            }
        };
        let token = match &target.token_env {
            Some(var) => match std::env::var(var) {
                Ok(t) => Some(t),
                Err(_) => {
                    return Err(Outcome::Invalid(anyhow!(
                        "target {name}: token_env {var} is not set"
                    )));
                }
            },
            None => None,
        };
        let mut endpoint =
            Endpoint::new(url.clone(), target.mode, target.protocol).with_token(token);
        endpoint.headers =
            crate::target_headers::resolve(name, &target.headers, |var| std::env::var(var).ok())
                .map_err(Outcome::Invalid)?;
        if let Some(oauth) = &target.oauth {
            endpoint.oauth = Some(crate::target_oauth::start(name, oauth).await?);
        }
        let negotiation = endpoint
            .negotiate(&negotiating)
            .await
            .map_err(|e| Outcome::Infrastructure(anyhow!("target {name}: {e}")))?;
        eprintln!(
            "target {name}: MCP {} ({})",
            negotiation.revision, negotiation.how
        );
        infos.push(TargetInfo {
            name: name.clone(),
            url,
            // A self-contained revision (2026-07-28) has no sessions: the target was spoken
            // to statelessly, whatever mode the scenario named.
            mode: if negotiation.revision.is_self_contained() {
                Mode::Stateless.as_str().to_owned()
            } else {
                target.mode.as_str().to_owned()
            },
            spawned: is_spawned,
            protocol_version: negotiation.revision.as_str().to_owned(),
            negotiated: Some(negotiation.how),
            backends,
            build_profile,
            oauth: None,
        });
        endpoints.insert(name.clone(), endpoint);
    }
    Ok((endpoints, infos))
}
