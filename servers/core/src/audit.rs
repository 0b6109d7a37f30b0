//! The audit trail: one JSON line per `tools/call`, admitted or rejected.
//!
//! The request path only builds a record and hands it to a bounded queue (`try_send`, no
//! await, no I/O); a writer task sanitizes, serializes and writes it. If the queue is ever
//! full the record is counted as dropped in `/metrics` and a warning is logged, rather than
//! slowing calls down.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use serde::Serialize;
use serde_json::{Map, Value};
use tokio::sync::mpsc;

/// Where the trail goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuditTarget {
    Stdout,
    File(PathBuf),
    Off,
}

impl std::str::FromStr for AuditTarget {
    type Err = std::convert::Infallible;

    /// `stdout`, `off`, or a file path.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "stdout" => AuditTarget::Stdout,
            "off" => AuditTarget::Off,
            path => AuditTarget::File(PathBuf::from(path)),
        })
    }
}

/// How a call ended, as the audit trail and metrics name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Ok,
    ToolError,
    RateLimited,
    Overloaded,
    TimedOut,
    Forbidden,
    UnknownTool,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::ToolError => "tool_error",
            Outcome::RateLimited => "rate_limited",
            Outcome::Overloaded => "overloaded",
            Outcome::TimedOut => "timed_out",
            Outcome::Forbidden => "forbidden",
            Outcome::UnknownTool => "unknown_tool",
        }
    }
}

/// The seed's security context, plus the role an AWS tool ran under.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SecurityContext {
    pub local: bool,
    #[serde(rename = "awsIAM")]
    pub aws_iam: bool,
    #[serde(rename = "rateLimited")]
    pub rate_limited: bool,
    #[serde(rename = "iamRole", skip_serializing_if = "Option::is_none")]
    pub iam_role: Option<String>,
}

/// One audit record, as handed over by the request path (parameters not yet sanitized).
#[derive(Debug, Clone)]
pub struct AuditRecord {
    pub tool_name: String,
    pub duration: Duration,
    pub parameters: Option<Map<String, Value>>,
    pub timestamp: SystemTime,
    pub security: SecurityContext,
    pub outcome: Outcome,
    pub error: Option<String>,
    pub caller: Arc<str>,
    pub principal: Option<Arc<str>>,
    pub request_id: String,
    pub trace_id: Option<String>,
    pub attempts: Option<u32>,
}

/// The line written for a record: the seed's field names.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AuditLine<'a> {
    #[serde(serialize_with = "as_display")]
    timestamp: humantime::Rfc3339Timestamp,
    tool_name: &'a str,
    duration_ms: f64,
    parameters: Option<SanitizedObject<'a>>,
    security_context: &'a SecurityContext,
    outcome: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a str>,
    caller: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    principal: Option<&'a str>,
    request_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    trace_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    attempts: Option<u32>,
}

impl AuditRecord {
    /// Appends the record's JSON line (without the newline) to `out`.
    pub fn write_line(&self, out: &mut Vec<u8>) {
        let line = AuditLine {
            timestamp: humantime::format_rfc3339_millis(self.timestamp),
            tool_name: &self.tool_name,
            duration_ms: (self.duration.as_micros() as f64) / 1000.0,
            parameters: self
                .parameters
                .as_ref()
                .map(|map| SanitizedObject { map, depth: 0 }),
            security_context: &self.security,
            outcome: self.outcome.as_str(),
            error: self.error.as_deref(),
            caller: &self.caller,
            principal: self.principal.as_deref(),
            request_id: &self.request_id,
            trace_id: self.trace_id.as_deref(),
            attempts: self.attempts,
        };
        let start = out.len();
        if let Err(e) = serde_json::to_writer(&mut *out, &line) {
            out.truncate(start);
            out.extend_from_slice(
                serde_json::json!({ "auditError": e.to_string() })
                    .to_string()
                    .as_bytes(),
            );
        }
    }
}

/// Longest string value kept in a sanitized record; longer values are cut and marked.
pub const MAX_VALUE_CHARS: usize = 256;
const MAX_DEPTH: usize = 8;
const SECRET_WORDS: [&str; 9] = [
    "password",
    "passwd",
    "secret",
    "token",
    "key",
    "authorization",
    "credential",
    "cookie",
    "session",
];

/// A key whose value is redacted. `key` matches `api_key`, `accessKeyId`, ... but not
/// words merely containing the letters, such as `keyboard`... which is rare enough in tool
/// arguments that we prefer redacting too much.
pub fn is_secret_key(key: &str) -> bool {
    let key = key.as_bytes();
    SECRET_WORDS.iter().any(|w| {
        key.windows(w.len())
            .any(|part| part.eq_ignore_ascii_case(w.as_bytes()))
    })
}

