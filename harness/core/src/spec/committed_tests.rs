//! The committed files the spec describes: every scenario in `scenarios/` validates, and
//! `scenarios/schema.json` matches the code (regenerate it after a spec change with
//! `MCP_SLO_BLESS=1 cargo test -p mcp-slo-core` and review the diff).

use std::path::{Path, PathBuf};

use super::*;

/// Every example scenario parses and validates. Scenarios name `boundaries.file` relative to
/// the repository root (where CI runs `mcp-slo validate scenarios/*.yaml`), while cargo runs
/// tests in the crate directory and the validator's fallback is the scenario's own directory.
/// So a scenario that does not validate where it is is validated again as if its file sat in
/// the repository root: that resolves root-relative paths without changing the working
/// directory, which every test in this binary shares.
#[test]
fn every_example_scenario_is_valid() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut files: Vec<PathBuf> = std::fs::read_dir(root.join("scenarios"))
        .map(|entries| entries.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.retain(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"));
    files.sort();
    let mut failures = Vec::new();
    for file in &files {
        let text =
            std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let as_if_in_root = root.join(file.file_name().unwrap_or_default());
        let result = Scenario::from_yaml(file, &text)
            .or_else(|_| Scenario::from_yaml(&as_if_in_root, &text));
        if let Err(e) = result {
            let message = e.to_string();
            failures.push(message.replacen(
                &as_if_in_root.display().to_string(),
                &file.display().to_string(),
                1,
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn committed_scenario_schema_is_current() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/schema.json");
    let mut actual =
        serde_json::to_string_pretty(&Scenario::json_schema()).expect("schema serializes");
    actual.push('\n');
    if std::env::var_os("MCP_SLO_BLESS").is_some_and(|v| v == "1") {
        std::fs::write(&path, &actual)
            .unwrap_or_else(|e| panic!("{}: cannot write: {e}", path.display()));
        return;
    }
    let how = "regenerate it with `MCP_SLO_BLESS=1 cargo test -p mcp-slo-core` and review the diff";
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: cannot read ({e}); {how}", path.display()));
    assert_eq!(expected, actual, "{} is out of date; {how}", path.display());
}
