//! `postgres_query`: one classified statement on an allowed database, parameters bound by
//! the types Postgres gives them, the deadline pushed into Postgres, rows capped, SELECT
//! results optionally cached.
//!
//! Read-only statements run pipelined on shared connections (`pg_pool.rs`) under the
//! session `statement_timeout`, which is the tier's timeout. Writes run alone on a
//! connection, so a write is never queued behind other calls' statements past its
//! deadline. A call with less time left than the tier's timeout runs alone in a
//! transaction with `SET LOCAL statement_timeout` set to what is left.

use std::collections::BTreeMap;
use std::time::Duration;

use futures::TryStreamExt as _;
use futures::future::BoxFuture;
use mcp_server_core::config::ToolConfig;
use mcp_server_core::registry::{ToolCall, ToolError, ToolHandler, ToolOutput};
use mcp_server_core::sql::{Classifier, SqlDialect};
use serde_json::Value;
use tokio_postgres::Config;

use super::pg_pool::{Lease, PgConnections, PoolError, PoolShape};
use super::pg_values::{bind, row_to_json, type_name};
use super::result_cache::ResultCache;
use super::sql_rows::{
    Column, SqlRequest, database_error, no_connection, parse_request, result, unreachable,
};

pub struct PostgresQuery {
    classifier: Classifier,
    pools: BTreeMap<String, PgConnections>,
    allowed: Vec<String>,
    max_rows: usize,
    tier_timeout: Duration,
    cache: Option<ResultCache>,
}

/// Slack under which a call runs under the session `statement_timeout` (the tier's
/// timeout); calls with less time left get `SET LOCAL statement_timeout`.
const SLACK: Duration = Duration::from_millis(20);

