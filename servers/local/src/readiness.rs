//! `/readyz` for the local tier: each configured backend answers within a second.

use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use mcp_server_core::health::{Check, Readiness};

use crate::tools::cache_store::CacheStore;
use crate::tools::file_read::FileRead;
use crate::tools::mysql::MysqlQuery;
use crate::tools::postgres::PostgresQuery;
use crate::tools::sqlite::SqliteQuery;

#[derive(Default)]
pub struct LocalReadiness {
    pub postgres: Option<Arc<PostgresQuery>>,
    pub mysql: Option<Arc<MysqlQuery>>,
    pub sqlite: Vec<Arc<SqliteQuery>>,
    pub cache: Option<CacheStore>,
    pub files: Option<Arc<FileRead>>,
    /// Ready once every tool family has loaded.
    pub families: Option<Arc<mcp_server_core::families::Families>>,
}

const PROBE: Duration = Duration::from_secs(1);
const FIXTURES: Duration = Duration::from_secs(30);

async fn probe<F, E>(name: String, fut: F) -> Check
where
    F: std::future::Future<Output = Result<(), E>>,
    E: std::fmt::Display,
{
    match tokio::time::timeout(PROBE, fut).await {
        Ok(Ok(())) => Check {
            name,
            ok: true,
            detail: "ok".into(),
        },
        Ok(Err(e)) => Check {
            name,
            ok: false,
            detail: e.to_string(),
        },
        Err(_) => Check {
            name,
            ok: false,
            detail: "no answer within 1 s".into(),
        },
    }
}

impl Readiness for LocalReadiness {
    fn check(&self) -> BoxFuture<'_, Vec<Check>> {
        Box::pin(async move {
            let mut checks = Vec::new();
            if let Some(pg) = &self.postgres {
                for (db, pool) in pg.pools() {
                    let fut = pool.ping();
                    checks.push(probe(format!("postgres/{db}"), fut).await);
                }
            }
            if let Some(my) = &self.mysql {
                for (db, pool) in my.pools() {
                    let fut = async { sqlx::query("SELECT 1").execute(pool).await.map(|_| ()) };
                    checks.push(probe(format!("mysql/{db}"), fut).await);
                }
            }
            for lite in &self.sqlite {
                let names: Vec<&str> = lite.databases().map(String::as_str).collect();
                let name = format!("sqlite/{}", names.join(","));
                // The first look loads the fixtures (~1 s for 100 000 rows): wait longer.
                let check = match tokio::time::timeout(FIXTURES, lite.ping()).await {
                    Ok(Ok(())) => Check {
                        name,
                        ok: true,
                        detail: "ok".into(),
                    },
                    Ok(Err(detail)) => Check {
                        name,
                        ok: false,
                        detail,
                    },
                    Err(_) => Check {
                        name,
                        ok: false,
                        detail: format!("fixtures not loaded within {} s", FIXTURES.as_secs()),
                    },
                };
                checks.push(check);
            }
            if let Some(cache) = &self.cache {
                checks.push(probe(cache.kind().into(), cache.ping()).await);
            }
            if let Some(families) = &self.families {
                checks.extend(families.checks());
            }
            if let Some(files) = &self.files {
                let problems = files.problems();
                checks.push(Check {
                    name: "file_read".into(),
                    ok: problems.is_empty(),
                    detail: if problems.is_empty() {
                        "ok".into()
                    } else {
                        problems.join("; ")
                    },
                });
            }
            checks
        })
    }
}
