//! One target, inspected through the harness's client: whether it asks for a token (one
//! request sent without it), the revision settled as the harness settles it
//! (`Endpoint::negotiate`), `server/discover` at 2026-07-28, and every page of
//! `tools/list` with its size.

use std::time::Duration;

use anyhow::anyhow;
use mcp_slo_core::measure::CallOutcome;
use mcp_slo_core::spec::ops::Method;
use mcp_slo_core::spec::{Mode, Protocol, Revision};
use mcp_slo_engine::client::{Destination, Endpoint, Http, Session, wire};
use mcp_slo_engine::op::MAX_PAGES;
use mcp_slo_engine::reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde::Serialize;
use serde_json::Value;

use super::Target;

/// The `_meta` keys the reference servers put on each tool (servers/core/src/registry.rs).
pub const TIER_KEY: &str = "io.mcp-slo/tier";
pub const CATEGORY_KEY: &str = "io.mcp-slo/category";
/// The category of a tool whose `_meta` names none.
pub const UNCATEGORIZED: &str = "uncategorized";

/// What one target showed.
#[derive(Debug, Clone, Serialize)]
pub struct Inspected {
    pub name: String,
    pub url: String,
    /// The environment variable the bearer token came from, when one was sent.
    pub token_env: Option<String>,
    pub token_sent: bool,
    /// Whether the server refuses a request without a token: `Some(true)` on a 401,
    /// `Some(false)` when it answered one with 2xx, `None` otherwise.
    pub token_required: Option<bool>,
    /// How `token_required` was found, e.g. `HTTP 401 without a token (WWW-Authenticate: Bearer)`.
    pub auth_check: String,
    pub revision: Option<String>,
    /// How the revision was settled (the engine's negotiation).
    pub negotiation: Option<String>,
    /// Sessions: none at 2026-07-28; at 2025 revisions whether the server assigned one.
    pub sessions: Option<String>,
    /// The `server/discover` result (2026-07-28 only).
    pub discover: Option<Value>,
    pub pages: u32,
    /// Bytes of the `tools/list` JSON-RPC responses as received (an SSE event's JSON only).
    pub bytes: u64,
    /// Bytes of the HTTP bodies as received (with SSE framing, when the server streams).
    pub wire_bytes: u64,
    pub estimated_tokens: u64,
    pub tools: Vec<Tool>,
    /// Why the target could not be listed in full.
    pub error: Option<String>,
}

/// One listed tool.
#[derive(Debug, Clone, Serialize)]
pub struct Tool {
    pub name: String,
    pub tier: String,
    /// `_meta` or `target name` (no tier in `_meta`).
    pub tier_from: &'static str,
    pub category: String,
    pub description: Option<String>,
}

/// The token estimate: bytes / 4, rounded up.
pub fn estimate_tokens(bytes: u64) -> u64 {
    bytes.div_ceil(4)
}

impl Inspected {
    fn new(target: &Target) -> Inspected {
        Inspected {
            name: target.name.clone(),
            url: target.url.clone(),
            token_env: target.token.as_ref().map(|(var, _)| var.clone()),
            token_sent: target.token.is_some(),
            token_required: None,
            auth_check: "not checked".into(),
            revision: None,
            negotiation: None,
            sessions: None,
            discover: None,
            pages: 0,
            bytes: 0,
            wire_bytes: 0,
            estimated_tokens: 0,
            tools: Vec::new(),
            error: None,
        }
    }
}

/// Inspects one target; what went wrong is in `error`, with what was learnt before it.
pub async fn inspect(client: &Http, target: &Target, timeout: Duration) -> Inspected {
    let mut seen = Inspected::new(target);
    if let Err(e) = steps(client, target, timeout, &mut seen).await {
        seen.error = Some(one_line(&format!("{e:#}")));
    }
    seen.estimated_tokens = estimate_tokens(seen.bytes);
    seen
}

/// An error on one line of at most 300 characters (a server answering HTML is quoted in
/// the client's messages).
fn one_line(text: &str) -> String {
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match flat.char_indices().nth(300) {
        Some((cut, _)) => format!("{}...", &flat[..cut]),
        None => flat,
    }
}

