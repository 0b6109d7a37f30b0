//! Shared by the SQL tools: binding JSON parameters and turning rows into JSON with column
//! names and types, capped at `max_rows`.

use base64::Engine as _;
use mcp_server_core::registry::ToolError;
use mcp_server_core::sql::{Classified, Classifier};
use serde_json::{Map, Value, json};

/// The validated request of a SQL tool call.
pub struct SqlRequest<'a> {
    pub query: &'a str,
    pub params: Vec<Value>,
    pub database: String,
    pub classified: Classified,
}

/// Reads and checks the arguments common to the SQL tools.
pub fn parse_request<'a>(
    args: &'a Map<String, Value>,
    classifier: &Classifier,
    allowed_databases: &[String],
) -> Result<SqlRequest<'a>, ToolError> {
    let query = args
        .get("query")
        .and_then(Value::as_str)
        .ok_or_else(|| ToolError::invalid("missing required argument `query`"))?;
    let classified = classifier.classify(query).map_err(|e| match e {
        mcp_server_core::sql::SqlError::Syntax(_) | mcp_server_core::sql::SqlError::Empty => {
            ToolError::invalid(e.to_string())
        }
        other => ToolError::refused(other.to_string()),
    })?;
    let params = match args.get("params") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items.clone(),
        Some(_) => return Err(ToolError::invalid("argument `params` must be an array")),
    };
    if params.len() > 1000 {
        return Err(ToolError::invalid("at most 1000 parameters per statement"));
    }
    let database = match args.get("database").and_then(Value::as_str) {
        Some(db) => db.to_owned(),
        None => allowed_databases.first().cloned().unwrap_or_default(),
    };
    if !allowed_databases.contains(&database) {
        return Err(ToolError::refused(format!(
            "database {database:?} is not allowed (allowed: {})",
            allowed_databases.join(", ")
        )));
    }
    Ok(SqlRequest {
        query,
        params,
        database,
        classified,
    })
}

/// One column's name and database type.
pub struct Column {
    pub name: String,
    pub type_name: String,
}

/// Assembles the tool's structured result (what the result cache stores). The rows are
/// moved in, not copied.
pub fn result(
    request: &SqlRequest<'_>,
    columns: Vec<Column>,
    rows: Vec<Value>,
    truncated: bool,
    rows_affected: Option<u64>,
    cached: bool,
) -> Value {
    let mut out = Map::with_capacity(8);
    out.insert("database".into(), Value::from(request.database.as_str()));
    out.insert(
        "statement".into(),
        Value::from(request.classified.class.as_str()),
    );
    let columns = columns
        .into_iter()
        .map(|c| {
            let mut column = Map::with_capacity(2);
            column.insert("name".into(), Value::String(c.name));
            column.insert("type".into(), Value::String(c.type_name));
            Value::Object(column)
        })
        .collect();
    out.insert("columns".into(), Value::Array(columns));
    out.insert("row_count".into(), Value::from(rows.len()));
    out.insert("rows".into(), Value::Array(rows));
    out.insert("truncated".into(), Value::Bool(truncated));
    if let Some(n) = rows_affected {
        out.insert("rows_affected".into(), Value::from(n));
    }
    if cached {
        out.insert("cached".into(), Value::Bool(true));
    }
    Value::Object(out)
}

/// Binds JSON parameters in order: null, booleans, integers, floats and strings as
/// themselves; arrays and objects as their JSON text. (Postgres binds those as `json`.)
pub fn bind_json<DB>(params: &[Value]) -> Result<DB::Arguments, ToolError>
where
    DB: sqlx::Database,
    for<'t> bool: sqlx::Encode<'t, DB> + sqlx::Type<DB>,
    for<'t> i64: sqlx::Encode<'t, DB> + sqlx::Type<DB>,
    for<'t> f64: sqlx::Encode<'t, DB> + sqlx::Type<DB>,
    for<'t> String: sqlx::Encode<'t, DB> + sqlx::Type<DB>,
    for<'t> Option<String>: sqlx::Encode<'t, DB> + sqlx::Type<DB>,
{
    use sqlx::Arguments as _;
    let mut args = DB::Arguments::default();
    for (i, value) in params.iter().enumerate() {
        let added = match value {
            Value::Null => args.add(None::<String>),
            Value::Bool(b) => args.add(*b),
            Value::Number(n) => match n.as_i64() {
                Some(v) => args.add(v),
                None => args.add(n.as_f64().unwrap_or(f64::NAN)),
            },
            Value::String(s) => args.add(s.clone()),
            other => args.add(other.to_string()),
        };
        added.map_err(|e| ToolError::invalid(format!("params[{i}]: {e}")))?;
    }
    Ok(args)
}

pub fn bytes_to_json(bytes: &[u8]) -> Value {
    json!({ "base64": base64::engine::general_purpose::STANDARD.encode(bytes) })
}

/// An error the database itself returned, by its SQLSTATE (or MySQL code) and message.
pub fn database_error(code: &str, message: &str) -> ToolError {
    // 57014: Postgres query_canceled (statement_timeout); 70100: MariaDB
    // max_statement_time; MySQL's max_execution_time says so in its message.
    if code == "57014" || code == "70100" || message.contains("maximum statement execution time") {
        return ToolError::new(
            mcp_server_core::registry::ToolErrorKind::Timeout,
            "the statement was cancelled at the deadline",
        );
    }
    let kind = if matches!(code, "42501" | "42000") && message.contains("denied") {
        ToolError::refused
    } else {
        ToolError::invalid
    };
    kind(format!("database error {code}: {message}"))
}

pub fn no_connection() -> ToolError {
    ToolError::backend("no database connection available in time")
}

pub fn unreachable() -> ToolError {
    ToolError::backend("the database is unreachable")
}

/// A backend error as the caller may see it: the database's own message (which names the
/// table, column or privilege), never the connection string.
pub fn db_error(err: sqlx::Error) -> ToolError {
    match err {
        sqlx::Error::Database(db) => database_error(&db.code().unwrap_or_default(), db.message()),
        sqlx::Error::PoolTimedOut => no_connection(),
        sqlx::Error::Io(_) | sqlx::Error::Tls(_) | sqlx::Error::PoolClosed => unreachable(),
        sqlx::Error::ColumnDecode { index, source } => {
            ToolError::backend(format!("cannot decode column {index}: {source}"))
        }
        other => ToolError::backend(format!("database error: {other}")),
    }
}
