//! `mcp-slo discover`: the categorized, merged view of the tools of several MCP servers
//! (tier → category → tools). For each target, through the harness's own client: whether
//! it wants a bearer token, the revision settled as a run settles it, `server/discover` at
//! 2026-07-28, and every page of `tools/list` with its size in bytes and estimated tokens.
//! Tool names served by more than one target are flagged as collisions.
//!
//! A table on stdout (or the JSON with `--format json`), the JSON in `--json FILE` too.
//! Exit 0 every target listed, 2 invalid input, 3 a target unreachable, refusing, or not
//! answering MCP (the others are still shown, the failed one with its error).

mod inspect;
mod merge;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, anyhow};
use clap::{Args, ValueEnum};
use mcp_slo_core::spec::{Protocol, Revision};
use mcp_slo_engine::client::{Destination, Http};
use mcp_slo_engine::reqwest::{self, Url};

use crate::Outcome;

#[derive(Debug, Args)]
pub struct DiscoverArgs {
    /// A server to list, NAME=URL (repeatable), e.g. local=http://127.0.0.1:8080/mcp.
    /// NAME is the tier its tools fall under when their `_meta` names none.
    #[arg(long = "target", required = true, value_name = "NAME=URL")]
    targets: Vec<String>,
    /// Send `Authorization: Bearer` to target NAME with the token in environment variable
    /// VAR, NAME=VAR (repeatable), as a scenario's `token_env` does.
    #[arg(long = "token-env", alias = "token", value_name = "NAME=VAR")]
    tokens: Vec<String>,
    /// The revision to speak with target NAME, NAME=REVISION (repeatable): auto (the
    /// default: server/discover at 2026-07-28, else initialize) or one of 2026-07-28,
    /// 2025-11-25, 2025-06-18, 2025-03-26.
    #[arg(long = "protocol", value_name = "NAME=REVISION")]
    protocols: Vec<String>,
    /// Also write the JSON to this file.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// What goes to stdout.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
    /// How long each request may take, e.g. 30s or 500ms.
    #[arg(long, default_value = "30s")]
    timeout: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Table,
    Json,
}

/// One validated `--target`, with its token (variable, value) when given.
#[derive(Debug, Clone)]
pub struct Target {
    pub name: String,
    pub url: String,
    pub token: Option<(String, String)>,
    pub protocol: Protocol,
}

pub async fn discover(args: &DiscoverArgs) -> Outcome {
    let (targets, timeout) = match validate(args, |var| std::env::var(var).ok()) {
        Ok(v) => v,
        Err(e) => return Outcome::Invalid(e),
    };
    let client = match reqwest::Client::builder().build() {
        Ok(c) => Http::from(c),
        Err(e) => {
            return Outcome::Infrastructure(anyhow!(e).context("building the HTTP client"));
        }
    };
    let mut seen = Vec::with_capacity(targets.len());
    for target in &targets {
        seen.push(inspect::inspect(&client, target, timeout).await);
    }
    let merged = merge::merge(seen);
    let json = match serde_json::to_string_pretty(&merged) {
        Ok(j) => j,
        Err(e) => return Outcome::Infrastructure(anyhow!(e).context("writing the JSON")),
    };
    match args.format {
        Format::Table => print!("{}", merge::table(&merged)),
        Format::Json => println!("{json}"),
    }
    if let Some(path) = &args.json
        && let Err(e) = std::fs::write(path, format!("{json}\n"))
            .with_context(|| format!("writing {}", path.display()))
    {
        return Outcome::Infrastructure(e);
    }
    let failed: Vec<String> = merged
        .targets
        .iter()
        .filter_map(|t| Some(format!("{}: {}", t.name, t.error.as_ref()?)))
        .collect();
    if failed.is_empty() {
        Outcome::Pass
    } else {
        Outcome::Infrastructure(anyhow!(
            "{} of {} target(s) not listed:\n  {}",
            failed.len(),
            merged.targets.len(),
            failed.join("\n  ")
        ))
    }
}

fn validate(
    args: &DiscoverArgs,
    env: impl Fn(&str) -> Option<String>,
) -> Result<(Vec<Target>, Duration), anyhow::Error> {
    let mut problems = Vec::new();
    let mut targets: Vec<Target> = Vec::new();
    for text in &args.targets {
        match target(text) {
            Ok(t) if targets.iter().any(|o| o.name == t.name) => {
                problems.push(format!("target: {:?} is given twice", t.name));
            }
            Ok(t) => targets.push(t),
            Err(e) => problems.push(format!("target: {text:?}: {e}")),
        }
    }
    for text in &args.tokens {
        let Some((name, var)) = text.split_once('=').map(|(n, v)| (n.trim(), v.trim())) else {
            problems.push(format!("token-env: {text:?} is not NAME=VAR"));
            continue;
        };
        match (targets.iter_mut().find(|t| t.name == name), env(var)) {
            (None, _) => problems.push(format!("token-env: {name:?} is not a --target name")),
            (Some(t), _) if t.token.is_some() => {
                problems.push(format!("token-env: target {name:?} has two tokens"));
            }
            (Some(_), None) => {
                problems.push(format!("token-env: environment variable {var} is not set"));
            }
            (Some(_), Some(v)) if v.trim().is_empty() => {
                problems.push(format!("token-env: environment variable {var} is empty"));
            }
            (Some(t), Some(v)) => t.token = Some((var.to_owned(), v.trim().to_owned())),
        }
    }
    for text in &args.protocols {
        if let Err(e) = protocol(text, &mut targets) {
            problems.push(format!("protocol: {text:?}: {e}"));
        }
    }
    let timeout = match mcp_slo_core::units::parse_duration(&args.timeout) {
        Ok(t) if !t.is_zero() => Some(t),
        Ok(_) => {
            problems.push("timeout: must be more than zero".into());
            None
        }
        Err(e) => {
            problems.push(format!("timeout: {e}"));
            None
        }
    };
    match timeout {
        Some(timeout) if problems.is_empty() => Ok((targets, timeout)),
        _ => Err(anyhow!("{}", problems.join("\n"))),
    }
}

