//! Tool families: hundreds of tools generated from what the databases hold. A
//! `postgres_tables` family gives each table of its databases and schemas one read-only
//! lookup by primary key (`agents_orders_by_id`), its parameters typed from the key
//! columns (from the catalog), its statement run through the base tool (`postgres_query`): the same SQL
//! classifier, pools, row cap, limits, audit trail and spans as a hand-written call.
//!
//! Families load when the server starts and again on SIGHUP or when their config file
//! changes (`reload`; their declarations read again from the file first); each load replaces the family's tools in one registry
//! change, which reaches listening clients as one `notifications/tools/list_changed`
//! (none when nothing changed).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};

use futures::future::BoxFuture;
use mcp_server_core::config::{
    Category, FamilyConfig, ParamKind, ParamSpec, ServerConfig, Tier, ToolConfig,
};
use mcp_server_core::health::Check;
use mcp_server_core::registry::{
    RegisteredTool, ToolCall, ToolError, ToolHandler, ToolOutput, ToolRegistry,
};
use serde_json::{Map, Value};

use crate::reload::{Reason, Reloads};
use crate::tools::postgres::PostgresQuery;

/// How long after a failed load the families are loaded again.
const RETRY: std::time::Duration = std::time::Duration::from_secs(5);

/// The tier's families and what their last load gave.
pub struct Families {
    registry: Arc<ToolRegistry>,
    families: RwLock<Vec<Arc<Family>>>,
    /// Where the families' base tools run (`None` without Postgres).
    postgres: Option<Arc<PostgresQuery>>,
    /// The config file they were declared in: SIGHUP, or a change of it, reads their
    /// declarations again.
    file: Option<PathBuf>,
}

struct Family {
    config: FamilyConfig,
    base_config: ToolConfig,
    base: Arc<PostgresQuery>,
    /// Tools after the last load, or why it failed; `None` before the first.
    loaded: Mutex<Option<Result<usize, String>>>,
}