async fn steps(
    client: &Http,
    target: &Target,
    timeout: Duration,
    seen: &mut Inspected,
) -> Result<(), anyhow::Error> {
    let token = target.token.as_ref().map(|(_, t)| t.clone());
    let mut endpoint =
        Endpoint::new(target.url.clone(), Mode::Session, target.protocol).with_token(token);
    check_auth(client, &endpoint, timeout, seen).await?;
    let negotiation = tokio::time::timeout(timeout, endpoint.negotiate(client))
        .await
        .map_err(|_| anyhow!("negotiating the revision: no answer within {timeout:?}"))?
        .map_err(|e| anyhow!(e).context("negotiating the revision"))?;
    seen.revision = Some(negotiation.revision.to_string());
    seen.negotiation = Some(negotiation.how);
    let mut session = tokio::time::timeout(timeout, endpoint.initialize(client))
        .await
        .map_err(|_| anyhow!("initialize: no answer within {timeout:?}"))?
        .map_err(|e| anyhow!(e).context("opening the session"))?;
    seen.sessions = Some(sessions(negotiation.revision, &session));
    let walked = walk(client, &endpoint, &mut session, timeout, seen).await;
    let discovered = match walked {
        Ok(()) if negotiation.revision.is_self_contained() => {
            discover(client, &endpoint, &mut session, timeout, seen).await
        }
        _ => Ok(()),
    };
    endpoint.close(client, &session).await;
    walked.and(discovered)
}

fn sessions(revision: Revision, session: &Session) -> String {
    match (revision.is_self_contained(), &session.id) {
        (true, _) => "none (2026-07-28: self-contained requests)".into(),
        (false, Some(_)) => "yes (initialize; the server assigned an Mcp-Session-Id)".into(),
        (false, None) => "initialize, but the server assigned no Mcp-Session-Id".into(),
    }
}

/// Sends `server/discover` at 2026-07-28 without a token (the revision every tier is asked
/// first): HTTP 401 means the server wants one. Without a token configured, that ends the
/// target; an unreachable server ends it too.
async fn check_auth(
    client: &Http,
    endpoint: &Endpoint,
    timeout: Duration,
    seen: &mut Inspected,
) -> Result<(), anyhow::Error> {
    let mut bare = Endpoint::new(
        endpoint.url.clone(),
        Mode::Session,
        Protocol::Fixed(Revision::V2026_07_28),
    );
    bare.headers = endpoint.headers.clone();
    let (pairs, body) = bare.wire_request(
        Method::Discover.name(),
        Method::Discover.params(Value::Null, None),
        None,
    );
    let mut headers = HeaderMap::new();
    for (k, v) in pairs {
        if let (Ok(k), Ok(v)) = (HeaderName::try_from(k), HeaderValue::try_from(v)) {
            headers.insert(k, v);
        }
    }
    let to = Destination::parse(&endpoint.url).map_err(|e| anyhow!(e))?;
    let answer = client
        .post(&to, headers, body, Some(timeout))
        .await
        .map_err(|e| anyhow!("{} is unreachable: {e}", endpoint.url))?;
    let required = answer.status == 401;
    // Any other refusal or failure says nothing about the token.
    let known = required || (200..300).contains(&answer.status);
    let challenge = answer
        .headers
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .map(|v| format!(" (WWW-Authenticate: {v})"))
        .unwrap_or_default();
    seen.token_required = known.then_some(required);
    seen.auth_check = format!("HTTP {} without a token{challenge}", answer.status);
    if required && !seen.token_sent {
        return Err(anyhow!(
            "the server requires a bearer token (HTTP 401 without one): give --token-env {}=VAR",
            seen.name
        ));
    }
    Ok(())
}

