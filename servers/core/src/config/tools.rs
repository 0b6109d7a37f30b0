//! `local_mcp_server_config.yaml` / `aws_managed_mcp_config.yaml`: a tier and its tools.
//!
//! The typed model is here; the file as written and its validation are in
//! `tools/validate.rs`.

mod families;
mod validate;

pub use families::key_prefix;

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Map, Value, json};

use super::{Category, ConfigError, ParamKind, Tier, read_file};

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
    /// Tools per `tools/list` page (`listing.page_size`).
    pub page_size: usize,
    /// How long a listing page may be reused unless the list changes (`listing.ttl_ms`).
    pub listing_ttl: std::time::Duration,
    /// Tools generated from what the backends hold (`families`).
    pub families: Vec<FamilyConfig>,
}

/// A family of generated tools (see `tools/families.rs` for the YAML).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FamilyConfig {
    /// Its tools are added, replaced and removed together, under this name.
    pub name: String,
    pub kind: FamilyKind,
    /// The configured tool whose implementation, limits and permissions every generated
    /// tool runs through: a family's tool can do no more than its base.
    pub base: String,
    /// At most this many tools; the rest are left out, with a warning.
    pub max_tools: usize,
    /// Only these principals see and call the family's tools; `None`: whoever may use
    /// the base tool.
    pub callers: Option<Vec<String>>,
}

/// What a family generates its tools from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FamilyKind {
    /// One read-only lookup by primary key per table (`information_schema`).
    PostgresTables {
        databases: Vec<String>,
        schemas: Vec<String>,
    },
    /// One reader per key prefix of a bucket: the prefixes listed, or (`None`) the
    /// bucket's top-level prefixes as ListObjectsV2 gives them.
    S3Prefixes {
        bucket: String,
        prefixes: Option<Vec<String>>,
    },
    /// One tool per Lambda function.
    LambdaFunctions(Functions),
}

/// The functions of a `lambda_functions` family.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Functions {
    /// These functions.
    Listed(Vec<String>),
    /// The account's functions whose names start with this (ListFunctions), as the base
    /// tool allows them.
    Prefix(String),
}

impl FamilyKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            FamilyKind::PostgresTables { .. } => "postgres_tables",
            FamilyKind::S3Prefixes { .. } => "s3_prefixes",
            FamilyKind::LambdaFunctions(_) => "lambda_functions",
        }
    }
}

impl ToolSecurity {
    /// Whether `allowed_functions` lets the tool invoke `function` (a name, or an ARN
    /// whose last part is the name): an entry is a name, or a prefix ending in `*`.
    pub fn allows_function(&self, function: &str) -> bool {
        let name = function.rsplit(':').next().unwrap_or(function);
        self.allowed_functions
            .iter()
            .any(|a| match a.strip_suffix('*') {
                Some(prefix) => name.starts_with(prefix),
                None => a == function || a == name,
            })
    }
}

/// Tools per `tools/list` page unless the config says otherwise.
pub const DEFAULT_PAGE_SIZE: usize = 100;
/// How long a client may reuse a listing page unless the list changes (`ttlMs`), when the
/// config does not say: list_changed announces a change sooner.
pub const DEFAULT_LISTING_TTL: std::time::Duration = std::time::Duration::from_secs(60);
/// The largest page a config may ask for.
pub const MAX_PAGE_SIZE: usize = 1000;

impl ServerConfig {
    pub fn load(file: &Path) -> Result<Self, ConfigError> {
        Self::from_yaml(file, &read_file(file)?)
    }

    pub fn tool(&self, name: &str) -> Option<&ToolConfig> {
        self.tools.iter().find(|t| t.name == name)
    }

    /// Parses and validates a server config; every problem is reported at once.
    pub fn from_yaml(file: &Path, text: &str) -> Result<Self, ConfigError> {
        validate::server_config(file, text)
    }
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
        assert_eq!(c.page_size, DEFAULT_PAGE_SIZE);
        assert_eq!(c.listing_ttl, DEFAULT_LISTING_TTL);
        let listed = load(&GOOD.replace(
            "  tools:\n",
            "  listing: { page_size: 20, ttl_ms: 1500 }\n  tools:\n",
        ))
        .unwrap();
        assert_eq!(
            (listed.page_size, listed.listing_ttl),
            (20, std::time::Duration::from_millis(1500))
        );
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
                GOOD.replace("  tools:\n", "  listing: { page_size: 0 }\n  tools:\n"),
                "server.listing.page_size: 0 is not between 1 and 1000",
            ),
            (
                GOOD.replace("  tools:\n", "  listing: { ttl_ms: 86400001 }\n  tools:\n"),
                "server.listing.ttl_ms: 86400001 is more than a day (86400000)",
            ),
            (
                GOOD.replace("\"file_read\"", "\"postgres_query\""),
                "server.tools[1].name: duplicate tool name \"postgres_query\"",
            ),
        ];
        for (text, expected) in cases {
            let err = load(&text).unwrap_err();
            let messages = err.messages();
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
