//! The same run against an authorization server nobody here wrote: Authlib (PyPI
//! `authlib`, on Flask) issues the tokens by its client credentials grant, authenticating
//! the clients itself, and the gate asks its introspection endpoint (RFC 7662) whether each
//! request's token is current.
//!
//! `scripts/oauth/install.sh` installs Authlib and Flask into `$MCP_SLO_OAUTH/venv`
//! (default `~/.cache/mcp-slo/oauth`); `scripts/oauth/token_server.py` declares the clients.
//! Without the venv the test says SKIPPED and why, and fails when
//! `MCP_SLO_REQUIRE_SERVICES=1`.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use mcp_slo_engine::reqwest;
use serde_json::{Value, json};

use super::servers::{self, BASIC_CLIENT, LIFETIME, POST_CLIENT, SCOPE, Validator};
use super::{common::root, credentials, run_and_check, run_failing, scenario};

/// The resource server's own client, allowed to introspect.
const GATE_CLIENT: (&str, &str) = ("mcp-gate", "gate-secret");

/// The venv's Python, or None (and SKIPPED said) when it is not installed.
fn installed() -> Option<PathBuf> {
    let dir = std::env::var_os("MCP_SLO_OAUTH")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache/mcp-slo/oauth")));
    let why = match dir {
        Some(dir) if dir.join("venv/bin/python").exists() => {
            return Some(dir.join("venv/bin/python"));
        }
        Some(dir) => format!(
            "Authlib is not installed in {} (run scripts/oauth/install.sh)",
            dir.join("venv").display()
        ),
        None => "neither MCP_SLO_OAUTH nor HOME is set".to_owned(),
    };
    assert!(
        std::env::var("MCP_SLO_REQUIRE_SERVICES").as_deref() != Ok("1"),
        "MCP_SLO_REQUIRE_SERVICES=1 but {why}"
    );
    eprintln!("SKIPPED: {why}");
    None
}

/// The Authlib server, stopped when dropped.
struct Authlib {
    child: Child,
    base: String,
}

impl Drop for Authlib {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Authlib {
    fn start(python: &Path) -> Authlib {
        let clients = json!([
            {"id": BASIC_CLIENT.0, "secret": BASIC_CLIENT.1, "scope": SCOPE, "auth": "client_secret_basic"},
            {"id": POST_CLIENT.0, "secret": POST_CLIENT.1, "scope": SCOPE, "auth": "client_secret_post"},
            {"id": GATE_CLIENT.0, "secret": GATE_CLIENT.1, "scope": "introspect"},
        ]);
        let mut child = Command::new(python)
            .arg(root().join("scripts/oauth/token_server.py"))
            .arg(clients.to_string())
            .arg(LIFETIME.as_secs().to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the Authlib server starts");
        let mut line = String::new();
        let stdout = child.stdout.take().expect("its stdout");
        BufReader::new(stdout).read_line(&mut line).unwrap();
        let port = line
            .trim()
            .strip_prefix("listening ")
            .unwrap_or_else(|| panic!("the Authlib server said {line:?}"));
        Authlib {
            child,
            base: format!("http://127.0.0.1:{port}"),
        }
    }

    /// Tokens Authlib issued per client id (`GET /stats`).
    fn issued(&self) -> Value {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let stats = reqwest::get(format!("{}/stats", self.base)).await.unwrap();
            stats.json::<Value>().await.unwrap()["issued"].take()
        })
    }
}

#[test]
fn authlib_issues_the_tokens_and_the_run_refreshes_them() {
    let Some(python) = installed() else { return };
    let authlib = Authlib::start(&python);
    let servers = servers::start(Some(Validator::Introspection {
        url: format!("{}/oauth/introspect", authlib.base),
        client: (GATE_CLIENT.0.to_owned(), GATE_CLIENT.1.to_owned()),
    }));
    let token_url = format!("{}/oauth/token", authlib.base);
    run_and_check(&servers.mcp_url, &token_url, &servers.gate, |client| {
        authlib.issued()[client].as_u64().unwrap_or(0)
    });

    let dir = tempfile::tempdir().unwrap();
    let path = scenario(dir.path(), &servers.mcp_url, &token_url, 2);
    let (code, stderr) = run_failing(&path, &dir.path().join("out"), &credentials("wrong"));
    assert_eq!(code, 3, "{stderr}");
    let expected =
        format!("target basic: token endpoint {token_url} refused (HTTP 401): invalid_client");
    assert!(stderr.contains(&expected), "{stderr}");
}
