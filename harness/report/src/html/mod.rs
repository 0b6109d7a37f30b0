//! `report.html`: the whole run in one self-contained page. CSS is inline and every chart
//! is an inline SVG drawn with plotters, so the file opens anywhere (a CI artifact, an
//! e-mail attachment) without JavaScript or network access.
//!
//! Sections, in order: the run and its verdict badge, the objectives, latency over time,
//! offered and achieved rate with outcomes, the latency distribution on a "nines" axis,
//! boundary probes, alarm timelines with burn-rate alerts, cost and findings, and the
//! capacity curve ([`capacity_html`], for the capacity command to embed).

mod alarms;
mod capacity;
mod chart;
mod distribution;
mod probes;
mod timeline;

use std::fmt::Write as _;

use mcp_slo_core::result::{FindingSeverity, RunResult, Verdict};

use crate::cost;

pub use capacity::{CapacityStep, CapacityView, capacity_html, capacity_page};

/// The run as one HTML page, without a capacity curve.
pub fn report_html(r: &RunResult) -> String {
    report_html_with_capacity(r, None)
}

/// The run as one HTML page; `capacity` fills the last section when the run measured one.
pub fn report_html_with_capacity(r: &RunResult, capacity: Option<&CapacityView>) -> String {
    let mut out = String::with_capacity(256 * 1024);
    let badge = verdict_word(r.verdict);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>mcp-slo: {} {badge}</title>\n<style>{CSS}</style>\n</head>\n<body>\n",
        esc(&r.scenario.name)
    );
    header(&mut out, r);
    out.push_str("<main>\n");
    objectives(&mut out, r);
    timeline::latency_section(&mut out, r);
    timeline::rate_section(&mut out, r);
    distribution::section(&mut out, r);
    probes::section(&mut out, r);
    alarms::section(&mut out, r);
    cost_and_findings(&mut out, r);
    match capacity {
        Some(view) => out.push_str(&capacity_html(view)),
        None => {
            section_start(&mut out, "capacity", "Capacity");
            note(
                &mut out,
                "This run measured no capacity steps: a capacity run draws achieved rate and \
                 p99 against offered rate here.",
            );
            out.push_str("</section>\n");
        }
    }
    let _ = write!(
        out,
        "</main>\n<footer>{} · mcp-slo {}{} on {} cores · {}</footer>\n</body>\n</html>\n",
        esc(&r.scenario.file),
        esc(&r.harness.version),
        r.harness
            .build_profile
            .map_or(String::new(), |p| format!(" ({} build)", p.as_str())),
        r.harness.cores,
        esc(&r.schema)
    );
    out
}

fn verdict_word(v: Verdict) -> &'static str {
    match v {
        Verdict::Pass => "PASS",
        Verdict::Fail => "FAIL",
        Verdict::Inconclusive => "INCONCLUSIVE",
    }
}

/// Section 1: what ran, where, and the verdict.
fn header(out: &mut String, r: &RunResult) {
    let (class, word) = match r.verdict {
        Verdict::Pass => ("pass", "PASS"),
        Verdict::Fail => ("fail", "FAIL"),
        Verdict::Inconclusive => ("inconclusive", "INCONCLUSIVE"),
    };
    let _ = writeln!(
        out,
        "<header>\n<h1>{} <span class=\"badge {class}\">{word}</span></h1>",
        esc(&r.scenario.name)
    );
    if let Some(description) = &r.scenario.description {
        let _ = writeln!(out, "<p class=\"description\">{}</p>", esc(description));
    }
    let l = &r.load;
    let _ = writeln!(
        out,
        "<dl>\n<dt>Started</dt><dd>{}</dd>\n<dt>Duration</dt><dd>{}</dd>\n\
         <dt>Load</dt><dd>{} model · offered {}/s, achieved {}/s · {} of {} calls completed</dd>\n\
         <dt>Scenario</dt><dd>{}</dd>\n<dt>Harness</dt><dd>mcp-slo {}, {}</dd>\n</dl>",
        esc(&r.started_at),
        seconds(r.duration_s),
        esc(&l.model),
        num(l.offered_rate, 1),
        num(l.achieved_rate, 1),
        l.completed_calls,
        l.offered_calls,
        esc(&r.scenario.file),
        esc(&r.harness.version),
        cost::build_words(r.harness.build_profile)
    );
    if r.targets.is_empty() {
        note(out, "No targets recorded.");
    } else {
        out.push_str(
            "<table>\n<thead><tr><th>Target</th><th>URL</th><th>Mode</th><th>Spawned</th>\
             <th>Protocol</th><th>Build</th><th>Backends</th></tr></thead>\n<tbody>\n",
        );
        for t in &r.targets {
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&t.name),
                esc(&t.url),
                esc(&t.mode),
                if t.spawned { "yes" } else { "no" },
                esc(&t.protocol_version),
                cost::build_words(t.build_profile),
                backends_cell(t)
            );
        }
        out.push_str("</tbody>\n</table>\n");
        if crate::ran_embedded(r) {
            let _ = writeln!(
                out,
                "<p class=\"note embedded\">{}</p>",
                esc(crate::EMBEDDED_NOTE)
            );
        }
    }
    out.push_str(
        "<nav><a href=\"#verdict\">Verdict</a> · <a href=\"#latency\">Latency</a> · \
         <a href=\"#rate\">Rate</a> · <a href=\"#distribution\">Distribution</a> · \
         <a href=\"#probes\">Probes</a> · <a href=\"#alarms\">Alarms</a> · \
         <a href=\"#cost\">Cost</a> · <a href=\"#capacity\">Capacity</a></nav>\n</header>\n",
    );
}

