//! `mcp-slo discover` against both tiers over real HTTP: the local tier in this process
//! (stateless, so MCP 2026-07-28 is negotiated), the AWS tier as its binary against moto
//! (sessions, a bearer token). Every tool must show under its tier and category, the sizes
//! follow the stated token rule, the JSON matches the table; one server given twice makes
//! every tool a collision.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::{local_tier, moto, services};
use mcp_server_core::stack::Mode;
use serde_json::Value;

/// The token of the development caller `agent-console` (every tool) in
/// `config/aws_callers.yaml`.
const AWS_TOKEN: &str = "dev-agent-console-token";

/// (tier, category, tool) of every tool both tiers serve; the AWS tier's committed
/// families add a reader of the bucket's `notes/` and a tool for the function `agent-echo`.
const TOOLS: [(&str, &str, &str); 9] = [
    ("aws_managed", "compute", "lambda_agent_echo"),
    ("aws_managed", "compute", "lambda_invoke"),
    ("aws_managed", "database", "rds_query"),
    ("aws_managed", "storage", "s3_mcp_slo_reports_notes"),
    ("aws_managed", "storage", "s3_read"),
    ("local", "cache", "cache_invalidate"),
    ("local", "database", "mysql_query"),
    ("local", "database", "postgres_query"),
    ("local", "file", "file_read"),
];

/// `mcp-slo discover ARGS --json FILE`: exit code, stdout, stderr and the JSON written.
fn discover(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String, Value) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let json = dir.path().join("discover.json");
    let output = Command::new(env!("CARGO_BIN_EXE_mcp-slo"))
        .arg("discover")
        .args(args)
        .arg("--json")
        .arg(&json)
        .envs(env.iter().copied())
        .env_remove("RUST_LOG")
        .output()
        .expect("mcp-slo runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let text = std::fs::read_to_string(&json)
        .unwrap_or_else(|e| panic!("no JSON written ({e}); stdout:\n{stdout}\nstderr:\n{stderr}"));
    let value = serde_json::from_str(&text).expect("the JSON parses");
    (output.status.code().unwrap_or(-1), stdout, stderr, value)
}

/// The tools section of the table: (tier, category, tool, targets, collision flagged).
fn table_tools(stdout: &str) -> BTreeSet<(String, String, String, String, bool)> {
    let mut rows = BTreeSet::new();
    let (mut tier, mut category) = (String::new(), String::new());
    let section = stdout
        .split_once("tools by tier and category\n")
        .map_or("", |(_, rest)| rest.split("\n\n").next().unwrap_or(""));
    for line in section.lines() {
        let indent = line.len() - line.trim_start().len();
        let words: Vec<&str> = line.split_whitespace().collect();
        match indent {
            2 => tier = words[0].into(),
            4 => category = words[0].into(),
            _ => {
                let collision = words.last() == Some(&"COLLISION");
                let targets = words[1..words.len() - usize::from(collision)].join(" ");
                rows.insert((
                    tier.clone(),
                    category.clone(),
                    words[0].into(),
                    targets,
                    collision,
                ));
            }
        }
    }
    rows
}

/// The same rows from the JSON.
fn json_tools(json: &Value) -> BTreeSet<(String, String, String, String, bool)> {
    let mut rows = BTreeSet::new();
    for tier in json["tiers"].as_array().expect("tiers") {
        for category in tier["categories"].as_array().expect("categories") {
            for tool in category["tools"].as_array().expect("tools") {
                let targets: Vec<&str> = tool["targets"]
                    .as_array()
                    .expect("targets")
                    .iter()
                    .filter_map(Value::as_str)
                    .collect();
                rows.insert((
                    tier["tier"].as_str().unwrap_or_default().into(),
                    category["category"].as_str().unwrap_or_default().into(),
                    tool["name"].as_str().unwrap_or_default().into(),
                    targets.join(", "),
                    tool["collision"].as_bool().expect("collision"),
                ));
            }
        }
    }
    rows
}

