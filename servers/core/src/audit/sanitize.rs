//! What the trail shows of a call's parameters: secret-looking keys redacted, long strings
//! and arrays cut, depth bounded. Serialized straight from the caller's arguments, so
//! nothing is copied but what is written.

use std::sync::LazyLock;

use aho_corasick::AhoCorasick;
use serde::Serialize;
use serde_json::{Map, Value};

/// Longest string value kept in a sanitized record; longer values are cut and marked.
pub const MAX_VALUE_CHARS: usize = 256;
pub const MAX_DEPTH: usize = 8;
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
    static WORDS: LazyLock<Option<AhoCorasick>> = LazyLock::new(|| {
        AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .build(SECRET_WORDS)
            .ok()
    });
    // Building from nine short words cannot fail; if it ever did, every value would be
    // redacted rather than one leaked.
    WORDS.as_ref().is_none_or(|words| words.is_match(key))
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

/// An object's members, sanitized (a call's parameters are one).
pub(super) struct SanitizedObject<'a> {
    pub(super) map: &'a Map<String, Value>,
    pub(super) depth: usize,
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
            // A string no longer in bytes than the cap is within it in characters.
            Value::String(s)
                if s.len() > MAX_VALUE_CHARS && s.chars().count() > MAX_VALUE_CHARS =>
            {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_keys_are_found_in_any_case_and_anywhere_in_the_key() {
        for key in [
            "PASSWORD",
            "db_passwd",
            "clientSecret",
            "refresh_token",
            "x-Api-KEY",
            "Authorization",
            "awsCredentials",
            "Cookie",
            "SESSION_ID",
        ] {
            assert!(is_secret_key(key), "{key} should be redacted");
        }
        for key in [
            "query",
            "params",
            "database",
            "timeout_ms",
            "path",
            "pattern",
            "",
        ] {
            assert!(!is_secret_key(key), "{key} should be kept");
        }
    }
}
