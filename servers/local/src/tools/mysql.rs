//! `mysql_query`: the `postgres_query` contract on MySQL/MariaDB. The deadline is pushed into
//! the server: MariaDB's `SET STATEMENT max_statement_time = s FOR <statement>` bounds any
//! statement; on MySQL the session's `max_execution_time` bounds SELECTs.

use std::collections::BTreeMap;
use std::time::Duration;

use futures::TryStreamExt as _;
use futures::future::BoxFuture;
use mcp_server_core::config::ToolConfig;
use mcp_server_core::registry::{ToolCall, ToolError, ToolHandler, ToolOutput};
use mcp_server_core::sql::{Classifier, SqlDialect, StatementClass};
use serde_json::{Value, json};
use sqlx::mysql::{MySqlConnectOptions, MySqlPool, MySqlPoolOptions, MySqlRow};
use sqlx::{Column as _, Row as _, TypeInfo as _};
use tokio::sync::OnceCell;

use super::sql_rows::{Column, bind_json, bytes_to_json, db_error, parse_request, result};

pub struct MysqlQuery {
    classifier: Classifier,
    pools: BTreeMap<String, MySqlPool>,
    allowed: Vec<String>,
    max_rows: usize,
    mariadb: OnceCell<bool>,
}

impl MysqlQuery {
    pub fn new(
        base: &MySqlConnectOptions,
        config: &ToolConfig,
        tier_timeout: Duration,
        pool_size: u32,
    ) -> Self {
        let pools = config
            .security
            .allowed_databases
            .iter()
            .map(|db| {
                let pool = MySqlPoolOptions::new()
                    .max_connections(pool_size)
                    .acquire_timeout(tier_timeout)
                    .test_before_acquire(false)
                    .connect_lazy_with(base.clone().database(db));
                (db.clone(), pool)
            })
            .collect();
        MysqlQuery {
            classifier: Classifier::new(SqlDialect::MySql),
            pools,
            allowed: config.security.allowed_databases.clone(),
            max_rows: config.options.max_rows.unwrap_or(1000),
            mariadb: OnceCell::new(),
        }
    }

    pub fn pools(&self) -> impl Iterator<Item = (&String, &MySqlPool)> {
        self.pools.iter()
    }

    async fn is_mariadb(&self, pool: &MySqlPool) -> Result<bool, ToolError> {
        self.mariadb
            .get_or_try_init(|| async {
                let version: String = sqlx::query_scalar("SELECT VERSION()")
                    .fetch_one(pool)
                    .await
                    .map_err(db_error)?;
                Ok(version.contains("MariaDB"))
            })
            .await
            .copied()
    }

    async fn run(&self, call: ToolCall<'_>) -> Result<ToolOutput, ToolError> {
        let request = parse_request(call.args, &self.classifier, &self.allowed)?;
        let pool = &self.pools[&request.database];
        let mariadb = self.is_mariadb(pool).await?;
        let args = bind_json::<sqlx::MySql>(&request.params)?;
        // Tenths of a second, rounded up, so few distinct statements are prepared.
        let tenths = call.remaining().as_millis().div_ceil(100).max(1);
        let sql = if mariadb {
            format!(
                "SET STATEMENT max_statement_time = {}.{} FOR {}",
                tenths / 10,
                tenths % 10,
                request.query
            )
        } else {
            request.query.to_owned()
        };
        let mut conn = pool.acquire().await.map_err(db_error)?;
        if !mariadb {
            // An integer we computed: nothing from the caller reaches this string.
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "SET SESSION max_execution_time = {}",
                tenths * 100
            )))
            .execute(&mut *conn)
            .await
            .map_err(db_error)?;
        }
        // Caller SQL, parsed and classified as one SELECT/INSERT/UPDATE/DELETE, values bound,
        // least-privilege user; the prefix is built from an integer.
        let query = sqlx::query_with(sqlx::AssertSqlSafe(sql), args);
        if request.classified.class != StatementClass::Select {
            let done = query.execute(&mut *conn).await.map_err(db_error)?;
            return Ok(ToolOutput::json(result(
                &request,
                Vec::new(),
                Vec::new(),
                false,
                Some(done.rows_affected()),
                false,
            )));
        }
        let mut stream = query.fetch(&mut *conn);
        let mut rows = Vec::new();
        let mut columns = Vec::new();
        let mut truncated = false;
        while let Some(row) = stream.try_next().await.map_err(db_error)? {
            if columns.is_empty() {
                columns = row
                    .columns()
                    .iter()
                    .map(|c| Column {
                        name: c.name().to_owned(),
                        type_name: c.type_info().name().to_owned(),
                    })
                    .collect();
            }
            if rows.len() == self.max_rows {
                truncated = true;
                break;
            }
            rows.push(row_to_json(&row)?);
        }
        Ok(ToolOutput::json(result(
            &request, columns, rows, truncated, None, false,
        )))
    }
}

