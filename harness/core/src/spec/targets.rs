//! Targets: where each server is, how to reach it (revision, token, OAuth client
//! credentials, headers), and targets that share another's server.

use std::collections::BTreeMap;

use super::raw::{Located, RawOAuth};
use super::validate::Validator;
use super::*;

/// OAuth 2.1 client credentials (RFC 6749 section 4.4): the target's bearer token comes
/// from `token_url`, fetched before the load and refreshed before it expires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuth {
    pub token_url: String,
    /// May hold `${VAR}`, replaced from the environment at start.
    pub client_id: String,
    /// The environment variable holding the client secret.
    pub client_secret_env: String,
    pub scope: Option<String>,
    /// RFC 8707 `resource`.
    pub resource: Option<String>,
    pub audience: Option<String>,
    pub auth_method: ClientAuth,
}

/// How the client authenticates at the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    /// HTTP Basic (`client_secret_basic`).
    Basic,
    /// `client_id` and `client_secret` in the form (`client_secret_post`).
    Post,
}

fn is_http_url(text: &str) -> bool {
    (text.starts_with("http://") || text.starts_with("https://")) && text.len() > 8
}

impl Validator {
    pub(super) fn target(&mut self, name: &str, t: raw::RawTarget) -> Option<Target> {
        let path = format!("targets.{name}");
        let endpoint = match (&t.url, &t.spawn) {
            (Some(url), None) => {
                let text = url.value();
                let ok =
                    (text.starts_with("http://") || text.starts_with("https://")) && text.len() > 8;
                if !ok {
                    self.at(
                        &format!("{path}.url"),
                        url,
                        format!("{text:?} is not an http(s) URL"),
                    );
                }
                Some(Endpoint::Url(text.clone()))
            }
            (None, Some(spawn)) => {
                let server = match spawn.server.value().as_str() {
                    "local" => Some(ServerKind::Local),
                    "aws" => Some(ServerKind::Aws),
                    other => {
                        self.at(
                            &format!("{path}.spawn.server"),
                            &spawn.server,
                            format!("{other:?} is not a server (local, aws)"),
                        );
                        None
                    }
                };
                if spawn
                    .args
                    .iter()
                    .any(|a| a == "--listen" || a.starts_with("--listen="))
                {
                    self.push(
                        &format!("{path}.spawn.args"),
                        "--listen is chosen by the harness",
                    );
                }
                server.map(|server| Endpoint::Spawn {
                    server,
                    args: spawn.args.clone(),
                    env: spawn.env.clone().into_iter().collect(),
                })
            }
            // Filled in from the other target once all are read.
            (None, None) if t.same_server_as.is_some() => Some(Endpoint::Url(String::new())),
            _ => {
                self.push(&path, "give exactly one of url, spawn or same_server_as");
                None
            }
        };
        let mode = match t.mode.as_ref().map(|m| (m, m.value().as_str())) {
            None | Some((_, "session")) => Mode::Session,
            Some((_, "stateless")) => Mode::Stateless,
            Some((m, other)) => {
                self.at(
                    &format!("{path}.mode"),
                    m,
                    format!("{other:?} is not a mode (session, stateless)"),
                );
                Mode::Session
            }
        };
        let protocol = match &t.protocol_version {
            None => Protocol::Auto,
            Some(v) if v.value() == "auto" => Protocol::Auto,
            Some(v) => match Revision::parse(v.value()) {
                Some(r) => Protocol::Fixed(r),
                None => {
                    self.at(
                        &format!("{path}.protocol_version"),
                        v,
                        format!(
                            "{:?} is not a supported revision (auto, 2026-07-28, 2025-11-25, 2025-06-18, 2025-03-26)",
                            v.value()
                        ),
                    );
                    Protocol::Auto
                }
            },
        };
        let mut headers = Vec::new();
        for (header, value) in &t.headers {
            let valid_name = !header.is_empty()
                && header
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
            if !valid_name {
                self.push(
                    &format!("{path}.headers.{header}"),
                    "not a valid HTTP header name",
                );
            } else if value.bytes().any(|b| b.is_ascii_control()) {
                self.push(
                    &format!("{path}.headers.{header}"),
                    "control characters in the value",
                );
            }
            headers.push((header.clone(), value.clone()));
        }
        let oauth = t.oauth.as_ref().and_then(|o| self.oauth(&path, o));
        if let Some(o) = &t.oauth {
            if t.token_env.is_some() {
                self.at(
                    &format!("{path}.oauth"),
                    &o.token_url,
                    "give oauth or token_env, not both".to_owned(),
                );
            }
            for header in t.headers.keys() {
                if header.eq_ignore_ascii_case("authorization") {
                    self.push(
                        &format!("{path}.headers.{header}"),
                        "oauth sends the Authorization header: give one or the other",
                    );
                }
            }
        }
        let same_server_as = t.same_server_as.as_ref().map(|s| s.value().clone());
        if let Some(other) = &t.same_server_as
            && (t.url.is_some() || t.spawn.is_some())
        {
            self.at(
                &format!("{path}.same_server_as"),
                other,
                "give same_server_as instead of url or spawn, not with them".to_owned(),
            );
        }
        Some(Target {
            name: name.to_owned(),
            endpoint: endpoint?,
            mode,
            protocol,
            token_env: t.token_env,
            oauth,
            headers,
            same_server_as,
        })
    }

