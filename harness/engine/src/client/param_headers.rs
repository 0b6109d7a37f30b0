//! `Mcp-Param-{Name}` headers (2026-07-28): a tool's input schema may mark a property with
//! `"x-mcp-header": "Name"`, and each `tools/call` then mirrors that argument into the
//! header `Mcp-Param-Name`. The client learns the marks from every `tools/list` it sees,
//! and rejects a tool whose marks are invalid (the spec's rule over HTTP: the tool is
//! treated as not listed).
//!
//! A mark is valid when its name is a non-empty RFC 9110 token, unique in the schema
//! regardless of case, on a property of type `string`, `integer` or `boolean`, reached
//! from the schema's root through `properties` only.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde_json::Value;

use super::wire;

/// One mirrored argument: where it is in the arguments, and the header's name suffix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamHeader {
    pub path: Vec<String>,
    pub name: String,
}

/// A tool as last listed, with its marks or why they are invalid.
#[derive(Debug, Clone)]
pub struct KnownTool {
    pub tool: Value,
    pub headers: Result<Vec<ParamHeader>, String>,
}

/// The tools an endpoint's `tools/list` answers have shown, in the order first seen;
/// shared by every clone of the endpoint.
#[derive(Debug, Clone, Default)]
pub struct ToolHeaders {
    inner: Arc<RwLock<Known>>,
}

#[derive(Debug, Default)]
struct Known {
    order: Vec<String>,
    tools: HashMap<String, KnownTool>,
}

impl ToolHeaders {
    /// Learns the tools of one `tools/list` result; a tool with invalid marks is logged
    /// once, when it first appears so.
    pub fn observe(&self, result: &Value) {
        let Some(tools) = result.get("tools").and_then(Value::as_array) else {
            return;
        };
        let Ok(mut known) = self.inner.write() else {
            return;
        };
        for tool in tools {
            let Some(name) = tool.get("name").and_then(Value::as_str) else {
                continue;
            };
            let headers = declarations(tool.get("inputSchema").unwrap_or(&Value::Null));
            let seen = known.tools.get(name).map(|k| k.headers.is_err());
            if let Err(reason) = &headers
                && seen != Some(true)
            {
                tracing::warn!(tool = name, "tool rejected: {reason}");
            }
            if seen.is_none() {
                known.order.push(name.to_owned());
            }
            known.tools.insert(
                name.to_owned(),
                KnownTool {
                    tool: tool.clone(),
                    headers,
                },
            );
        }
    }

    /// Every tool seen, in the order first listed.
    pub fn tools(&self) -> Vec<KnownTool> {
        let Ok(known) = self.inner.read() else {
            return Vec::new();
        };
        known
            .order
            .iter()
            .filter_map(|n| known.tools.get(n).cloned())
            .collect()
    }

    /// The tools a client may call, in listing order, and those left out with why: at
    /// 2026-07-28 (`self_contained`) a tool with invalid marks counts as not listed.
    pub fn callable(&self, self_contained: bool) -> (Vec<Value>, Vec<(String, String)>) {
        let mut tools = Vec::new();
        let mut left_out = Vec::new();
        for known in self.tools() {
            match known.headers {
                Err(reason) if self_contained => {
                    let name = known.tool.get("name").and_then(Value::as_str);
                    left_out.push((name.unwrap_or("?").to_owned(), reason));
                }
                _ => tools.push(known.tool),
            }
        }
        (tools, left_out)
    }

    /// One tool, when listed.
    pub fn get(&self, name: &str) -> Option<KnownTool> {
        self.inner.read().ok()?.tools.get(name).cloned()
    }

    /// Adds the `Mcp-Param-*` headers of a `tools/call`'s params (nothing for a tool never
    /// listed, or rejected).
    pub fn add_headers(&self, headers: &mut HeaderMap, params: Option<&Value>) {
        let Some(params) = params else { return };
        let Some(name) = params.get("name").and_then(Value::as_str) else {
            return;
        };
        let Ok(known) = self.inner.read() else { return };
        let Some(KnownTool {
            headers: Ok(marks), ..
        }) = known.tools.get(name)
        else {
            return;
        };
        let args = params.get("arguments").unwrap_or(&Value::Null);
        for mark in marks {
            let value = mark.path.iter().try_fold(args, |v, key| v.get(key));
            let Some(text) = value.and_then(encode) else {
                continue;
            };
            let name = HeaderName::from_bytes(format!("mcp-param-{}", mark.name).as_bytes());
            if let (Ok(n), Ok(v)) = (name, HeaderValue::from_str(&text)) {
                headers.insert(n, v);
            }
        }
    }
}

