//! Starting an in-process AWS tier on 127.0.0.1:0 against moto.

use std::path::{Path, PathBuf};
use std::time::Duration;

use mcp_aws_server::auth::BearerAuth;
use mcp_aws_server::{AwsServer, Options, build};
use mcp_server_core::audit::AuditTarget;
use mcp_server_core::config::{
    Boundaries, Callers, Listener, NetworkIsolation, ServerConfig, TierLimits,
};
use mcp_server_core::stack::Mode;
use serde_json::{Value, json};
use tokio::sync::oneshot;

pub const CONSOLE_TOKEN: &str = "test-console-token-0123456789";
pub const READER_TOKEN: &str = "test-reader-token-0123456789";

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The moto endpoint from `scripts/setup-moto.sh`, or why there is none.
pub fn endpoint(test: &str) -> Option<String> {
    let found = std::env::var("AWS_ENDPOINT_URL")
        .ok()
        .filter(|e| e.starts_with("http://127.0.0.1"));
    let up = found.as_ref().is_some_and(|e| {
        let addr = e.trim_start_matches("http://").trim_end_matches('/');
        addr.parse().ok().is_some_and(|a| {
            std::net::TcpStream::connect_timeout(&a, Duration::from_millis(500)).is_ok()
        })
    });
    if up {
        return found;
    }
    let message =
        format!("{test}: needs moto on 127.0.0.1 (eval \"$(bash scripts/setup-moto.sh)\")");
    if std::env::var("MCP_SLO_REQUIRE_SERVICES").as_deref() == Ok("1") {
        panic!("{message}");
    }
    eprintln!("SKIPPED {message}");
    None
}

macro_rules! require_moto {
    () => {
        match $crate::support::endpoint(module_path!()) {
            Some(e) => e,
            None => return,
        }
    };
}
pub(crate) use require_moto;

pub fn seed_limits() -> TierLimits {
    Boundaries::load(&repo_root().join("config/deployment_boundaries.yaml"))
        .unwrap()
        .aws_managed
}

pub struct Setup {
    pub config: ServerConfig,
    pub limits: TierLimits,
    pub role_duration: Duration,
    pub refresh_window: Duration,
    pub audit: Option<PathBuf>,
    pub endpoint_url: Option<String>,
    /// The seed's `network.aws_server`.
    pub network: Listener,
    /// Where `config` was read from (families follow it), if anywhere.
    pub config_file: Option<PathBuf>,
}

/// The committed config of the AWS tier, families and all.
pub fn committed_config() -> ServerConfig {
    ServerConfig::load(&repo_root().join("config/aws_managed_mcp_config.yaml")).unwrap()
}

impl Setup {
    /// The committed config's tools without its families (the tests of families add
    /// them: [`Setup::families`]), so listings hold the seed's three tools.
    pub fn new() -> Self {
        let mut config = committed_config();
        config.families.clear();
        Setup {
            config,
            limits: seed_limits(),
            role_duration: Duration::from_secs(3600),
            refresh_window: Duration::from_secs(300),
            audit: None,
            endpoint_url: None,
            network: NetworkIsolation::load(&repo_root().join("config/network_isolation.yaml"))
                .unwrap()
                .aws_server,
            config_file: None,
        }
    }

    /// With the committed config's tool families.
    pub fn families(mut self) -> Self {
        self.config.families = committed_config().families;
        self
    }

    /// Runs `tool` under another role.
    pub fn role(mut self, tool: &str, role: &str) -> Self {
        for t in &mut self.config.tools {
            if t.name == tool {
                t.security.iam_role = Some(format!("arn:aws:iam::123456789012:role/{role}"));
            }
        }
        self
    }

    pub async fn build(self) -> AwsServer {
        let auth = BearerAuth::new(Callers::default())
            .with_env_tokens(&format!(
                "console={CONSOLE_TOKEN},reader={READER_TOKEN}:s3_read"
            ))
            .unwrap();
        build(Options {
            config: self.config,
            limits: self.limits,
            rate_store: Default::default(),
            network: self.network,
            mode: Mode::Stateless,
            audit: self.audit.map_or(AuditTarget::Off, AuditTarget::File),
            auth,
            role_duration: self.role_duration,
            refresh_window: self.refresh_window,
            endpoint_url: self.endpoint_url,
            config_file: self.config_file,
        })
        .await
        .expect("AWS tier builds")
    }

    pub async fn start(self) -> TestServer {
        TestServer::serve(self.build().await).await
    }
}