    /// `targets.<name>.oauth`, every problem reported with its path.
    fn oauth(&mut self, target: &str, o: &RawOAuth) -> Option<OAuth> {
        let path = format!("{target}.oauth");
        let before = self.issues.len();
        let url = o.token_url.value();
        if !is_http_url(url) {
            self.at(
                &format!("{path}.token_url"),
                &o.token_url,
                format!("{url:?} is not an http(s) URL"),
            );
        }
        if o.client_id.value().trim().is_empty() {
            self.at(
                &format!("{path}.client_id"),
                &o.client_id,
                "empty".to_owned(),
            );
        }
        let var = o.client_secret_env.value();
        let var_ok = !var.is_empty()
            && !var.starts_with(|c: char| c.is_ascii_digit())
            && var.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if !var_ok {
            self.at(
                &format!("{path}.client_secret_env"),
                &o.client_secret_env,
                format!(
                    "{var:?} is not an environment variable name (the secret is read from the variable it names)"
                ),
            );
        }
        let text = |v: &mut Validator, field: &str, value: &Option<Located<String>>| {
            let value = value.as_ref()?;
            if value.value().is_empty() || value.value().chars().any(char::is_control) {
                v.at(
                    &format!("{path}.{field}"),
                    value,
                    "empty, or control characters in the value".to_owned(),
                );
            }
            Some(value.value().clone())
        };
        let scope = text(self, "scope", &o.scope);
        let resource = text(self, "resource", &o.resource);
        let audience = text(self, "audience", &o.audience);
        if let (Some(r), Some(value)) = (&o.resource, &resource) {
            // RFC 8707: an absolute URI without a fragment.
            let scheme = value.split_once(':').map(|(s, _)| s).unwrap_or_default();
            let absolute = !scheme.is_empty()
                && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
            if !absolute || value.contains('#') {
                self.at(
                    &format!("{path}.resource"),
                    r,
                    format!("{value:?} is not an absolute URI without a fragment"),
                );
            }
        }
        let auth_method = match o.auth_method.as_ref().map(|m| (m, m.value().as_str())) {
            None | Some((_, "basic")) => ClientAuth::Basic,
            Some((_, "post")) => ClientAuth::Post,
            Some((m, other)) => {
                self.at(
                    &format!("{path}.auth_method"),
                    m,
                    format!("{other:?} is not a client authentication method (basic, post)"),
                );
                ClientAuth::Basic
            }
        };
        (self.issues.len() == before).then(|| OAuth {
            token_url: url.clone(),
            client_id: o.client_id.value().clone(),
            client_secret_env: var.clone(),
            scope,
            resource,
            audience,
            auth_method,
        })
    }

    /// A target with `same_server_as` takes the other target's endpoint and mode.
    pub(super) fn same_servers(&mut self, targets: &mut BTreeMap<String, Target>) {
        let names: Vec<String> = targets.keys().cloned().collect();
        for name in names {
            let Some(other) = targets[&name].same_server_as.clone() else {
                continue;
            };
            match targets.get(&other) {
                Some(o) if o.same_server_as.is_none() && other != name => {
                    let (endpoint, mode) = (o.endpoint.clone(), o.mode);
                    if let Some(t) = targets.get_mut(&name) {
                        t.endpoint = endpoint;
                        t.mode = mode;
                    }
                }
                Some(_) => self.push(
                    &format!("targets.{name}.same_server_as"),
                    format!("{other:?} must be a target with its own url or spawn"),
                ),
                None => self.push(
                    &format!("targets.{name}.same_server_as"),
                    format!("{other:?} is not a target"),
                ),
            }
        }
    }
}
