//! Fresh moto servers, one per provisioner, and the two provisioners run against them: the
//! READY hook with an `awslocal` that is the AWS CLI pointed at moto, and provision.py as
//! setup-moto.sh runs it.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Output};
use std::time::{Duration, Instant};

use super::process::{Tools, run, scrubbed};
use crate::support::*;

/// A port of 127.0.0.1 that nothing listens on (just now).
pub(super) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// A minimal HTTP/1.0 exchange with moto's own API: (status, body).
fn http(port: u16, method: &str, path: &str, content_type: &str, body: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    write!(
        stream,
        "{method} {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\nContent-Type: {content_type}\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .expect("send");
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    let status = answer
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = answer.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    (status, body.to_owned())
}

/// A fresh moto (scripts/moto/server.py, as setup-moto.sh starts it) on a free port of
/// 127.0.0.1, stopped when dropped.
pub(super) struct Moto {
    child: Child,
    pub(super) port: u16,
}

impl Moto {
    pub(super) fn start(tools: &Tools, scratch: &Path) -> Moto {
        let port = free_port();
        let log = std::fs::File::create(scratch.join(format!("moto-{port}.log"))).expect("log");
        let child = scrubbed(&tools.python, scratch)
            .args(["scripts/moto/server.py", "-H", "127.0.0.1", "-p"])
            .arg(port.to_string())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("start scripts/moto/server.py");
        let mut moto = Moto { child, port };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if TcpStream::connect(("127.0.0.1", port)).is_ok()
                && http(port, "GET", "/moto-api/", "text/plain", "")
                    .1
                    .to_lowercase()
                    .contains("moto")
            {
                return moto;
            }
            if let Ok(Some(status)) = moto.child.try_wait() {
                panic!("moto on port {port} exited ({status}); see its log in {scratch:?}");
            }
            assert!(
                Instant::now() < deadline,
                "moto on port {port} did not answer within 30 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub(super) fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// moto runs no Lambda code without Docker: told so, its Invoke echoes the payload,
    /// which is what the READY hook's check of each function expects (LocalStack runs
    /// handlers.py, which echoes too).
    pub(super) fn run_lambda_without_docker(&self) {
        let (status, body) = http(
            self.port,
            "POST",
            "/moto-api/config",
            "application/json",
            r#"{"lambda": {"use_docker": false}}"#,
        );
        assert!(
            (200..300).contains(&status) && body.contains(r#""lambda": {"use_docker": false}"#),
            "moto config answered {status}: {body}"
        );
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A directory holding `awslocal`: the AWS CLI at the endpoint in `$ENDPOINT`.
fn awslocal(tools: &Tools, scratch: &Path) -> PathBuf {
    let bin = scratch.join("bin");
    std::fs::create_dir_all(&bin).expect("bin");
    let shim = bin.join("awslocal");
    std::fs::write(
        &shim,
        format!(
            "#!/bin/sh\nexec '{}' --endpoint-url \"$ENDPOINT\" \"$@\"\n",
            tools.aws.display()
        ),
    )
    .expect("write awslocal");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&shim, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    bin
}

/// Runs the READY hook as LocalStack would, with `awslocal` = the AWS CLI at `endpoint`
/// trying each request `attempts` times.
pub(super) fn run_hook(
    tools: &Tools,
    scratch: &Path,
    endpoint: &str,
    markers: &Path,
    attempts: u32,
) -> Output {
    let bin = awslocal(tools, scratch);
    let path = std::env::join_paths(std::iter::once(bin).chain(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    )))
    .expect("PATH");
    run(
        "the READY hook",
        scrubbed(Path::new("bash"), scratch)
            .arg("docker/localstack/ready.d/10-mcp-slo.sh")
            .env("PATH", path)
            .env("ENDPOINT", endpoint)
            .env("MCP_SLO_SEED", root().join("docker/localstack/seed"))
            .env("MCP_SLO_MARKER_DIR", markers)
            .env("AWS_MAX_ATTEMPTS", attempts.to_string()),
        Duration::from_secs(300),
    )
}

/// Runs provision.py, with its checks, against `moto` as setup-moto.sh runs it.
pub(super) fn run_provision(tools: &Tools, scratch: &Path, moto: &Moto) -> Output {
    run(
        "scripts/moto/provision.py",
        scrubbed(&tools.python, scratch)
            .args(["scripts/moto/provision.py", "--endpoint"])
            .arg(moto.endpoint())
            .arg("--state-file")
            .arg(scratch.join("creds.json")),
        Duration::from_secs(180),
    )
}
