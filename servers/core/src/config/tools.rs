//! `local_mcp_server_config.yaml` / `aws_managed_mcp_config.yaml`: a tier and its tools.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::{Category, ParamKind, Tier};
use super::{ConfigError, Issues, Unknown, parse_yaml, read_file};

#[derive(Debug, Deserialize)]
struct RawFile {
    server: Option<RawServer>,
    #[serde(flatten)]
    unknown: Unknown,
}

#[derive(Debug, Deserialize)]
struct RawServer {
    #[serde(rename = "type")]
    kind: Option<String>,
    region: Option<String>,
    #[serde(default)]
    tools: Vec<RawTool>,
    #[serde(flatten)]
    unknown: Unknown,
}

#[derive(Debug, Deserialize)]
struct RawTool {
    name: Option<String>,
    description: Option<String>,
    category: Option<String>,
    #[serde(default)]
    parameters: BTreeMap<String, RawParam>,
    security: Option<RawSecurity>,
    options: Option<RawOptions>,
    #[serde(flatten)]
    unknown: Unknown,
}

#[derive(Debug, Deserialize)]
struct RawParam {
    #[serde(rename = "type")]
    kind: Option<String>,
    description: Option<String>,
    default: Option<serde_json::Value>,
    required: Option<bool>,
    #[serde(flatten)]
    unknown: Unknown,
}

#[derive(Debug, Deserialize, Default)]
struct RawSecurity {
    requires_auth: Option<bool>,
    sandbox: Option<bool>,
    #[serde(default)]
    allowed_paths: Vec<String>,
    #[serde(default)]
    allowed_databases: Vec<String>,
    #[serde(default)]
    allowed_functions: Vec<String>,
    iam_role: Option<String>,
    max_permissions: Option<String>,
    #[serde(flatten)]
    unknown: Unknown,
}