/// The table's figures for one row of its targets section: pages, tools, bytes, ~tokens.
fn table_figures(stdout: &str, row: &str) -> [u64; 4] {
    let line = stdout
        .lines()
        .find(|l| l.starts_with(&format!("  {row} ")))
        .unwrap_or_else(|| panic!("no row {row} in:\n{stdout}"));
    let words: Vec<&str> = line.split_whitespace().collect();
    let n = words.len();
    [4, 3, 2, 1].map(|back| words[n - back].parse().expect("a number"))
}

/// Sizes positive, tokens = ceil(bytes / 4), and the table's figures equal the JSON's.
fn check_sizes(stdout: &str, json: &Value) {
    assert!(
        json["token_estimate"]
            .as_str()
            .unwrap_or_default()
            .contains("ceil(bytes / 4)")
    );
    assert!(stdout.contains("estimated tokens = ceil(bytes / 4)"));
    let mut figures = Vec::new();
    for t in json["targets"].as_array().expect("targets") {
        figures.push((t["name"].as_str().expect("a name").to_owned(), t.clone()));
    }
    figures.push(("total".into(), json["total"].clone()));
    for (row, t) in figures {
        let bytes = t["bytes"].as_u64().expect("bytes");
        let tokens = t["estimated_tokens"].as_u64().expect("tokens");
        let pages = t["pages"].as_u64().expect("pages");
        let tools = match &t["tools"] {
            Value::Array(a) => a.len() as u64,
            other => other.as_u64().expect("tools"),
        };
        assert!(bytes > 0 && pages > 0, "{row}: {t}");
        assert!(t["wire_bytes"].as_u64().expect("wire bytes") >= bytes);
        assert_eq!(tokens, bytes.div_ceil(4), "{row}");
        assert_eq!(table_figures(stdout, &row), [pages, tools, bytes, tokens]);
    }
}

/// Spawns the AWS tier (seed configuration, sessions) against moto at `endpoint`, runs
/// `test` with its URL and stops it, also when `test` panics.
fn with_aws_tier(endpoint: &str, test: impl FnOnce(&str)) {
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let logs = tempfile::tempdir().expect("a log directory");
    let server = runtime.block_on(common::spawn_aws_tier(endpoint, Mode::Session, logs.path()));
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| test(&server.url)));
    runtime.block_on(server.stop(Duration::from_secs(5)));
    if let Err(failed) = outcome {
        std::panic::resume_unwind(failed);
    }
}

/// Each tier's security boundary as the first test sets it up: the local tier at
/// 2026-07-28 without a token, the AWS tier at 2025-11-25 with sessions and its token.
fn check_boundaries(json: &Value) {
    let by_name = |name: &str| {
        json["targets"]
            .as_array()
            .and_then(|ts| ts.iter().find(|t| t["name"] == name).cloned())
            .expect("the target")
    };
    let (l, a) = (by_name("local"), by_name("aws"));
    assert_eq!(l["revision"], "2026-07-28");
    assert_eq!(
        (&l["token_sent"], &l["token_required"]),
        (&false.into(), &false.into())
    );
    assert!(l["discover"]["supportedVersions"].is_array(), "{l}");
    assert!(
        l["sessions"]
            .as_str()
            .unwrap_or_default()
            .starts_with("none")
    );
    assert_eq!(a["revision"], "2025-11-25");
    assert_eq!(
        (&a["token_sent"], &a["token_required"]),
        (&true.into(), &true.into())
    );
    assert_eq!(a["token_env"], "DISCOVER_AWS_TOKEN");
    assert!(
        a["sessions"]
            .as_str()
            .unwrap_or_default()
            .starts_with("yes"),
        "{a}"
    );
    assert!(a["discover"].is_null());
}

