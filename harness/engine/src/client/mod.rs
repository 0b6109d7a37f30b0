//! A minimal MCP client over JSON-RPC/HTTP for load, speaking every revision the harness
//! supports:
//!
//! - **2026-07-28**: no `initialize`, no session; each request carries `params._meta`
//!   (revision, capabilities, client) and the headers `MCP-Protocol-Version`, `Mcp-Method`
//!   and, for a tool, prompt or resource, `Mcp-Name`.
//! - **2025-03-26 … 2025-11-25**: `initialize` + `notifications/initialized` per worker;
//!   the session id is kept when the server assigns one (it may not); a 404 for the session
//!   opens a new one; `MCP-Protocol-Version` on every request; DELETE at the end.
//!
//! `auto` finds out which: `server/discover` at 2026-07-28, else `initialize`. Answers may
//! be JSON or SSE; outcomes are classified from the body ([`wire::classify`]).
//!
//! It speaks raw JSON-RPC through reqwest rather than through the rmcp client, which is
//! about half as fast and caps itself at 16 requests in flight per transport.

pub mod http;
pub mod listen;
mod negotiate;
pub mod oauth;
pub mod param_headers;
pub mod sse;
pub mod wire;

use std::time::Duration;

use mcp_slo_core::spec::{Mode, Protocol, Revision};
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use serde_json::Value;

pub use http::{Destination, Exchange, Http};
pub use wire::{Answer, Listing, OVERLOADED, RATE_LIMITED, TIMED_OUT};

/// Pages of `tools/list` read while negotiating (see [`Endpoint::learn_tools`]).
pub const LEARN_PAGES: u32 = 100;

/// Where and how to talk to one MCP server.
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub url: String,
    /// `url` parsed for the POSTs, or why it cannot be (given back by every request).
    destination: Result<Destination, String>,
    pub mode: Mode,
    /// The revision asked for.
    pub protocol: Protocol,
    /// The revision spoken: fixed, or found by [`Endpoint::negotiate`].
    pub revision: Option<Revision>,
    pub token: Option<String>,
    /// A bearer token from an OAuth token endpoint, kept fresh in the background.
    pub oauth: Option<oauth::OAuthToken>,
    /// Extra headers on every request.
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// 2026-07-28 `_meta`, built once.
    meta: Value,
    /// The tools `tools/list` answers showed, and their `Mcp-Param-*` headers.
    pub tools: param_headers::ToolHeaders,
    /// Whether every `tools/list` answer updates `tools` (true); the load engine turns it
    /// off, having learned the tools while negotiating, so that a listing under load
    /// costs the client what reading it costs, not parsing every tool's schema.
    pub observe_listings: bool,
}

/// A request made ready by [`Endpoint::prepare`], sent by [`Endpoint::send`].
#[derive(Debug)]
pub struct Prepared {
    method: String,
    params: Option<Value>,
    name: Option<String>,
    /// Encoded ahead, when the session allowed.
    encoded: Option<Encoded>,
}

/// One request's JSON-RPC id, body and headers, for the revision and session they were
/// encoded for.
#[derive(Debug)]
struct Encoded {
    id: u64,
    revision: Revision,
    session: Option<HeaderValue>,
    body: Vec<u8>,
    headers: HeaderMap,
}

/// One worker's conversation with an endpoint: its session (2025 revisions) and the next
/// JSON-RPC id.
#[derive(Debug, Default, Clone)]
pub struct Session {
    /// Set once `initialize` succeeded (2025 revisions); always for 2026-07-28.
    pub open: bool,
    pub id: Option<HeaderValue>,
    next_id: u64,
}

impl Session {
    /// The same session for another task, numbering its requests from `first_id` so
    /// concurrent requests never share a JSON-RPC id.
    pub fn fork(&self, first_id: u64) -> Session {
        Session {
            open: self.open,
            id: self.id.clone(),
            next_id: first_id,
        }
    }

    fn next_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("{url} is unreachable: {message}")]
    Unreachable { url: String, message: String },
    #[error("{url}: initialize failed: {message}")]
    Handshake { url: String, message: String },
    #[error("{url}: {message}")]
    Negotiation { url: String, message: String },
}

/// How the revision was settled, for the report.
#[derive(Debug, Clone)]
pub struct Negotiation {
    pub revision: Revision,
    /// e.g. `server/discover: 2026-07-28 supported` or `initialize: 2025-06-18`.
    pub how: String,
}

