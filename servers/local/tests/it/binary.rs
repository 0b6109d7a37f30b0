//! The `mcp-local-server` binary itself, started the way users start it.

use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::support::{TestServer, database_url, repo_root, require_services};

/// A free loopback port (bound, then released for the server to take).
fn free_port() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap()
}

/// Each runtime flavour (`--workers 1` is a current-thread runtime) serves a call and
/// stops cleanly on SIGTERM.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_serves_and_stops_on_sigterm_with_one_worker_or_several() {
    require_services!();
    for workers in ["1", "2"] {
        let addr = free_port();
        let child = Command::new(env!("CARGO_BIN_EXE_mcp-local-server"))
            .current_dir(repo_root())
            .args([
                "--mode",
                "stateless",
                "--audit",
                "off",
                "--workers",
                workers,
            ])
            .args(["--listen", &addr.to_string()])
            .env("DATABASE_URL", database_url())
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the binary starts");
        let server = TestServer::at(addr);
        let started = Instant::now();
        let answer = loop {
            let up = server
                .http
                .get(format!("{}/healthz", server.base))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if up {
                break server
                    .call(
                        "postgres_query",
                        json!({"query": "SELECT id FROM orders WHERE id = $1", "params": [7]}),
                    )
                    .await;
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "--workers {workers}: not up after 20 s"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        assert!(answer.is_ok(), "--workers {workers}: {}", answer.body);
        assert_eq!(answer.structured()["rows"], json!([{"id": 7}]));

        let pid = child.id().to_string();
        let killed = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(killed.success());
        let output = tokio::task::spawn_blocking(move || child.wait_with_output())
            .await
            .unwrap()
            .unwrap();
        assert!(
            output.status.success(),
            "--workers {workers}: exit {:?}, stderr:\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
}
