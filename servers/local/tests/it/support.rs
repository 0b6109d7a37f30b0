//! Starting an in-process local tier on 127.0.0.1:0 with real backends.

use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

use mcp_local_server::{Backends, Options, build, lifted};
use mcp_server_core::audit::AuditTarget;
use mcp_server_core::config::{
    Boundaries, NetworkIsolation, RateStore, ServerConfig, TierLimits, Transport,
};
use mcp_server_core::stack::Mode;
use serde_json::{Value, json};
use tokio::sync::oneshot;

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn env_or(key: &str, default: &str) -> String {
    std::env::var(key)
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| default.to_owned())
}

pub fn database_url() -> String {
    env_or("DATABASE_URL", "postgres://mcp_agent@127.0.0.1:5432/agents")
}
pub fn superuser_url() -> String {
    env_or(
        "MCP_SLO_PG_ADMIN_URL",
        "postgres://postgres@127.0.0.1:5432/agents",
    )
}
pub fn mysql_url() -> String {
    env_or(
        "MYSQL_URL",
        "mysql://mcp_agent:mcp_agent_dev@127.0.0.1:3306/agents",
    )
}
pub fn redis_url() -> String {
    env_or("REDIS_URL", "redis://127.0.0.1:6379/0")
}

/// True when Postgres, MariaDB and Redis answer on their loopback ports. When they do not:
/// panics if `MCP_SLO_REQUIRE_SERVICES=1`, else prints why the test is skipped.
pub fn services(test: &str) -> bool {
    let missing: Vec<&str> = [("PostgreSQL", 5432), ("MariaDB", 3306), ("Redis", 6379)]
        .into_iter()
        .filter(|(_, port)| {
            let addr = SocketAddr::from(([127, 0, 0, 1], *port));
            TcpStream::connect_timeout(&addr, Duration::from_millis(500)).is_err()
        })
        .map(|(name, _)| name)
        .collect();
    if missing.is_empty() {
        return true;
    }
    let message = format!(
        "{test}: needs {} on 127.0.0.1 (run scripts/setup-services.sh)",
        missing.join(", ")
    );
    if std::env::var("MCP_SLO_REQUIRE_SERVICES").as_deref() == Ok("1") {
        panic!("{message}");
    }
    eprintln!("SKIPPED {message}");
    false
}

macro_rules! require_services {
    () => {
        if !$crate::support::services(module_path!()) {
            return;
        }
    };
}
pub(crate) use require_services;

pub fn seed_limits() -> TierLimits {
    Boundaries::load(&repo_root().join("config/deployment_boundaries.yaml"))
        .expect("committed boundaries load")
        .local
}

/// A file tree for `file_read`: `<root>/data/reports`, `<root>/data/config`, and
/// `<root>/outside` (never allowed).
pub struct DataRoot {
    pub dir: tempfile::TempDir,
}

