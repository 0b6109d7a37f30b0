//! Targets: where each server is, how to reach it (revision, token, headers), and targets
//! that share another's server.

use std::collections::BTreeMap;

use super::validate::Validator;
use super::*;

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
            headers,
            same_server_as,
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