/// The families `config` declares, each with its base tool; every one that cannot be
/// served is a problem.
fn declared(
    config: &ServerConfig,
    postgres: Option<&Arc<PostgresQuery>>,
) -> Result<Vec<Arc<Family>>, Vec<String>> {
    let mut families = Vec::new();
    let mut problems = Vec::new();
    for family in &config.families {
        match (postgres, config.tool(&family.base)) {
            (Some(pg), Some(base)) => families.push(Arc::new(Family {
                config: family.clone(),
                base_config: base.clone(),
                base: pg.clone(),
                loaded: Mutex::new(None),
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
}

impl Families {
    /// The families `config` declares (read from `file`, when given), run through
    /// `postgres`; every family that cannot be served is a problem.
    pub fn new(
        registry: Arc<ToolRegistry>,
        config: &ServerConfig,
        postgres: Option<Arc<PostgresQuery>>,
        file: Option<PathBuf>,
    ) -> Result<Families, Vec<String>> {
        Ok(Families {
            families: RwLock::new(declared(config, postgres.as_ref())?),
            registry,
            postgres,
            file,
        })
    }

    /// Whether there is anything to keep loaded: families, or a file that may declare some.
    pub fn is_idle(&self) -> bool {
        self.file.is_none() && self.current().is_empty()
    }

    fn current(&self) -> Vec<Arc<Family>> {
        self.families
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Reads the config file's families again; a file that does not load, or declares a
    /// family that cannot be served, leaves the families as they were. Tools of families
    /// no longer declared are removed.
    fn reread(&self, reason: Reason) {
        let Some(file) = &self.file else {
            return;
        };
        let config = match ServerConfig::load(file) {
            Ok(config) => config,
            Err(e) => {
                tracing::warn!(
                    "{}: {} not read again, the families stay as they were: {e}",
                    reason.as_str(),
                    file.display()
                );
                return;
            }
        };
        let families = match declared(&config, self.postgres.as_ref()) {
            Ok(families) => families,
            Err(problems) => {
                tracing::warn!(
                    ?problems,
                    "{}: the families stay as they were",
                    reason.as_str()
                );
                return;
            }
        };
        let old = std::mem::replace(
            &mut *self.families.write().unwrap_or_else(|p| p.into_inner()),
            families,
        );
        let kept: Vec<String> = self
            .current()
            .iter()
            .map(|f| f.config.name.clone())
            .collect();
        for gone in old.iter().filter(|f| !kept.contains(&f.config.name)) {
            let change = self.registry.replace_family(&gone.config.name, Vec::new());
            tracing::info!(family = %gone.config.name, removed = change.removed, "tool family no longer declared");
        }
    }

    /// Loads every family now; whether all of them loaded.
    pub async fn load(&self) -> bool {
        let mut all = true;
        for family in self.current() {
            let result = family.generate().await.map(|tools| {
                let change = self.registry.replace_family(&family.config.name, tools);
                if !change.clashes.is_empty() {
                    tracing::warn!(family = %family.config.name, clashes = ?change.clashes, "generated tools left out: other tools hold their names");
                }
                tracing::info!(family = %family.config.name, tools = change.tools, changed = change.changed, "tool family loaded");
                change.tools
            });
            if let Err(e) = &result {
                all = false;
                tracing::warn!(family = %family.config.name, "tool family not loaded: {e}");
            }
            *family.loaded.lock().unwrap_or_else(|p| p.into_inner()) = Some(result);
        }
        all
    }

    /// Loads the families, then again on each SIGHUP and each change of the config file
    /// (`reload`), until dropped; a load that failed (Postgres down at start) is tried
    /// again every [`RETRY`] meanwhile.
    pub fn keep_loaded(self: Arc<Self>) -> BoxFuture<'static, ()> {
        Box::pin(async move {
            let mut reloads = Reloads::new(self.file.as_deref());
            let mut loaded = self.load().await;
            loop {
                tokio::select! {
                    reason = reloads.next() => {
                        let Some(reason) = reason else {
                            return;
                        };
                        tracing::info!("{}: reloading tool families", reason.as_str());
                        self.reread(reason);
                    }
                    _ = tokio::time::sleep(RETRY), if !loaded => {}
                }
                loaded = self.load().await;
            }
        })
    }

    /// One `/readyz` check per family: ready once it has loaded.
    pub fn checks(&self) -> Vec<Check> {
        self.current()
            .iter()
            .map(|f| {
                let loaded = f.loaded.lock().unwrap_or_else(|p| p.into_inner());
                let (ok, detail) = match &*loaded {
                    Some(Ok(n)) => (true, format!("{n} tools")),
                    Some(Err(e)) => (false, e.clone()),
                    None => (false, "loading".to_owned()),
                };
                Check {
                    name: format!("family/{}", f.config.name),
                    ok,
                    detail,
                }
            })
            .collect()
    }
}

impl Family {
    /// One tool per table with a primary key, in name order, at most `max_tools`.
    async fn generate(&self) -> Result<Vec<RegisteredTool>, String> {
        let mut tools = Vec::new();
        for database in &self.config.databases {
            let keys = self
                .base
                .primary_keys(database, &self.config.schemas)
                .await?;
            let mut tables: BTreeMap<(String, String), Vec<(String, String)>> = BTreeMap::new();
            for [schema, table, column, data_type] in keys {
                tables
                    .entry((schema, table))
                    .or_default()
                    .push((column, data_type));
            }
            for ((schema, table), columns) in tables {
                if tools.len() == self.config.max_tools {
                    tracing::warn!(family = %self.config.name, max_tools = self.config.max_tools, "more tables than max_tools: the rest are left out");
                    return Ok(tools);
                }
                if let Some(tool) = self.lookup(database, &schema, &table, &columns) {
                    tools.push(tool);
                }
            }
        }
        Ok(tools)
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
            self.base
                .call(ToolCall {
                    args: &args,
                    deadline: call.deadline,
                    caller: call.caller,
                    report: call.report,
                })
                .await
        })
    }
}

/// `{database}_{table}_by_{key}[_and_{key}...]`, lower case, other characters as `_`;
/// `None` when longer than a tool name may be.
fn tool_name(database: &str, table: &str, keys: &[&str]) -> Option<String> {
    let raw = format!("{database}_{table}_by_{}", keys.join("_and_"));
    let name: String = raw
        .chars()
        .map(|c| match c {
            'a'..='z' | '0'..='9' | '_' => c,
            'A'..='Z' => c.to_ascii_lowercase(),
            _ => '_',
        })
        .collect();
    (name.len() <= 128).then_some(name)
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