/// The `mcp-aws-server` binary, started the way users start it, stateless on a free
/// loopback port, with `config`, the repository's boundaries and network, the console and
/// reader callers (`MCP_AWS_CALLER_TOKENS`), `--audit audit`, `RUST_LOG=log` and `env`; its
/// standard error written to `stderr` (a file: a pipe nobody reads would fill and stall
/// it). Not yet answering: wait for `/readyz`.
pub fn spawn_binary(
    endpoint: &str,
    config: &Path,
    (audit, log): (&str, &str),
    env: &[(&str, &str)],
    stderr: &Path,
) -> (Running, TestServer) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let file = |name: &str| repo_root().join("config").join(name);
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_mcp-aws-server"))
        .arg("--config")
        .arg(config)
        .arg("--boundaries")
        .arg(file("deployment_boundaries.yaml"))
        .arg("--network")
        .arg(file("network_isolation.yaml"))
        .arg("--callers")
        .arg("/nonexistent/callers.yaml")
        .args(["--audit", audit, "--mode", "stateless"])
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .env("AWS_ENDPOINT_URL", endpoint)
        .env(
            "MCP_AWS_CALLER_TOKENS",
            format!("console={CONSOLE_TOKEN},reader={READER_TOKEN}:s3_read"),
        )
        .env("RUST_LOG", log)
        .envs(env.iter().copied())
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(stderr).expect("a file for standard error"))
        .spawn()
        .expect("the binary starts");
    (Running(Some(child)), TestServer::at(port))
}

/// A server process, killed if the test ends without stopping it.
pub struct Running(Option<std::process::Child>);

impl Running {
    /// Sends the process a signal (`kill -SIG`).
    pub fn signal(&self, signal: &str) {
        let pid = self.0.as_ref().expect("running").id().to_string();
        let sent = std::process::Command::new("kill")
            .args([signal, &pid])
            .status()
            .unwrap();
        assert!(sent.success(), "kill {signal} {pid}");
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        self.0
            .as_mut()
            .is_some_and(|c| c.try_wait().ok().flatten().is_none())
    }

    /// SIGTERM, then its exit status.
    pub async fn stop(mut self) -> std::process::ExitStatus {
        self.signal("-TERM");
        let mut child = self.0.take().expect("running");
        tokio::task::spawn_blocking(move || child.wait())
            .await
            .unwrap()
            .unwrap()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

pub struct TestServer {
    pub url: String,
    pub base: String,
    pub http: reqwest::Client,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Answer {
    pub fn is_ok(&self) -> bool {
        self.body["result"]["isError"] == json!(false)
    }
    pub fn is_tool_error(&self) -> bool {
        self.body["result"]["isError"] == json!(true)
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
}

impl TestServer {
    /// A server already listening on 127.0.0.1:`port` (a process of its own).
    pub fn at(port: u16) -> TestServer {
        TestServer {
            url: format!("http://127.0.0.1:{port}/mcp"),
            base: format!("http://127.0.0.1:{port}"),
            http: reqwest::Client::new(),
            stop: None,
            task: None,
        }
    }

    /// `/readyz` once it answers 200, or its last answer after 20 s (a server still
    /// starting answers nothing).
    pub async fn ready(&self) -> (u16, String) {
        let started = std::time::Instant::now();
        loop {
            let answer = self.http.get(format!("{}/readyz", self.base)).send().await;
            let last = match answer {
                Ok(r) => (r.status().as_u16(), r.text().await.unwrap_or_default()),
                Err(e) => (0, e.to_string()),
            };
            if last.0 == 200 || started.elapsed() > Duration::from_secs(20) {
                return last;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn serve(server: AwsServer) -> TestServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(server.serve(listener, async {
            let _ = rx.await;
        }));
        TestServer {
            url: format!("http://{addr}/mcp"),
            base: format!("http://{addr}"),
            http: reqwest::Client::new(),
            stop: Some(tx),
            task: Some(task),
        }
    }

    pub async fn post_as(&self, token: Option<&str>, body: Value) -> Answer {
        self.post_with(token, body, &[("mcp-protocol-version", "2025-11-25")])
            .await
    }

    /// A POST with `headers` besides the content type and `Accept` (and the token's).
    pub async fn post_with(
        &self,
        token: Option<&str>,
        body: Value,
        headers: &[(&str, &str)],
    ) -> Answer {
        let mut request = self
            .http
            .post(&self.url)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .body(body.to_string());
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(t) = token {
            request = request.header("authorization", format!("Bearer {t}"));
        }
        let response = request.send().await.expect("request sent");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap();
        Answer {
            status,
            headers,
            body: serde_json::from_str(&text).unwrap_or(Value::String(text)),
        }
    }

    pub async fn call_as(&self, token: &str, tool: &str, arguments: Value) -> Answer {
        self.post_as(
            Some(token),
            json!({"jsonrpc": "2.0", "id": uuid::Uuid::new_v4().to_string(), "method": "tools/call", "params": {"name": tool, "arguments": arguments}}),
        )
        .await
    }

    pub async fn call(&self, tool: &str, arguments: Value) -> Answer {
        self.call_as(CONSOLE_TOKEN, tool, arguments).await
    }

    pub async fn get(&self, path: &str) -> (u16, String) {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    }

    pub async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = tokio::time::timeout(Duration::from_secs(15), task).await;
        }
    }
}

/// Queues one canned RDS Data API result in moto.
pub async fn queue_rds_result(endpoint: &str, result: Value) {
    let r = reqwest::Client::new()
        .post(format!(
            "{endpoint}/moto-api/static/rds-data/statement-results"
        ))
        .json(&json!({ "account_id": "123456789012", "region": "ap-northeast-1", "results": [result] }))
        .send()
        .await
        .expect("moto answers");
    assert!(
        r.status().is_success(),
        "queueing a canned RDS result: {}",
        r.status()
    );
}