/// Redacts secret-looking keys, cuts long strings and arrays, and bounds depth.
pub fn sanitize(value: &Value, depth: usize) -> Value {
    serde_json::to_value(Sanitized { value, depth })
        .unwrap_or_else(|e| Value::from(format!("[not serializable: {e}]")))
}

/// A value as the trail shows it (see [`sanitize`]), serialized straight from the
/// original: the writer copies nothing but what it writes.
struct Sanitized<'a> {
    value: &'a Value,
    depth: usize,
}

struct SanitizedObject<'a> {
    map: &'a Map<String, Value>,
    depth: usize,
}

/// One member of a sanitized object.
enum Member<'a> {
    Redacted,
    Kept(Sanitized<'a>),
}

impl Serialize for Sanitized<'_> {
    fn serialize<S: serde::Serializer>(&self, out: S) -> Result<S::Ok, S::Error> {
        let depth = self.depth;
        match self.value {
            Value::Object(map) if depth < MAX_DEPTH => {
                SanitizedObject { map, depth }.serialize(out)
            }
            Value::Array(items) if depth < MAX_DEPTH => {
                out.collect_seq(items.iter().take(64).map(|value| Sanitized {
                    value,
                    depth: depth + 1,
                }))
            }
            Value::Object(_) | Value::Array(_) => out.serialize_str("[TRUNCATED: too deep]"),
            Value::String(s) if s.chars().count() > MAX_VALUE_CHARS => {
                let cut: String = s.chars().take(MAX_VALUE_CHARS).collect();
                out.collect_str(&format_args!("{cut}…[{} chars]", s.chars().count()))
            }
            other => other.serialize(out),
        }
    }
}

impl Serialize for SanitizedObject<'_> {
    fn serialize<S: serde::Serializer>(&self, out: S) -> Result<S::Ok, S::Error> {
        out.collect_map(self.map.iter().map(|(key, value)| {
            let member = if is_secret_key(key) {
                Member::Redacted
            } else {
                Member::Kept(Sanitized {
                    value,
                    depth: self.depth + 1,
                })
            };
            (key, member)
        }))
    }
}

impl Serialize for Member<'_> {
    fn serialize<S: serde::Serializer>(&self, out: S) -> Result<S::Ok, S::Error> {
        match self {
            Member::Redacted => out.serialize_str("[REDACTED]"),
            Member::Kept(value) => value.serialize(out),
        }
    }
}

fn as_display<S: serde::Serializer>(
    value: &impl std::fmt::Display,
    out: S,
) -> Result<S::Ok, S::Error> {
    out.collect_str(value)
}

/// The request path's handle on the trail.
#[derive(Clone)]
pub struct AuditSink {
    tx: Option<mpsc::Sender<AuditRecord>>,
    dropped: Arc<AtomicU64>,
    written: Arc<AtomicU64>,
}

const QUEUE: usize = 65_536;
const BATCH_WAIT: Duration = Duration::from_millis(5);

