//! `postgres_query`: one classified statement on an allowed database, parameters bound,
//! the deadline pushed into Postgres, rows capped, SELECT results optionally cached.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use futures::TryStreamExt as _;
use futures::future::BoxFuture;
use mcp_server_core::config::ToolConfig;
use mcp_server_core::registry::{ToolCall, ToolError, ToolHandler, ToolOutput};
use mcp_server_core::sql::{Classifier, SqlDialect, StatementClass};
use serde_json::{Value, json};
use sqlx::postgres::{PgArguments, PgConnectOptions, PgPool, PgPoolOptions, PgRow};
use sqlx::{Arguments as _, Column as _, Row as _, TypeInfo as _};

use super::result_cache::ResultCache;
use super::sql_rows::{
    Column, SqlRequest, bytes_to_json, db_error, parse_request, result, to_value,
};

pub struct PostgresQuery {
    classifier: Classifier,
    pools: BTreeMap<String, PgPool>,
    allowed: Vec<String>,
    max_rows: usize,
    tier_timeout: Duration,
    cache: Option<ResultCache>,
}

/// Slack under which a call runs on a pooled connection whose session `statement_timeout`
/// is the tier's timeout; calls with less time left get `SET LOCAL statement_timeout`.
const SLACK: Duration = Duration::from_millis(20);

impl PostgresQuery {
    /// Pools are lazy: the server starts while Postgres is down, and `/readyz` says so.
    pub fn new(
        base: &PgConnectOptions,
        config: &ToolConfig,
        tier_timeout: Duration,
        pool_size: u32,
        cache: Option<ResultCache>,
    ) -> Self {
        let statement_timeout = (tier_timeout + SLACK).as_millis().to_string();
        let pools = config
            .security
            .allowed_databases
            .iter()
            .map(|db| {
                let options = base
                    .clone()
                    .database(db)
                    .application_name("mcp-local-server")
                    .options([("statement_timeout", statement_timeout.as_str())]);
                let pool = PgPoolOptions::new()
                    .max_connections(pool_size)
                    .acquire_timeout(tier_timeout)
                    // A Sync round trip on every checkout: a dead connection fails the
                    // call anyway, and the pool replaces it.
                    .test_before_acquire(false)
                    .connect_lazy_with(options);
                (db.clone(), pool)
            })
            .collect();
        PostgresQuery {
            classifier: Classifier::new(SqlDialect::Postgres),
            pools,
            allowed: config.security.allowed_databases.clone(),
            max_rows: config.options.max_rows.unwrap_or(1000),
            tier_timeout,
            cache,
        }
    }

    pub fn pools(&self) -> impl Iterator<Item = (&String, &PgPool)> {
        self.pools.iter()
    }

    async fn run(&self, call: ToolCall<'_>) -> Result<ToolOutput, ToolError> {
        let request = parse_request(call.args, &self.classifier, &self.allowed)?;
        let cacheable = request.classified.read_only && self.cache.is_some();
        if cacheable
            && let Some(cache) = &self.cache
            && let Some(hit) = cache.get("pg", &request).await
        {
            return Ok(ToolOutput::json(hit));
        }
        let pool = &self.pools[&request.database];
        let arguments = bind(&request.params)?;
        let remaining = call.remaining();
        let output = if remaining + SLACK >= self.tier_timeout {
            let mut conn = pool.acquire().await.map_err(db_error)?;
            self.execute(&mut conn, &request, arguments).await?
        } else {
            // Less time left than the session timeout covers: bound this statement alone.
            let mut tx = pool.begin().await.map_err(db_error)?;
            let ms = (call.remaining() + Duration::from_millis(5))
                .as_millis()
                .max(1);
            sqlx::query("SELECT set_config('statement_timeout', $1, true)")
                .bind(ms.to_string())
                .execute(&mut *tx)
                .await
                .map_err(db_error)?;
            let out = self.execute(&mut tx, &request, arguments).await?;
            tx.commit().await.map_err(db_error)?;
            out
        };
        if cacheable && let Some(cache) = &self.cache {
            cache.put("pg", &request, &output).await;
        }
        Ok(ToolOutput::json(output))
    }

    async fn execute(
        &self,
        conn: &mut sqlx::PgConnection,
        request: &SqlRequest<'_>,
        arguments: PgArguments,
    ) -> Result<Value, ToolError> {
        // The tool's purpose is running caller SQL: it was parsed and classified (one
        // SELECT/INSERT/UPDATE/DELETE), its values are bound, and the role is least-privilege.
        let query = sqlx::query_with(sqlx::AssertSqlSafe(request.query), arguments);
        if request.classified.class != StatementClass::Select
            && !request.query.to_ascii_lowercase().contains("returning")
        {
            let done = query.execute(conn).await.map_err(db_error)?;
            return Ok(to_value(result(
                request,
                Vec::new(),
                Vec::new(),
                false,
                Some(done.rows_affected()),
                false,
            )));
        }
        let mut stream = query.fetch(conn);
        let mut rows = Vec::new();
        let mut columns = Vec::new();
        let mut truncated = false;
        while let Some(row) = stream.try_next().await.map_err(db_error)? {
            if columns.is_empty() {
                columns = columns_of(&row);
            }
            if rows.len() == self.max_rows {
                truncated = true;
                break;
            }
            rows.push(row_to_json(&row)?);
        }
        Ok(to_value(result(
            request, columns, rows, truncated, None, false,
        )))
    }
}