impl PostgresQuery {
    /// Connections are made on first use: the server starts while Postgres is down, and
    /// `/readyz` says so.
    pub fn new(
        base: &Config,
        config: &ToolConfig,
        tier_timeout: Duration,
        shape: PoolShape,
        cache: Option<ResultCache>,
    ) -> Self {
        let session = format!(
            "-c statement_timeout={}",
            (tier_timeout + SLACK).as_millis()
        );
        let pools = config
            .security
            .allowed_databases
            .iter()
            .map(|db| {
                let mut options = base.clone();
                options.dbname(db).options(&session);
                // An application_name given in DATABASE_URL is kept.
                if options.get_application_name().is_none() {
                    options.application_name("mcp-local-server");
                }
                let pool = PgConnections::new(options, shape, tier_timeout);
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

    pub fn pools(&self) -> impl Iterator<Item = (&String, &PgConnections)> {
        self.pools.iter()
    }

    /// Every primary-key column of the tables in `schemas` of `database` that this role
    /// may read, in table and key order: (schema, table, column, type). From the catalog:
    /// `information_schema.table_constraints` shows a role only the tables it holds more
    /// than SELECT on, so a read-only role would see none.
    pub async fn primary_keys(
        &self,
        database: &str,
        schemas: &[String],
    ) -> Result<Vec<[String; 4]>, String> {
        const KEYS: &str = "SELECT n.nspname::text, c.relname::text, a.attname::text, \
            format_type(a.atttypid, NULL) \
            FROM pg_index i \
            JOIN pg_class c ON c.oid = i.indrelid \
            JOIN pg_namespace n ON n.oid = c.relnamespace \
            JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord) ON true \
            JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum \
            WHERE i.indisprimary AND n.nspname = ANY($1::text[]) \
              AND has_table_privilege(c.oid, 'SELECT') \
            ORDER BY 1, 2, k.ord";
        let pool = self
            .pools
            .get(database)
            .ok_or_else(|| format!("{database:?} is not an allowed database"))?;
        let lease = pool
            .exclusive()
            .await
            .map_err(|e| format!("{database}: {e}"))?;
        let rows = lease.client().query(KEYS, &[&schemas]).await.map_err(|e| {
            let detail = e
                .as_db_error()
                .map_or_else(|| e.to_string(), |d| d.message().to_owned());
            format!("{database}: reading the primary keys: {detail}")
        })?;
        Ok(rows
            .iter()
            .map(|r| [r.get(0), r.get(1), r.get(2), r.get(3)])
            .collect())
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
        let output = if call.remaining() + SLACK >= self.tier_timeout {
            let lease = if request.classified.read_only {
                pool.shared().await
            } else {
                pool.exclusive().await
            }
            .map_err(pool_error)?;
            self.execute(&lease, &request).await?
        } else {
            let lease = pool.exclusive().await.map_err(pool_error)?;
            self.bounded(&lease, &request, call.remaining()).await?
        };
        if cacheable && let Some(cache) = &self.cache {
            cache.put("pg", &request, &output).await;
        }
        Ok(ToolOutput::json(output))
    }

    /// The statement in a transaction of its own whose `statement_timeout` is `left`.
    async fn bounded(
        &self,
        lease: &Lease,
        request: &SqlRequest<'_>,
        left: Duration,
    ) -> Result<Value, ToolError> {
        // Cut off (deadline, error) before COMMIT or ROLLBACK answered: the transaction may
        // still be open, so the connection is closed rather than handed on.
        struct Open<'a>(&'a Lease, bool);
        impl Drop for Open<'_> {
            fn drop(&mut self) {
                if !self.1 {
                    self.0.discard();
                }
            }
        }
        let mut open = Open(lease, false);
        let ms = (left + Duration::from_millis(5)).as_millis().max(1);
        let client = lease.client();
        client
            .batch_execute(&format!("BEGIN; SET LOCAL statement_timeout = {ms}"))
            .await
            .map_err(pg_error)?;
        let out = self.execute(lease, request).await;
        let end = if out.is_ok() { "COMMIT" } else { "ROLLBACK" };
        client.batch_execute(end).await.map_err(pg_error)?;
        open.1 = true;
        out
    }

    async fn execute(&self, lease: &Lease, request: &SqlRequest<'_>) -> Result<Value, ToolError> {
        // The tool's purpose is running caller SQL: it was parsed and classified (one
        // SELECT/INSERT/UPDATE/DELETE), its values are bound, and the role is least-privilege.
        let statement = lease.statement(request.query).await.map_err(pg_error)?;
        let params = bind(statement.params(), &request.params)?;
        let client = lease.client();
        if statement.columns().is_empty() {
            let done = client
                .execute_raw(&statement, params.iter())
                .await
                .map_err(pg_error)?;
            return Ok(result(
                request,
                Vec::new(),
                Vec::new(),
                false,
                Some(done),
                false,
            ));
        }
        let columns = statement
            .columns()
            .iter()
            .map(|c| Column {
                name: c.name().to_owned(),
                type_name: type_name(c.type_()),
            })
            .collect();
        let stream = client
            .query_raw(&statement, params.iter())
            .await
            .map_err(pg_error)?;
        futures::pin_mut!(stream);
        let mut rows = Vec::new();
        let mut truncated = false;
        while let Some(row) = stream.try_next().await.map_err(pg_error)? {
            if rows.len() == self.max_rows {
                truncated = true;
                break;
            }
            rows.push(row_to_json(&row)?);
        }
        Ok(result(request, columns, rows, truncated, None, false))
    }
}

impl ToolHandler for PostgresQuery {
    fn call<'a>(&'a self, call: ToolCall<'a>) -> BoxFuture<'a, Result<ToolOutput, ToolError>> {
        Box::pin(self.run(call))
    }
}

/// A Postgres error as the caller may see it: the database's own message (which names the
/// table, column or privilege), never the connection settings.
fn pg_error(err: tokio_postgres::Error) -> ToolError {
    if let Some(db) = err.as_db_error() {
        return database_error(db.code().code(), db.message());
    }
    if err.is_closed() {
        return unreachable();
    }
    ToolError::backend(format!("database error: {err}"))
}

fn pool_error(err: PoolError) -> ToolError {
    match err {
        PoolError::Timeout(_) => no_connection(),
        PoolError::Connect(_) => unreachable(),
    }
}

/// The base connection settings from `DATABASE_URL` (a `postgres://` URL or `key=value`
/// pairs); the database name is set per pool.
pub fn base_options(url: &str) -> Result<Config, String> {
    url.parse::<Config>()
        .map_err(|e| format!("DATABASE_URL is not a valid Postgres URL: {e}"))
}