/// Every page of `tools/list`, following `nextCursor`.
async fn walk(
    client: &Http,
    endpoint: &Endpoint,
    session: &mut Session,
    timeout: Duration,
    seen: &mut Inspected,
) -> Result<(), anyhow::Error> {
    let mut cursor: Option<String> = None;
    loop {
        let page = seen.pages + 1;
        let params = Method::List {
            kind: mcp_slo_core::spec::ops::ListKind::Tools,
            walk: true,
        }
        .params(Value::Null, cursor.as_deref());
        let answer = endpoint
            .request(client, session, "tools/list", params, None, Some(timeout))
            .await;
        let result = match (answer.outcome, answer.result()) {
            (CallOutcome::Ok, Some(result)) => result,
            _ => {
                let why = answer
                    .message
                    .clone()
                    .unwrap_or_else(|| format!("HTTP {}, not an MCP answer", answer.status));
                return Err(anyhow!("tools/list page {page}: {why}"));
            }
        };
        seen.pages = page;
        seen.wire_bytes += answer.body.len() as u64;
        seen.bytes += wire::message_of(&answer.body).map_or(0, |m| m.len() as u64);
        let Some(tools) = result.get("tools").and_then(Value::as_array) else {
            return Err(anyhow!(
                "tools/list page {page}: the result has no tools array"
            ));
        };
        seen.tools
            .extend(tools.iter().filter_map(|t| tool(t, &seen.name)));
        let next = result
            .get("nextCursor")
            .and_then(Value::as_str)
            .filter(|c| !c.is_empty())
            .map(str::to_owned);
        match next {
            None => return Ok(()),
            Some(c) if cursor.as_deref() == Some(c.as_str()) => {
                return Err(anyhow!(
                    "tools/list: the server gave the same cursor twice ({c:?})"
                ));
            }
            Some(_) if page >= MAX_PAGES => {
                return Err(anyhow!("tools/list: more than {MAX_PAGES} pages"));
            }
            Some(c) => cursor = Some(c),
        }
    }
}

/// A listed tool with its tier and category from `_meta` (the target's name and
/// "uncategorized" when absent); `None` for an entry without a name.
fn tool(entry: &Value, target: &str) -> Option<Tool> {
    let name = entry.get("name")?.as_str()?.to_owned();
    let meta = |key: &str| {
        entry
            .pointer("/_meta")
            .and_then(|m| m.get(key))
            .and_then(Value::as_str)
            .filter(|s| !s.trim().is_empty())
            .map(str::to_owned)
    };
    let (tier, tier_from) = match meta(TIER_KEY) {
        Some(t) => (t, "_meta"),
        None => (target.to_owned(), "target name"),
    };
    Some(Tool {
        name,
        tier,
        tier_from,
        category: meta(CATEGORY_KEY).unwrap_or_else(|| UNCATEGORIZED.to_owned()),
        description: entry
            .get("description")
            .and_then(Value::as_str)
            .map(str::to_owned),
    })
}

/// `server/discover` (2026-07-28), through the harness's request path.
async fn discover(
    client: &Http,
    endpoint: &Endpoint,
    session: &mut Session,
    timeout: Duration,
    seen: &mut Inspected,
) -> Result<(), anyhow::Error> {
    let answer = crate::call::send(
        client,
        endpoint,
        session,
        timeout,
        &Method::Discover,
        Value::Null,
    )
    .await;
    match (answer.outcome, answer.result()) {
        (CallOutcome::Ok, Some(result)) => {
            seen.discover = Some(result);
            Ok(())
        }
        _ => Err(anyhow!(
            "server/discover: {}",
            answer
                .message
                .unwrap_or_else(|| format!("HTTP {}", answer.status))
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tool_takes_its_tier_and_category_from_meta_or_falls_back() {
        let with = serde_json::json!({"name": "s3_read", "_meta": {
            "io.mcp-slo/tier": "aws", "io.mcp-slo/category": "storage"}});
        let t = tool(&with, "cloud").unwrap();
        assert_eq!((t.tier.as_str(), t.tier_from), ("aws", "_meta"));
        assert_eq!(t.category, "storage");
        let without = serde_json::json!({"name": "echo"});
        let t = tool(&without, "cloud").unwrap();
        assert_eq!((t.tier.as_str(), t.tier_from), ("cloud", "target name"));
        assert_eq!(t.category, UNCATEGORIZED);
        assert!(tool(&serde_json::json!({"title": "x"}), "cloud").is_none());
    }

    #[test]
    fn tokens_are_bytes_over_four_rounded_up() {
        assert_eq!(estimate_tokens(0), 0);
        assert_eq!(estimate_tokens(1), 1);
        assert_eq!(estimate_tokens(8), 2);
        assert_eq!(estimate_tokens(9), 3);
    }
}
