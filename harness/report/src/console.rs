//! A plain-text table for the terminal: objectives with PASS/FAIL, then one latency line
//! per tool and one cost line per sampled server. No colours, so it reads the same in CI
//! logs.

use std::fmt::Write as _;

use mcp_slo_core::result::{RunResult, Summary, Verdict};

use crate::cost;
use crate::fmt_us;
use crate::markdown::error_kinds;

/// The run's objectives as an aligned table, then per-tool latencies and server costs.
pub fn console_table(r: &RunResult) -> String {
    let verdict = match (r.verdict, &r.shard, &r.merged) {
        // A shard's lines judge its share only: the merged run has the verdict.
        (v, Some(s), _) => format!(
            "shard {}/{}, its share {}",
            s.index,
            s.count,
            if v == Verdict::Pass {
                "passed"
            } else {
                "missed"
            }
        ),
        (Verdict::Pass, None, None) => "PASS".to_owned(),
        (Verdict::Fail, None, None) => "FAIL".to_owned(),
        (Verdict::Inconclusive, None, None) => {
            "INCONCLUSIVE (the machine stalled: run it again)".to_owned()
        }
        (v, None, Some(m)) => format!(
            "{} (merged from {} shards)",
            v.as_str().to_uppercase(),
            m.count
        ),
    };
    let mut out = if r.load.phases.is_empty() {
        format!(
            "{}: {verdict} (no load; {} probes)\n",
            r.scenario.name,
            r.probes.len()
        )
    } else {
        format!(
            "{}: {verdict} ({} model, {:.1}/s achieved of {:.1}/s offered, {} calls, {:.1}s)\n",
            r.scenario.name,
            r.load.model,
            r.load.achieved_rate,
            r.load.offered_rate,
            r.load.completed_calls,
            r.duration_s
        )
    };
    for line in crate::backend_lines(r) {
        let _ = writeln!(out, "backends {line}");
    }
    let builds = cost::builds_line(r);
    if !builds.is_empty() {
        let _ = writeln!(out, "builds: {builds}");
    }
    if cost::harness_debug(r) {
        let _ = writeln!(out, "note: {}", cost::HARNESS_DEBUG_NOTE);
    }
    if let Some(i) = &r.load.instrument {
        let _ = writeln!(out, "instrument: {}", crate::instrument_line(i));
    }
    if let Some(m) = &r.load.machine {
        let _ = writeln!(out, "machine: {}", crate::machine_line(m));
    }
    if crate::ran_embedded(r) {
        let _ = writeln!(out, "note: {}", crate::EMBEDDED_NOTE);
    }
    let header = ["RESULT", "OBJECTIVE", "TARGET", "MEASURED"];
    let rows: Vec<[String; 4]> = r
        .objectives
        .iter()
        .map(|o| {
            let measured = crate::measured_text(o);
            [
                crate::result_word(o).to_owned(),
                o.name.clone(),
                o.target.clone(),
                measured,
            ]
        })
        .collect();
    if rows.is_empty() {
        out.push_str("\n  no objectives\n");
    } else {
        let mut widths = header.map(|h| h.chars().count());
        for row in &rows {
            for (w, text) in widths.iter_mut().zip(row) {
                *w = (*w).max(text.chars().count());
            }
        }
        out.push('\n');
        line(&mut out, &header.map(str::to_owned), &widths);
        for row in &rows {
            line(&mut out, row, &widths);
        }
    }
    out.push('\n');
    let name_width = r
        .tools
        .keys()
        .map(|k| k.chars().count())
        .max()
        .unwrap_or(0)
        .max(3);
    for (name, s) in &r.tools {
        tool_line(&mut out, name, name_width, s);
    }
    if r.tools.len() != 1 && !r.load.phases.is_empty() {
        tool_line(&mut out, "all", name_width, &r.overall);
    }
    for c in cost::costs(r) {
        let _ = writeln!(out, "  cost {}", cost::cost_line(&c));
    }
    out
}

fn line(out: &mut String, cells: &[String; 4], widths: &[usize; 4]) {
    let mut text = String::from(" ");
    for (cell, width) in cells.iter().zip(widths) {
        let _ = write!(text, " {cell:<width$} ");
    }
    out.push_str(text.trim_end());
    out.push('\n');
}

fn tool_line(out: &mut String, name: &str, width: usize, s: &Summary) {
    let _ = writeln!(
        out,
        "  {name:<width$}  {} calls, errors {}, p50 {}, p99 {}, max {}, {:.1}/s",
        s.outcomes.total(),
        error_kinds(&s.outcomes),
        fmt_us(s.latency.p50_us),
        fmt_us(s.latency.p99_us),
        fmt_us(s.latency.max_us),
        s.throughput
    );
}
