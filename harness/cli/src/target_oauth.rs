//! A target's `oauth:` section at run time: its client id and secret read from the
//! environment (a missing variable stops the run before it starts), the first token fetched
//! before any load (a refusal is a start-up error naming the target), and how often the
//! token was fetched over the run, for `result.json`.

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::anyhow;
use mcp_slo_core::result::{OAuthInfo, TargetInfo};
use mcp_slo_core::spec::OAuth;
use mcp_slo_engine::client::Endpoint;
use mcp_slo_engine::client::oauth::{OAuthConfig, OAuthToken};

use crate::Outcome;

/// `oauth` of target `target` with its variables taken from `lookup` (the environment in
/// a run); every missing variable is named.
pub fn config(
    target: &str,
    oauth: &OAuth,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<OAuthConfig, anyhow::Error> {
    let mut problems = Vec::new();
    let client_id =
        crate::target_headers::expand(&oauth.client_id, &lookup).unwrap_or_else(|var| {
            problems.push(format!(
                "targets.{target}.oauth.client_id: environment variable {var} is not set"
            ));
            String::new()
        });
    let client_secret = lookup(&oauth.client_secret_env).unwrap_or_else(|| {
        problems.push(format!(
            "targets.{target}.oauth.client_secret_env: environment variable {} is not set",
            oauth.client_secret_env
        ));
        String::new()
    });
    if !problems.is_empty() {
        return Err(anyhow!("{}", problems.join("\n")));
    }
    Ok(OAuthConfig {
        token_url: oauth.token_url.clone(),
        client_id,
        client_secret,
        scope: oauth.scope.clone(),
        resource: oauth.resource.clone(),
        audience: oauth.audience.clone(),
        auth_method: oauth.auth_method,
    })
}

/// Reads the credentials and fetches the first token. A missing variable is invalid input;
/// a token endpoint that refuses or does not answer is an infrastructure failure, like a
/// target that cannot be reached.
pub async fn start(target: &str, oauth: &OAuth) -> Result<OAuthToken, Outcome> {
    let config = config(target, oauth, |var| std::env::var(var).ok()).map_err(Outcome::Invalid)?;
    let name = target.to_owned();
    let log = Arc::new(move |line: &str| eprintln!("target {name}: {line}"));
    let (token, lifetime) = OAuthToken::start(config, log)
        .await
        .map_err(|e| Outcome::Infrastructure(anyhow!("target {target}: {e}")))?;
    eprintln!(
        "target {target}: OAuth token from {} ({})",
        oauth.token_url,
        match lifetime {
            Some(l) => format!("expires in {:.0} s, refreshed before", l.as_secs_f64()),
            None => "no expiry given, not refreshed".to_owned(),
        }
    );
    Ok(token)
}

/// Puts each OAuth target's token fetches into its info and says them.
pub fn count_fetches(infos: &mut [TargetInfo], endpoints: &BTreeMap<String, Endpoint>) {
    for info in infos {
        let Some(token) = endpoints.get(&info.name).and_then(|e| e.oauth.as_ref()) else {
            continue;
        };
        let (fetches, failed_fetches) = (token.fetches(), token.failures());
        eprintln!(
            "target {}: {fetches} OAuth token fetches, {failed_fetches} failed",
            info.name
        );
        info.oauth = Some(OAuthInfo {
            token_url: token.token_url().to_owned(),
            fetches,
            failed_fetches,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mcp_slo_core::spec::ClientAuth;

    fn oauth() -> OAuth {
        OAuth {
            token_url: "http://127.0.0.1:9/token".into(),
            client_id: "load-${TEAM}".into(),
            client_secret_env: "SECRET".into(),
            scope: Some("mcp".into()),
            resource: None,
            audience: None,
            auth_method: ClientAuth::Basic,
        }
    }

    #[test]
    fn credentials_come_from_the_environment() {
        let env = |var: &str| match var {
            "TEAM" => Some("a".to_owned()),
            "SECRET" => Some("s3cret".to_owned()),
            _ => None,
        };
        let c = config("t", &oauth(), env).expect("all set");
        assert_eq!(
            (c.client_id.as_str(), c.client_secret.as_str()),
            ("load-a", "s3cret")
        );
        assert!(
            !format!("{c:?}").contains("s3cret"),
            "the secret stays out of logs"
        );
        let err = config("t", &oauth(), |_| None).unwrap_err().to_string();
        assert_eq!(
            err,
            "targets.t.oauth.client_id: environment variable TEAM is not set\ntargets.t.oauth.client_secret_env: environment variable SECRET is not set"
        );
    }
}
