//! The regression gate: a run compared with a baseline, per measure (p50/p95/p99, error
//! rate, achieved rate) overall and per tool. A change is a regression only when it is
//! beyond the tolerance AND beyond the runs' own noise: a one-sided Mann-Whitney U test on
//! the per-second values of the recorded seconds (per-second p50/p95/p99, error ratio,
//! successful calls) says the current run is worse at the 5% level. One slow second does
//! not move it; a shift of the whole distribution does.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::maths::{ratio, relative_change};
use crate::result::{RunResult, Summary, TimelinePoint};
use crate::stats::mann_whitney_u;

/// Significance level of the noise test.
pub const ALPHA: f64 = 0.05;

pub const METHOD: &str =
    "one-sided Mann-Whitney U test on per-second values of the recorded seconds, alpha 0.05";

/// How much worse a measure may get before it counts (relative, except the error rate,
/// which is in absolute points: 0.001 = 0.1 percentage points).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Tolerances {
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    pub error_rate: f64,
    pub rate: f64,
}

impl Default for Tolerances {
    fn default() -> Self {
        Tolerances {
            p50: 0.10,
            p95: 0.10,
            p99: 0.10,
            error_rate: 0.001,
            rate: 0.05,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Delta {
    /// `overall` or a tool name.
    pub scope: String,
    /// `p50`, `p95`, `p99` (µs), `error_rate` (ratio) or `rate` (calls/s).
    pub measure: String,
    pub baseline: f64,
    pub current: f64,
    /// Relative change for latency and rate, absolute for the error rate; positive is worse.
    pub worse_by: f64,
    pub tolerance: f64,
    pub beyond_tolerance: bool,
    /// One-sided p-value that the current run is worse; `None` with too few seconds.
    pub p_value: Option<f64>,
    pub regression: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Comparison {
    pub baseline: String,
    pub current: String,
    pub method: String,
    pub tolerances: Tolerances,
    pub deltas: Vec<Delta>,
    pub regressions: usize,
}

/// Per-second samples of one scope from a run's recorded seconds with calls.
struct Samples {
    p50: Vec<f64>,
    p95: Vec<f64>,
    p99: Vec<f64>,
    error: Vec<f64>,
    ok: Vec<f64>,
}

fn samples(r: &RunResult, tool: Option<&str>) -> Samples {
    let mut s = Samples {
        p50: Vec::new(),
        p95: Vec::new(),
        p99: Vec::new(),
        error: Vec::new(),
        ok: Vec::new(),
    };
    for p in r.timeline.iter().filter(|p| p.recorded) {
        let Some(point) = point_of(p, tool) else {
            continue;
        };
        if point.calls == 0 {
            continue;
        }
        s.p50.push(point.p50_us as f64);
        s.p95.push(point.p95_us as f64);
        s.p99.push(point.p99_us as f64);
        s.error.push(ratio(point.failed, point.calls));
        s.ok.push((point.calls - point.failed) as f64);
    }
    s
}

struct Point {
    calls: u64,
    failed: u64,
    p50_us: u64,
    p95_us: u64,
    p99_us: u64,
}

fn point_of(p: &TimelinePoint, tool: Option<&str>) -> Option<Point> {
    match tool {
        None => Some(Point {
            calls: p.outcomes.total(),
            failed: p.outcomes.failed(),
            p50_us: p.p50_us,
            p95_us: p.p95_us,
            p99_us: p.p99_us,
        }),
        Some(t) => p.tools.get(t).map(|tp| Point {
            calls: tp.calls,
            failed: tp.failed,
            p50_us: tp.p50_us,
            p95_us: tp.p95_us,
            p99_us: tp.p99_us,
        }),
    }
}

/// `p` such that the current samples are stochastically greater (`worse_if_higher`) or
/// smaller than the baseline's.
fn worse_p(base: &[f64], cur: &[f64], worse_if_higher: bool) -> Option<f64> {
    if base.len() < 3 || cur.len() < 3 {
        return None;
    }
    let m = if worse_if_higher {
        mann_whitney_u(base, cur)?
    } else {
        mann_whitney_u(cur, base)?
    };
    Some(m.p_greater)
}

fn scope_deltas(
    scope: &str,
    b: (&Summary, &Samples),
    c: (&Summary, &Samples),
    tol: &Tolerances,
) -> Vec<Delta> {
    let (bs, bx) = b;
    let (cs, cx) = c;
    let mut out = Vec::new();
    let mut push =
        |measure: &str, base: f64, cur: f64, worse_by: f64, tolerance: f64, p: Option<f64>| {
            let beyond = worse_by > tolerance;
            out.push(Delta {
                scope: scope.to_owned(),
                measure: measure.to_owned(),
                baseline: base,
                current: cur,
                worse_by,
                tolerance,
                beyond_tolerance: beyond,
                p_value: p,
                regression: beyond && p.is_some_and(|p| p < ALPHA),
            });
        };
    for (measure, base, cur, tolerance, bsamp, csamp) in [
        (
            "p50",
            bs.latency.p50_us,
            cs.latency.p50_us,
            tol.p50,
            &bx.p50,
            &cx.p50,
        ),
        (
            "p95",
            bs.latency.p95_us,
            cs.latency.p95_us,
            tol.p95,
            &bx.p95,
            &cx.p95,
        ),
        (
            "p99",
            bs.latency.p99_us,
            cs.latency.p99_us,
            tol.p99,
            &bx.p99,
            &cx.p99,
        ),
    ] {
        let (base, cur) = (base as f64, cur as f64);
        push(
            measure,
            base,
            cur,
            relative_change(base, cur),
            tolerance,
            worse_p(bsamp, csamp, true),
        );
    }
    push(
        "error_rate",
        bs.error_rate,
        cs.error_rate,
        cs.error_rate - bs.error_rate,
        tol.error_rate,
        worse_p(&bx.error, &cx.error, true),
    );
    push(
        "rate",
        bs.throughput,
        cs.throughput,
        -relative_change(bs.throughput, cs.throughput),
        tol.rate,
        worse_p(&bx.ok, &cx.ok, false),
    );
    out
}

/// Compares `current` with `baseline`, overall and for every tool both ran.
pub fn compare(baseline: &RunResult, current: &RunResult, tol: &Tolerances) -> Comparison {
    let mut deltas = scope_deltas(
        "overall",
        (&baseline.overall, &samples(baseline, None)),
        (&current.overall, &samples(current, None)),
        tol,
    );
    let shared: BTreeMap<&String, (&Summary, &Summary)> = baseline
        .tools
        .iter()
        .filter_map(|(t, b)| current.tools.get(t).map(|c| (t, (b, c))))
        .collect();
    for (tool, (b, c)) in shared {
        deltas.extend(scope_deltas(
            tool,
            (b, &samples(baseline, Some(tool))),
            (c, &samples(current, Some(tool))),
            tol,
        ));
    }
    let regressions = deltas.iter().filter(|d| d.regression).count();
    Comparison {
        baseline: format!("{} ({})", baseline.scenario.name, baseline.started_at),
        current: format!("{} ({})", current.scenario.name, current.started_at),
        method: METHOD.to_owned(),
        tolerances: *tol,
        deltas,
        regressions,
    }
}

fn value(measure: &str, v: f64) -> String {
    match measure {
        "error_rate" => format!("{:.3}%", v * 100.0),
        "rate" => format!("{v:.1}/s"),
        _ => crate::units::fmt_duration(std::time::Duration::from_micros(v as u64)),
    }
}

fn change(d: &Delta) -> String {
    if !d.worse_by.is_finite() {
        return "from 0".to_owned();
    }
    match d.measure.as_str() {
        "error_rate" => format!("{:+.3} pp", d.worse_by * 100.0),
        "rate" => format!("{:+.1}%", -d.worse_by * 100.0),
        _ => format!("{:+.1}%", d.worse_by * 100.0),
    }
}

/// A Markdown table for a pull-request comment.
pub fn markdown(c: &Comparison) -> String {
    let mut out = format!(
        "## mcp-slo compare: {}\n\nbaseline {} → current {}\n\n| scope | measure | baseline | current | change | tolerance | p (worse) | |\n|---|---|---|---|---|---|---|---|\n",
        if c.regressions == 0 {
            "✅ no regression".to_owned()
        } else {
            format!(
                "❌ {} regression{}",
                c.regressions,
                if c.regressions == 1 { "" } else { "s" }
            )
        },
        c.baseline,
        c.current
    );
    for d in &c.deltas {
        let tolerance = match d.measure.as_str() {
            "error_rate" => format!("{:.3} pp", d.tolerance * 100.0),
            _ => format!("{:.0}%", d.tolerance * 100.0),
        };
        let mark = if d.regression {
            "❌ regression"
        } else if d.beyond_tolerance {
            "within noise"
        } else {
            ""
        };
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {mark} |\n",
            d.scope,
            d.measure,
            value(&d.measure, d.baseline),
            value(&d.measure, d.current),
            change(d),
            tolerance,
            d.p_value.map_or("–".to_owned(), |p| format!("{p:.3}"))
        ));
    }
    out.push_str(&format!(
        "\nA regression is a change beyond its tolerance that the runs' noise does not explain ({}).\n",
        c.method
    ));
    out
}

#[cfg(test)]
pub(crate) mod tests;