#[test]
fn discover_merges_both_tiers_by_tier_and_category() {
    if !services() {
        return;
    }
    let Some(endpoint) = moto() else { return };
    let local = local_tier(Mode::Stateless);
    with_aws_tier(&endpoint, |aws| {
        let targets = [
            "--target",
            &format!("local={local}"),
            "--target",
            &format!("aws={aws}"),
        ];
        let token = [("DISCOVER_AWS_TOKEN", AWS_TOKEN)];
        let mut args = targets.to_vec();
        // The AWS tier at a 2025 revision, with sessions; the local tier negotiates 2026-07-28.
        args.extend(["--token-env", "aws=DISCOVER_AWS_TOKEN"]);
        args.extend(["--protocol", "aws=2025-11-25"]);
        let (code, stdout, stderr, json) = discover(&args, &token);
        assert_eq!(code, 0, "stdout:\n{stdout}\nstderr:\n{stderr}");
        println!("{stdout}");

        let expected: BTreeSet<_> = TOOLS
            .iter()
            .map(|(tier, category, tool)| {
                let target = if *tier == "local" { "local" } else { "aws" };
                let (t, c, n) = (tier.to_string(), category.to_string(), tool.to_string());
                (t, c, n, target.to_owned(), false)
            })
            .collect();
        assert_eq!(table_tools(&stdout), expected, "{stdout}");
        assert_eq!(json_tools(&json), expected);
        assert_eq!(json["collisions"], serde_json::json!([]));
        assert!(stdout.contains("collisions: none"), "{stdout}");
        assert_eq!(json["total"]["tools"], 9);
        check_sizes(&stdout, &json);

        check_boundaries(&json);

        // Without its token the AWS tier refuses: exit 3, the reason stated, local still listed.
        let (code, stdout, stderr, json) = discover(&targets, &[]);
        assert_eq!(code, 3, "stdout:\n{stdout}\nstderr:\n{stderr}");
        assert!(stderr.contains("requires a bearer token"), "{stderr}");
        assert_eq!(json["targets"][1]["token_required"], true);
        assert_eq!(
            json["targets"][0]["tools"].as_array().map(Vec::len),
            Some(4)
        );
    });
}

#[test]
fn one_server_given_twice_makes_every_tool_a_collision() {
    if !services() {
        return;
    }
    let local = local_tier(Mode::Session);
    let (code, stdout, stderr, json) = discover(
        &[
            "--target",
            &format!("first={local}"),
            "--target",
            &format!("second={local}"),
            "--protocol",
            "second=2025-06-18",
        ],
        &[],
    );
    assert_eq!(code, 0, "stdout:\n{stdout}\nstderr:\n{stderr}");
    let expected: BTreeSet<_> = TOOLS
        .iter()
        .filter(|(tier, ..)| *tier == "local")
        .map(|(t, c, n)| {
            (
                t.to_string(),
                c.to_string(),
                n.to_string(),
                "first, second".into(),
                true,
            )
        })
        .collect();
    assert_eq!(table_tools(&stdout), expected, "{stdout}");
    assert_eq!(json_tools(&json), expected);
    let collided: BTreeSet<&str> = json["collisions"]
        .as_array()
        .expect("collisions")
        .iter()
        .filter_map(|c| c["tool"].as_str())
        .collect();
    assert_eq!(collided.len(), 4);
    assert!(stdout.contains("COLLISIONS: 4 tool name(s)"), "{stdout}");
    for tool in &collided {
        assert!(
            stdout.contains(&format!("  {tool}: first, second")),
            "{stdout}"
        );
    }
    assert_eq!(json["total"]["tools"], 8);
    assert_eq!(json["total"]["distinct_tools"], 4);
    assert_eq!(json["targets"][0]["revision"], "2026-07-28");
    assert_eq!(json["targets"][1]["revision"], "2025-06-18");
    let sessions = json["targets"][1]["sessions"].as_str().unwrap_or_default();
    assert!(sessions.starts_with("yes"), "{sessions}");
    check_sizes(&stdout, &json);
}

#[test]
fn bad_targets_exit_2_and_unreachable_ones_exit_3() {
    let run = |args: &[&str]| {
        let output = Command::new(env!("CARGO_BIN_EXE_mcp-slo"))
            .arg("discover")
            .args(args)
            .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")))
            .output()
            .expect("mcp-slo runs");
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        (output.status.code().unwrap_or(-1), stderr)
    };
    let (code, stderr) = run(&["--target", "no-url"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("not NAME=URL"), "{stderr}");
    // A port nothing listens on (bound, then released).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let (code, stderr) = run(&["--target", &format!("gone=http://127.0.0.1:{port}/mcp")]);
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.contains("unreachable"), "{stderr}");
}

