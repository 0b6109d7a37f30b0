//! What one operation of a mix or a probe sends: any MCP request a client makes, not only
//! `tools/call`. Written in YAML as `tool: NAME` (a `tools/call`) or `method: ...`:
//!
//! ```yaml
//! - { target: local, tool: postgres_query, args: { query: "SELECT 1" } }
//! - { target: local, method: tools/list, walk: true }      # every page, as one op
//! - { target: local, method: server/discover }
//! - { target: local, method: resources/read, uri: "file:///data/reports/daily.csv" }
//! - { target: local, method: prompts/get, name: summarize, args: { topic: sales } }
//! ```

use serde_json::Value;

use super::args::ArgTemplate;

/// The MCP request an operation sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Method {
    /// `tools/call` of one tool with the op's arguments.
    CallTool(String),
    /// `tools/list`, `resources/list` or `prompts/list`: the first page, or every page
    /// (`walk`) following `nextCursor`, timed as one operation.
    List { kind: ListKind, walk: bool },
    /// `resources/read` of the op's `uri`.
    ReadResource,
    /// `prompts/get` of one prompt with the op's arguments (strings).
    GetPrompt(String),
    /// `server/discover` (2026-07-28).
    Discover,
    /// `ping` (2025 revisions; gone from 2026-07-28).
    Ping,
}

/// Which list a `*/list` op reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListKind {
    Tools,
    Resources,
    Prompts,
}

impl ListKind {
    pub fn method(self) -> &'static str {
        match self {
            ListKind::Tools => "tools/list",
            ListKind::Resources => "resources/list",
            ListKind::Prompts => "prompts/list",
        }
    }
    /// The result's array of items.
    pub fn items_field(self) -> &'static str {
        match self {
            ListKind::Tools => "tools",
            ListKind::Resources => "resources",
            ListKind::Prompts => "prompts",
        }
    }
}

impl Method {
    /// The JSON-RPC method name.
    pub fn name(&self) -> &'static str {
        match self {
            Method::CallTool(_) => "tools/call",
            Method::List { kind, .. } => kind.method(),
            Method::ReadResource => "resources/read",
            Method::GetPrompt(_) => "prompts/get",
            Method::Discover => "server/discover",
            Method::Ping => "ping",
        }
    }

    /// What the op's calls are recorded and judged under: the tool's name for a
    /// `tools/call` (as before other methods existed), else the method, with the prompt's
    /// name or `(walk)` where that tells two ops apart.
    pub fn label(&self) -> String {
        match self {
            Method::CallTool(tool) => tool.clone(),
            Method::List { kind, walk: true } => format!("{} (walk)", kind.method()),
            Method::GetPrompt(prompt) => format!("prompts/get {prompt}"),
            other => other.name().to_owned(),
        }
    }

    /// The request's `params` (without `_meta`) from the rendered arguments; `cursor` for
    /// a list page after the first.
    pub fn params(&self, args: Value, cursor: Option<&str>) -> Option<Value> {
        match self {
            Method::CallTool(tool) => Some(serde_json::json!({"name": tool, "arguments": args})),
            Method::GetPrompt(prompt) => {
                Some(serde_json::json!({"name": prompt, "arguments": args}))
            }
            Method::ReadResource => Some(args),
            Method::List { .. } => Some(match cursor {
                Some(c) => serde_json::json!({ "cursor": c }),
                None => Value::Object(Default::default()),
            }),
            Method::Discover => Some(Value::Object(Default::default())),
            Method::Ping => None,
        }
    }

    /// `Mcp-Name` (2026-07-28): the tool or prompt name, or the resource's URI.
    pub fn header_name<'a>(&'a self, params: Option<&'a Value>) -> Option<&'a str> {
        match self {
            Method::CallTool(name) | Method::GetPrompt(name) => Some(name),
            Method::ReadResource => params?.get("uri")?.as_str(),
            _ => None,
        }
    }
}

