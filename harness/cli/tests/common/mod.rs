//! Shared by the CLI's integration tests: the repository root and the service checks that
//! fail (rather than skip) when `MCP_SLO_REQUIRE_SERVICES=1`.

#![allow(dead_code)]

use mcp_slo_backends::{Choice, Probe, Service, System, decide};
use mcp_slo_core::result::BackendSource;
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Resolution as `mcp-slo run` does it (environment, then loopback), without the steps
/// that would stand something else in for the real services.
struct RealOnly;

impl Probe for RealOnly {
    fn env(&self, key: &str) -> Option<String> {
        System.env(key)
    }
    fn listening(&self, port: u16) -> bool {
        System.listening(port)
    }
    fn docker(&self) -> bool {
        false
    }
}

/// The URL of a real backend, from the harness's own resolution; `None` when only an
/// embedded stand-in is left.
pub fn backend_url(service: Service) -> Option<String> {
    decide(&[service], Choice::Auto, &RealOnly)
        .ok()?
        .pop()
        .filter(|d| d.source != BackendSource::Embedded)
        .and_then(|d| d.url)
}

/// True when Postgres, MariaDB and Redis resolve to real services. When they do not:
/// panics if `MCP_SLO_REQUIRE_SERVICES=1`, else prints why the test is skipped.
pub fn services() -> bool {
    let up = [Service::Postgres, Service::Mysql, Service::Cache]
        .into_iter()
        .all(|s| backend_url(s).is_some());
    if !up {
        assert!(
            std::env::var("MCP_SLO_REQUIRE_SERVICES").as_deref() != Ok("1"),
            "Postgres, MariaDB and Redis must run on 127.0.0.1 (scripts/setup-services.sh)"
        );
        eprintln!(
            "SKIPPED: needs Postgres, MariaDB and Redis on 127.0.0.1 (scripts/setup-services.sh)"
        );
    }
    up
}

/// The moto endpoint from scripts/setup-moto.sh, or `None` (a failure when services are
/// required).
pub fn moto() -> Option<String> {
    let endpoint = std::env::var("AWS_ENDPOINT_URL")
        .ok()
        .filter(|e| e.contains("127.0.0.1"));
    let up = endpoint.as_deref().is_some_and(|e| {
        e.trim_start_matches("http://")
            .parse::<SocketAddr>()
            .is_ok_and(|a| TcpStream::connect_timeout(&a, Duration::from_millis(500)).is_ok())
    });
    if !up {
        assert!(
            std::env::var("MCP_SLO_REQUIRE_SERVICES").as_deref() != Ok("1"),
            "moto must run on 127.0.0.1 with AWS_ENDPOINT_URL set: eval \"$(bash scripts/setup-moto.sh)\""
        );
        eprintln!("SKIPPED: needs moto (eval \"$(bash scripts/setup-moto.sh)\")");
        return None;
    }
    endpoint
}

/// `mcp-slo run SCENARIO --out OUT` (from the repository root, with `env` added); its exit
/// code, stderr and the result it wrote.
pub fn run_scenario(
    scenario: &Path,
    out: &Path,
    env: &[(&str, &str)],
) -> (i32, String, serde_json::Value) {
    let output = Command::new(env!("CARGO_BIN_EXE_mcp-slo"))
        .args(["run", scenario.to_str().unwrap(), "--out"])
        .arg(out)
        .arg("--no-progress-bar")
        .envs(env.iter().copied())
        .current_dir(root())
        .output()
        .expect("mcp-slo runs");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let result = std::fs::read_to_string(out.join("result.json"))
        .unwrap_or_else(|e| panic!("no result.json ({e}); stderr:\n{stderr}"));
    (
        output.status.code().unwrap_or(-1),
        stderr,
        serde_json::from_str(&result).unwrap(),
    )
}

/// Every way `result` breaks `harness/report/result.schema.json`, as messages.
pub fn schema_errors(result: &serde_json::Value) -> Vec<String> {
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("harness/report/result.schema.json")).unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).expect("schema compiles");
    validator
        .iter_errors(result)
        .map(|e| e.to_string())
        .collect()
}

/// Runs `serve` on a runtime of its own thread (two workers) for the rest of the test
/// process, and returns what it sends once it is ready (at most 30 s later).
pub fn on_own_runtime<T, F, Fut>(serve: F) -> T
where
    T: Send + 'static,
    F: FnOnce(std::sync::mpsc::Sender<T>) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()>,
{
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(serve(tx));
    });
    rx.recv_timeout(Duration::from_secs(30))
        .expect("the server started")
}
