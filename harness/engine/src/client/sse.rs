//! Server-sent events on the 2025-11-25 session path, and resuming a cut stream: a server
//! may end a POST's event stream before the response (after an event with an `id:` and a
//! `retry:`), and the client then waits `retry` ms and GETs the same URL with
//! `Last-Event-ID` to read the response from the resumed stream (SEP-1699). The only other
//! GET stream is a session's notification stream, opened by `listen.rs` for the
//! list_changed probe.

use std::time::Duration;

use bytes::Bytes;
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap, HeaderValue};
use serde::Deserialize;
use tokio::time::Instant;

use super::Exchange;

/// One dispatched event: its data lines joined with `\n`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub data: String,
}

/// An incremental event-stream parser (the WHATWG rules the client needs: `data`, `id`,
/// `retry`; comments and other fields ignored; CRLF, CR or LF line ends).
#[derive(Debug, Default)]
pub struct Parser {
    line: Vec<u8>,
    data: Option<String>,
    /// The last event id seen (the value `Last-Event-ID` resumes from).
    pub last_id: Option<String>,
    /// The last reconnection delay the server asked for.
    pub retry: Option<Duration>,
    after_cr: bool,
}

impl Parser {
    /// Feeds bytes; returns the events they complete.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<Event> {
        let mut events = Vec::new();
        for &b in bytes {
            if self.after_cr {
                self.after_cr = false;
                if b == b'\n' {
                    continue;
                }
            }
            match b {
                b'\r' | b'\n' => {
                    self.after_cr = b == b'\r';
                    let line = std::mem::take(&mut self.line);
                    if let Some(event) = self.line_ended(&line) {
                        events.push(event);
                    }
                }
                _ => self.line.push(b),
            }
        }
        events
    }

    fn line_ended(&mut self, line: &[u8]) -> Option<Event> {
        if line.is_empty() {
            let mut data = self.data.take()?;
            data.pop();
            return Some(Event { data });
        }
        let text = String::from_utf8_lossy(line);
        let (field, value) = match text.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (text.as_ref(), ""),
        };
        match field {
            "data" => {
                let data = self.data.get_or_insert_with(String::new);
                data.push_str(value);
                data.push('\n');
            }
            "id" if !value.contains('\0') => self.last_id = Some(value.to_owned()),
            "retry" if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) => {
                self.retry = value.parse().ok().map(Duration::from_millis);
            }
            _ => {}
        }
        None
    }
}

#[derive(Deserialize)]
struct Head {
    #[serde(default)]
    id: Option<serde_json::Value>,
    #[serde(default)]
    result: Option<serde::de::IgnoredAny>,
    #[serde(default)]
    error: Option<serde::de::IgnoredAny>,
}

/// Whether an event carries the response to request `id`.
pub fn answers(event: &Event, id: u64) -> bool {
    serde_json::from_str::<Head>(&event.data).is_ok_and(|h| {
        h.id.as_ref().and_then(serde_json::Value::as_u64) == Some(id)
            && (h.result.is_some() || h.error.is_some())
    })
}

/// Where a cut stream resumes: its last event id and the delay asked for, when the body is
/// an event stream that ended without the response to `id`.
pub fn cut(headers: &HeaderMap, body: &[u8], id: u64) -> Option<(String, Duration)> {
    let is_sse = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/event-stream"));
    if !is_sse {
        return None;
    }
    let mut parser = Parser::default();
    // Only complete events count: a stream cut mid-event did not deliver it.
    if parser.push(body).iter().any(|e| answers(e, id)) {
        return None;
    }
    Some((parser.last_id?, parser.retry?))
}

