//! `file_read`'s path confinement on any path: never a panic, and no read returns the file
//! placed outside the allowed directories, symlinks included. The committed config's
//! `file_read` is served from a scratch data root (under the temp directory, one per fuzzing
//! process, left for the next run) whose allowed directory holds a file, a nested file and
//! symlinks leading out to that file (relative, absolute, through a directory); the file
//! holds a marker that no read may ever return.
#![no_main]

#[path = "common/mod.rs"]
mod common;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use common::runtime;
use libfuzzer_sys::fuzz_target;
use mcp_local_server::tools::file_read::FileRead;
use mcp_server_core::caller::Caller;
use mcp_server_core::config::ServerConfig;
use mcp_server_core::registry::{CallReport, ToolCall, ToolHandler};
use serde_json::{Map, Value, json};

const MARKER: &str = "OUTSIDE-THE-ALLOWED-PATHS-4b1d";

/// The scratch data root: `data/reports` (allowed) with its files and escaping symlinks,
/// and `secret.txt` beside `data/`.
fn data_root() -> PathBuf {
    let root = std::env::temp_dir().join(format!("mcp-slo-fuzz-file-read-{}", std::process::id()));
    let reports = root.join("data/reports");
    let config = root.join("data/config");
    std::fs::create_dir_all(reports.join("nested")).expect("scratch dirs");
    std::fs::create_dir_all(&config).expect("scratch dirs");
    std::fs::write(root.join("secret.txt"), MARKER).expect("the secret");
    std::fs::write(reports.join("daily.csv"), "day,orders\n1,10\n").expect("a report");
    std::fs::write(reports.join("nested/inner.txt"), "inner\n").expect("a nested report");
    let link = |target: &Path, name: &str| {
        let _ = std::os::unix::fs::symlink(target, reports.join(name));
    };
    link(Path::new("../../secret.txt"), "escape");
    link(&root.join("secret.txt"), "absolute");
    link(Path::new("../.."), "up");
    link(Path::new("nested"), "inside");
    root
}

fn file_read() -> &'static FileRead {
    static TOOL: OnceLock<FileRead> = OnceLock::new();
    TOOL.get_or_init(|| {
        let path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/local_mcp_server_config.yaml");
        let text = std::fs::read_to_string(&path).expect("the committed local config");
        let config = ServerConfig::from_yaml(&path, &text).expect("it loads");
        let tool = config.tool("file_read").expect("it declares file_read");
        FileRead::new(tool, Some(&data_root()))
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(path) = std::str::from_utf8(data) else {
        return;
    };
    let tool = file_read();
    let mut args = Map::new();
    args.insert("path".into(), json!(path));
    let caller = Caller::anonymous("fuzz");
    let report = CallReport::default();
    let call = ToolCall {
        args: &args,
        deadline: tokio::time::Instant::now() + std::time::Duration::from_secs(5),
        caller: &caller,
        report: &report,
    };
    let answer = runtime().block_on(tool.call(call));
    if let Ok(output) = answer {
        let shown = serde_json::to_string(&output.content).unwrap_or_default();
        let structured = output
            .structured
            .as_ref()
            .map(Value::to_string)
            .unwrap_or_default();
        assert!(
            !shown.contains(MARKER) && !structured.contains(MARKER),
            "{path:?} read a file outside the allowed paths"
        );
    }
});
