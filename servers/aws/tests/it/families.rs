//! The AWS tier's tool families against moto: per-prefix S3 readers and per-function
//! Lambda tools that run through their base tools, a family scoped to one caller, prefixes
//! listed from the bucket (and a role that may not list them), and families following
//! their config file and SIGHUP.

use std::time::{Duration, Instant};

use mcp_server_core::config::ServerConfig;
use serde_json::{Value, json};

use crate::support::{
    CONSOLE_TOKEN, READER_TOKEN, Setup, TestServer, repo_root, require_moto, spawn_binary,
};

const NOTES: &str = "s3_mcp_slo_reports_notes";
const ECHO: &str = "lambda_agent_echo";

/// The tools `token`'s caller is listed (every page).
async fn names(server: &TestServer, token: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut cursor = Value::Null;
    loop {
        let params = match &cursor {
            Value::Null => json!({}),
            c => json!({"cursor": c}),
        };
        let answer = server
            .post_as(
                Some(token),
                json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": params}),
            )
            .await;
        let result = &answer.body["result"];
        names.extend(
            result["tools"]
                .as_array()
                .unwrap_or_else(|| panic!("a listing: {}", answer.body))
                .iter()
                .map(|t| t["name"].as_str().unwrap().to_owned()),
        );
        cursor = result["nextCursor"].clone();
        if cursor.is_null() {
            return names;
        }
    }
}