impl AuditSink {
    /// Starts the writer task. Returns the sink and the task's handle (await it after the
    /// last sink clone is dropped to flush everything).
    pub fn start(target: AuditTarget) -> std::io::Result<(Self, tokio::task::JoinHandle<()>)> {
        let dropped = Arc::new(AtomicU64::new(0));
        let written = Arc::new(AtomicU64::new(0));
        let mut out: Box<dyn Write + Send> = match &target {
            AuditTarget::Off => {
                let sink = AuditSink {
                    tx: None,
                    dropped,
                    written,
                };
                return Ok((sink, tokio::spawn(async {})));
            }
            AuditTarget::Stdout => Box::new(std::io::stdout()),
            AuditTarget::File(path) => Box::new(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)?,
            ),
        };
        let (tx, mut rx) = mpsc::channel::<AuditRecord>(QUEUE);
        let counter = written.clone();
        let task = tokio::task::spawn_blocking(move || {
            let mut buf = Vec::with_capacity(64 * 1024);
            while let Some(first) = rx.blocking_recv() {
                // Let a few milliseconds of records gather: one write and one wake-up per
                // batch instead of per call.
                std::thread::sleep(BATCH_WAIT);
                let mut batch = vec![first];
                while batch.len() < 1024 {
                    match rx.try_recv() {
                        Ok(r) => batch.push(r),
                        Err(_) => break,
                    }
                }
                buf.clear();
                for record in &batch {
                    record.write_line(&mut buf);
                    buf.push(b'\n');
                }
                if let Err(e) = out.write_all(&buf).and_then(|_| out.flush()) {
                    tracing::error!(error = %e, "audit trail write failed");
                }
                counter.fetch_add(batch.len() as u64, Ordering::Relaxed);
            }
        });
        Ok((
            AuditSink {
                tx: Some(tx),
                dropped,
                written,
            },
            task,
        ))
    }

    /// A sink that discards everything (tests, benchmarks with audit off).
    pub fn off() -> Self {
        AuditSink {
            tx: None,
            dropped: Arc::default(),
            written: Arc::default(),
        }
    }

    /// Queues the record `build` makes; with the trail off, `build` is never called.
    pub fn record(&self, build: impl FnOnce() -> AuditRecord) {
        if let Some(tx) = &self.tx
            && tx.try_send(build()).is_err()
        {
            let n = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            if n.is_power_of_two() {
                tracing::warn!(dropped = n, "audit queue full: records dropped");
            }
        }
    }

    /// The shared drop counter, for `/metrics`.
    pub fn dropped_counter(&self) -> Arc<AtomicU64> {
        self.dropped.clone()
    }

    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    pub fn written(&self) -> u64 {
        self.written.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secrets_are_redacted_and_long_values_cut() {
        let params = json!({
            "query": "SELECT 1",
            "password": "hunter2",
            "nested": {"apiKey": "abc", "Authorization": "Bearer x", "ok": 1},
            "sessionToken": "t",
            "long": "x".repeat(300),
        });
        let clean = sanitize(&params, 0);
        assert_eq!(clean["query"], "SELECT 1");
        assert_eq!(clean["password"], "[REDACTED]");
        assert_eq!(clean["nested"]["apiKey"], "[REDACTED]");
        assert_eq!(clean["nested"]["Authorization"], "[REDACTED]");
        assert_eq!(clean["nested"]["ok"], 1);
        assert_eq!(clean["sessionToken"], "[REDACTED]");
        let long = clean["long"].as_str().unwrap();
        assert!(long.ends_with("…[300 chars]"), "{long}");
        assert_eq!(long.chars().filter(|c| *c == 'x').count(), MAX_VALUE_CHARS);
    }

    #[test]
    fn arrays_and_depth_are_bounded_and_the_line_matches_sanitize() {
        let mut deep = json!("bottom");
        for _ in 0..10 {
            deep = json!({ "down": deep });
        }
        let params = json!({ "ids": (0..100).collect::<Vec<u32>>(), "deep": deep, "n": null });
        let clean = sanitize(&params, 0);
        assert_eq!(clean["ids"].as_array().map(Vec::len), Some(64));
        assert_eq!(clean["n"], Value::Null);
        let mut at = &clean["deep"];
        let mut levels = 0;
        while let Some(next) = at.get("down") {
            at = next;
            levels += 1;
        }
        assert_eq!(at, &json!("[TRUNCATED: too deep]"), "after {levels} levels");
        assert_eq!(levels, MAX_DEPTH - 1);
        let line = line_of(AuditRecord {
            parameters: params.as_object().cloned(),
            ..record()
        });
        assert_eq!(line["parameters"], clean);
    }

    /// A local `postgres_query` record at the epoch, 1.5 ms, ok.
    fn record() -> AuditRecord {
        AuditRecord {
            tool_name: "postgres_query".into(),
            duration: Duration::from_micros(1500),
            parameters: None,
            timestamp: SystemTime::UNIX_EPOCH,
            security: SecurityContext {
                local: true,
                ..Default::default()
            },
            outcome: Outcome::Ok,
            error: None,
            caller: "127.0.0.1".into(),
            principal: None,
            request_id: "7".into(),
            trace_id: None,
            attempts: None,
        }
    }

    fn line_of(record: AuditRecord) -> Value {
        let mut out = Vec::new();
        record.write_line(&mut out);
        serde_json::from_slice(&out).unwrap()
    }

    #[test]
    fn a_line_carries_the_seed_fields() {
        let line = line_of(AuditRecord {
            parameters: json!({"query": "SELECT 1", "token": "t"})
                .as_object()
                .cloned(),
            ..record()
        });
        assert_eq!(line["toolName"], "postgres_query");
        assert_eq!(line["durationMs"], 1.5);
        assert_eq!(line["timestamp"], "1970-01-01T00:00:00.000Z");
        assert_eq!(line["parameters"]["token"], "[REDACTED]");
        assert_eq!(
            line["securityContext"],
            json!({"local": true, "awsIAM": false, "rateLimited": false})
        );
        assert_eq!(line["outcome"], "ok");
        assert_eq!(line["requestId"], "7");
    }
}
