//! The local tier's tool families: a `postgres_tables` family gives each table of its
//! databases and schemas one read-only lookup by primary key (`agents_orders_by_id`), its
//! parameters typed from the key columns (from the catalog), its statement run through the
//! base tool (`postgres_query`): the same SQL classifier, pools, row cap, limits, audit
//! trail and spans as a hand-written call. [`mcp_server_core::families`] keeps them loaded
//! (at start, on SIGHUP and when the config file changes).

use std::collections::BTreeMap;
use std::sync::Arc;

use futures::future::BoxFuture;
use mcp_server_core::config::{
    Category, FamilyConfig, FamilyKind, ParamKind, ParamSpec, ServerConfig, Tier, ToolConfig,
};
use mcp_server_core::families::{self, Declare, Family};
use mcp_server_core::registry::{RegisteredTool, ToolCall, ToolError, ToolHandler, ToolOutput};
use serde_json::{Map, Value};

use crate::tools::postgres::PostgresQuery;

/// A table's primary key: its (column, type)s, in key order.
type Key = Vec<(String, String)>;

/// A `postgres_tables` family with the tool it runs through.
struct TableFamily {
    config: FamilyConfig,
    databases: Vec<String>,
    schemas: Vec<String>,
    base_config: ToolConfig,
    base: Arc<PostgresQuery>,
}

/// How the local tier makes its families: each one needs Postgres (`postgres`), where its
/// base tool runs.
pub fn declare(postgres: Option<Arc<PostgresQuery>>) -> Declare {
    Box::new(move |config: &ServerConfig| {
        let mut families: Vec<Arc<dyn Family>> = Vec::new();
        let mut problems = Vec::new();
        for family in &config.families {
            let FamilyKind::PostgresTables { databases, schemas } = &family.kind else {
                problems.push(format!(
                    "tool family {:?}: the local tier serves postgres_tables families, not {}",
                    family.name,
                    family.kind.as_str()
                ));
                continue;
            };
            match (&postgres, config.tool(&family.base)) {
                (Some(pg), Some(base)) => families.push(Arc::new(TableFamily {
                    config: family.clone(),
                    databases: databases.clone(),
                    schemas: schemas.clone(),
                    base_config: base.clone(),
                    base: pg.clone(),
                })),
                _ => problems.push(format!(
                    "tool family {:?} needs Postgres (DATABASE_URL): it reads the tables of the catalog",
                    family.name
                )),
            }
        }
        if problems.is_empty() {
            Ok(families)
        } else {
            Err(problems)
        }
    })
}

impl Family for TableFamily {
    fn config(&self) -> &FamilyConfig {
        &self.config
    }

    fn generate(&self) -> BoxFuture<'_, Result<Vec<RegisteredTool>, String>> {
        Box::pin(self.tables())
    }
}

impl TableFamily {
    /// One tool per table with a primary key, in name order, at most `max_tools`.
    async fn tables(&self) -> Result<Vec<RegisteredTool>, String> {
        let mut tables: BTreeMap<(&str, String, String), Key> = BTreeMap::new();
        for database in &self.databases {
            let keys = self.base.primary_keys(database, &self.schemas).await?;
            for [schema, table, column, data_type] in keys {
                tables
                    .entry((database, schema, table))
                    .or_default()
                    .push((column, data_type));
            }
        }
        Ok(families::capped(
            &self.config,
            "table",
            tables,
            |((database, schema, table), columns)| self.lookup(database, schema, table, columns),
        ))
    }