/// Waits until the console's listing satisfies `done`; the listing.
async fn until(server: &TestServer, what: &str, done: impl Fn(&[String]) -> bool) -> Vec<String> {
    let started = Instant::now();
    loop {
        let now = names(server, CONSOLE_TOKEN).await;
        if done(&now) {
            return now;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{what}: not after 20 s; tools: {now:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generated_readers_and_invokers_run_through_their_base_tools() {
    let _endpoint = require_moto!();
    let server = Setup::new().families().start().await;
    let (status, body) = server.ready().await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains("family/report_notes") && body.contains("family/agent_functions"),
        "{body}"
    );
    let console = names(&server, CONSOLE_TOKEN).await;
    assert!(
        console.contains(&NOTES.to_owned()) && console.contains(&ECHO.to_owned()),
        "{console:?}"
    );
    assert!(
        !console.contains(&"lambda_sleeper".to_owned()),
        "sleeper does not start with the family's prefix: {console:?}"
    );

    // The prefix reader: the key after the prefix, read by s3_read under its role.
    let read = server.call(NOTES, json!({"key": "readme.txt"})).await;
    assert!(read.is_ok(), "{}", read.body);
    assert_eq!(read.structured()["key"], "notes/readme.txt");
    assert!(
        read.text().starts_with("Reports bucket for mcp-slo"),
        "{}",
        read.text()
    );
    for key in ["../daily.csv", "/daily.csv", "a/./b"] {
        let escape = server.call(NOTES, json!({"key": key})).await;
        assert!(escape.is_tool_error(), "{key}: {}", escape.body);
        assert!(
            escape.text().contains("must be a key under notes/"),
            "{}",
            escape.text()
        );
    }
    let bucket = server
        .call(NOTES, json!({"key": "readme.txt", "bucket": "another"}))
        .await;
    assert!(
        !bucket.is_ok(),
        "the bucket is the family's, not an argument: {}",
        bucket.body
    );

    // The function's tool: the payload only, invoked by lambda_invoke.
    let echo = server
        .call(ECHO, json!({"payload": "{\"order\": 42}"}))
        .await;
    assert!(echo.is_ok(), "{}", echo.body);
    assert_eq!(echo.structured()["function"], "agent-echo");
    assert_eq!(echo.structured()["result"], json!({"order": 42}));

    // A family's tools are for whoever may use its base: the reader reads, never invokes.
    let reader = names(&server, READER_TOKEN).await;
    assert!(reader.contains(&NOTES.to_owned()), "{reader:?}");
    assert!(!reader.contains(&ECHO.to_owned()), "{reader:?}");
    let refused = server
        .call_as(READER_TOKEN, ECHO, json!({"payload": "{}"}))
        .await;
    assert!(!refused.is_ok(), "{}", refused.body);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_family_scoped_to_one_caller_is_listed_and_called_by_it_alone() {
    let _endpoint = require_moto!();
    let mut setup = Setup::new().families();
    for family in &mut setup.config.families {
        family.callers = Some(vec!["console".into()]);
    }
    let server = setup.start().await;
    assert_eq!(server.ready().await.0, 200);
    let console = names(&server, CONSOLE_TOKEN).await;
    assert!(console.contains(&NOTES.to_owned()), "{console:?}");
    let reader = names(&server, READER_TOKEN).await;
    assert_eq!(reader, ["s3_read"], "the reader's view");
    let refused = server
        .call_as(READER_TOKEN, NOTES, json!({"key": "readme.txt"}))
        .await;
    assert!(!refused.is_ok(), "{}", refused.body);
    let read = server.call(NOTES, json!({"key": "readme.txt"})).await;
    assert!(read.is_ok(), "{}", read.body);
    server.stop().await;
}

/// The committed families with `report_notes` listing the bucket's prefixes.
fn listing_prefixes(setup: &mut Setup) {
    for family in &mut setup.config.families {
        if let mcp_server_core::config::FamilyKind::S3Prefixes { prefixes, .. } = &mut family.kind {
            *prefixes = None;
        }
    }
    for tool in &mut setup.config.tools {
        if tool.name == "s3_read" {
            tool.security.max_permissions = vec!["s3:GetObject".into(), "s3:ListBucket".into()];
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prefixes_are_listed_from_the_bucket_under_a_role_that_may_list_it() {
    let _endpoint = require_moto!();
    let mut setup = Setup::new().families().role("s3_read", "agent-s3-browse");
    listing_prefixes(&mut setup);
    let server = setup.start().await;
    let (status, body) = server.ready().await;
    assert_eq!(status, 200, "{body}");
    let console = names(&server, CONSOLE_TOKEN).await;
    let readers: Vec<&String> = console.iter().filter(|n| n.starts_with("s3_mcp")).collect();
    assert_eq!(readers, [NOTES], "the bucket's one prefix, notes/");
    server.stop().await;

    // agent-s3-read may read but not list: the family does not load and /readyz says why.
    let mut setup = Setup::new().families();
    listing_prefixes(&mut setup);
    let server = setup.start().await;
    let (status, body) = server.ready().await;
    assert_eq!(status, 503, "{body}");
    let checks: Value = serde_json::from_str(&body).expect("readyz answers JSON");
    let family = checks["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .find(|c| c["name"] == "family/report_notes")
        .unwrap_or_else(|| panic!("{body}"))
        .clone();
    assert_eq!(family["ok"], false, "{family}");
    let detail = family["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains("agent-s3-read") && detail.contains("s3:ListBucket"),
        "{detail}"
    );
    server.stop().await;
}

/// The committed config's text before its families, and its families (YAML list items).
fn committed_split() -> (String, String) {
    let text =
        std::fs::read_to_string(repo_root().join("config/aws_managed_mcp_config.yaml")).unwrap();
    let (head, families) = text
        .split_once("  families:\n")
        .expect("the committed config has families");
    (head.to_owned(), families.to_owned())
}

/// The committed config with its families replaced by `families` (YAML list items).
fn config_with(families: &str) -> String {
    format!("{}  families:\n{families}", committed_split().0)
}

/// The committed config's families, as written there.
fn committed_families() -> String {
    committed_split().1
}

const SLEEPER_ONLY: &str =
    "    - { name: \"agent_functions\", kind: \"lambda_functions\", functions: [\"sleeper\"] }\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn families_follow_their_config_file() {
    let _endpoint = require_moto!();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("aws.yaml");
    std::fs::write(&file, config_with(&committed_families())).unwrap();
    let mut setup = Setup::new().families();
    setup.config_file = Some(file.clone());
    let server = setup.start().await;
    assert_eq!(server.ready().await.0, 200);
    until(&server, "the committed families", |t| {
        t.contains(&NOTES.to_owned()) && t.contains(&ECHO.to_owned())
    })
    .await;
    // One family changes its functions, the other is no longer declared.
    std::fs::write(&file, config_with(SLEEPER_ONLY)).unwrap();
    let now = until(&server, "after the edit", |t| {
        !t.contains(&NOTES.to_owned()) && t.contains(&"lambda_sleeper".to_owned())
    })
    .await;
    assert!(!now.contains(&ECHO.to_owned()), "{now:?}");
    // A file that does not load leaves the families as they were.
    std::fs::write(&file, "server: [not, a, config]\n").unwrap();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(names(&server, CONSOLE_TOKEN).await, now);
    // A family that lists the bucket, in a file that loads because it grants s3_read
    // s3:ListBucket: the tier's tools stay as it started them (s3:GetObject only), so the
    // reload refuses the family and changes nothing.
    let (head, _) = committed_split();
    let granting = head.replace(
        "max_permissions: \"s3:GetObject\"",
        "max_permissions: \"s3:GetObject, s3:ListBucket\"",
    );
    assert_ne!(granting, head, "the committed s3_read grants s3:GetObject");
    let listing = format!(
        "{granting}  families:\n    - {{ name: \"all_reports\", kind: \"s3_prefixes\", bucket: \"mcp-slo-reports\" }}\n"
    );
    std::fs::write(&file, &listing).unwrap();
    ServerConfig::load(&file).expect("the file itself loads");
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(names(&server, CONSOLE_TOKEN).await, now);
    // The reloads go on: the committed families come back.
    std::fs::write(&file, config_with(&committed_families())).unwrap();
    until(&server, "the committed families again", |t| {
        t.contains(&NOTES.to_owned()) && t.contains(&ECHO.to_owned())
    })
    .await;
    server.stop().await;
}

/// The binary, started the way users start it: SIGHUP reads its config file's families
/// again and the process goes on serving.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_reloads_its_families_on_sighup_and_keeps_serving() {
    let endpoint = require_moto!();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("aws.yaml");
    std::fs::write(&file, config_with(&committed_families())).unwrap();
    let stderr = dir.path().join("stderr.log");
    let (mut child, server) = spawn_binary(&endpoint, &file, ("off", "info"), &[], &stderr);
    let (status, body) = server.ready().await;
    assert_eq!(status, 200, "{body}");
    until(&server, "the committed families", |t| {
        t.contains(&ECHO.to_owned())
    })
    .await;
    // The file is edited with its size and modification time kept, so that only the signal
    // can make the server read it again.
    let before = std::fs::metadata(&file).unwrap();
    let mut edited = config_with(SLEEPER_ONLY);
    assert!(edited.len() < before.len() as usize);
    edited.push('#');
    while edited.len() < before.len() as usize {
        edited.push('#');
    }
    std::fs::write(&file, edited).unwrap();
    std::fs::File::options()
        .write(true)
        .open(&file)
        .unwrap()
        .set_modified(before.modified().unwrap())
        .unwrap();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert!(
        names(&server, CONSOLE_TOKEN)
            .await
            .contains(&ECHO.to_owned()),
        "the edit went unnoticed without the signal"
    );
    child.signal("-HUP");
    until(&server, "after SIGHUP", |t| {
        t.contains(&"lambda_sleeper".to_owned()) && !t.contains(&ECHO.to_owned())
    })
    .await;
    assert!(child.is_running(), "the process ended on SIGHUP");
    let sleeper = server
        .call("lambda_sleeper", json!({"payload": "{\"sleep_ms\": 0}"}))
        .await;
    assert!(sleeper.is_ok(), "{}", sleeper.body);
    let status = child.stop().await;
    let log = std::fs::read_to_string(&stderr).unwrap_or_default();
    assert!(status.success(), "exit {status:?}:\n{log}");
    assert!(
        log.contains("SIGHUP: reloading tool families"),
        "no reload on SIGHUP in the log:\n{log}"
    );
}