/// An argument's header value: a string as [`wire::header_value`] sends it, a number in
/// decimal, a boolean as `true`/`false`; nothing for null (the header is left out) or a
/// structured value (no header can carry it).
pub fn encode(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(wire::header_value(s)),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Null | Value::Array(_) | Value::Object(_) => None,
    }
}

/// The marks of an input schema, or the first reason they are invalid.
pub fn declarations(schema: &Value) -> Result<Vec<ParamHeader>, String> {
    if schema.get("x-mcp-header").is_some() {
        return Err("x-mcp-header on the schema's root".into());
    }
    let mut marks = Vec::new();
    walk(schema, &mut Vec::new(), true, &mut marks)?;
    let mut names: Vec<String> = marks.iter().map(|m| m.name.to_ascii_lowercase()).collect();
    names.sort_unstable();
    if let Some(pair) = names.windows(2).find(|w| w[0] == w[1]) {
        return Err(format!(
            "x-mcp-header {:?} declared twice (names ignore case)",
            pair[0]
        ));
    }
    Ok(marks)
}

/// Visits every subschema; `reachable` while the path from the root is `properties` only.
fn walk(
    schema: &Value,
    path: &mut Vec<String>,
    reachable: bool,
    marks: &mut Vec<ParamHeader>,
) -> Result<(), String> {
    match schema {
        Value::Object(map) => {
            for (key, sub) in map {
                if key == "properties"
                    && let Value::Object(props) = sub
                {
                    for (prop, prop_schema) in props {
                        path.push(prop.clone());
                        if let Some(mark) = prop_schema.get("x-mcp-header") {
                            marks.push(check(path, prop_schema, mark, reachable)?);
                        }
                        walk(prop_schema, path, reachable, marks)?;
                        path.pop();
                    }
                } else if key != "x-mcp-header" {
                    if let Value::Object(inner) = sub
                        && inner.contains_key("x-mcp-header")
                    {
                        return Err(format!("x-mcp-header under {key:?} at {}", shown(path)));
                    }
                    walk(sub, path, false, marks)?;
                }
            }
            Ok(())
        }
        Value::Array(items) => items.iter().try_for_each(|s| walk(s, path, false, marks)),
        _ => Ok(()),
    }
}

fn check(
    path: &[String],
    schema: &Value,
    mark: &Value,
    reachable: bool,
) -> Result<ParamHeader, String> {
    let at = shown(path);
    if !reachable {
        return Err(format!(
            "x-mcp-header on {at}, which is not reached through properties only"
        ));
    }
    let Some(name) = mark.as_str() else {
        return Err(format!("x-mcp-header on {at} is not a string"));
    };
    if name.is_empty() {
        return Err(format!("x-mcp-header on {at} is empty"));
    }
    if !name.bytes().all(is_tchar) {
        return Err(format!(
            "x-mcp-header {name:?} on {at} is not an HTTP token (letters, digits and !#$%&'*+-.^_`|~)"
        ));
    }
    match schema.get("type") {
        Some(Value::String(t)) if matches!(t.as_str(), "string" | "integer" | "boolean") => {
            Ok(ParamHeader {
                path: path.to_vec(),
                name: name.to_owned(),
            })
        }
        other => {
            let ty = match other {
                Some(Value::String(t)) => t.clone(),
                Some(t) => t.to_string(),
                None => "(none)".into(),
            };
            Err(format!(
                "x-mcp-header {name:?} on {at} of type {ty}, not string, integer or boolean"
            ))
        }
    }
}

fn shown(path: &[String]) -> String {
    if path.is_empty() {
        "the root".into()
    } else {
        format!("property {}", path.join("."))
    }
}

