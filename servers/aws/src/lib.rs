//! The AWS tier: `s3_read`, `rds_query` and `lambda_invoke`, each signed with credentials of
//! its own IAM role (STS AssumeRole from the standard provider chain's base credentials),
//! for authenticated callers only, over MCP Streamable HTTP.

pub mod auth;
pub mod credentials;
pub mod families;
pub mod readiness;
pub mod tools;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_config::identity::IdentityCache;
use mcp_server_core::audit::{AuditSink, AuditTarget};
use mcp_server_core::config::{Listener, RateStore, ServerConfig, Tier, TierLimits};
use mcp_server_core::families::Families;
use mcp_server_core::metrics::Metrics;
use mcp_server_core::registry::{RegisteredTool, ToolHandler, ToolRegistry};
use mcp_server_core::server::{TierParts, TierServer};
use mcp_server_core::stack::{Guard, Mode};
use tokio::net::TcpListener;

use crate::auth::BearerAuth;
use crate::credentials::RoleCredentials;
use crate::families::{Base, Bases};
use crate::readiness::AwsReadiness;
use crate::tools::lambda_invoke::LambdaInvoke;
use crate::tools::rds_query::RdsQuery;
use crate::tools::s3_read::S3Read;
use crate::tools::sdk::retry_config;

pub struct Options {
    pub config: ServerConfig,
    pub limits: TierLimits,
    /// Where the rate limit is kept (`--rate-limit-redis`: shared by the replicas).
    pub rate_store: RateStore,
    pub network: Listener,
    pub mode: Mode,
    pub audit: AuditTarget,
    pub auth: BearerAuth,
    /// How long assumed credentials last (the seed's iam_role_max_duration, 3600 s).
    pub role_duration: Duration,
    /// Refresh once less than this is left (300 s).
    pub refresh_window: Duration,
    /// An AWS endpoint for every service, overriding `AWS_ENDPOINT_URL` (tests).
    pub endpoint_url: Option<String>,
    /// The file `config` was read from: SIGHUP, or a change of the file, reads its tool
    /// families again (and the process then keeps running on SIGHUP whether it declares
    /// any or not).
    pub config_file: Option<PathBuf>,
}

pub struct AwsServer {
    pub tier: TierServer,
    pub credentials: Arc<RoleCredentials>,
}

