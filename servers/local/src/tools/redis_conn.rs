//! A Redis connection made on first use and kept (the connection manager reconnects by
//! itself), so the server starts while Redis is down and recovers when it returns.

use std::sync::Arc;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tokio::sync::OnceCell;

#[derive(Clone)]
pub struct RedisHandle {
    client: redis::Client,
    conn: Arc<OnceCell<ConnectionManager>>,
}

impl RedisHandle {
    pub fn new(url: &str) -> Result<Self, String> {
        let client =
            redis::Client::open(url).map_err(|e| format!("REDIS_URL is not valid: {e}"))?;
        Ok(RedisHandle {
            client,
            conn: Arc::new(OnceCell::new()),
        })
    }

    pub async fn get(&self) -> Result<ConnectionManager, redis::RedisError> {
        let client = self.client.clone();
        self.conn
            .get_or_try_init(|| async move {
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(Duration::from_secs(2)))
                    .set_response_timeout(Some(Duration::from_secs(5)))
                    .set_number_of_retries(1);
                client.get_connection_manager_with_config(config).await
            })
            .await
            .cloned()
    }

    pub async fn ping(&self) -> Result<(), String> {
        let mut conn = self.get().await.map_err(|e| e.to_string())?;
        redis::cmd("PING")
            .query_async::<String>(&mut conn)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}
