//! `result.json`: the run result as pretty JSON, and reading it back with a schema check.

use std::path::{Path, PathBuf};

use mcp_slo_core::result::{RESULT_SCHEMA, RunResult};
use serde::Deserialize;

use crate::{ReportError, write_text};

/// Writes `dir/result.json` (pretty, with a final newline) and returns its path.
pub fn write_result(dir: &Path, r: &RunResult) -> Result<PathBuf, ReportError> {
    let path = dir.join("result.json");
    let mut text = serde_json::to_string_pretty(r).map_err(|source| ReportError::Serialize {
        path: path.clone(),
        source,
    })?;
    text.push('\n');
    write_text(&path, &text)
}

/// Only the version marker: read first, so a result of another schema version is refused
/// by name instead of failing on whichever field changed.
#[derive(Deserialize)]
struct Header {
    schema: Option<String>,
}

/// Reads a `result.json`, refusing any `schema` other than [`RESULT_SCHEMA`].
pub fn read_result(path: &Path) -> Result<RunResult, ReportError> {
    let text = std::fs::read_to_string(path).map_err(|source| ReportError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let parse_error = |source| ReportError::Parse {
        path: path.to_path_buf(),
        source,
    };
    let header: Header = serde_json::from_str(&text).map_err(parse_error)?;
    if header.schema.as_deref() != Some(RESULT_SCHEMA) {
        return Err(ReportError::Schema {
            path: path.to_path_buf(),
            found: header.schema,
        });
    }
    serde_json::from_str(&text).map_err(parse_error)
}

/// The JSON schema of `result.json` as committed in `harness/report/result.schema.json`.
pub fn result_schema_text() -> String {
    let mut text = serde_json::to_string_pretty(&RunResult::json_schema()).unwrap_or_default();
    text.push('\n');
    text
}