/// An operation as written, before its target and weight: what `mix` entries and probe
/// ops share.
pub(super) struct RawCall<'a> {
    pub tool: Option<&'a str>,
    pub method: Option<&'a str>,
    pub walk: Option<bool>,
    pub uri: Option<&'a Value>,
    pub name: Option<&'a str>,
    pub args: Option<&'a Value>,
}

/// Validates an operation's request; every problem is pushed with its path.
pub(super) fn call(
    path: &str,
    raw: RawCall<'_>,
    issues: &mut Vec<String>,
) -> Option<(Method, ArgTemplate)> {
    let mut refuse = |field: &str, message: &str| issues.push(format!("{path}.{field}: {message}"));
    let method = match (raw.tool, raw.method) {
        (Some(_), Some(m)) if m != "tools/call" => {
            refuse(
                "tool",
                &format!("a tool is called with tools/call, not {m}"),
            );
            None
        }
        (Some(tool), _) if tool.trim().is_empty() => {
            refuse("tool", "missing");
            None
        }
        (Some(tool), _) => Some(Method::CallTool(tool.to_owned())),
        (None, None) => {
            refuse(
                "tool",
                "missing (give a tool, or a method such as tools/list)",
            );
            None
        }
        (None, Some(m)) => match m {
            "tools/call" => {
                refuse("tool", "missing (tools/call needs the tool's name)");
                None
            }
            "tools/list" | "resources/list" | "prompts/list" => {
                let kind = match m {
                    "tools/list" => ListKind::Tools,
                    "resources/list" => ListKind::Resources,
                    _ => ListKind::Prompts,
                };
                Some(Method::List {
                    kind,
                    walk: raw.walk.unwrap_or(false),
                })
            }
            "resources/read" => Some(Method::ReadResource),
            "prompts/get" => match raw.name {
                Some(n) if !n.trim().is_empty() => Some(Method::GetPrompt(n.to_owned())),
                _ => {
                    refuse("name", "missing (prompts/get needs the prompt's name)");
                    None
                }
            },
            "server/discover" => Some(Method::Discover),
            "ping" => Some(Method::Ping),
            other => {
                refuse(
                    "method",
                    &format!(
                        "{other:?} is not a method the harness sends (tools/call, tools/list, resources/list, resources/read, prompts/list, prompts/get, server/discover, ping)"
                    ),
                );
                None
            }
        },
    };
    let lists = matches!(method, Some(Method::List { .. }));
    if raw.walk.is_some() && !lists && method.is_some() {
        refuse("walk", "only a */list op walks pages");
    }
    let reads = method == Some(Method::ReadResource);
    match (raw.uri, reads) {
        (None, true) => refuse("uri", "missing (resources/read needs the resource's URI)"),
        (Some(_), false) if method.is_some() => refuse("uri", "only resources/read takes a uri"),
        _ => {}
    }
    if raw.name.is_some() && !matches!(method, Some(Method::GetPrompt(_))) && method.is_some() {
        refuse(
            "name",
            "only prompts/get takes a name (a tool is given with tool:)",
        );
    }
    let takes_args = matches!(method, Some(Method::CallTool(_) | Method::GetPrompt(_)));
    if raw.args.is_some() && !takes_args && method.is_some() {
        refuse(
            "args",
            &format!(
                "{} takes no arguments",
                method.as_ref().map_or("", Method::name)
            ),
        );
    }
    let mut errors = Vec::new();
    let args = match (raw.uri, raw.args) {
        (Some(uri), _) if reads => {
            let template = ArgTemplate::compile(uri, &format!("{path}.uri"), &mut errors);
            ArgTemplate::Object(vec![("uri".to_owned(), template)])
        }
        (_, None) => ArgTemplate::Literal(Value::Object(Default::default())),
        (_, Some(value)) if value.is_object() => {
            ArgTemplate::compile(value, &format!("{path}.args"), &mut errors)
        }
        (_, Some(other)) => {
            errors.push(format!(
                "{path}.args: must be a mapping of argument names to values, got {other}"
            ));
            ArgTemplate::Literal(Value::Null)
        }
    };
    issues.extend(errors);
    // An op whose method is known is kept even when its arguments have problems (already
    // reported), so objectives naming it are not reported as well.
    Some((method?, args))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw<'a>(tool: Option<&'a str>, method: Option<&'a str>) -> RawCall<'a> {
        RawCall {
            tool,
            method,
            walk: None,
            uri: None,
            name: None,
            args: None,
        }
    }

    #[test]
    fn each_method_gets_its_label_params_and_name_header() {
        let tool = Method::CallTool("echo".into());
        assert_eq!(tool.label(), "echo");
        let params = tool.params(serde_json::json!({"x": 1}), None);
        assert_eq!(
            params,
            Some(serde_json::json!({"name": "echo", "arguments": {"x": 1}}))
        );
        assert_eq!(tool.header_name(params.as_ref()), Some("echo"));
        let walk = Method::List {
            kind: ListKind::Tools,
            walk: true,
        };
        assert_eq!(walk.label(), "tools/list (walk)");
        assert_eq!(
            walk.params(Value::Null, Some("c2")),
            Some(serde_json::json!({"cursor": "c2"}))
        );
        let read = Method::ReadResource;
        let params = read.params(serde_json::json!({"uri": "file:///a"}), None);
        assert_eq!(read.header_name(params.as_ref()), Some("file:///a"));
        assert_eq!(Method::Ping.params(Value::Null, None), None);
        assert_eq!(Method::GetPrompt("p".into()).label(), "prompts/get p");
    }

    #[test]
    fn a_malformed_op_says_what_is_wrong_where() {
        let empty = serde_json::json!({});
        let cases: Vec<(RawCall<'_>, &str)> = vec![
            (
                raw(None, None),
                "mix[0].tool: missing (give a tool, or a method such as tools/list)",
            ),
            (
                raw(Some("x"), Some("tools/list")),
                "mix[0].tool: a tool is called with tools/call, not tools/list",
            ),
            (
                raw(None, Some("tools/call")),
                "mix[0].tool: missing (tools/call needs the tool's name)",
            ),
            (
                raw(None, Some("resources/read")),
                "mix[0].uri: missing (resources/read needs the resource's URI)",
            ),
            (
                raw(None, Some("prompts/get")),
                "mix[0].name: missing (prompts/get needs the prompt's name)",
            ),
            (
                raw(None, Some("tools/lists")),
                "mix[0].method: \"tools/lists\" is not a method the harness sends (tools/call, tools/list, resources/list, resources/read, prompts/list, prompts/get, server/discover, ping)",
            ),
            (
                RawCall {
                    walk: Some(true),
                    ..raw(None, Some("ping"))
                },
                "mix[0].walk: only a */list op walks pages",
            ),
            (
                RawCall {
                    args: Some(&empty),
                    ..raw(None, Some("server/discover"))
                },
                "mix[0].args: server/discover takes no arguments",
            ),
        ];
        for (raw, expected) in cases {
            let mut issues = Vec::new();
            let _ = call("mix[0]", raw, &mut issues);
            assert_eq!(issues, vec![expected.to_owned()]);
        }
    }

    #[test]
    fn a_resource_uri_may_be_generated_per_call() {
        let uri = serde_json::json!("{{choice file:///a file:///b}}");
        let mut issues = Vec::new();
        let (method, args) = call(
            "mix[0]",
            RawCall {
                uri: Some(&uri),
                ..raw(None, Some("resources/read"))
            },
            &mut issues,
        )
        .expect("valid");
        assert!(issues.is_empty(), "{issues:?}");
        assert_eq!(method, Method::ReadResource);
        let mut source = super::super::args::SeededSource::new(1, Default::default());
        let rendered = args.render(&mut source);
        let uri = rendered["uri"].as_str().expect("a uri");
        assert!(uri == "file:///a" || uri == "file:///b", "{uri}");
    }
}