/// `NAME=REVISION`, set on the target NAME.
fn protocol(text: &str, targets: &mut [Target]) -> Result<(), String> {
    let (name, revision) = text
        .split_once('=')
        .map(|(n, r)| (n.trim(), r.trim()))
        .ok_or("not NAME=REVISION")?;
    let target = targets
        .iter_mut()
        .find(|t| t.name == name)
        .ok_or_else(|| format!("{name:?} is not a --target name"))?;
    target.protocol = match revision {
        "auto" => Protocol::Auto,
        other => Revision::parse(other).map(Protocol::Fixed).ok_or_else(|| {
            let known: Vec<&str> = Revision::ALL.iter().map(|r| r.as_str()).collect();
            format!("{other:?} is not auto or one of {}", known.join(", "))
        })?,
    };
    Ok(())
}

/// `NAME=URL`: a name of letters, digits, `-`, `_` or `.`, and an http URL.
fn target(text: &str) -> Result<Target, String> {
    let (name, url) = text
        .split_once('=')
        .map(|(n, u)| (n.trim(), u.trim()))
        .ok_or("not NAME=URL")?;
    let valid = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    if name.is_empty() || !name.chars().all(valid) {
        return Err(format!(
            "name {name:?} must be letters, digits, '-', '_' or '.'"
        ));
    }
    let parsed = Url::parse(url).map_err(|e| format!("url {url:?}: {e}"))?;
    if parsed.scheme() != "http" {
        return Err(format!(
            "url {url:?}: only http:// targets are supported (the harness's client)"
        ));
    }
    Destination::parse(url)?;
    Ok(Target {
        name: name.to_owned(),
        url: url.to_owned(),
        token: None,
        protocol: Protocol::Auto,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(targets: &[&str], tokens: &[&str]) -> DiscoverArgs {
        DiscoverArgs {
            targets: targets.iter().map(|s| (*s).to_owned()).collect(),
            tokens: tokens.iter().map(|s| (*s).to_owned()).collect(),
            protocols: vec!["aws=2025-11-25".into()],
            json: None,
            format: Format::Table,
            timeout: "30s".into(),
        }
    }

    fn problems(targets: &[&str], tokens: &[&str]) -> String {
        let env = |var: &str| (var == "TOKEN").then(|| "secret".to_owned());
        match validate(&args(targets, tokens), env) {
            Ok(_) => String::new(),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn targets_and_tokens_are_checked_before_anything_is_sent() {
        let env = |var: &str| (var == "TOKEN").then(|| "secret".to_owned());
        let a = args(
            &[
                "local=http://127.0.0.1:8080/mcp",
                "aws=http://127.0.0.1:8081/mcp",
            ],
            &["aws=TOKEN"],
        );
        let (targets, _) = validate(&a, env).unwrap();
        assert_eq!(targets[1].token, Some(("TOKEN".into(), "secret".into())));
        assert!(targets[0].token.is_none());
        assert_eq!(targets[1].protocol, Protocol::Fixed(Revision::V2025_11_25));
        assert_eq!(targets[0].protocol, Protocol::Auto);
        assert!(problems(&["local"], &[]).contains("not NAME=URL"));
        assert!(problems(&["=http://a/mcp"], &[]).contains("must be letters"));
        assert!(problems(&["a=ftp://x/mcp"], &[]).contains("only http://"));
        assert!(problems(&["a=not a url"], &[]).contains("url"));
        assert!(problems(&["a=http://x/mcp", "a=http://y/mcp"], &[]).contains("given twice"));
        assert!(problems(&["a=http://x/mcp"], &["b=TOKEN"]).contains("not a --target"));
        assert!(problems(&["a=http://x/mcp"], &["a=UNSET"]).contains("UNSET is not set"));
        assert!(problems(&["a=http://x/mcp"], &["a"]).contains("not NAME=VAR"));
        assert!(problems(&["aws=http://x/mcp"], &[]).is_empty());
        let mut a = args(&["aws=http://x/mcp"], &[]);
        a.protocols = vec!["aws=2024-01-01".into()];
        assert!(
            validate(&a, |_| None)
                .unwrap_err()
                .to_string()
                .contains("not auto or one of")
        );
    }
}