    /// The lookup tool of one table; `None` when its name or a key type cannot be served.
    fn lookup(
        &self,
        database: &str,
        schema: &str,
        table: &str,
        columns: &[(String, String)],
    ) -> Option<RegisteredTool> {
        let keys: Vec<&str> = columns.iter().map(|(c, _)| c.as_str()).collect();
        let name = tool_name(database, table, &keys)?;
        let mut conditions = Vec::new();
        let mut parameters = Vec::new();
        for (i, (column, data_type)) in columns.iter().enumerate() {
            let kind = param_kind(data_type)?;
            conditions.push(format!(
                "{} = CAST(${}::text AS {data_type})",
                quote(column),
                i + 1
            ));
            parameters.push(ParamSpec {
                name: column.clone(),
                kind,
                description: Some(format!("{table}.{column} ({data_type})")),
                default: None,
                required: true,
            });
        }
        let query = format!(
            "SELECT * FROM {}.{} WHERE {}",
            quote(schema),
            quote(table),
            conditions.join(" AND ")
        );
        let config = ToolConfig {
            name,
            description: format!(
                "Read the row of {schema}.{table} in database {database} whose primary key is ({}); read-only, generated from the catalog",
                keys.join(", ")
            ),
            category: Category::Database,
            parameters,
            security: self.base_config.security.clone(),
            options: self.base_config.options.clone(),
        };
        let handler = TableLookup {
            base: self.base.clone(),
            database: database.to_owned(),
            query,
            keys: keys.iter().map(|k| (*k).to_owned()).collect(),
        };
        Some(RegisteredTool::new(Tier::Local, config, Arc::new(handler)))
    }
}

/// A generated lookup: the caller's key values bound to the table's statement, run by the
/// base tool.
struct TableLookup {
    base: Arc<PostgresQuery>,
    database: String,
    query: String,
    keys: Vec<String>,
}

impl ToolHandler for TableLookup {
    fn call<'a>(&'a self, call: ToolCall<'a>) -> BoxFuture<'a, Result<ToolOutput, ToolError>> {
        Box::pin(async move {
            let mut params = Vec::with_capacity(self.keys.len());
            for key in &self.keys {
                // CAST($n::text AS type) takes the key's text form, whatever its JSON type.
                let value = match call.args.get(key) {
                    Some(Value::String(s)) => s.clone(),
                    Some(v @ (Value::Number(_) | Value::Bool(_))) => v.to_string(),
                    _ => {
                        return Err(ToolError::invalid(format!(
                            "missing required argument `{key}`"
                        )));
                    }
                };
                params.push(Value::String(value));
            }
            let mut args = Map::new();
            args.insert("query".into(), Value::String(self.query.clone()));
            args.insert("params".into(), Value::Array(params));
            args.insert("database".into(), Value::String(self.database.clone()));
            self.base.call(call.with_args(&args)).await
        })
    }
}

/// `{database}_{table}_by_{key}[_and_{key}...]`, lower case, other characters as `_`;
/// `None` when longer than a tool name may be.
fn tool_name(database: &str, table: &str, keys: &[&str]) -> Option<String> {
    families::tool_name(&format!("{database}_{table}_by_{}", keys.join("_and_")))
}

/// The JSON type a key column takes; `None` for types a lookup does not serve (arrays,
/// user-defined types).
fn param_kind(data_type: &str) -> Option<ParamKind> {
    // The type is written into the statement: only plain type names (from the catalog).
    if !data_type
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b' ')
    {
        return None;
    }
    match data_type {
        "smallint" | "integer" | "bigint" => Some(ParamKind::Integer),
        "numeric" | "real" | "double precision" => Some(ParamKind::Number),
        "boolean" => Some(ParamKind::Boolean),
        _ => Some(ParamKind::String),
    }
}

/// A quoted SQL identifier.
fn quote(identifier: &str) -> String {
    format!("\"{}\"", identifier.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_tool_names_and_identifiers_are_quoted() {
        assert_eq!(
            tool_name("agents", "orders", &["id"]).as_deref(),
            Some("agents_orders_by_id")
        );
        assert_eq!(
            tool_name("agents", "Line Items", &["order_id", "line"]).as_deref(),
            Some("agents_line_items_by_order_id_and_line")
        );
        assert_eq!(tool_name("agents", &"t".repeat(120), &["id"]), None);
        assert_eq!(quote("we\"ird"), "\"we\"\"ird\"");
        assert_eq!(param_kind("bigint"), Some(ParamKind::Integer));
        assert_eq!(param_kind("character varying"), Some(ParamKind::String));
        assert_eq!(param_kind("ARRAY"), None);
    }
}
