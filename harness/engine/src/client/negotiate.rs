//! Settling the revision with a server (`negotiate`), opening 2025 sessions
//! (`initialize`, `open_session`), and the tools learned while negotiating.

use std::time::Duration;

use mcp_slo_core::measure::CallOutcome;
use mcp_slo_core::spec::{Protocol, Revision};
use serde_json::Value;

use super::{
    Answer, ClientError, Endpoint, Http, LEARN_PAGES, Negotiation, Session, client_info,
    error_data, wire,
};

impl Endpoint {
    /// `initialize` + `notifications/initialized` (2025 revisions). The session id is kept
    /// when the server assigns one; a server that assigns none is simply not sent one.
    pub(super) async fn open_session(
        &self,
        client: &Http,
        session: &mut Session,
        revision: Revision,
    ) -> Result<Revision, ClientError> {
        let unreachable = |message| ClientError::Unreachable {
            url: self.url.clone(),
            message,
        };
        let handshake = |message| ClientError::Handshake {
            url: self.url.clone(),
            message,
        };
        let params = serde_json::json!({
            "protocolVersion": revision.as_str(),
            "capabilities": {},
            "clientInfo": client_info(),
        });
        let fresh = Session::default();
        let body = wire::encode(Some(0), "initialize", Some(&params), None);
        let headers = self.request_headers(revision, &fresh, "initialize", None);
        let x = self
            .post(client, headers, body, None)
            .await
            .map_err(unreachable)?;
        let id = x.headers.get("mcp-session-id").cloned();
        let answer = wire::classify(x.status, &x.headers, x.body);
        if answer.outcome != CallOutcome::Ok {
            return Err(handshake(
                answer
                    .message
                    .unwrap_or_else(|| format!("HTTP {}", answer.status)),
            ));
        }
        let spoken = answer
            .result()
            .and_then(|r| r.get("protocolVersion")?.as_str().map(str::to_owned))
            .unwrap_or_default();
        let Some(spoken) = Revision::parse(&spoken) else {
            return Err(handshake(format!(
                "the server answered protocolVersion {spoken:?}, which the harness does not speak"
            )));
        };
        session.id = id;
        let note = wire::encode(None, "notifications/initialized", None, None);
        let headers = self.request_headers(spoken, session, "notifications/initialized", None);
        let x = self
            .post(client, headers, note, None)
            .await
            .map_err(unreachable)?;
        if !(200..300).contains(&x.status) {
            return Err(handshake(format!(
                "notifications/initialized answered HTTP {}",
                x.status
            )));
        }
        session.open = true;
        session.next_id = 1;
        Ok(spoken)
    }

