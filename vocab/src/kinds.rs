//! The small vocabularies of the server configs: tiers, tool categories, parameter types.

use serde_json::Value;

/// Which tier a server (and each of its tools) belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    Local,
    AwsManaged,
}

impl Tier {
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Local => "local",
            Tier::AwsManaged => "aws_managed",
        }
    }
}

/// The seed's tool categories (local: database / file / cache; aws: storage / database /
/// compute).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    Database,
    File,
    Cache,
    Storage,
    Compute,
}

impl Category {
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Database => "database",
            Category::File => "file",
            Category::Cache => "cache",
            Category::Storage => "storage",
            Category::Compute => "compute",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "database" => Category::Database,
            "file" => Category::File,
            "cache" => Category::Cache,
            "storage" => Category::Storage,
            "compute" => Category::Compute,
            _ => return None,
        })
    }

    /// The seed's discovery rule: categories follow the tool-name prefixes.
    pub fn from_name(name: &str) -> Option<Self> {
        let prefix = name.split('_').next().unwrap_or_default();
        Some(match prefix {
            "postgres" | "mysql" | "rds" | "sql" => Category::Database,
            "file" => Category::File,
            "cache" | "redis" => Category::Cache,
            "s3" => Category::Storage,
            "lambda" => Category::Compute,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamKind {
    String,
    Integer,
    Number,
    Boolean,
    Array,
    Object,
}

impl ParamKind {
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "string" => ParamKind::String,
            "integer" => ParamKind::Integer,
            "number" => ParamKind::Number,
            "boolean" => ParamKind::Boolean,
            "array" => ParamKind::Array,
            "object" => ParamKind::Object,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ParamKind::String => "string",
            ParamKind::Integer => "integer",
            ParamKind::Number => "number",
            ParamKind::Boolean => "boolean",
            ParamKind::Array => "array",
            ParamKind::Object => "object",
        }
    }

    pub fn admits(self, value: &Value) -> bool {
        match self {
            ParamKind::String => value.is_string(),
            ParamKind::Integer => value.is_i64() || value.is_u64(),
            ParamKind::Number => value.is_number(),
            ParamKind::Boolean => value.is_boolean(),
            ParamKind::Array => value.is_array(),
            ParamKind::Object => value.is_object(),
        }
    }
}
