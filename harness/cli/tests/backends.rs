//! Where a run's backends come from, end to end through the `mcp-slo` binary: the quick
//! start on the embedded default, the environment before loopback services, and the AWS
//! tier stopping with instructions when it has no endpoint.

mod common;

use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::{root, services};
use serde_json::Value;

/// The harness's environment with every backend variable removed.
fn bare(command: &mut Command) -> &mut Command {
    for var in [
        "DATABASE_URL",
        "MYSQL_URL",
        "REDIS_URL",
        "MCP_SLO_DATA_ROOT",
        "AWS_ENDPOINT_URL",
        "MCP_SLO_BACKENDS",
    ] {
        command.env_remove(var);
    }
    command
}

fn sources(result: &Value, target: usize) -> Vec<(String, String)> {
    result["targets"][target]["backends"]
        .as_array()
        .unwrap_or_else(|| panic!("backends recorded: {}", result["targets"]))
        .iter()
        .map(|b| {
            (
                b["service"].as_str().unwrap_or_default().to_owned(),
                b["source"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

#[test]
fn the_quickstart_runs_on_embedded_backends_with_nothing_installed() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("quickstart");
    let output = bare(&mut Command::new(env!("CARGO_BIN_EXE_mcp-slo")))
        .args([
            "run",
            "scenarios/quickstart.yaml",
            "--backends",
            "embedded",
            "--no-progress-bar",
            "--out",
        ])
        .arg(&out)
        .env("MCP_SLO_EMBEDDED_DIR", dir.path().join("embedded"))
        .current_dir(root())
        .output()
        .expect("mcp-slo runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{stderr}");
    let result: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("result.json")).unwrap()).unwrap();
    assert_eq!(
        sources(&result, 0),
        [
            ("postgres".to_owned(), "embedded".to_owned()),
            ("mysql".to_owned(), "embedded".to_owned()),
            ("cache".to_owned(), "embedded".to_owned()),
            ("files".to_owned(), "embedded".to_owned()),
        ]
    );
    assert_eq!(result["verdict"], "pass");
    assert!(
        result["load"]["completed_calls"].as_u64().unwrap() >= 1900,
        "{}",
        result["load"]
    );
    for tool in ["postgres_query", "file_read", "cache_invalidate"] {
        let outcomes = &result["tools"][tool]["outcomes"];
        assert!(
            outcomes["ok"].as_u64().unwrap_or(0) > 0,
            "{tool}: {outcomes}"
        );
        assert_eq!(outcomes["tool_error"], 0, "{tool}: {outcomes}");
    }
    // Marked wherever the figures appear.
    let summary = std::fs::read_to_string(out.join("summary.md")).unwrap();
    assert!(
        summary.contains("Embedded backends served this run"),
        "{summary}"
    );
    assert!(
        stdout.contains("Embedded backends served this run"),
        "{stdout}"
    );
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("note embedded"));
    // The SQLite files and the sandbox live under MCP_SLO_EMBEDDED_DIR, not in the report.
    assert!(!out.join("embedded-local").exists());
    assert!(
        dir.path()
            .join("embedded/local/sqlite/postgres_query-agents.sqlite")
            .is_file()
    );
    assert!(
        dir.path()
            .join("embedded/local/files/data/reports/daily.csv")
            .is_file()
    );
}

#[test]
fn the_environment_comes_before_loopback_services_and_is_reported() {
    if !services() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("short.yaml");
    std::fs::write(
        &scenario,
        format!(
            "version: mcp-slo/v1\nname: short\ntargets:\n  local:\n    spawn: {{ server: local, args: [\"--audit\", \"off\", \"--config\", \"{root}/config/local_mcp_server_config.yaml\", \"--boundaries\", \"{root}/config/deployment_boundaries.yaml\", \"--network\", \"{root}/config/network_isolation.yaml\"] }}\n    mode: stateless\nload:\n  model: open\n  phases:\n    - {{ name: steady, duration: 2s, rate: 10/s }}\nmix:\n  - {{ target: local, tool: postgres_query, args: {{ query: \"SELECT 1 AS one\" }} }}\nslo:\n  - {{ error_rate: {{ below: 1% }} }}\n",
            root = root().display()
        ),
    )
    .unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(data.join("data/reports")).unwrap();
    std::fs::create_dir_all(data.join("data/config")).unwrap();
    let out = dir.path().join("out");
    // DATABASE_URL and MYSQL_URL unset: found on their loopback ports. REDIS_URL and the
    // data root from the environment.
    let output = bare(&mut Command::new(env!("CARGO_BIN_EXE_mcp-slo")))
        .args([
            "run",
            scenario.to_str().unwrap(),
            "--no-progress-bar",
            "--out",
        ])
        .arg(&out)
        .env("REDIS_URL", "redis://127.0.0.1:6379/0")
        .env("MCP_SLO_DATA_ROOT", &data)
        .current_dir(root())
        .output()
        .expect("mcp-slo runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let result: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("result.json")).unwrap()).unwrap();
    assert_eq!(
        sources(&result, 0),
        [
            ("postgres".to_owned(), "loopback".to_owned()),
            ("mysql".to_owned(), "loopback".to_owned()),
            ("cache".to_owned(), "env".to_owned()),
            ("files".to_owned(), "env".to_owned()),
        ]
    );
    let mysql = &result["targets"][0]["backends"][1]["address"];
    assert_eq!(
        mysql, "mysql://mcp_agent:***@127.0.0.1:3306/agents",
        "no password in reports"
    );
    let summary = std::fs::read_to_string(out.join("summary.md")).unwrap();
    assert!(
        !summary.contains("Embedded backends served this run"),
        "{summary}"
    );
}

#[test]
fn an_aws_target_without_an_endpoint_exits_3_with_instructions() {
    for port in [4566u16, 5000] {
        let taken = TcpStream::connect_timeout(
            &SocketAddr::from(([127, 0, 0, 1], port)),
            Duration::from_millis(300),
        )
        .is_ok();
        assert!(
            !taken,
            "this test needs 127.0.0.1:{port} free (it checks what happens with no AWS endpoint)"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    for backends in ["auto", "embedded"] {
        let output = bare(&mut Command::new(env!("CARGO_BIN_EXE_mcp-slo")))
            .args([
                "run",
                "scenarios/boundaries-aws.yaml",
                "--backends",
                backends,
                "--out",
            ])
            .arg(dir.path().join(backends))
            .env("MCP_SLO_AWS_TOKEN", "unused")
            .env(
                "DOCKER_HOST",
                format!("unix://{}", dir.path().join("no-docker.sock").display()),
            )
            .current_dir(root())
            .output()
            .expect("mcp-slo runs");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(
            output.status.code(),
            Some(3),
            "--backends {backends}: {stderr}"
        );
        for how in [
            "AWS_ENDPOINT_URL",
            "docker compose up",
            "scripts/setup-moto.sh",
        ] {
            assert!(
                stderr.contains(how),
                "--backends {backends}: {how} in {stderr}"
            );
        }
        assert!(!Path::new(&dir.path().join(backends).join("result.json")).exists());
    }
}
