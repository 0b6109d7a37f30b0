//! The programs the test runs: where moto's venv and the AWS CLI are, an environment with
//! none of the caller's AWS settings, and a run with a time limit and its output kept.

use std::io::Read;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::support::*;

pub(super) struct Tools {
    /// moto's venv python (boto3 for provision.py and inventory.py, moto for server.py).
    pub(super) python: PathBuf,
    pub(super) aws: PathBuf,
}

fn cache_dir(var: &str, leaf: &str) -> PathBuf {
    std::env::var_os(var).map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(std::env::var_os("HOME").unwrap_or_default())
            .join(".cache/mcp-slo/".to_owned() + leaf)
    })
}

pub(super) fn tools(test: &str) -> Option<Tools> {
    let venv = cache_dir("MCP_SLO_VENV", "venv");
    let tools = Tools {
        python: venv.join("bin/python"),
        aws: cache_dir("MCP_SLO_AWSCLI", "awscli").join("venv/bin/aws"),
    };
    if tools.python.is_file() && venv.join("bin/moto_server").is_file() && tools.aws.is_file() {
        return Some(tools);
    }
    let message = format!(
        "{test}: needs moto's venv at {} (bash scripts/setup-moto.sh) and the AWS CLI at {} \
         (bash scripts/moto/install-awscli.sh)",
        venv.display(),
        tools.aws.display()
    );
    if std::env::var("MCP_SLO_REQUIRE_SERVICES").as_deref() == Ok("1") {
        panic!("{message}");
    }
    eprintln!("SKIPPED {message}");
    None
}

/// A command with no AWS_* variable of the test's environment (setup-moto.sh exports the
/// shared server's endpoint and keys) and no AWS config file of the user's.
pub(super) fn scrubbed(program: &Path, scratch: &Path) -> Command {
    let mut cmd = Command::new(program);
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("AWS_") {
            cmd.env_remove(k);
        }
    }
    cmd.env("AWS_CONFIG_FILE", scratch.join("no-aws-config"))
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            scratch.join("no-aws-credentials"),
        )
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .current_dir(root())
        .stdin(Stdio::null());
    cmd
}

/// Runs to completion within `limit` (killed after it), output captured.
pub(super) fn run(what: &str, cmd: &mut Command, limit: Duration) -> Output {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    let mut out = child.stdout.take().expect("stdout");
    let mut err = child.stderr.take().expect("stderr");
    let stdout = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = out.read_to_end(&mut v);
        v
    });
    let stderr = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = err.read_to_end(&mut v);
        v
    });
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what}: still running after {limit:?}; killed");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    Output {
        status,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    }
}

pub(super) fn show(output: &Output) -> String {
    format!(
        "{}\n--- stdout\n{}\n--- stderr\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}
