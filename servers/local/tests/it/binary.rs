//! The `mcp-local-server` binary itself, started the way users start it.

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

use sqlx::Connection as _;

use crate::support::{TestServer, database_url, repo_root, require_services, superuser_url};

/// A free loopback port (bound, then released for the server to take).
pub(crate) fn free_port() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap()
}

/// `mcp-local-server --mode stateless --audit off` with `args`, on `addr`, answering once
/// `/healthz` does.
pub(crate) async fn start(
    addr: SocketAddr,
    args: &[&str],
    database_url: &str,
) -> (Running, TestServer) {
    start_with(addr, args, &[("DATABASE_URL", database_url)]).await
}

/// [`start`] with the environment `env` (an `--audit` in `args` replaces `--audit off`).
pub(crate) async fn start_with(
    addr: SocketAddr,
    args: &[&str],
    env: &[(&str, &str)],
) -> (Running, TestServer) {
    let audit: &[&str] = if args.contains(&"--audit") {
        &[]
    } else {
        &["--audit", "off"]
    };
    let child = Running(Some(
        Command::new(env!("CARGO_BIN_EXE_mcp-local-server"))
            .current_dir(repo_root())
            .args(["--mode", "stateless"])
            .args(audit)
            .args(args)
            .args(["--listen", &addr.to_string()])
            .env("DATABASE_URL", database_url())
            .env("RUST_LOG", "warn")
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the binary starts"),
    ));
    let server = TestServer::at(addr);
    let started = Instant::now();
    loop {
        let up = server
            .http
            .get(format!("{}/healthz", server.base))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success());
        if up {
            return (child, server);
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{args:?}: not up after 20 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The server process, killed if the test ends without stopping it.
pub(crate) struct Running(Option<Child>);

impl Running {
    /// Sends the process a signal (`kill -SIG`).
    pub(crate) fn signal(&self, signal: &str) {
        let pid = self.0.as_ref().expect("running").id().to_string();
        let sent = Command::new("kill").args([signal, &pid]).status().unwrap();
        assert!(sent.success(), "kill {signal} {pid}");
    }

    /// SIGTERM, then the exit status and standard error.
    pub(crate) async fn stop(mut self) -> std::process::Output {
        let child = self.0.take().expect("running");
        let pid = child.id().to_string();
        let killed = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(killed.success());
        tokio::task::spawn_blocking(move || child.wait_with_output())
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

async fn order(server: &TestServer, id: i64) {
    let answer = server
        .call(
            "postgres_query",
            json!({"query": "SELECT id FROM orders WHERE id = $1", "params": [id]}),
        )
        .await;
    assert!(answer.is_ok(), "{}", answer.body);
    assert_eq!(answer.structured()["rows"], json!([{"id": id}]));
}

/// One worker serves on the main thread, several on threads of their own: either way a
/// call is served and SIGTERM ends the process cleanly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_serves_and_stops_on_sigterm_with_one_worker_or_several() {
    require_services!();
    for workers in ["1", "2"] {
        let (child, server) = start(free_port(), &["--workers", workers], &database_url()).await;
        order(&server, 7).await;
        let output = child.stop().await;
        assert!(
            output.status.success(),
            "--workers {workers}: exit {:?}, stderr:\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

/// Connections are dealt to the workers in turn, and each worker calls Postgres on its
/// own share of the pool, one connection at least: with `--pool-size 1`, four HTTP
/// connections used one after the other open one Postgres connection with one worker and
/// two with two workers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_worker_serves_its_connections_on_its_own_share_of_the_pool() {
    require_services!();
    for (workers, expected) in [("1", 1), ("2", 2)] {
        let name = format!("mcp-it-{}", uuid::Uuid::new_v4().simple());
        let base = database_url();
        let join = if base.contains('?') { '&' } else { '?' };
        let url = format!("{base}{join}application_name={name}");
        let addr = free_port();
        let (child, first) = start(addr, &["--workers", workers, "--pool-size", "1"], &url).await;
        let callers = [
            first,
            TestServer::at(addr),
            TestServer::at(addr),
            TestServer::at(addr),
        ];
        for id in 1..=3 {
            for (n, caller) in callers.iter().enumerate() {
                order(caller, id * 10 + n as i64).await;
            }
        }
        let mut admin = sqlx::PgConnection::connect(&superuser_url())
            .await
            .expect("superuser connects");
        let open: i64 =
            sqlx::query_scalar("SELECT count(*) FROM pg_stat_activity WHERE application_name = $1")
                .bind(&name)
                .fetch_one(&mut admin)
                .await
                .expect("pg_stat_activity");
        assert_eq!(open, expected, "--workers {workers}: Postgres connections");
        assert!(child.stop().await.status.success(), "--workers {workers}");
    }
}

/// A security field the tier cannot honour stops the binary before it listens, naming the
/// field, instead of being parsed and ignored.
#[test]
fn a_config_asking_for_what_the_tier_cannot_do_is_refused_at_start_up() {
    let root = repo_root();
    let config = std::fs::read_to_string(root.join("config/local_mcp_server_config.yaml"))
        .expect("the committed config");
    assert!(
        config.contains("sandbox: true"),
        "the fixture edits sandbox"
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.yaml");
    std::fs::write(&path, config.replacen("sandbox: true", "sandbox: false", 1)).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_mcp-local-server"))
        .arg("--config")
        .arg(&path)
        .args(["--listen", &free_port().to_string(), "--embedded"])
        .arg(dir.path().join("embedded"))
        .current_dir(&root)
        .stdin(Stdio::null())
        .output()
        .expect("the binary runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(
        stderr.contains("the config asks for what the local tier cannot do")
            && stderr.contains(".security.sandbox: false is not supported"),
        "{stderr}"
    );
}