impl Endpoint {
    pub fn new(url: impl Into<String>, mode: Mode, protocol: Protocol) -> Endpoint {
        let url = url.into();
        Endpoint {
            destination: Destination::parse(&url),
            url,
            mode,
            protocol,
            revision: match protocol {
                Protocol::Fixed(r) => Some(r),
                Protocol::Auto => None,
            },
            token: None,
            oauth: None,
            headers: Vec::new(),
            meta: serde_json::json!({
                "io.modelcontextprotocol/protocolVersion": Revision::V2026_07_28.as_str(),
                "io.modelcontextprotocol/clientCapabilities": {},
                "io.modelcontextprotocol/clientInfo": client_info(),
            }),
            tools: param_headers::ToolHeaders::default(),
            observe_listings: true,
        }
    }

    pub fn with_token(mut self, token: Option<String>) -> Endpoint {
        self.token = token;
        self
    }

    /// The revision to speak (2025-11-25 until negotiated).
    pub fn revision(&self) -> Revision {
        self.revision.unwrap_or(Revision::LATEST_WITH_SESSIONS)
    }

    fn request_headers(
        &self,
        revision: Revision,
        session: &Session,
        method: &str,
        name: Option<&str>,
    ) -> HeaderMap {
        let mut h = HeaderMap::with_capacity(8 + self.headers.len());
        h.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        h.insert(
            ACCEPT,
            HeaderValue::from_static("application/json, text/event-stream"),
        );
        h.insert(
            "mcp-protocol-version",
            HeaderValue::from_static(revision.as_str()),
        );
        if revision.is_self_contained() {
            if let Ok(v) = HeaderValue::from_str(method) {
                h.insert("mcp-method", v);
            }
            if let Some(v) = name.and_then(|n| HeaderValue::from_str(&wire::header_value(n)).ok()) {
                h.insert("mcp-name", v);
            }
        } else if let Some(id) = &session.id {
            h.insert("mcp-session-id", id.clone());
        }
        self.add_credentials(&mut h);
        h
    }

    /// The bearer token (static or OAuth) and the extra headers every request carries,
    /// over whatever `h` holds.
    fn add_credentials(&self, h: &mut HeaderMap) {
        if let Some(token) = &self.token
            && let Ok(v) = HeaderValue::from_str(&format!("Bearer {token}"))
        {
            h.insert(AUTHORIZATION, v);
        }
        if let Some(oauth) = &self.oauth {
            h.insert(AUTHORIZATION, oauth.header());
        }
        for (k, v) in &self.headers {
            h.insert(k.clone(), v.clone());
        }
    }

    async fn post(
        &self,
        client: &Http,
        headers: HeaderMap,
        body: Vec<u8>,
        timeout: Option<Duration>,
    ) -> Result<Exchange, String> {
        let to = self.destination.as_ref().map_err(Clone::clone)?;
        client.post(to, headers, body, timeout).await
    }

    /// Sends one request and classifies the answer. A 2025 session the server has ended
    /// (404) is opened again and the request sent once more (counted in `reopened`).
    pub async fn request(
        &self,
        client: &Http,
        session: &mut Session,
        method: &str,
        params: Option<Value>,
        name: Option<&str>,
        timeout: Option<Duration>,
    ) -> Answer {
        let prepared = self.prepare(session, method, params, name);
        self.send(client, session, prepared, timeout).await
    }

    /// A request made ready to send: its body and headers encoded now, when the session
    /// allows (a 2025 session not yet open is opened, and the request encoded, by
    /// [`Endpoint::send`]). The load engine prepares each call before its intended start,
    /// so that what is timed is the exchange and not the encoding.
    pub fn prepare(
        &self,
        session: &mut Session,
        method: &str,
        params: Option<Value>,
        name: Option<&str>,
    ) -> Prepared {
        let revision = self.revision();
        let encoded = (session.open || revision.is_self_contained())
            .then(|| self.encode(session, revision, method, params.as_ref(), name));
        Prepared {
            method: method.to_owned(),
            params,
            name: name.map(str::to_owned),
            encoded,
        }
    }

    fn encode(
        &self,
        session: &mut Session,
        revision: Revision,
        method: &str,
        params: Option<&Value>,
        name: Option<&str>,
    ) -> Encoded {
        let meta = revision.is_self_contained().then_some(&self.meta);
        let id = session.next_id();
        let body = wire::encode(Some(id), method, params, meta);
        let mut headers = self.request_headers(revision, session, method, name);
        if revision.is_self_contained() && method == "tools/call" {
            self.tools.add_headers(&mut headers, params);
        }
        Encoded {
            id,
            revision,
            session: session.id.clone(),
            body,
            headers,
        }
    }