impl ToolHandler for MysqlQuery {
    fn call<'a>(&'a self, call: ToolCall<'a>) -> BoxFuture<'a, Result<ToolOutput, ToolError>> {
        Box::pin(self.run(call))
    }
}

fn row_to_json(row: &MySqlRow) -> Result<Value, ToolError> {
    use chrono::{NaiveDate, NaiveDateTime};
    let mut out = serde_json::Map::with_capacity(row.len());
    for (i, column) in row.columns().iter().enumerate() {
        let type_name = column.type_info().name();
        let value = match type_name {
            "BOOLEAN" => json!(row.try_get::<Option<bool>, _>(i).map_err(db_error)?),
            "TINYINT" | "SMALLINT" | "INT" | "MEDIUMINT" | "BIGINT" => {
                json!(row.try_get::<Option<i64>, _>(i).map_err(db_error)?)
            }
            "TINYINT UNSIGNED" | "SMALLINT UNSIGNED" | "INT UNSIGNED" | "MEDIUMINT UNSIGNED"
            | "BIGINT UNSIGNED" => json!(row.try_get::<Option<u64>, _>(i).map_err(db_error)?),
            "FLOAT" => json!(row.try_get::<Option<f32>, _>(i).map_err(db_error)?),
            "DOUBLE" => json!(row.try_get::<Option<f64>, _>(i).map_err(db_error)?),
            "DECIMAL" => json!(
                row.try_get::<Option<rust_decimal::Decimal>, _>(i)
                    .map_err(db_error)?
                    .map(|d| d.to_string())
            ),
            "DATETIME" | "TIMESTAMP" => json!(
                row.try_get::<Option<NaiveDateTime>, _>(i)
                    .map_err(db_error)?
                    .map(|t| t.to_string())
            ),
            "DATE" => json!(
                row.try_get::<Option<NaiveDate>, _>(i)
                    .map_err(db_error)?
                    .map(|d| d.to_string())
            ),
            "JSON" => row
                .try_get::<Option<Value>, _>(i)
                .map_err(db_error)?
                .unwrap_or(Value::Null),
            "BINARY" | "VARBINARY" | "BLOB" | "TINYBLOB" | "MEDIUMBLOB" | "LONGBLOB" => row
                .try_get::<Option<Vec<u8>>, _>(i)
                .map_err(db_error)?
                .map_or(Value::Null, |b| bytes_to_json(&b)),
            _ => match row.try_get::<Option<String>, _>(i) {
                Ok(text) => json!(text),
                Err(_) => json!(format!("<{type_name} value not representable as JSON>")),
            },
        };
        out.insert(column.name().to_owned(), value);
    }
    Ok(Value::Object(out))
}

pub fn base_options(url: &str) -> Result<MySqlConnectOptions, String> {
    url.parse::<MySqlConnectOptions>()
        .map_err(|e| format!("MYSQL_URL is not a valid MySQL URL: {e}"))
}