/// Builds the tier. AWS endpoints and base credentials come from the standard environment
/// (`AWS_ENDPOINT_URL`, `AWS_ACCESS_KEY_ID`, profiles, ...); the region from the config.
pub async fn build(options: Options) -> anyhow::Result<AwsServer> {
    let Options {
        config,
        limits,
        rate_store,
        network,
        mode,
        audit,
        auth,
        role_duration,
        refresh_window,
        endpoint_url,
        config_file,
    } = options;
    anyhow::ensure!(
        config.tier == Tier::AwsManaged,
        "the AWS server needs a config with server.type \"aws_managed\""
    );
    let refused: Vec<String> = config
        .refused_security()
        .into_iter()
        .chain(tools::permissions::ungranted(&config))
        .collect();
    anyhow::ensure!(
        refused.is_empty(),
        "the config asks for what the AWS tier cannot do:\n  {}",
        refused.join("\n  ")
    );
    anyhow::ensure!(
        !auth.is_empty(),
        "no callers are configured: every request would be refused (see --callers and MCP_AWS_CALLER_TOKENS)"
    );
    let region = config.region.clone().unwrap_or_else(|| "us-east-1".into());
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .region(aws_config::Region::new(region.clone()))
        .retry_config(retry_config());
    if let Some(url) = endpoint_url {
        loader = loader.endpoint_url(url);
    }
    let sdk = loader.load().await;
    let endpoint_set = sdk.endpoint_url().is_some();
    let (audit, audit_task) =
        AuditSink::start(audit).map_err(|e| anyhow::anyhow!("cannot open the audit trail: {e}"))?;
    let metrics = Metrics::new(audit.dropped_counter());
    let observe = {
        let metrics = metrics.clone();
        Arc::new(move |role: &str, elapsed: Duration, ok: bool| {
            metrics.assume_role(role, elapsed, ok)
        })
    };
    let roles: Vec<(String, String)> = config
        .tools
        .iter()
        .filter_map(|t| t.security.iam_role.clone().map(|r| (t.name.clone(), r)))
        .collect();
    let sts = aws_sdk_sts::Client::new(&sdk);
    let credentials = RoleCredentials::new(
        sts.clone(),
        roles.iter().map(|(_, r)| r.clone()),
        role_duration,
        refresh_window,
        Some(observe),
    );
    let registry =
        Arc::new(ToolRegistry::new(config.page_size).with_listing_ttl(config.listing_ttl));
    let mut problems = Vec::new();
    let mut bases = Bases::default();
    for tool in &config.tools {
        let role = tool.security.iam_role.clone().unwrap_or_default();
        let provider = credentials.provider(&role);
        let handler: Arc<dyn ToolHandler> = match tool.name.as_str() {
            "s3_read" => {
                let conf = aws_sdk_s3::config::Builder::from(&sdk)
                    .credentials_provider(provider)
                    .identity_cache(IdentityCache::no_cache())
                    .force_path_style(endpoint_set)
                    .build();
                let client = aws_sdk_s3::Client::from_conf(conf);
                let handler = Arc::new(S3Read::new(client.clone(), tool));
                bases.s3 = Some(Arc::new(Base {
                    config: tool.clone(),
                    handler: handler.clone(),
                    client,
                }));
                handler
            }
            "rds_query" => {
                let conf = aws_sdk_rdsdata::config::Builder::from(&sdk)
                    .credentials_provider(provider)
                    .identity_cache(IdentityCache::no_cache())
                    .build();
                Arc::new(RdsQuery::new(
                    aws_sdk_rdsdata::Client::from_conf(conf),
                    tool,
                    &region,
                ))
            }
            "lambda_invoke" => {
                let conf = aws_sdk_lambda::config::Builder::from(&sdk)
                    .credentials_provider(provider)
                    .identity_cache(IdentityCache::no_cache())
                    .build();
                let client = aws_sdk_lambda::Client::from_conf(conf);
                let handler = Arc::new(LambdaInvoke::new(client.clone(), tool));
                bases.lambda = Some(Arc::new(Base {
                    config: tool.clone(),
                    handler: handler.clone(),
                    client,
                }));
                handler
            }
            other => {
                problems.push(format!("tool {other:?} has no implementation in the AWS tier (known: s3_read, rds_query, lambda_invoke)"));
                continue;
            }
        };
        registry.register(RegisteredTool::new(Tier::AwsManaged, tool.clone(), handler))?;
    }
    let families = Families::new(
        registry.clone(),
        &config,
        families::declare(bases, auth.principals()),
        config_file,
    )
    .map_err(|p| problems.extend(p))
    .ok()
    .map(Arc::new)
    .filter(|f| !f.is_idle());
    if !problems.is_empty() {
        anyhow::bail!("cannot build the AWS tier:\n  {}", problems.join("\n  "));
    }
    let warm = credentials.clone();
    tokio::spawn(async move { warm.warm().await });
    let allowed_hosts = (!network.allowed_hosts.is_empty()).then(|| {
        let mut hosts: Vec<String> = Guard::LOOPBACK.iter().map(|h| h.to_string()).collect();
        hosts.extend(network.allowed_hosts.iter().cloned());
        hosts
    });
    let tier = TierServer::assemble(TierParts {
        name: "mcp-aws-server",
        tier: Tier::AwsManaged,
        limits,
        rate_store,
        network,
        allowed_hosts,
        mode,
        registry,
        metrics,
        audit,
        audit_task,
        readiness: Arc::new(AwsReadiness {
            credentials: credentials.clone(),
            roles,
            sts,
            families: families.clone(),
        }),
        auth: Some(Arc::new(auth)),
        resources: None,
        bare: false,
        background: families.map(Families::keep_loaded).into_iter().collect(),
    });
    Ok(AwsServer { tier, credentials })
}

impl AwsServer {
    /// The tool registry (tools can be registered at run time).
    pub fn registry(&self) -> &Arc<ToolRegistry> {
        self.tier.handler.registry()
    }

    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        self.tier.serve(listener, shutdown).await
    }
}