impl DataRoot {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        std::fs::create_dir_all(root.join("data/reports")).unwrap();
        std::fs::create_dir_all(root.join("data/config")).unwrap();
        std::fs::create_dir_all(root.join("outside")).unwrap();
        std::fs::write(
            root.join("data/reports/daily.csv"),
            "date,orders\n2026-11-01,965\n",
        )
        .unwrap();
        std::fs::write(root.join("data/config/app.yaml"), "service: orders\n").unwrap();
        std::fs::write(
            root.join("data/reports/chart.png"),
            b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR",
        )
        .unwrap();
        std::fs::write(root.join("outside/secret.txt"), "TOP-SECRET").unwrap();
        DataRoot { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

pub struct Setup {
    pub mode: Mode,
    pub limits: TierLimits,
    /// Where the rate limit is kept (the replica unless a test shares it through Redis).
    pub rate_store: RateStore,
    pub pool_size: Option<u32>,
    pub key_prefix: String,
    pub cache_ttl: Option<Duration>,
    pub audit: Option<PathBuf>,
    /// Serve from embedded backends in this directory instead of the real services.
    pub embedded: Option<PathBuf>,
    /// The transport's limits instead of the committed ones (defaults).
    pub transport: Option<Transport>,
    /// `allow_loopback_origins` instead of the committed config's (on: loopback-bound).
    pub allow_loopback_origins: Option<bool>,
    /// Serve the admin endpoint (`network...admin.enabled`).
    pub admin: bool,
    /// Where to listen instead of `127.0.0.1:0`.
    pub bind: Option<SocketAddr>,
}

impl Setup {
    /// The committed configs with the seed's limits, stateless JSON answers.
    pub fn new() -> Self {
        Setup {
            mode: Mode::Stateless,
            limits: seed_limits(),
            rate_store: RateStore::Local,
            pool_size: None,
            key_prefix: format!("mcp:test:{}:", uuid::Uuid::new_v4().simple()),
            cache_ttl: None,
            audit: None,
            embedded: None,
            transport: None,
            allow_loopback_origins: None,
            admin: false,
            bind: None,
        }
    }

    /// The seed's limits with all but the ones `keep` names lifted.
    pub fn only_limit(keep: impl Fn(&mut TierLimits, &TierLimits)) -> Self {
        let seed = seed_limits();
        let mut limits = lifted(&seed);
        keep(&mut limits, &seed);
        Setup {
            limits,
            ..Setup::new()
        }
    }

    pub async fn start(self, data: &DataRoot) -> TestServer {
        let root = repo_root();
        let mut config =
            ServerConfig::load(&root.join("config/local_mcp_server_config.yaml")).unwrap();
        for tool in &mut config.tools {
            tool.options.key_prefix = Some(self.key_prefix.clone());
            if tool.name == "postgres_query" {
                tool.options.result_cache_ttl = self.cache_ttl;
            }
        }
        let mut network =
            NetworkIsolation::load(&root.join("config/network_isolation.yaml")).unwrap();
        if let Some(transport) = self.transport.clone() {
            network.local_server.transport = transport;
        }
        network.local_server.admin.enabled = self.admin;
        if let Some(allow) = self.allow_loopback_origins {
            network.local_server.allow_loopback_origins = allow;
        }
        let server = build(Options {
            config,
            limits: self.limits,
            rate_store: self.rate_store,
            network: network.local_server,
            mode: self.mode,
            audit: self
                .audit
                .clone()
                .map_or(AuditTarget::Off, AuditTarget::File),
            backends: match &self.embedded {
                Some(dir) => Backends {
                    embedded: Some(dir.clone()),
                    ..Backends::default()
                },
                None => Backends {
                    database_url: Some(database_url()),
                    mysql_url: Some(mysql_url()),
                    redis_url: Some(redis_url()),
                    data_root: Some(data.path().to_path_buf()),
                    embedded: None,
                },
            },
            pool_size: self.pool_size,
            pg_pipeline_depth: None,
            workers: std::num::NonZeroUsize::MIN,
            bare: false,
            config_file: None,
        })
        .expect("server builds");
        let bind = self.bind.unwrap_or(SocketAddr::from(([127, 0, 0, 1], 0)));
        let listener = tokio::net::TcpListener::bind(bind).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(server.serve(listener, async {
            let _ = rx.await;
        }));
        TestServer {
            url: format!("http://{addr}/mcp"),
            base: format!("http://{addr}"),
            key_prefix: self.key_prefix,
            stop: Some(tx),
            task: Some(task),
            http: reqwest::Client::new(),
        }
    }
}

pub struct TestServer {
    pub url: String,
    pub base: String,
    pub key_prefix: String,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    pub http: reqwest::Client,
}

/// One raw JSON-RPC answer.
pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
    pub elapsed: Duration,
}

impl Answer {
    pub fn error_code(&self) -> Option<i64> {
        self.body["error"]["code"].as_i64()
    }
    pub fn is_tool_error(&self) -> bool {
        self.body["result"]["isError"] == json!(true)
    }
    pub fn is_ok(&self) -> bool {
        self.body["result"]["isError"] == json!(false)
    }
    pub fn text(&self) -> String {
        self.body["result"]["content"][0]["text"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }
    pub fn structured(&self) -> &Value {
        &self.body["result"]["structuredContent"]
    }
    /// Asserts a tool error whose text contains `needle`; `what` names the case.
    #[track_caller]
    pub fn assert_refused_with(&self, what: &str, needle: &str) {
        assert!(self.is_tool_error(), "{what}: {}", self.body);
        assert!(
            self.text().contains(needle),
            "{what}: {:?} should say {needle:?}",
            self.text()
        );
    }
}

impl TestServer {
    /// A client for a server running elsewhere (a spawned binary); `stop` does nothing.
    pub fn at(addr: SocketAddr) -> TestServer {
        TestServer {
            url: format!("http://{addr}/mcp"),
            base: format!("http://{addr}"),
            key_prefix: String::new(),
            stop: None,
            task: None,
            http: reqwest::Client::new(),
        }
    }