    /// Sends a prepared request (see [`Endpoint::request`]).
    pub async fn send(
        &self,
        client: &Http,
        session: &mut Session,
        prepared: Prepared,
        timeout: Option<Duration>,
    ) -> Answer {
        let Prepared {
            method,
            params,
            name,
            mut encoded,
        } = prepared;
        let (method, name) = (method.as_str(), name.as_deref());
        let revision = self.revision();
        let mut reopened = 0;
        let mut resent = false;
        loop {
            if !session.open
                && !revision.is_self_contained()
                && let Err(e) = self.open_session(client, session, revision).await
            {
                let mut answer = Answer::transport(e.to_string());
                answer.reopened = reopened;
                return answer;
            }
            // Encoded ahead for this revision and session, or now.
            let Encoded {
                id, body, headers, ..
            } = match encoded.take() {
                Some(e) if e.revision == revision && e.session == session.id => e,
                _ => self.encode(session, revision, method, params.as_ref(), name),
            };
            let deadline = timeout.map(|t| tokio::time::Instant::now() + t);
            let sent = match self.post(client, headers, body, timeout).await {
                // A 2025-11-25 event stream the server ended early resumes with a GET.
                Ok(x) if !revision.is_self_contained() && wire::message_of(&x.body).is_none() => {
                    let headers = self.request_headers(revision, session, method, name);
                    Ok(sse::resume(client.reqwest(), &self.url, headers, x, id, deadline).await)
                }
                other => other,
            };
            let mut answer = match sent {
                Ok(x) => {
                    if x.status == 404 && session.id.is_some() && reopened == 0 {
                        // The server ended the session: a new one, then the same request.
                        session.open = false;
                        session.id = None;
                        reopened += 1;
                        continue;
                    }
                    let received = x.received;
                    let mut answer = wire::classify(x.status, &x.headers, x.body);
                    answer.received = Some(received);
                    if method == "tools/list"
                        && self.observe_listings
                        && let Some(result) = answer.result()
                    {
                        self.tools.observe(&result);
                    }
                    if !resent && self.resend_after(&answer, revision) {
                        // -32022 naming our own revision as supported (2026-07-28: the
                        // client retries with a listed revision; ours is one).
                        resent = true;
                        continue;
                    }
                    answer
                }
                Err(message) => Answer::transport(message),
            };
            answer.reopened = reopened;
            return answer;
        }
    }

    /// Whether an "unsupported version" answer lists the revision just sent, so the same
    /// request is sent again.
    fn resend_after(&self, answer: &Answer, revision: Revision) -> bool {
        answer.code == Some(wire::UNSUPPORTED_VERSION)
            && error_data(&answer.body)
                .and_then(|d| d.get("supported")?.as_array().cloned())
                .is_some_and(|s| s.iter().any(|v| v.as_str() == Some(revision.as_str())))
    }

    /// The headers and body of one request as this endpoint sends it without a session
    /// (2026-07-28, or a 2025 server that assigns none), for an independent load generator
    /// to send exactly the same call.
    pub fn wire_request(
        &self,
        method: &str,
        params: Option<Value>,
        name: Option<&str>,
    ) -> (Vec<(String, String)>, Vec<u8>) {
        let revision = self.revision();
        let meta = revision.is_self_contained().then_some(&self.meta);
        let body = wire::encode(Some(1), method, params.as_ref(), meta);
        let headers = self
            .request_headers(revision, &Session::default(), method, name)
            .iter()
            .filter_map(|(k, v)| Some((k.as_str().to_owned(), v.to_str().ok()?.to_owned())))
            .collect();
        (headers, body)
    }

    /// Ends the session (DELETE), best effort.
    pub async fn close(&self, client: &Http, session: &Session) {
        if session.id.is_some() {
            let headers = self.request_headers(self.revision(), session, "", None);
            let _ = client
                .reqwest()
                .delete(&self.url)
                .headers(headers)
                .timeout(Duration::from_secs(2))
                .send()
                .await;
        }
    }
}

fn client_info() -> Value {
    serde_json::json!({"name": "mcp-slo", "version": env!("CARGO_PKG_VERSION")})
}

/// `error.data` of a JSON-RPC error answer.
fn error_data(body: &[u8]) -> Option<Value> {
    let mut v: Value = serde_json::from_slice(wire::message_of(body)?).ok()?;
    v.pointer_mut("/error/data").map(Value::take)
}

fn describe(e: reqwest::Error) -> String {
    let mut message = e.to_string();
    if e.is_timeout() {
        message = format!("timed out: {message}");
    }
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        message.push_str(": ");
        message.push_str(&s.to_string());
        source = s.source();
    }
    message
}
