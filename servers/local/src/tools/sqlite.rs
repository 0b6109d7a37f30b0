//! The SQL tools on embedded backends: SQLite through sqlx, one file per allowed database,
//! created with the fixtures of `scripts/sql/sqlite_fixtures.sql` on first use. The same
//! classifier, parameter binding, row cap, result shape and cache as on Postgres and MySQL.
//! The deadline is enforced inside SQLite: a progress handler interrupts the statement
//! (SQLITE_INTERRUPT) once the call's time is up, so a runaway query stops running.
//!
//! What differs from the real databases: SQLite's SQL dialect (no `pg_sleep`, no `::`
//! casts) and no roles or grants (the fixtures leave out the table the server's role must
//! not read).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use futures::TryStreamExt as _;
use futures::future::BoxFuture;
use mcp_server_core::config::ToolConfig;
use mcp_server_core::registry::{ToolCall, ToolError, ToolErrorKind, ToolHandler, ToolOutput};
use mcp_server_core::sql::{Classifier, SqlDialect, StatementClass, numbered_placeholders};
use serde_json::{Value, json};
use sqlx::sqlite::{
    SqliteArguments, SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool,
    SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::{Column as _, Row as _, TypeInfo as _, ValueRef as _};
use tokio::sync::OnceCell;

use super::result_cache::ResultCache;
use super::sql_rows::{
    Column, SqlRequest, bind_json, bytes_to_json, db_error, parse_request, result,
};

const FIXTURES: &str = include_str!("../../../../scripts/sql/sqlite_fixtures.sql");

/// SQLite virtual-machine steps between two looks at the clock (a few µs of work).
const PROGRESS_STEPS: i32 = 1000;

/// The SQL tool's flavour: its classifier dialect, placeholders and cache namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavour {
    /// `postgres_query`: `$1, $2, ...` placeholders.
    Postgres,
    /// `mysql_query`: `?` placeholders.
    MySql,
}

impl Flavour {
    fn engine(self) -> &'static str {
        match self {
            Flavour::Postgres => "pg",
            Flavour::MySql => "mysql",
        }
    }
}

struct Database {
    pool: SqlitePool,
    seeded: OnceCell<()>,
    rows: u64,
}

pub struct SqliteQuery {
    flavour: Flavour,
    classifier: Classifier,
    databases: BTreeMap<String, Database>,
    allowed: Vec<String>,
    max_rows: usize,
    cache: Option<ResultCache>,
}

/// Orders rows in each fixture database, as `scripts/setup-services.sh` loads them.
pub fn fixture_rows(database: &str) -> u64 {
    if database == "production" {
        1000
    } else {
        100_000
    }
}

impl SqliteQuery {
    /// One lazily opened file per allowed database: `<dir>/<tool>-<database>.sqlite`.
    pub fn new(
        dir: &Path,
        flavour: Flavour,
        config: &ToolConfig,
        tier_timeout: Duration,
        pool_size: u32,
        cache: Option<ResultCache>,
    ) -> Self {
        let databases = config
            .security
            .allowed_databases
            .iter()
            .map(|db| {
                let options = SqliteConnectOptions::new()
                    .filename(dir.join(format!("{}-{db}.sqlite", config.name)))
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .busy_timeout(tier_timeout);
                let pool = SqlitePoolOptions::new()
                    .max_connections(pool_size)
                    .acquire_timeout(tier_timeout)
                    .test_before_acquire(false)
                    .connect_lazy_with(options);
                let database = Database {
                    pool,
                    seeded: OnceCell::new(),
                    rows: fixture_rows(db),
                };
                (db.clone(), database)
            })
            .collect();
        SqliteQuery {
            flavour,
            classifier: Classifier::new(match flavour {
                Flavour::Postgres => SqlDialect::Postgres,
                Flavour::MySql => SqlDialect::MySql,
            }),
            databases,
            allowed: config.security.allowed_databases.clone(),
            max_rows: config.options.max_rows.unwrap_or(1000),
            cache,
        }
    }

    /// The database, its fixtures loaded (once per server).
    async fn database(&self, name: &str) -> Result<&Database, ToolError> {
        let db = self
            .databases
            .get(name)
            .ok_or_else(|| ToolError::refused(format!("database {name:?} is not allowed")))?;
        db.seeded
            .get_or_try_init(|| async {
                let sql = FIXTURES.replace(":rows", &db.rows.to_string());
                sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                    .execute(&db.pool)
                    .await
                    .map(|_| ())
                    .map_err(|e| {
                        ToolError::backend(format!("cannot load the embedded fixtures: {e}"))
                    })
            })
            .await?;
        Ok(db)
    }

    /// For `/readyz`: every database opens, holds its fixtures and answers.
    pub async fn ping(&self) -> Result<(), String> {
        for name in self.databases.keys() {
            let db = self
                .database(name)
                .await
                .map_err(|e| format!("{name}: {e}"))?;
            let mut conn = db
                .pool
                .acquire()
                .await
                .map_err(|e| format!("{name}: {e}"))?;
            interrupt_at(&mut conn, Instant::now() + Duration::from_secs(1))
                .await
                .map_err(|e| format!("{name}: {e}"))?;
            sqlx::query("SELECT 1 FROM orders LIMIT 1")
                .execute(&mut *conn)
                .await
                .map_err(|e| format!("{name}: {e}"))?;
        }
        Ok(())
    }

