//! The audit trail: one JSON line per `tools/call`, admitted or rejected, with the seed's
//! fields (tool name, duration, sanitized parameters, timestamp, security context) plus
//! outcome, caller, request id and trace id.
//!
//! A record borrows everything from the call and is serialized on the spot into the
//! serving thread's buffer; a writer thread does the I/O ([`sink`]).

mod sanitize;
mod sink;

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use serde::{Serialize, Serializer};
use serde_json::{Map, Value};

pub use sanitize::{MAX_DEPTH, MAX_VALUE_CHARS, is_secret_key, sanitize};
pub use sink::AuditSink;

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
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct SecurityContext<'a> {
    pub local: bool,
    #[serde(rename = "awsIAM")]
    pub aws_iam: bool,
    #[serde(rename = "rateLimited")]
    pub rate_limited: bool,
    #[serde(rename = "iamRole", skip_serializing_if = "Option::is_none")]
    pub iam_role: Option<&'a str>,
}

/// One audit record, borrowed from the call it describes; serialized as one line with the
/// seed's field names, the parameters sanitized on the way.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditRecord<'a> {
    #[serde(serialize_with = "rfc3339_millis")]
    pub timestamp: SystemTime,
    pub tool_name: &'a str,
    #[serde(rename = "durationMs", serialize_with = "millis")]
    pub duration: Duration,
    #[serde(serialize_with = "sanitized")]
    pub parameters: Option<&'a Map<String, Value>>,
    #[serde(rename = "securityContext")]
    pub security: SecurityContext<'a>,
    pub outcome: Outcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<&'a str>,
    pub caller: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub principal: Option<&'a str>,
    pub request_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trace_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attempts: Option<u32>,
}

impl<'a> AuditRecord<'a> {
    /// A successful local call of `tool_name` from 127.0.0.1 at the epoch, 1.5 ms, with no
    /// parameters: a starting point (with `..`) for tests and benchmarks.
    pub fn sample(tool_name: &'a str, request_id: &'a str) -> Self {
        AuditRecord {
            timestamp: SystemTime::UNIX_EPOCH,
            tool_name,
            duration: Duration::from_micros(1500),
            parameters: None,
            security: SecurityContext {
                local: true,
                ..Default::default()
            },
            outcome: Outcome::Ok,
            error: None,
            caller: "127.0.0.1",
            principal: None,
            request_id,
            trace_id: None,
            attempts: None,
        }
    }

    /// Appends the record's JSON line (without the newline) to `out`.
    pub fn write_line(&self, out: &mut Vec<u8>) {
        let start = out.len();
        if let Err(e) = serde_json::to_writer(&mut *out, self) {
            out.truncate(start);
            out.extend_from_slice(
                serde_json::json!({ "auditError": e.to_string() })
                    .to_string()
                    .as_bytes(),
            );
        }
    }
}

fn rfc3339_millis<S: Serializer>(at: &SystemTime, out: S) -> Result<S::Ok, S::Error> {
    out.collect_str(&humantime::format_rfc3339_millis(*at))
}

/// Milliseconds with microsecond precision.
fn millis<S: Serializer>(duration: &Duration, out: S) -> Result<S::Ok, S::Error> {
    out.serialize_f64(duration.as_micros() as f64 / 1000.0)
}

fn sanitized<S: Serializer>(
    parameters: &Option<&Map<String, Value>>,
    out: S,
) -> Result<S::Ok, S::Error> {
    parameters
        .map(|map| sanitize::SanitizedObject { map, depth: 0 })
        .serialize(out)
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
        let line = line_of(&AuditRecord {
            parameters: params.as_object(),
            ..record()
        });
        assert_eq!(line["parameters"], clean);
    }

    /// A local `postgres_query` record at the epoch, 1.5 ms, ok.
    fn record() -> AuditRecord<'static> {
        AuditRecord::sample("postgres_query", "7")
    }

    fn line_of(record: &AuditRecord<'_>) -> Value {
        let mut out = Vec::new();
        record.write_line(&mut out);
        serde_json::from_slice(&out).unwrap()
    }

    #[test]
    fn a_line_carries_the_seed_fields() {
        let parameters = json!({"query": "SELECT 1", "token": "t"});
        let line = line_of(&AuditRecord {
            parameters: parameters.as_object(),
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
