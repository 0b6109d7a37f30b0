//! `/readyz` for the AWS tier: every tool's role can be assumed.

use std::sync::Arc;

use futures::future::BoxFuture;
use mcp_server_core::families::Families;
use mcp_server_core::health::{Check, Readiness};

use crate::credentials::{RoleCredentials, role_name};

pub struct AwsReadiness {
    pub credentials: Arc<RoleCredentials>,
    /// STS with the base credentials: answers when the AWS endpoint is reachable.
    pub sts: aws_sdk_sts::Client,
    /// (tool, role ARN)
    pub roles: Vec<(String, String)>,
    /// Ready once every tool family has loaded.
    pub families: Option<Arc<Families>>,
}

impl Readiness for AwsReadiness {
    fn check(&self) -> BoxFuture<'_, Vec<Check>> {
        Box::pin(async move {
            let mut checks = Vec::new();
            let limit = std::time::Duration::from_secs(2);
            checks.push(
                match tokio::time::timeout(limit, self.sts.get_caller_identity().send()).await {
                    Ok(Ok(_)) => Check {
                        name: "sts".into(),
                        ok: true,
                        detail: "base credentials accepted".into(),
                    },
                    Ok(Err(e)) => Check {
                        name: "sts".into(),
                        ok: false,
                        detail: format!(
                            "GetCallerIdentity failed: {}",
                            aws_sdk_sts::error::DisplayErrorContext(&e)
                        ),
                    },
                    Err(_) => Check {
                        name: "sts".into(),
                        ok: false,
                        detail: "STS did not answer within 2 s".into(),
                    },
                },
            );
            for (tool, role) in &self.roles {
                let check = match tokio::time::timeout(
                    std::time::Duration::from_secs(2),
                    self.credentials.get(role),
                )
                .await
                {
                    Ok(Ok(_)) => Check {
                        name: format!("role/{}", role_name(role)),
                        ok: true,
                        detail: format!("{tool}: ok"),
                    },
                    Ok(Err(e)) => Check {
                        name: format!("role/{}", role_name(role)),
                        ok: false,
                        detail: format!("{tool}: {e}"),
                    },
                    Err(_) => Check {
                        name: format!("role/{}", role_name(role)),
                        ok: false,
                        detail: format!("{tool}: STS did not answer within 2 s"),
                    },
                };
                checks.push(check);
            }
            if let Some(families) = &self.families {
                checks.extend(families.checks());
            }
            checks
        })
    }
}
