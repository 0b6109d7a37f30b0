//! Targets the harness runs itself: started as child processes on a free loopback port,
//! health-checked, asked for their build profile, and stopped with SIGTERM (their graceful
//! shutdown) after the run.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use mcp_slo_core::result::BuildProfile;
use mcp_slo_core::spec::{Mode, ServerKind};
use tokio::process::{Child, Command};

#[derive(Debug, thiserror::Error)]
pub enum SpawnError {
    #[error(
        "cannot find the {binary} binary: set {env}, put it on PATH, or build it (cargo build -p {package})"
    )]
    NotFound {
        binary: &'static str,
        env: &'static str,
        package: &'static str,
    },
    #[error("cannot start {binary}: {source}")]
    Start {
        binary: PathBuf,
        source: std::io::Error,
    },
    #[error("{binary} exited during start-up ({status}); its last output:\n{output}")]
    Exited {
        binary: PathBuf,
        status: String,
        output: String,
    },
    #[error("{binary} did not become ready within {secs}s: {detail}")]
    NotReady {
        binary: PathBuf,
        secs: u64,
        detail: String,
    },
}

pub struct Spawned {
    pub url: String,
    /// Its process now (a restart replaces it), shared with a sampler that follows it.
    pid: Arc<AtomicU32>,
    pub binary: PathBuf,
    /// As the server states it once ready (`None`: it did not say).
    pub build_profile: Option<BuildProfile>,
    child: Child,
    log: PathBuf,
    launch: Launch,
}

fn names(server: &ServerKind) -> (&'static str, &'static str, &'static str) {
    match server {
        ServerKind::Local => (
            "mcp-local-server",
            "MCP_SLO_LOCAL_SERVER",
            "mcp-local-server",
        ),
        ServerKind::Aws => ("mcp-aws-server", "MCP_SLO_AWS_SERVER", "mcp-aws-server"),
    }
}

/// The server binary: `$MCP_SLO_LOCAL_SERVER`, next to this executable, or on PATH.
pub fn find_binary(server: &ServerKind) -> Result<PathBuf, SpawnError> {
    let (binary, env, package) = names(server);
    if let Some(path) = std::env::var_os(env).map(PathBuf::from) {
        return Ok(path);
    }
    let beside = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(Path::to_path_buf))
        .into_iter()
        .flat_map(|dir| [dir.join(binary), dir.join("..").join(binary)]);
    let on_path = std::env::var_os("PATH")
        .map(|p| {
            std::env::split_paths(&p)
                .map(|d| d.join(binary))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    beside
        .chain(on_path)
        .find(|p| p.is_file())
        .ok_or(SpawnError::NotFound {
            binary,
            env,
            package,
        })
}

fn free_port() -> std::io::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

/// How a spawned server was started, to start it again the same way.
struct Launch {
    binary: PathBuf,
    port: u16,
    mode: Mode,
    args: Vec<String>,
    env: Vec<(String, Option<String>)>,
}

impl Launch {
    /// Starts the process, its output appended to `log`.
    fn start(&self, log: &Path) -> Result<Child, SpawnError> {
        let failed = |source| SpawnError::Start {
            binary: self.binary.clone(),
            source,
        };
        let log_file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .map_err(failed)?;
        let err_file = log_file.try_clone().map_err(failed)?;
        let mut command = Command::new(&self.binary);
        for (key, value) in &self.env {
            match value {
                Some(value) => command.env(key, value),
                None => command.env_remove(key),
            };
        }
        command
            .arg("--listen")
            .arg(format!("127.0.0.1:{}", self.port))
            .arg("--mode")
            .arg(self.mode.as_str())
            .args(&self.args)
            .stdin(Stdio::null())
            .stdout(Stdio::from(log_file))
            .stderr(Stdio::from(err_file))
            .kill_on_drop(true)
            .spawn()
            .map_err(failed)
    }
}

/// Starts a server, waits until `/readyz` says its backends answer and asks it for its
/// build profile. `env` sets (`Some`) or removes (`None`) variables of the harness's
/// environment for it.
pub async fn spawn(
    server: &ServerKind,
    mode: Mode,
    args: &[String],
    env: &[(String, Option<String>)],
    log_dir: &Path,
) -> Result<Spawned, SpawnError> {
    let binary = find_binary(server)?;
    let port = free_port().map_err(|source| SpawnError::Start {
        binary: binary.clone(),
        source,
    })?;
    let log = log_dir.join(format!("{}-{port}.log", names(server).0));
    let _ = std::fs::remove_file(&log);
    let launch = Launch {
        binary: binary.clone(),
        port,
        mode,
        args: args.to_vec(),
        env: env.to_vec(),
    };
    let child = launch.start(&log)?;
    let pid = child.id().unwrap_or(0);
    let mut spawned = Spawned {
        url: format!("http://127.0.0.1:{port}/mcp"),
        pid: Arc::new(AtomicU32::new(pid)),
        binary,
        build_profile: None,
        child,
        log,
        launch,
    };
    spawned.wait_ready(port, READY).await?;
    spawned.build_profile = crate::build_info::build_profile(&spawned.url).await;
    Ok(spawned)
}

/// How long a server may take to become ready.
const READY: Duration = Duration::from_secs(20);

impl Spawned {
    fn tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(15)..].join("\n")
    }

    async fn wait_ready(&mut self, port: u16, limit: Duration) -> Result<(), SpawnError> {
        let client = reqwest::Client::new();
        let url = format!("http://127.0.0.1:{port}/readyz");
        let deadline = tokio::time::Instant::now() + limit;
        let mut detail = "no answer".to_owned();
        while tokio::time::Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(SpawnError::Exited {
                    binary: self.binary.clone(),
                    status: status.to_string(),
                    output: self.tail(),
                });
            }
            match client
                .get(&url)
                .timeout(Duration::from_secs(3))
                .send()
                .await
            {
                Ok(r) if r.status().is_success() => return Ok(()),
                Ok(r) => detail = r.text().await.unwrap_or_default(),
                Err(e) => detail = e.to_string(),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err(SpawnError::NotReady {
            binary: self.binary.clone(),
            secs: limit.as_secs(),
            detail,
        })
    }

    /// A crash and a restart: SIGKILL, `down` of nothing listening, then the same server
    /// started again on the same address (its log continues), ready once `/readyz` says so.
    pub async fn restart(&mut self, down: Duration) -> Result<(), SpawnError> {
        let _ = self.child.kill().await;
        tokio::time::sleep(down).await;
        self.child = self.launch.start(&self.log)?;
        self.pid
            .store(self.child.id().unwrap_or(0), Ordering::Relaxed);
        self.wait_ready(self.launch.port, READY).await
    }

    /// Its process, now and after any restart.
    pub fn pid_source(&self) -> crate::sampler::Pid {
        crate::sampler::Pid::Following(self.pid.clone())
    }

    /// Its process now.
    pub fn pid(&self) -> u32 {
        self.pid.load(Ordering::Relaxed)
    }

    /// SIGTERM, then up to `grace` for the graceful shutdown, then SIGKILL.
    pub async fn stop(mut self, grace: Duration) {
        if let Some(pid) = rustix::process::Pid::from_raw(self.pid() as i32) {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
        }
        if tokio::time::timeout(grace, self.child.wait())
            .await
            .is_err()
        {
            let _ = self.child.kill().await;
        }
    }
}