/// A target's backends, one per line: `postgres embedded sqlite (...)`; "not known" for a
/// target given by URL.
fn backends_cell(t: &mcp_slo_core::result::TargetInfo) -> String {
    if t.backends.is_empty() {
        return "not known (given by URL)".to_owned();
    }
    t.backends
        .iter()
        .map(|b| {
            format!(
                "{} <b>{}</b> <code>{}</code>",
                esc(&b.service),
                esc(b.source.as_str()),
                esc(&b.address)
            )
        })
        .collect::<Vec<_>>()
        .join("<br>")
}

/// Section 2: every objective with its verdict.
fn objectives(out: &mut String, r: &RunResult) {
    section_start(out, "verdict", "Verdict");
    if r.objectives.is_empty() {
        note(
            out,
            "No objectives: the verdict only reflects that the run completed.",
        );
        out.push_str("</section>\n");
        return;
    }
    out.push_str(
        "<table class=\"verdict\">\n<thead><tr><th>Objective</th><th>Kind</th><th>Target</th>\
         <th>Measured</th><th>Result</th><th>Detail</th></tr></thead>\n<tbody>\n",
    );
    for o in &r.objectives {
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td>{}<td>{}</td></tr>",
            esc(&o.name),
            o.kind,
            esc(&o.target),
            esc(&o.measured),
            match &o.inconclusive {
                Some(_) if !o.passed => "<td class=\"inconclusive\">inconclusive</td>",
                _ => result_cell(o.passed),
            },
            esc(&[o.detail.as_deref(), o.inconclusive.as_deref()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join("; "))
        );
    }
    out.push_str("</tbody>\n</table>\n");
    if !r.faults.is_empty() {
        out.push_str(
            "<h3>Faults</h3>\n<table>\n<thead><tr><th>Fault</th><th>Kind</th><th>Started</th>\
             <th>Ended</th><th>Error</th></tr></thead>\n<tbody>\n",
        );
        for f in &r.faults {
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&f.name),
                esc(&f.kind),
                crate::fault_time(Some(f.started_ms)),
                crate::fault_time(f.ended_ms),
                esc(f.error.as_deref().unwrap_or(""))
            );
        }
        out.push_str("</tbody>\n</table>\n");
    }
    out.push_str("</section>\n");
}

