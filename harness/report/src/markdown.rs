//! `summary.md`: the run on one screen, sized for a pull-request comment.

use std::fmt::Write as _;

use mcp_slo_core::measure::{CallOutcome, Outcomes};
use mcp_slo_core::result::{RunResult, Summary, Verdict};

use crate::cost;
use crate::fmt_us;

/// A Markdown summary: verdict, load, objectives, per-tool latencies, findings and cost.
pub fn summary_markdown(r: &RunResult) -> String {
    let mut out = String::new();
    let verdict = match r.verdict {
        Verdict::Pass => "✅ PASS",
        Verdict::Fail => "❌ FAIL",
        Verdict::Inconclusive => "⚠️ INCONCLUSIVE (the machine stalled: run it again)",
    };
    let _ = writeln!(out, "## mcp-slo: `{}` {verdict}\n", r.scenario.name);
    if let Some(description) = &r.scenario.description {
        let _ = writeln!(out, "> {}\n", one_line(description));
    }
    let _ = writeln!(out, "{}\n", load_line(r));
    for line in crate::backend_lines(r) {
        let _ = writeln!(out, "**Backends** {line}\n");
    }
    let builds = cost::builds_line(r);
    if !builds.is_empty() {
        let _ = writeln!(out, "**Builds** {builds}\n");
    }
    if crate::ran_embedded(r) {
        let _ = writeln!(out, "> ⚠️ {}\n", crate::EMBEDDED_NOTE);
    }
    objectives(&mut out, r);
    if !r.faults.is_empty() {
        let _ = writeln!(out, "### Faults\n");
        let _ = writeln!(out, "| fault | kind | started | ended | error |");
        let _ = writeln!(out, "|---|---|---|---|---|");
        for f in &r.faults {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} |",
                cell(&f.name),
                f.kind,
                crate::fault_time(Some(f.started_ms)),
                crate::fault_time(f.ended_ms),
                cell(f.error.as_deref().unwrap_or(""))
            );
        }
        out.push('\n');
    }
    if !r.load.phases.is_empty() {
        tools(&mut out, r);
    }
    probes_and_alarms(&mut out, r);
    if !r.findings.is_empty() {
        let _ = writeln!(out, "### Findings\n");
        for f in &r.findings {
            let _ = writeln!(out, "- **{}**: {}", f.severity, one_line(&f.message));
        }
        out.push('\n');
    }
    let costs = cost::costs(r);
    if !costs.is_empty() {
        let _ = writeln!(
            out,
            "**Server cost** (each sampled server's CPU time while the load ran, over its own target's calls):\n"
        );
        for c in &costs {
            let _ = writeln!(out, "- {}", cost::cost_line(c));
        }
        out.push('\n');
    }
    let footprints = cost::footprint_rows(r);
    if !footprints.is_empty() {
        let _ = writeln!(out, "**Server footprint** (once a second over the load):\n");
        let _ = writeln!(out, "| {} |", cost::FOOTPRINT_COLUMNS.join(" | "));
        let _ = writeln!(out, "|---|---|---|---|");
        for row in &footprints {
            let cells: Vec<String> = row.iter().map(|c| cell(c)).collect();
            let _ = writeln!(out, "| {} |", cells.join(" | "));
        }
        out.push('\n');
    }
    let _ = writeln!(
        out,
        "<sub>{} · started {} · mcp-slo {} on {} cores · {}</sub>",
        r.scenario.file, r.started_at, r.harness.version, r.harness.cores, r.schema
    );
    out
}

