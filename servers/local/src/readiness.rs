//! `/readyz` for the local tier: each configured backend answers within a second.

use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use mcp_server_core::health::{Check, Readiness};

use crate::tools::file_read::FileRead;
use crate::tools::mysql::MysqlQuery;
use crate::tools::postgres::PostgresQuery;
use crate::tools::redis_conn::RedisHandle;

#[derive(Default)]
pub struct LocalReadiness {
    pub postgres: Option<Arc<PostgresQuery>>,
    pub mysql: Option<Arc<MysqlQuery>>,
    pub redis: Option<RedisHandle>,
    pub files: Option<Arc<FileRead>>,
}

const PROBE: Duration = Duration::from_secs(1);

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
                    let fut = async { sqlx::query("SELECT 1").execute(pool).await.map(|_| ()) };
                    checks.push(probe(format!("postgres/{db}"), fut).await);
                }
            }
            if let Some(my) = &self.mysql {
                for (db, pool) in my.pools() {
                    let fut = async { sqlx::query("SELECT 1").execute(pool).await.map(|_| ()) };
                    checks.push(probe(format!("mysql/{db}"), fut).await);
                }
            }
            if let Some(redis) = &self.redis {
                checks.push(probe("redis".into(), redis.ping()).await);
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
