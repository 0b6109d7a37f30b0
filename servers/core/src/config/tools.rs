//! `local_mcp_server_config.yaml` / `aws_managed_mcp_config.yaml`: a tier and its tools.
//!
//! The typed model is here; the file as written and its validation are in
//! `tools/validate.rs`.

mod families;
mod validate;

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
    /// Tools generated from what the backends hold (`families`).
    pub families: Vec<FamilyConfig>,
}

/// A family of generated tools (see `tools/families.rs` for the YAML).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FamilyConfig {
    /// Its tools are added, replaced and removed together, under this name.
    pub name: String,
    pub kind: FamilyKind,
    /// The configured tool whose implementation, limits and databases every generated
    /// tool runs through.
    pub base: String,
    pub databases: Vec<String>,
    pub schemas: Vec<String>,
    /// At most this many tools; the rest are left out, with a warning.
    pub max_tools: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FamilyKind {
    /// One read-only lookup by primary key per table (`information_schema`).
    PostgresTables,
}

/// Tools per `tools/list` page unless the config says otherwise.
pub const DEFAULT_PAGE_SIZE: usize = 100;
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
    fn families_are_checked_against_their_base_tool() {
        let with = |family: &str| {
            let text = GOOD.replace(
                "        requires_auth: false\n        sandbox: true\n    - name: \"file_read\"",
                "        requires_auth: false\n        sandbox: true\n        allowed_databases: [\"agents\"]\n    - name: \"file_read\"",
            );
            load(&format!("{text}  families:\n    - {family}\n"))
        };
        let family = with(r#"{ name: "tables", kind: "postgres_tables", schemas: ["catalog"] }"#)
            .unwrap()
            .families
            .remove(0);
        assert_eq!(
            family,
            FamilyConfig {
                name: "tables".into(),
                kind: FamilyKind::PostgresTables,
                base: "postgres_query".into(),
                databases: vec!["agents".into()],
                schemas: vec!["catalog".into()],
                max_tools: 5000,
            }
        );
        let cases = [
            (
                r#"{ name: "t", kind: "mysql_tables" }"#,
                "server.families[0].kind: \"mysql_tables\" is not a family kind (postgres_tables)",
            ),
            (
                r#"{ name: "t", kind: "postgres_tables", base: "file_read" }"#,
                "server.families[0].base: \"file_read\" cannot serve a postgres_tables family (postgres_query can)",
            ),
            (
                r#"{ name: "t", kind: "postgres_tables", databases: ["production"] }"#,
                "server.families[0].databases[0]: \"production\" is not one of postgres_query's allowed databases (agents)",
            ),
            (
                r#"{ name: "t", kind: "postgres_tables", schemas: ["public\"; DROP"] }"#,
                "server.families[0].schemas[0]: \"public\\\"; DROP\" is not a schema name (1-63 of a-z 0-9 _)",
            ),
            (
                r#"{ name: "t", kind: "postgres_tables", max_tools: 0 }"#,
                "server.families[0].max_tools: 0 is not between 1 and 100000",
            ),
        ];
        for (family, expected) in cases {
            let err = with(family).unwrap_err();
            let messages = err.messages();
            assert_eq!(messages, vec![expected.to_string()], "for {family}");
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