/// Section 8: what each server spent, and what the harness noticed.
fn cost_and_findings(out: &mut String, r: &RunResult) {
    section_start(out, "cost", "Cost and findings");
    let costs = cost::costs(r);
    if costs.is_empty() {
        note(
            out,
            "No server cost: no target was spawned by the harness or given with --target-pid.",
        );
    } else {
        note(out, &format!("{}.", cost::COST_MEANING));
        out.push_str(
            "<table>\n<thead><tr><th>Target</th><th>Build</th><th>CPU per call</th>\
             <th>Calls</th><th>CPU time</th><th>Peak RSS</th><th>Sampled</th></tr></thead>\n<tbody>\n",
        );
        for c in &costs {
            let build = cost::build_words(c.build_profile);
            // The build is named beside the figure itself, not only in its own column.
            let per_call = c.cpu_us_per_call.map_or_else(
                || "not measured".to_owned(),
                |us| format!("{} µs ({build})", num(us, 1)),
            );
            let calls = c
                .calls
                .map_or_else(|| "not known".to_owned(), |n| n.to_string());
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td>{build}</td><td class=\"num\">{per_call}</td>\
                 <td class=\"num\">{calls}</td><td class=\"num\">{}</td>\
                 <td class=\"num\">{} MiB</td><td>pid {}, {} samples</td></tr>",
                esc(&c.target),
                seconds(c.cpu_seconds),
                num(cost::mib(c.peak_rss_bytes), 1),
                c.pid,
                c.samples
            );
        }
        out.push_str("</tbody>\n</table>\n");
    }
    let footprints = cost::footprint_rows(r);
    if !footprints.is_empty() {
        out.push_str("<h3>Footprint</h3>\n");
        note(
            out,
            "Each sampled server process once a second over the load.",
        );
        out.push_str("<table>\n<thead><tr>");
        for c in cost::FOOTPRINT_COLUMNS {
            let _ = write!(out, "<th>{}</th>", esc(c));
        }
        out.push_str("</tr></thead>\n<tbody>\n");
        for row in &footprints {
            out.push_str("<tr>");
            for c in row {
                let _ = write!(out, "<td>{}</td>", esc(c));
            }
            out.push_str("</tr>\n");
        }
        out.push_str("</tbody>\n</table>\n");
    }
    out.push_str("<h3>Findings</h3>\n");
    if r.findings.is_empty() {
        note(out, "No findings.");
    } else {
        out.push_str("<ul class=\"findings\">\n");
        for f in &r.findings {
            let class = match f.severity {
                FindingSeverity::Error => "fail",
                FindingSeverity::Warning => "warn",
                FindingSeverity::Info => "info",
            };
            let _ = writeln!(
                out,
                "<li><span class=\"tag {class}\">{}</span> {}</li>",
                f.severity,
                esc(&f.message)
            );
        }
        out.push_str("</ul>\n");
    }
    out.push_str("</section>\n");
}

fn section_start(out: &mut String, id: &str, title: &str) {
    let _ = writeln!(out, "<section id=\"{id}\">\n<h2>{}</h2>", esc(title));
}

fn note(out: &mut String, text: &str) {
    let _ = writeln!(out, "<p class=\"note\">{}</p>", esc(text));
}

/// A chart with its caption.
fn figure(out: &mut String, svg: &str, caption: &str) {
    let _ = writeln!(
        out,
        "<figure>\n{svg}<figcaption>{}</figcaption>\n</figure>",
        esc(caption)
    );
}

fn result_cell(passed: bool) -> &'static str {
    if passed {
        "<td class=\"pass\">pass</td>"
    } else {
        "<td class=\"fail\">fail</td>"
    }
}

/// Text safe in HTML content and attribute values: the JUnit writer's XML escaping,
/// which HTML5 reads the same way.
pub(crate) use crate::junit::escape as esc;

/// `12.3`, or `n/a` for NaN and infinities.
fn num(v: f64, decimals: usize) -> String {
    if v.is_finite() {
        format!("{v:.decimals$}")
    } else {
        "n/a".to_owned()
    }
}

/// `65.0 s`.
fn seconds(s: f64) -> String {
    format!("{} s", num(s, 1))
}

const CSS: &str = "
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#222;margin:0;
background:#fafafa;line-height:1.45}
header,main,footer{max-width:1180px;margin:0 auto;padding:0 24px}
header{padding-top:16px}
h1{font-size:1.6em;margin:.4em 0}
h2{border-bottom:2px solid #ddd;padding-bottom:4px;margin-top:1.8em}
h3{margin-bottom:.3em}
.badge{font-size:.7em;padding:2px 12px;border-radius:4px;color:#fff;vertical-align:middle}
.badge.pass{background:#2ca02c}.badge.fail{background:#d62728}.badge.inconclusive{background:#e08a00}
.description{font-style:italic;color:#555}
dl{display:grid;grid-template-columns:max-content auto;gap:2px 16px;margin:.5em 0}
dt{font-weight:600}dd{margin:0}
table{border-collapse:collapse;margin:.6em 0;background:#fff;font-size:.92em}
th,td{border:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f0f0f0}
td.num{text-align:right;font-variant-numeric:tabular-nums}
td.pass{color:#1a7f1a;font-weight:600}td.fail{color:#c01010;font-weight:600}td.inconclusive{color:#a05a00;font-weight:600}
.tag{font-size:.8em;padding:1px 6px;border-radius:3px;color:#fff;background:#777}
.tag.fail{background:#d62728}.tag.warn{background:#e08a00}.tag.info{background:#1f77b4}
figure{margin:1em 0;background:#fff;border:1px solid #e4e4e4;padding:8px}
figure svg{max-width:100%;height:auto;display:block}
figcaption,.note{color:#555;font-size:.9em}
ul.plain{margin:0;padding-left:1.2em}
nav{margin:.8em 0}nav a{color:#1f5fa8}
footer{color:#777;font-size:.85em;padding-top:2em;padding-bottom:2em}
";
