//! Run reports: `result.json` (the versioned result model), `summary.md` for a PR comment,
//! `junit.xml` for CI test views, `report.html` (one self-contained page with charts) and a
//! plain console table. Pure formatting plus file writes; nothing here measures or judges.

mod console;
mod cost;
mod html;
mod json;
mod junit;
mod markdown;

use std::path::{Path, PathBuf};

use mcp_slo_core::result::RunResult;

pub use console::console_table;
pub use cost::{HARNESS_DEBUG_NOTE, build_words};
pub use html::{
    CapacityStep, CapacityView, capacity_html, capacity_page, report_html,
    report_html_with_capacity,
};
pub use json::{read_result, result_schema_text, write_result};
pub use junit::junit_xml;
pub use markdown::summary_markdown;

/// Why a report could not be written or read. Every message starts with the file.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("{}: cannot create directory: {source}", path.display())]
    CreateDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: cannot write: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: cannot read: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: cannot serialize the run result: {source}", path.display())]
    Serialize {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("{}: not a valid run result: {source}", path.display())]
    Parse {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("{}: {}", path.display(), schema_message(found.as_deref()))]
    Schema {
        path: PathBuf,
        found: Option<String>,
    },
}

fn schema_message(found: Option<&str>) -> String {
    let expected = mcp_slo_core::result::RESULT_SCHEMA;
    match found {
        Some(found) => format!("unsupported result schema {found:?} (expected {expected:?})"),
        None => {
            format!("no \"schema\" field, so not an mcp-slo run result (expected {expected:?})")
        }
    }
}

/// The files [`write_all`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    pub result_json: PathBuf,
    pub summary_md: PathBuf,
    pub junit_xml: PathBuf,
    pub report_html: PathBuf,
}

/// Said wherever a run's figures appear when embedded backends served it.
pub const EMBEDDED_NOTE: &str = "Embedded backends served this run (SQLite, an in-process cache, a fixture sandbox): its figures are SQLite's and memory's on this machine, not Postgres' and Redis'. Compare it only with other embedded runs.";

/// One line per spawned target: `local: postgres=env (postgres://...), cache=embedded (...)`.
pub fn backend_lines(r: &mcp_slo_core::result::RunResult) -> Vec<String> {
    r.targets
        .iter()
        .filter(|t| !t.backends.is_empty())
        .map(|t| {
            format!(
                "{}: {}",
                t.name,
                mcp_slo_core::result::describe_backends(&t.backends)
            )
        })
        .collect()
}

/// True when any target ran on embedded backends.
pub fn ran_embedded(r: &mcp_slo_core::result::RunResult) -> bool {
    r.targets.iter().any(|t| t.embedded())
}

/// Creates `dir` (and its parents) and writes `result.json`, `summary.md`, `junit.xml` and
/// `report.html`.
pub fn write_all(dir: &Path, r: &RunResult) -> Result<Written, ReportError> {
    std::fs::create_dir_all(dir).map_err(|source| ReportError::CreateDir {
        path: dir.to_path_buf(),
        source,
    })?;
    let result_json = write_result(dir, r)?;
    let summary_md = write_text(&dir.join("summary.md"), &summary_markdown(r))?;
    let junit_xml = write_text(&dir.join("junit.xml"), &junit_xml(r))?;
    let report_html = write_text(&dir.join("report.html"), &report_html(r))?;
    Ok(Written {
        result_json,
        summary_md,
        junit_xml,
        report_html,
    })
}

pub(crate) fn write_text(path: &Path, text: &str) -> Result<PathBuf, ReportError> {
    std::fs::write(path, text).map_err(|source| ReportError::Write {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(path.to_path_buf())
}

/// What the instrument added: how late calls started (all of it inside the latencies).
pub fn instrument_line(i: &mcp_slo_core::result::InstrumentInfo) -> String {
    let q = |q: &mcp_slo_core::result::Quantiles| {
        format!(
            "p50 {} · p90 {} · p99 {} · max {}",
            fmt_us(q.p50),
            fmt_us(q.p90),
            fmt_us(q.p99),
            fmt_us(q.max)
        )
    };
    format!(
        "calls started after their intended start by {} (pacer's hand-over late by {}); included in every latency; {}",
        q(&i.start_lateness_us),
        q(&i.pacer_lateness_us),
        i.pacer
    )
}

/// The stall meter's reading: how late a thread asleep for 1 ms at a time woke beside the
/// load, and the recorded seconds in which the machine stalled.
pub fn machine_line(m: &mcp_slo_core::result::MachineInfo) -> String {
    let q = &m.wake_lateness_us;
    let stalls = if m.stalls.is_empty() {
        format!(
            "no stall of {} or more in the recorded seconds",
            fmt_us(mcp_slo_core::measure::STALL_US)
        )
    } else {
        let at: Vec<String> = m
            .stalls
            .iter()
            .map(|s| format!("t={}s {}", s.t, fmt_us(s.us)))
            .collect();
        format!("the machine stalled at {}", at.join(", "))
    };
    format!(
        "a thread asleep for 1 ms at a time beside the load woke late by p50 {} · p90 {} · p99 {} · max {}; {stalls}",
        fmt_us(q.p50),
        fmt_us(q.p90),
        fmt_us(q.p99),
        fmt_us(q.max)
    )
}

/// A verdict line's result in one word.
pub(crate) fn result_word(o: &mcp_slo_core::result::ObjectiveResult) -> &'static str {
    match (o.passed, &o.inconclusive) {
        (true, _) => "PASS",
        (false, None) => "FAIL",
        (false, Some(_)) => "INCONCLUSIVE",
    }
}

/// A verdict line's measured figure, its detail, and why it is inconclusive.
pub(crate) fn measured_text(o: &mcp_slo_core::result::ObjectiveResult) -> String {
    let mut text = match &o.detail {
        Some(detail) => format!("{} ({detail})", o.measured),
        None => o.measured.clone(),
    };
    if let Some(why) = &o.inconclusive {
        text.push_str("; inconclusive: ");
        text.push_str(why);
    }
    text
}

/// `12.3ms` from microseconds.
pub(crate) fn fmt_us(us: u64) -> String {
    mcp_slo_core::units::fmt_duration(std::time::Duration::from_micros(us))
}

/// A fault's start or end as seconds from the start of the load; `never` when it did not
/// end.
pub(crate) fn fault_time(ms: Option<u64>) -> String {
    match ms {
        Some(ms) => format!("{:.3} s", ms as f64 / 1000.0),
        None => "never".to_owned(),
    }
}
