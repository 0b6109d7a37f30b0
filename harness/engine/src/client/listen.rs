//! Listening for `notifications/tools/list_changed`: on 2026-07-28 a `subscriptions/listen`
//! request whose answer is an event stream that stays open; on the 2025 revisions the
//! session's GET stream (a server that assigns no session id has none to listen on).

use reqwest::header::{ACCEPT, HeaderValue};
use serde_json::{Value, json};
use tokio::time::Instant;

use super::{Endpoint, Http, Session, sse, wire};

/// The method of the notification listened for.
pub const LIST_CHANGED: &str = "notifications/tools/list_changed";

/// An open stream of server notifications.
pub struct Listener {
    response: reqwest::Response,
    parser: sse::Parser,
    /// Arrival times of `list_changed` notifications read but not yet taken.
    pending: std::collections::VecDeque<Instant>,
}

impl Endpoint {
    /// Opens the stream on which the server announces tool-list changes to `session`
    /// (see the module's description). `client` must not time whole requests out: the
    /// stream stays open for as long as the listener reads it.
    pub async fn listen(&self, client: &Http, session: &mut Session) -> Result<Listener, String> {
        let revision = self.revision();
        let request = if revision.is_self_contained() {
            let method = "subscriptions/listen";
            let params = json!({"notifications": {"toolsListChanged": true}});
            let body = wire::encode(
                Some(session.next_id()),
                method,
                Some(&params),
                Some(&self.meta),
            );
            let headers = self.request_headers(revision, session, method, None);
            client.reqwest().post(&self.url).headers(headers).body(body)
        } else {
            if session.id.is_none() {
                return Err(format!(
                    "{}: the server assigned no session id, so there is no session stream to hear list_changed on",
                    self.url
                ));
            }
            let mut headers = self.request_headers(revision, session, "", None);
            headers.remove(reqwest::header::CONTENT_TYPE);
            client.reqwest().get(&self.url).headers(headers)
        };
        let response = request
            .header(ACCEPT, HeaderValue::from_static("text/event-stream"))
            .send()
            .await
            .map_err(super::describe)?;
        let status = response.status();
        let is_stream = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/event-stream"));
        if !status.is_success() || !is_stream {
            let body = response.text().await.unwrap_or_default();
            let body: String = body.chars().take(200).collect();
            return Err(format!(
                "{}: {status} and no event stream: {body}",
                self.url
            ));
        }
        Ok(Listener {
            response,
            parser: sse::Parser::default(),
            pending: Default::default(),
        })
    }
}

impl Endpoint {
    /// The credentials and extra headers every request to this endpoint carries (for a
    /// request to the same server outside MCP, e.g. its admin interface).
    pub fn credentials(&self) -> reqwest::header::HeaderMap {
        let mut h = reqwest::header::HeaderMap::new();
        self.add_credentials(&mut h);
        h
    }
}

impl Listener {
    /// When the next `list_changed` notification arrived (when the bytes completing it
    /// were read); an error when the stream ended or broke first.
    pub async fn next_list_changed(&mut self) -> Result<Instant, String> {
        loop {
            if let Some(at) = self.pending.pop_front() {
                return Ok(at);
            }
            let chunk = match self.response.chunk().await {
                Err(e) => return Err(super::describe(e)),
                Ok(None) => return Err("the server ended the stream".into()),
                Ok(Some(chunk)) => chunk,
            };
            let at = Instant::now();
            for event in self.parser.push(&chunk) {
                if is_list_changed(&event.data) {
                    self.pending.push_back(at);
                }
            }
        }
    }
}

fn is_list_changed(data: &str) -> bool {
    serde_json::from_str::<Value>(data)
        .is_ok_and(|v| v.get("method").and_then(Value::as_str) == Some(LIST_CHANGED))
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_the_tools_list_changed_notification_counts() {
        assert!(super::is_list_changed(
            r#"{"jsonrpc":"2.0","method":"notifications/tools/list_changed","params":{}}"#
        ));
        assert!(!super::is_list_changed(
            r#"{"jsonrpc":"2.0","method":"notifications/prompts/list_changed"}"#
        ));
        assert!(!super::is_list_changed(
            r#"{"jsonrpc":"2.0","id":1,"result":{}}"#
        ));
        assert!(!super::is_list_changed("not json"));
    }
}