/// RFC 9110 `tchar`.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn schema(props: Value) -> Value {
        json!({"type": "object", "properties": props})
    }

    #[test]
    fn valid_marks_are_found_at_their_paths() {
        let s = schema(json!({
            "region": {"type": "string", "x-mcp-header": "Region"},
            "query": {"type": "string"},
            "opts": {"type": "object", "properties": {"tenant": {"type": "integer", "x-mcp-header": "Tenant-Id"}}},
        }));
        let mut marks = declarations(&s).expect("valid");
        marks.sort_by(|a, b| a.name.cmp(&b.name));
        assert_eq!(
            marks,
            [
                ParamHeader {
                    path: vec!["region".into()],
                    name: "Region".into()
                },
                ParamHeader {
                    path: vec!["opts".into(), "tenant".into()],
                    name: "Tenant-Id".into()
                },
            ]
        );
        assert_eq!(declarations(&json!({"type": "object"})), Ok(vec![]));
    }

    #[test]
    fn each_invalid_mark_rejects_the_tool_with_its_reason() {
        let one = |prop: Value| declarations(&schema(json!({"p": prop}))).unwrap_err();
        let cases = [
            (
                json!({"type": "string", "x-mcp-header": ""}),
                "x-mcp-header on property p is empty",
            ),
            (
                json!({"type": "object", "x-mcp-header": "P"}),
                "x-mcp-header \"P\" on property p of type object, not string, integer or boolean",
            ),
            (
                json!({"type": "array", "x-mcp-header": "P"}),
                "x-mcp-header \"P\" on property p of type array, not string, integer or boolean",
            ),
            (
                json!({"type": "null", "x-mcp-header": "P"}),
                "x-mcp-header \"P\" on property p of type null, not string, integer or boolean",
            ),
            (
                json!({"type": "number", "x-mcp-header": "P"}),
                "x-mcp-header \"P\" on property p of type number, not string, integer or boolean",
            ),
            (
                json!({"x-mcp-header": "P"}),
                "x-mcp-header \"P\" on property p of type (none), not string, integer or boolean",
            ),
            (
                json!({"type": "string", "x-mcp-header": 3}),
                "x-mcp-header on property p is not a string",
            ),
        ];
        for (prop, expected) in cases {
            assert_eq!(one(prop), expected);
        }
        for bad in ["My Region", "Region:Primary", "Région", "Region\t1"] {
            let err = one(json!({"type": "string", "x-mcp-header": bad}));
            assert!(err.contains("is not an HTTP token"), "{bad}: {err}");
        }
    }

    #[test]
    fn duplicate_names_are_rejected_whatever_their_case() {
        let s = schema(json!({
            "a": {"type": "string", "x-mcp-header": "MyField"},
            "b": {"type": "string", "x-mcp-header": "myfield"},
        }));
        assert_eq!(
            declarations(&s).unwrap_err(),
            "x-mcp-header \"myfield\" declared twice (names ignore case)"
        );
    }

    #[test]
    fn marks_off_the_properties_chain_are_rejected() {
        let in_items = schema(
            json!({"list": {"type": "array", "items": {"type": "string", "x-mcp-header": "X"}}}),
        );
        assert_eq!(
            declarations(&in_items).unwrap_err(),
            "x-mcp-header under \"items\" at property list"
        );
        let in_one_of = schema(
            json!({"v": {"oneOf": [{"type": "object", "properties": {"x": {"type": "string", "x-mcp-header": "X"}}}]}}),
        );
        assert!(
            declarations(&in_one_of)
                .unwrap_err()
                .contains("not reached through properties only")
        );
        let on_root = json!({"type": "object", "x-mcp-header": "X"});
        assert_eq!(
            declarations(&on_root).unwrap_err(),
            "x-mcp-header on the schema's root"
        );
    }

    #[test]
    fn values_are_encoded_as_the_spec_examples_show() {
        let cases = [
            (json!("us-west1"), Some("us-west1")),
            (
                json!("Hello, 世界"),
                Some("=?base64?SGVsbG8sIOS4lueVjA==?="),
            ),
            (json!(" padded "), Some("=?base64?IHBhZGRlZCA=?=")),
            (json!("line1\r\nline2"), Some("=?base64?bGluZTENCmxpbmUy?=")),
            (json!("\tindented"), Some("=?base64?CWluZGVudGVk?=")),
            (json!("us west 1"), Some("us west 1")),
            (json!(""), Some("")),
            (json!(42), Some("42")),
            (json!(false), Some("false")),
            (json!(null), None),
            (json!({"a": 1}), None),
        ];
        for (value, expected) in cases {
            assert_eq!(encode(&value).as_deref(), expected, "{value}");
        }
    }

    #[test]
    fn a_call_mirrors_marked_present_arguments_only() {
        let known = ToolHeaders::default();
        known.observe(&json!({"tools": [
            {"name": "t", "inputSchema": schema(json!({
                "region": {"type": "string", "x-mcp-header": "Region"},
                "verbose": {"type": "boolean", "x-mcp-header": "Verbose"},
                "query": {"type": "string"},
            }))},
            {"name": "bad", "inputSchema": schema(json!({"r": {"type": "number", "x-mcp-header": "R"}}))},
        ]}));
        let mut h = HeaderMap::new();
        known.add_headers(
            &mut h,
            Some(
                &json!({"name": "t", "arguments": {"region": "eu", "verbose": null, "query": "q"}}),
            ),
        );
        assert_eq!(h.len(), 1);
        assert_eq!(
            h.get("mcp-param-region").map(|v| v.as_bytes()),
            Some(&b"eu"[..])
        );
        let mut h = HeaderMap::new();
        known.add_headers(
            &mut h,
            Some(&json!({"name": "bad", "arguments": {"r": 1.5}})),
        );
        assert!(h.is_empty());
        let tools = known.tools();
        assert_eq!(tools.len(), 2);
        assert!(tools[0].headers.is_ok() && tools[1].headers.is_err());
    }
}