impl ToolHandler for PostgresQuery {
    fn call<'a>(&'a self, call: ToolCall<'a>) -> BoxFuture<'a, Result<ToolOutput, ToolError>> {
        Box::pin(self.run(call))
    }
}

fn bind(params: &[Value]) -> Result<PgArguments, ToolError> {
    let mut args = PgArguments::default();
    for (i, value) in params.iter().enumerate() {
        let added = match value {
            Value::Null => args.add(None::<String>),
            Value::Bool(b) => args.add(*b),
            Value::Number(n) => match n.as_i64() {
                Some(i) => args.add(i),
                None => args.add(n.as_f64().unwrap_or(f64::NAN)),
            },
            Value::String(s) => args.add(s.as_str()),
            other => args.add(sqlx::types::Json(other.clone())),
        };
        added.map_err(|e| ToolError::invalid(format!("params[{i}]: {e}")))?;
    }
    Ok(args)
}

fn columns_of(row: &PgRow) -> Vec<Column> {
    row.columns()
        .iter()
        .map(|c| Column {
            name: c.name().to_owned(),
            type_name: c.type_info().name().to_owned(),
        })
        .collect()
}

fn row_to_json(row: &PgRow) -> Result<Value, ToolError> {
    let mut out = serde_json::Map::with_capacity(row.len());
    for (i, column) in row.columns().iter().enumerate() {
        out.insert(
            column.name().to_owned(),
            cell(row, i, column.type_info().name())?,
        );
    }
    Ok(Value::Object(out))
}

fn cell(row: &PgRow, i: usize, type_name: &str) -> Result<Value, ToolError> {
    use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};
    let decode_err = |e: sqlx::Error| db_error(e);
    Ok(match type_name {
        "BOOL" => json!(row.try_get::<Option<bool>, _>(i).map_err(decode_err)?),
        "INT2" => json!(row.try_get::<Option<i16>, _>(i).map_err(decode_err)?),
        "INT4" => json!(row.try_get::<Option<i32>, _>(i).map_err(decode_err)?),
        "INT8" => json!(row.try_get::<Option<i64>, _>(i).map_err(decode_err)?),
        "FLOAT4" => json!(row.try_get::<Option<f32>, _>(i).map_err(decode_err)?),
        "FLOAT8" => json!(row.try_get::<Option<f64>, _>(i).map_err(decode_err)?),
        // Exact decimals travel as strings so no precision is lost.
        "NUMERIC" => json!(
            row.try_get::<Option<rust_decimal::Decimal>, _>(i)
                .map_err(decode_err)?
                .map(|d| d.to_string())
        ),
        "JSON" | "JSONB" => row
            .try_get::<Option<Value>, _>(i)
            .map_err(decode_err)?
            .unwrap_or(Value::Null),
        "TIMESTAMPTZ" => json!(
            row.try_get::<Option<DateTime<Utc>>, _>(i)
                .map_err(decode_err)?
                .map(|t| t.to_rfc3339())
        ),
        "TIMESTAMP" => json!(
            row.try_get::<Option<NaiveDateTime>, _>(i)
                .map_err(decode_err)?
                .map(|t| t.to_string())
        ),
        "DATE" => json!(
            row.try_get::<Option<NaiveDate>, _>(i)
                .map_err(decode_err)?
                .map(|t| t.to_string())
        ),
        "TIME" => json!(
            row.try_get::<Option<NaiveTime>, _>(i)
                .map_err(decode_err)?
                .map(|t| t.to_string())
        ),
        "UUID" => json!(
            row.try_get::<Option<uuid::Uuid>, _>(i)
                .map_err(decode_err)?
                .map(|u| u.to_string())
        ),
        "BYTEA" => row
            .try_get::<Option<Vec<u8>>, _>(i)
            .map_err(decode_err)?
            .map_or(Value::Null, |b| bytes_to_json(&b)),
        _ => match row.try_get::<Option<String>, _>(i) {
            Ok(text) => json!(text),
            Err(_) => json!(format!("<{type_name} value not representable as JSON>")),
        },
    })
}

/// The base connection options from `DATABASE_URL`; the database name is replaced per pool.
pub fn base_options(url: &str) -> Result<PgConnectOptions, String> {
    url.parse::<PgConnectOptions>()
        .map_err(|e| format!("DATABASE_URL is not a valid Postgres URL: {e}"))
}

pub type Shared = Arc<PostgresQuery>;