    /// POSTs one JSON-RPC message (stateless mode) and parses the answer.
    pub async fn post(&self, body: Value) -> Answer {
        self.post_raw(
            body.to_string().into_bytes(),
            &[("content-type", "application/json")],
        )
        .await
    }

    pub async fn post_raw(&self, body: Vec<u8>, headers: &[(&str, &str)]) -> Answer {
        let started = std::time::Instant::now();
        let mut request = self
            .http
            .post(&self.url)
            .header("accept", "application/json, text/event-stream")
            .header("mcp-protocol-version", "2025-11-25")
            .body(body);
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        let response = request.send().await.expect("request sent");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.expect("body read");
        let body = parse_body(&text);
        Answer {
            status,
            headers,
            body,
            elapsed: started.elapsed(),
        }
    }

    /// Opens an MCP session (initialize + initialized) and returns its id.
    pub async fn open_session(&self) -> String {
        let init = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "it", "version": "1"}}});
        let answer = self.post(init).await;
        let session = answer.headers["mcp-session-id"]
            .to_str()
            .expect("session id")
            .to_owned();
        let note = json!({"jsonrpc": "2.0", "method": "notifications/initialized"}).to_string();
        let done = self
            .post_raw(
                note.into_bytes(),
                &[
                    ("content-type", "application/json"),
                    ("mcp-session-id", &session),
                ],
            )
            .await;
        assert_eq!(done.status, 202, "initialized accepted");
        session
    }

    /// A tool call inside a session (the answer arrives as an SSE event).
    pub async fn call_in(&self, session: &str, tool: &str, arguments: Value) -> Answer {
        let body = json!({
            "jsonrpc": "2.0",
            "id": uuid::Uuid::new_v4().to_string(),
            "method": "tools/call",
            "params": { "name": tool, "arguments": arguments },
        });
        self.post_raw(
            body.to_string().into_bytes(),
            &[
                ("content-type", "application/json"),
                ("mcp-session-id", session),
            ],
        )
        .await
    }

    pub async fn call(&self, tool: &str, arguments: Value) -> Answer {
        self.post(json!({
            "jsonrpc": "2.0",
            "id": uuid::Uuid::new_v4().to_string(),
            "method": "tools/call",
            "params": { "name": tool, "arguments": arguments },
        }))
        .await
    }

    pub async fn metrics_text(&self) -> String {
        self.http
            .get(format!("{}/metrics", self.base))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    pub async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = tokio::time::timeout(Duration::from_secs(10), task).await;
        }
    }
}

/// A JSON body, or the JSON-RPC message carried by an SSE stream.
fn parse_body(text: &str) -> Value {
    if let Ok(value) = serde_json::from_str(text) {
        return value;
    }
    text.lines()
        .filter_map(|line| line.strip_prefix("data:"))
        .filter_map(|data| serde_json::from_str::<Value>(data.trim()).ok())
        .find(|v| v.get("jsonrpc").is_some())
        .unwrap_or_else(|| Value::String(text.to_owned()))
}

/// Reads one value from the `/metrics` text.
pub fn metric(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(name) && l[name.len()..].starts_with([' ', '{']))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}