    pub fn databases(&self) -> impl Iterator<Item = &String> {
        self.databases.keys()
    }

    async fn run(&self, call: ToolCall<'_>) -> Result<ToolOutput, ToolError> {
        let request = parse_request(call.args, &self.classifier, &self.allowed)?;
        let engine = self.flavour.engine();
        let cacheable = request.classified.read_only && self.cache.is_some();
        if cacheable
            && let Some(cache) = &self.cache
            && let Some(hit) = cache.get(engine, &request).await
        {
            return Ok(ToolOutput::json(hit));
        }
        let sql = match self.flavour {
            Flavour::Postgres => numbered_placeholders(request.query)
                .map_err(|e| ToolError::invalid(e.to_string()))?,
            Flavour::MySql => request.query.to_owned(),
        };
        let arguments = bind_json::<sqlx::Sqlite>(&request.params)?;
        let db = self.database(&request.database).await?;
        let mut conn = db.pool.acquire().await.map_err(db_error)?;
        // Set on every call: a connection whose last call was dropped at its deadline
        // still carries that call's (expired) handler.
        interrupt_at(&mut conn, Instant::now() + call.remaining())
            .await
            .map_err(db_error)?;
        let output = self
            .execute(&mut conn, &request, &sql, arguments)
            .await
            .map_err(|e| match e {
                sqlx::Error::Database(db) if interrupted(db.code().as_deref(), db.message()) => {
                    ToolError::new(
                        ToolErrorKind::Timeout,
                        "the statement was interrupted at the deadline",
                    )
                }
                other => db_error(other),
            })?;
        if cacheable && let Some(cache) = &self.cache {
            cache.put(engine, &request, &output).await;
        }
        Ok(ToolOutput::json(output))
    }

    async fn execute(
        &self,
        conn: &mut SqliteConnection,
        request: &SqlRequest<'_>,
        sql: &str,
        arguments: SqliteArguments,
    ) -> Result<Value, sqlx::Error> {
        // Caller SQL by design: parsed and classified (one SELECT/INSERT/UPDATE/DELETE), its
        // values bound, never interpolated.
        let query = sqlx::query_with(sqlx::AssertSqlSafe(sql.to_owned()), arguments);
        if request.classified.class != StatementClass::Select
            && !request.query.to_ascii_lowercase().contains("returning")
        {
            let done = query.execute(conn).await?;
            return Ok(result(
                request,
                Vec::new(),
                Vec::new(),
                false,
                Some(done.rows_affected()),
                false,
            ));
        }
        let mut stream = query.fetch(conn);
        let mut rows = Vec::new();
        let mut columns = Vec::new();
        let mut truncated = false;
        while let Some(row) = stream.try_next().await? {
            if columns.is_empty() {
                columns = columns_of(&row);
            }
            if rows.len() == self.max_rows {
                truncated = true;
                break;
            }
            rows.push(row_to_json(&row)?);
        }
        Ok(result(request, columns, rows, truncated, None, false))
    }
}

/// Interrupts whatever runs on `conn` once `deadline` has passed.
async fn interrupt_at(conn: &mut SqliteConnection, deadline: Instant) -> Result<(), sqlx::Error> {
    conn.lock_handle()
        .await?
        .set_progress_handler(PROGRESS_STEPS, move || Instant::now() < deadline);
    Ok(())
}

/// SQLITE_INTERRUPT (9), as the progress handler ends a statement.
fn interrupted(code: Option<&str>, message: &str) -> bool {
    code == Some("9") || message.contains("interrupted")
}

impl ToolHandler for SqliteQuery {
    fn call<'a>(&'a self, call: ToolCall<'a>) -> BoxFuture<'a, Result<ToolOutput, ToolError>> {
        Box::pin(self.run(call))
    }
}

fn columns_of(row: &SqliteRow) -> Vec<Column> {
    row.columns()
        .iter()
        .map(|c| Column {
            name: c.name().to_owned(),
            type_name: c.type_info().name().to_owned(),
        })
        .collect()
}

/// SQLite types each value, not each column: a cell is decoded by its own storage class.
fn row_to_json(row: &SqliteRow) -> Result<Value, sqlx::Error> {
    let mut out = serde_json::Map::with_capacity(row.len());
    for (i, column) in row.columns().iter().enumerate() {
        let raw = row.try_get_raw(i)?;
        let value = if raw.is_null() {
            Value::Null
        } else {
            let class = raw.type_info().name().to_owned();
            match class.as_str() {
                "INTEGER" | "BOOLEAN" => json!(row.try_get_unchecked::<i64, _>(i)?),
                "REAL" | "NUMERIC" => json!(row.try_get_unchecked::<f64, _>(i)?),
                "BLOB" => bytes_to_json(&row.try_get_unchecked::<Vec<u8>, _>(i)?),
                _ => json!(row.try_get_unchecked::<String, _>(i)?),
            }
        };
        out.insert(column.name().to_owned(), value);
    }
    Ok(Value::Object(out))
}

#[cfg(test)]
mod tests {
    #[test]
    fn interruption_is_recognised_by_code_or_message() {
        assert!(super::interrupted(Some("9"), "interrupted"));
        assert!(super::interrupted(None, "interrupted"));
        assert!(!super::interrupted(Some("1"), "no such table: nope"));
    }
}