/// A 2025-06-18 server of its own (no server/discover, no sessions, JSON answers) whose
/// `tools/list` comes in three pages, one tool without `_meta`; any other path answers
/// plain text. Its base URL.
fn paged_server() -> String {
    use axum::Json;
    use axum::http::StatusCode;
    use axum::response::IntoResponse;
    use serde_json::json;

    async fn mcp(Json(request): Json<Value>) -> axum::response::Response {
        let id = request["id"].clone();
        let tool = |name: &str, meta: bool| match meta {
            true => json!({"name": name, "inputSchema": {"type": "object"},
                "_meta": {"io.mcp-slo/tier": "fake", "io.mcp-slo/category": "misc"}}),
            false => json!({"name": name, "inputSchema": {"type": "object"}}),
        };
        let result = match (
            request["method"].as_str(),
            request["params"]["cursor"].as_str(),
        ) {
            (Some("initialize"), _) => json!({"protocolVersion": "2025-06-18",
                "capabilities": {"tools": {}}, "serverInfo": {"name": "paged", "version": "1"}}),
            (Some("notifications/initialized"), _) => return StatusCode::ACCEPTED.into_response(),
            (Some("tools/list"), None) => json!({"tools": [tool("one", true)], "nextCursor": "2"}),
            (Some("tools/list"), Some("2")) => {
                json!({"tools": [tool("two", true), tool("bare", false)], "nextCursor": "3"})
            }
            (Some("tools/list"), Some(_)) => json!({"tools": [tool("three", true)]}),
            _ => {
                let error = json!({"code": -32601, "message": "Method not found"});
                return Json(json!({"jsonrpc": "2.0", "id": id, "error": error})).into_response();
            }
        };
        Json(json!({"jsonrpc": "2.0", "id": id, "result": result})).into_response()
    }

    common::on_own_runtime(|tx| async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        tx.send(format!("http://{}", listener.local_addr().unwrap()))
            .unwrap();
        let app = axum::Router::new()
            .route("/mcp", axum::routing::post(mcp))
            .fallback(|| async { "hello, this is not MCP" });
        axum::serve(listener, app).await.unwrap();
    })
}

#[test]
fn every_page_is_walked_and_a_server_not_speaking_mcp_is_an_error() {
    let base = paged_server();
    let (code, stdout, stderr, json) = discover(&["--target", &format!("paged={base}/mcp")], &[]);
    assert_eq!(code, 0, "stdout:\n{stdout}\nstderr:\n{stderr}");
    let t = &json["targets"][0];
    assert_eq!(t["pages"], 3, "{t}");
    assert_eq!(t["revision"], "2025-06-18");
    assert_eq!(t["token_required"], false);
    assert!(
        t["sessions"]
            .as_str()
            .unwrap_or_default()
            .contains("no Mcp-Session-Id")
    );
    let expected: BTreeSet<_> = [
        ("fake", "misc", "one"),
        ("fake", "misc", "three"),
        ("fake", "misc", "two"),
        ("paged", "uncategorized", "bare"),
    ]
    .iter()
    .map(|(t, c, n)| {
        (
            t.to_string(),
            c.to_string(),
            n.to_string(),
            "paged".into(),
            false,
        )
    })
    .collect();
    assert_eq!(table_tools(&stdout), expected, "{stdout}");
    assert_eq!(json_tools(&json), expected);
    let bare = t["tools"]
        .as_array()
        .and_then(|ts| ts.iter().find(|x| x["name"] == "bare"));
    assert_eq!(
        bare.map(|b| b["tier_from"].clone()),
        Some("target name".into())
    );
    check_sizes(&stdout, &json);

    let (code, stdout, stderr, json) = discover(
        &[
            "--target",
            &format!("paged={base}/mcp"),
            "--target",
            &format!("web={base}/"),
        ],
        &[],
    );
    assert_eq!(code, 3, "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(stderr.contains("1 of 2 target(s) not listed"), "{stderr}");
    assert!(stderr.contains("web: negotiating the revision"), "{stderr}");
    assert!(
        stdout.contains("ERROR: negotiating the revision"),
        "{stdout}"
    );
    assert_eq!(json["targets"][0]["pages"], 3);
    assert!(json["targets"][1]["error"].is_string());
}