#[derive(Debug, Deserialize, Default)]
struct RawOptions {
    max_rows: Option<u64>,
    max_bytes: Option<u64>,
    result_cache_ttl_ms: Option<u64>,
    key_prefix: Option<String>,
    #[serde(flatten)]
    unknown: Unknown,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ParamSpec {
    pub name: String,
    pub kind: ParamKind,
    pub description: Option<String>,
    pub default: Option<Value>,
    pub required: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ToolSecurity {
    /// As declared (`None`: not said); see `security.rs` for what each tier accepts.
    pub requires_auth: Option<bool>,
    pub sandbox: bool,
    pub allowed_paths: Vec<PathBuf>,
    pub allowed_databases: Vec<String>,
    pub allowed_functions: Vec<String>,
    pub iam_role: Option<String>,
    pub max_permissions: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ToolOptions {
    pub max_rows: Option<usize>,
    pub max_bytes: Option<usize>,
    pub result_cache_ttl: Option<Duration>,
    pub key_prefix: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ToolConfig {
    pub name: String,
    pub description: String,
    pub category: Category,
    pub parameters: Vec<ParamSpec>,
    pub security: ToolSecurity,
    pub options: ToolOptions,
}

impl ToolConfig {
    /// The tool's input schema (JSON Schema object) built from its declared parameters.
    pub fn input_schema(&self) -> Map<String, Value> {
        let mut properties = Map::new();
        let mut required = Vec::new();
        for p in &self.parameters {
            let mut prop = Map::new();
            prop.insert("type".into(), json!(p.kind.as_str()));
            if let Some(d) = &p.description {
                prop.insert("description".into(), json!(d));
            }
            if let Some(d) = &p.default {
                prop.insert("default".into(), d.clone());
            }
            properties.insert(p.name.clone(), Value::Object(prop));
            if p.required {
                required.push(json!(p.name));
            }
        }
        let mut schema = Map::new();
        schema.insert("type".into(), json!("object"));
        schema.insert("properties".into(), Value::Object(properties));
        schema.insert("required".into(), Value::Array(required));
        schema.insert("additionalProperties".into(), json!(false));
        schema
    }

    /// Fills in the declared defaults of arguments the caller left out.
    pub fn apply_defaults(&self, args: &mut Map<String, Value>) {
        for p in &self.parameters {
            if let Some(default) = &p.default
                && !args.contains_key(&p.name)
            {
                args.insert(p.name.clone(), default.clone());
            }
        }
    }

    /// Checks call arguments against the declared parameters; the message names the
    /// argument.
    pub fn check_arguments(&self, args: &Map<String, Value>) -> Result<(), String> {
        for key in args.keys() {
            if !self.parameters.iter().any(|p| &p.name == key) {
                let known: Vec<&str> = self.parameters.iter().map(|p| p.name.as_str()).collect();
                return Err(format!(
                    "unknown argument `{key}` (this tool takes: {})",
                    known.join(", ")
                ));
            }
        }
        for p in &self.parameters {
            match args.get(&p.name) {
                None | Some(Value::Null) if p.required => {
                    return Err(format!("missing required argument `{}`", p.name));
                }
                Some(v) if !v.is_null() && !p.kind.admits(v) => {
                    return Err(format!("argument `{}` must be {}", p.name, p.kind.as_str()));
                }
                _ => {}
            }
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ServerConfig {
    pub tier: Tier,
    pub region: Option<String>,
    pub tools: Vec<ToolConfig>,
}

impl ServerConfig {
    pub fn load(file: &Path) -> Result<Self, ConfigError> {
        Self::from_yaml(file, &read_file(file)?)
    }

    pub fn tool(&self, name: &str) -> Option<&ToolConfig> {
        self.tools.iter().find(|t| t.name == name)
    }

    pub fn from_yaml(file: &Path, text: &str) -> Result<Self, ConfigError> {
        let raw: RawFile = parse_yaml(file, text)?;
        let mut issues = Issues::default();
        issues.unknown("", &raw.unknown);
        let Some(server) = raw.server else {
            issues.push("server", "missing");
            return Err(issues.finish(file, ()).unwrap_err());
        };
        issues.unknown("server", &server.unknown);
        let tier = match server.kind.as_deref() {
            Some("local") => Some(Tier::Local),
            Some("aws_managed") => Some(Tier::AwsManaged),
            Some(other) => {
                issues.push(
                    "server.type",
                    format!("{other:?} is not one of \"local\", \"aws_managed\""),
                );
                None
            }
            None => {
                issues.push("server.type", "missing");
                None
            }
        };
        if tier == Some(Tier::AwsManaged) && server.region.is_none() {
            issues.push(
                "server.region",
                "missing (an aws_managed server needs a region)",
            );
        }
        if server.tools.is_empty() {
            issues.push("server.tools", "no tools declared");
        }
        let mut seen = BTreeSet::new();
        let mut tools = Vec::new();
        for (i, raw_tool) in server.tools.into_iter().enumerate() {
            let path = format!("server.tools[{i}]");
            if let Some(tool) = validate_tool(&mut issues, &path, tier, raw_tool) {
                if !seen.insert(tool.name.clone()) {
                    issues.push(
                        format!("{path}.name"),
                        format!("duplicate tool name {:?}", tool.name),
                    );
                }
                tools.push(tool);
            }
        }
        match tier {
            Some(tier) => issues.finish(
                file,
                ServerConfig {
                    tier,
                    region: server.region,
                    tools,
                },
            ),
            None => Err(issues.finish(file, ()).unwrap_err()),
        }
    }
}

/// MCP tool names: 1–128 characters of ASCII letters, digits, `_`, `-` and `.`.
fn valid_tool_name(name: &str) -> bool {
    (1..=128).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

fn validate_tool(
    issues: &mut Issues,
    path: &str,
    tier: Option<Tier>,
    raw: RawTool,
) -> Option<ToolConfig> {
    issues.unknown(path, &raw.unknown);
    let before = issues.len();
    let name = raw.name.unwrap_or_default();
    if !valid_tool_name(&name) {
        issues.push(
            format!("{path}.name"),
            format!("{name:?} is not a tool name (1-128 of A-Z a-z 0-9 _ - .)"),
        );
    }
    let description = raw.description.unwrap_or_default();
    if description.trim().is_empty() {
        issues.push(format!("{path}.description"), "missing");
    }
    let category = match raw.category.as_deref() {
        Some(text) => Category::parse(text).or_else(|| {
            issues.push(
                format!("{path}.category"),
                format!("{text:?} is not one of database, file, cache, storage, compute"),
            );
            None
        }),
        None if !valid_tool_name(&name) => None,
        None => Category::from_name(&name).or_else(|| {
            issues.push(
                format!("{path}.category"),
                format!("missing, and {name:?} has no known prefix to derive it from"),
            );
            None
        }),
    };
    let mut parameters = Vec::new();
    for (pname, p) in raw.parameters {
        let ppath = format!("{path}.parameters.{pname}");
        issues.unknown(&ppath, &p.unknown);
        let kind = match p.kind.as_deref() {
            Some(t) => ParamKind::parse(t).or_else(|| {
                issues.push(
                    format!("{ppath}.type"),
                    format!("{t:?} is not a JSON Schema type (string, integer, number, boolean, array, object)"),
                );
                None
            }),
            None => {
                issues.push(format!("{ppath}.type"), "missing");
                None
            }
        };
        if let (Some(kind), Some(default)) = (kind, &p.default)
            && !kind.admits(default)
        {
            issues.push(
                format!("{ppath}.default"),
                format!("{default} is not a {}", kind.as_str()),
            );
        }
        if let Some(kind) = kind {
            parameters.push(ParamSpec {
                required: p.required.unwrap_or(p.default.is_none()),
                name: pname,
                kind,
                description: p.description,
                default: p.default,
            });
        }
    }
    let sec = raw.security.unwrap_or_default();
    issues.unknown(&format!("{path}.security"), &sec.unknown);
    let opts = raw.options.unwrap_or_default();
    issues.unknown(&format!("{path}.options"), &opts.unknown);
    for (i, p) in sec.allowed_paths.iter().enumerate() {
        if !p.starts_with('/') || p.split('/').any(|c| c == "..") {
            issues.push(
                format!("{path}.security.allowed_paths[{i}]"),
                format!("{p:?} must be an absolute path without `..`"),
            );
        }
    }
    if tier == Some(Tier::AwsManaged) && sec.iam_role.is_none() {
        issues.push(
            format!("{path}.security.iam_role"),
            "missing (every AWS tool runs under its own role)",
        );
    }
    if let Some(role) = &sec.iam_role
        && !role.starts_with("arn:aws:iam::")
    {
        issues.push(
            format!("{path}.security.iam_role"),
            format!("{role:?} is not an IAM role ARN"),
        );
    }
    if opts.max_rows == Some(0) || opts.max_bytes == Some(0) {
        issues.push(
            format!("{path}.options"),
            "max_rows and max_bytes must be positive",
        );
    }
    if issues.len() > before {
        return None;
    }
    Some(ToolConfig {
        name,
        description,
        category: category?,
        parameters,
        security: ToolSecurity {
            requires_auth: sec.requires_auth,
            sandbox: sec.sandbox.unwrap_or(true),
            allowed_paths: sec.allowed_paths.into_iter().map(PathBuf::from).collect(),
            allowed_databases: sec.allowed_databases,
            allowed_functions: sec.allowed_functions,
            iam_role: sec.iam_role,
            max_permissions: sec
                .max_permissions
                .map(|p| {
                    p.split(',')
                        .map(|s| s.trim().to_owned())
                        .filter(|s| !s.is_empty())
                        .collect()
                })
                .unwrap_or_default(),
        },
        options: ToolOptions {
            max_rows: opts.max_rows.map(|v| v as usize),
            max_bytes: opts.max_bytes.map(|v| v as usize),
            result_cache_ttl: opts.result_cache_ttl_ms.map(Duration::from_millis),
            key_prefix: opts.key_prefix,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"server:
  type: "local"
  tools:
    - name: "postgres_query"
      description: "Execute SQL queries on local PostgreSQL database"
      parameters:
        query:
          type: "string"
          description: "SQL query to execute"
        timeout_ms:
          type: "integer"
          default: 5000
      security:
        requires_auth: false
        sandbox: true
    - name: "file_read"
      description: "Read files from local filesystem"
      parameters:
        path:
          type: "string"
      security:
        allowed_paths: ["/data/reports", "/data/config"]
"#;

    fn load(text: &str) -> Result<ServerConfig, ConfigError> {
        ServerConfig::from_yaml(Path::new("local.yaml"), text)
    }

    #[test]
    fn the_seed_shape_loads_with_derived_categories() {
        let c = load(GOOD).unwrap();
        assert_eq!(c.tier, Tier::Local);
        let pg = c.tool("postgres_query").unwrap();
        assert_eq!(pg.category, Category::Database);
        let schema = pg.input_schema();
        assert_eq!(schema["required"], json!(["query"]));
        assert_eq!(schema["properties"]["timeout_ms"]["default"], json!(5000));
        assert_eq!(c.tool("file_read").unwrap().category, Category::File);
    }

    #[test]
    fn each_mutation_gives_its_exact_message() {
        let cases = [
            (
                GOOD.replace("type: \"local\"", "type: \"cloud\""),
                "server.type: \"cloud\" is not one of \"local\", \"aws_managed\"",
            ),
            (
                GOOD.replace("\"file_read\"", "\"file read\""),
                "server.tools[1].name: \"file read\" is not a tool name (1-128 of A-Z a-z 0-9 _ - .)",
            ),
            (
                GOOD.replace("type: \"integer\"", "type: \"int\""),
                "server.tools[0].parameters.timeout_ms.type: \"int\" is not a JSON Schema type (string, integer, number, boolean, array, object)",
            ),
            (
                GOOD.replace("default: 5000", "default: \"soon\""),
                "server.tools[0].parameters.timeout_ms.default: \"soon\" is not a integer",
            ),
            (
                GOOD.replace("\"/data/config\"", "\"data/../etc\""),
                "server.tools[1].security.allowed_paths[1]: \"data/../etc\" must be an absolute path without `..`",
            ),
            (
                GOOD.replace("sandbox: true", "sandbox: true\n        sandbx: true"),
                "server.tools[0].security.sandbx: unknown field",
            ),
            (
                GOOD.replace("\"file_read\"", "\"postgres_query\""),
                "server.tools[1].name: duplicate tool name \"postgres_query\"",
            ),
        ];
        for (text, expected) in cases {
            let err = load(&text).unwrap_err();
            let messages: Vec<String> = err
                .issues()
                .iter()
                .map(|i| format!("{}: {}", i.path, i.message))
                .collect();
            assert_eq!(
                messages,
                vec![expected.to_string()],
                "for mutation giving {expected}"
            );
        }
    }

    #[test]
    fn arguments_are_checked_against_parameters() {
        let c = load(GOOD).unwrap();
        let pg = c.tool("postgres_query").unwrap();
        let args = |v: Value| v.as_object().unwrap().clone();
        assert!(
            pg.check_arguments(&args(json!({"query": "SELECT 1"})))
                .is_ok()
        );
        assert_eq!(
            pg.check_arguments(&args(json!({}))).unwrap_err(),
            "missing required argument `query`"
        );
        assert_eq!(
            pg.check_arguments(&args(json!({"query": 1}))).unwrap_err(),
            "argument `query` must be string"
        );
        assert_eq!(
            pg.check_arguments(&args(json!({"query": "x", "q": 1})))
                .unwrap_err(),
            "unknown argument `q` (this tool takes: query, timeout_ms)"
        );
    }
}