/// What the verdict table leaves out: every probe failure in full, and how the alarms
/// ended (and were scaled, and what CloudWatch said).
fn probes_and_alarms(out: &mut String, r: &RunResult) {
    let failures: Vec<&String> = r.probes.iter().flat_map(|p| &p.failures).collect();
    if !failures.is_empty() {
        let _ = writeln!(out, "### Boundary probe failures\n");
        for f in failures {
            let _ = writeln!(out, "- {}", one_line(f));
        }
        out.push('\n');
    }
    let Some(alarms) = &r.alarms else { return };
    let _ = writeln!(out, "### Alarms\n");
    let _ = writeln!(
        out,
        "| alarm | period | final state | first ALARM | cleared |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|");
    for t in &alarms.timelines {
        let state = t
            .states
            .last()
            .map_or("INSUFFICIENT_DATA", |s| s.state.as_cloudwatch());
        let at = |x: Option<f64>| x.map_or("–".to_owned(), |s| format!("{s:.0} s"));
        let _ = writeln!(
            out,
            "| {} | {} s | {state} | {} | {} |",
            cell(&t.alarm),
            t.period_s,
            at(t.first_alarm_s),
            at(t.cleared_after_alarm_s)
        );
    }
    out.push('\n');
    if !alarms.scaled.is_empty() {
        let _ = writeln!(
            out,
            "Periods scaled by the scenario: {}.\n",
            alarms.scaled.join(", ")
        );
    }
    if let Some(p) = &alarms.published {
        let states: Vec<String> = p
            .alarms
            .iter()
            .map(|a| {
                format!(
                    "{} {} (harness {}{})",
                    a.alarm,
                    a.service_state,
                    a.harness_state,
                    if a.agrees { "" } else { ", differs" }
                )
            })
            .collect();
        let _ = writeln!(
            out,
            "Published to CloudWatch namespace `{}` at {}: {}.\n",
            p.namespace,
            p.endpoint,
            states.join("; ")
        );
    }
}

fn load_line(r: &RunResult) -> String {
    let l = &r.load;
    if l.phases.is_empty() {
        return format!("**Load:** none · {} boundary probes", r.probes.len());
    }
    let mut line = format!(
        "**Load:** {} model · offered {:.1}/s, achieved {:.1}/s · {} of {} calls completed · {:.1}s",
        l.model, l.offered_rate, l.achieved_rate, l.completed_calls, l.offered_calls, r.duration_s
    );
    if l.model == "open" {
        let _ = write!(line, " · {} late starts", l.late_starts);
        if l.late_starts > 0 {
            let _ = write!(line, " (up to {:.1}ms late)", l.max_lateness_ms);
        }
        if let Some(i) = &l.instrument {
            let _ = write!(line, "\n\n**Instrument:** {}", crate::instrument_line(i));
        }
    } else {
        let _ = write!(line, " · {} users max", l.workers);
    }
    if let Some(m) = &l.machine {
        let _ = write!(line, "\n\n**Machine:** {}", crate::machine_line(m));
    }
    line
}

fn objectives(out: &mut String, r: &RunResult) {
    if r.objectives.is_empty() {
        let _ = writeln!(
            out,
            "_No objectives: the verdict only reflects that the run completed._\n"
        );
        return;
    }
    let _ = writeln!(out, "| Objective | Target | Measured | Result |");
    let _ = writeln!(out, "|---|---|---|---|");
    for o in &r.objectives {
        let measured = crate::measured_text(o);
        let result = match crate::result_word(o) {
            "PASS" => "✅ pass",
            "FAIL" => "❌ fail",
            _ => "⚠️ inconclusive",
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {result} |",
            cell(&o.name),
            cell(&o.target),
            cell(&measured)
        );
    }
    out.push('\n');
}

fn tools(out: &mut String, r: &RunResult) {
    let _ = writeln!(
        out,
        "| Tool | Calls | OK | Errors | p50 | p99 | Max | Throughput |"
    );
    let _ = writeln!(out, "|---|---:|---:|---|---:|---:|---:|---:|");
    for (name, s) in &r.tools {
        tool_row(out, &format!("`{}`", cell(name)), s);
    }
    if r.tools.len() != 1 {
        tool_row(out, "**all**", &r.overall);
    }
    out.push('\n');
}

fn tool_row(out: &mut String, name: &str, s: &Summary) {
    let _ = writeln!(
        out,
        "| {name} | {} | {} | {} | {} | {} | {} | {:.1}/s |",
        s.outcomes.total(),
        s.outcomes.ok,
        error_kinds(&s.outcomes),
        fmt_us(s.latency.p50_us),
        fmt_us(s.latency.p99_us),
        fmt_us(s.latency.max_us),
        s.throughput
    );
}

/// `tool_error 2, rate_limited 1`, or `0` when every call succeeded.
pub(crate) fn error_kinds(o: &Outcomes) -> String {
    let kinds: Vec<String> = CallOutcome::ALL
        .iter()
        .filter(|k| **k != CallOutcome::Ok && o.get(**k) > 0)
        .map(|k| format!("{} {}", k.as_str(), o.get(*k)))
        .collect();
    if kinds.is_empty() {
        "0".to_owned()
    } else {
        kinds.join(", ")
    }
}

/// Text safe inside a table cell: one line, `|` escaped.
fn cell(text: &str) -> String {
    one_line(text).replace('|', "\\|")
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}