    /// Settles the revision: a fixed one is checked (a 2025 one with `initialize`); `auto`
    /// sends `server/discover` at 2026-07-28 and falls back to `initialize` when the server
    /// does not know it.
    pub async fn negotiate(&mut self, client: &Http) -> Result<Negotiation, ClientError> {
        let fail = |message: String| ClientError::Negotiation {
            url: self.url.clone(),
            message,
        };
        if self.protocol == Protocol::Auto || self.revision == Some(Revision::V2026_07_28) {
            self.revision = Some(Revision::V2026_07_28);
            let mut session = Session::default();
            let answer = self
                .request(
                    client,
                    &mut session,
                    "server/discover",
                    Some(Value::Object(Default::default())),
                    None,
                    None,
                )
                .await;
            let supported: Vec<String> = answer
                .result()
                .and_then(|r| r.get("supportedVersions").cloned())
                .or_else(|| error_data(&answer.body)?.get("supported").cloned())
                .and_then(|v| serde_json::from_value(v).ok())
                .unwrap_or_default();
            let modern = supported
                .iter()
                .any(|v| v == Revision::V2026_07_28.as_str());
            match (answer.outcome, answer.status, answer.code) {
                (_, 0, _) => {
                    return Err(ClientError::Unreachable {
                        url: self.url.clone(),
                        message: answer.message.unwrap_or_default(),
                    });
                }
                (_, 401 | 403, _) => {
                    return Err(fail(format!(
                        "server/discover refused (HTTP {}): check the target's token or headers",
                        answer.status
                    )));
                }
                (CallOutcome::Ok, _, _) if modern => {
                    self.learn_while_negotiating(client).await;
                    return Ok(Negotiation {
                        revision: Revision::V2026_07_28,
                        how: format!("server/discover: supports {}", supported.join(", ")),
                    });
                }
                (_, _, Some(wire::UNSUPPORTED_VERSION)) if modern => {
                    self.learn_while_negotiating(client).await;
                    return Ok(Negotiation {
                        revision: Revision::V2026_07_28,
                        how: "server/discover: -32022, 2026-07-28 listed as supported".into(),
                    });
                }
                (_, _, Some(code @ (wire::HEADER_MISMATCH | wire::MISSING_CLIENT_CAPABILITY))) => {
                    return Err(fail(format!(
                        "server/discover at 2026-07-28 refused with {code}: {}",
                        answer.message.unwrap_or_default()
                    )));
                }
                _ if self.protocol != Protocol::Auto => {
                    return Err(fail(format!(
                        "2026-07-28 asked for, but server/discover answered: {}",
                        answer
                            .message
                            .unwrap_or_else(|| format!("HTTP {}", answer.status))
                    )));
                }
                _ => {}
            }
        }
        let asked = match self.protocol {
            Protocol::Fixed(r) => r,
            Protocol::Auto => Revision::LATEST_WITH_SESSIONS,
        };
        let mut session = Session::default();
        let spoken = self.open_session(client, &mut session, asked).await?;
        self.close(client, &session).await;
        if self.protocol != Protocol::Auto && spoken != asked {
            return Err(fail(format!(
                "{asked} asked for, the server answered {spoken}"
            )));
        }
        self.revision = Some(spoken);
        Ok(Negotiation {
            revision: spoken,
            how: if self.protocol == Protocol::Auto {
                format!("server/discover not served; initialize: {spoken}")
            } else {
                format!("initialize: {spoken}")
            },
        })
    }

    /// Walks `tools/list` once (at most [`LEARN_PAGES`] pages), so every `tools/call` after
    /// it carries the `Mcp-Param-*` headers its tool's schema asks for; negotiating does it
    /// at 2026-07-28. The number of tools listed, or the answer that stopped the walk. A server without
    /// tools, or one that refuses the listing, is left as it is: its calls then go without
    /// those headers and the server's answers tell.
    pub async fn learn_tools(&self, client: &Http) -> Result<usize, Answer> {
        let mut session = Session::default();
        let mut cursor: Option<String> = None;
        let mut listed = 0;
        for _ in 0..LEARN_PAGES {
            let params = match &cursor {
                Some(c) => serde_json::json!({ "cursor": c }),
                None => Value::Object(Default::default()),
            };
            let answer = self
                .request(
                    client,
                    &mut session,
                    "tools/list",
                    Some(params),
                    None,
                    Some(Duration::from_secs(10)),
                )
                .await;
            let Some(result) = answer.result() else {
                return Err(answer);
            };
            listed += result
                .get("tools")
                .and_then(Value::as_array)
                .map_or(0, Vec::len);
            match result
                .get("nextCursor")
                .and_then(Value::as_str)
                .filter(|c| !c.is_empty() && cursor.as_deref() != Some(*c))
            {
                Some(c) => cursor = Some(c.to_owned()),
                None => return Ok(listed),
            }
        }
        Ok(listed)
    }

    async fn learn_while_negotiating(&self, client: &Http) {
        if let Err(answer) = self.learn_tools(client).await {
            tracing::warn!(
                url = %self.url,
                "tools/list failed ({}): tools/call goes without the tools' Mcp-Param headers",
                answer.message.unwrap_or_else(|| format!("HTTP {}", answer.status))
            );
        }
    }

    /// Opens a session (2025 revisions) or checks the server answers `server/discover`
    /// (2026-07-28).
    pub async fn initialize(&self, client: &Http) -> Result<Session, ClientError> {
        let mut session = Session::default();
        let revision = self.revision();
        if revision.is_self_contained() {
            session.open = true;
            return Ok(session);
        }
        self.open_session(client, &mut session, revision).await?;
        Ok(session)
    }
}