/// Resumes a POST whose event stream ended without the response to `id`: waits the
/// server's `retry`, GETs the URL with `Last-Event-ID` and reads until that response, all
/// within `deadline`. The exchange comes back unchanged when there is nothing to resume or
/// the GET fails; with the response, its body is that one JSON-RPC message.
pub(super) async fn resume(
    client: &reqwest::Client,
    url: &str,
    mut headers: HeaderMap,
    cut_short: Exchange,
    id: u64,
    deadline: Option<Instant>,
) -> Exchange {
    let Some((last_id, retry)) = cut(&cut_short.headers, &cut_short.body, id) else {
        return cut_short;
    };
    let Ok(last_id) = HeaderValue::from_str(&last_id) else {
        return cut_short;
    };
    if deadline.is_some_and(|d| Instant::now() + retry >= d) {
        return cut_short;
    }
    tokio::time::sleep(retry).await;
    headers.remove(CONTENT_TYPE);
    headers.insert(ACCEPT, HeaderValue::from_static("text/event-stream"));
    headers.insert("last-event-id", last_id);
    let read = async {
        let mut response = client.get(url).headers(headers).send().await.ok()?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let mut parser = Parser::default();
        while let Some(chunk) = response.chunk().await.ok()? {
            if let Some(event) = parser.push(&chunk).into_iter().find(|e| answers(e, id)) {
                return Some(Exchange {
                    status,
                    headers,
                    body: Bytes::from(event.data),
                    received: Instant::now(),
                });
            }
        }
        None
    };
    let resumed = match deadline {
        Some(d) => tokio::time::timeout_at(d, read).await.ok().flatten(),
        None => read.await,
    };
    resumed.unwrap_or(cut_short)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(chunks: &[&str]) -> (Vec<String>, Parser) {
        let mut parser = Parser::default();
        let events = chunks
            .iter()
            .flat_map(|c| parser.push(c.as_bytes()))
            .map(|e| e.data)
            .collect();
        (events, parser)
    }

    #[test]
    fn events_are_split_on_blank_lines_whatever_the_line_ends() {
        let (events, _) = parse(&[
            "data: a\n\ndata: b\r\n\r\ndata: c\r\rdata: d\n",
            "data: e\n\n",
        ]);
        assert_eq!(events, ["a", "b", "c", "d\ne"]);
    }

    #[test]
    fn a_line_split_across_chunks_is_joined() {
        let (events, parser) = parse(&[
            "id: ev",
            "ent-1\nretry: 5",
            "00\nda",
            "ta: {\"x\":1}\r",
            "\n\r\n",
        ]);
        assert_eq!(events, ["{\"x\":1}"]);
        assert_eq!(parser.last_id.as_deref(), Some("event-1"));
        assert_eq!(parser.retry, Some(Duration::from_millis(500)));
    }

    #[test]
    fn comments_unknown_fields_and_a_bad_retry_are_ignored() {
        let (events, parser) =
            parse(&[": keep-alive\nevent: message\nretry: 5s\nfoo: bar\ndata:x\n\n"]);
        assert_eq!(events, ["x"]);
        assert_eq!(parser.retry, None);
    }

    #[test]
    fn a_priming_event_has_empty_data_and_sets_the_resume_point() {
        let (events, parser) = parse(&["id: event-1\nretry: 500\ndata: \n\n"]);
        assert_eq!(events, [""]);
        assert_eq!(parser.last_id.as_deref(), Some("event-1"));
    }

    fn sse_headers() -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
        h
    }

    #[test]
    fn a_stream_that_ended_without_the_response_is_cut() {
        let primed = b"id: event-1\nretry: 500\ndata: \n\n";
        assert_eq!(
            cut(&sse_headers(), primed, 3),
            Some(("event-1".to_owned(), Duration::from_millis(500)))
        );
        let answered =
            b"id: 1\nretry: 500\ndata: \n\ndata: {\"jsonrpc\":\"2.0\",\"id\":3,\"result\":{}}\n\n";
        assert_eq!(cut(&sse_headers(), answered, 3), None);
        let other_id = b"id: 1\nretry: 500\ndata: {\"jsonrpc\":\"2.0\",\"id\":4,\"result\":{}}\n\n";
        assert!(cut(&sse_headers(), other_id, 3).is_some());
        let no_retry = b"id: event-1\ndata: \n\n";
        assert_eq!(cut(&sse_headers(), no_retry, 3), None);
        assert_eq!(
            cut(&HeaderMap::new(), primed, 3),
            None,
            "not an event stream"
        );
    }

    #[test]
    fn only_a_response_to_the_request_answers_it() {
        let event = |data: &str| Event {
            data: data.to_owned(),
        };
        assert!(answers(
            &event(r#"{"jsonrpc":"2.0","id":7,"result":{}}"#),
            7
        ));
        assert!(answers(
            &event(r#"{"jsonrpc":"2.0","id":7,"error":{"code":1}}"#),
            7
        ));
        assert!(!answers(
            &event(r#"{"jsonrpc":"2.0","id":8,"result":{}}"#),
            7
        ));
        assert!(!answers(
            &event(r#"{"jsonrpc":"2.0","method":"notifications/progress"}"#),
            7
        ));
        assert!(!answers(&event(""), 7));
    }
}
