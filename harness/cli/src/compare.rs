//! `report` (re-render a stored result) and `compare` (the regression gate).

use std::path::{Path, PathBuf};

use anyhow::anyhow;
use mcp_slo_core::compare::{Tolerances, compare, markdown};
use mcp_slo_core::units::parse_percent;
use mcp_slo_core::verdict::add_line;
use mcp_slo_core::verdict::baseline::judge_baseline;

use crate::Outcome;

/// Tolerances as given on the command line (percentages, e.g. `10%`).
#[derive(Debug, clap::Args)]
pub struct ToleranceArgs {
    /// How much p50 may grow.
    #[arg(long, default_value = "10%")]
    pub p50: String,
    /// How much p95 may grow.
    #[arg(long, default_value = "10%")]
    pub p95: String,
    /// How much p99 may grow.
    #[arg(long, default_value = "10%")]
    pub p99: String,
    /// How many percentage points the error rate may grow.
    #[arg(long, default_value = "0.1%")]
    pub error_rate: String,
    /// How much the achieved rate may drop.
    #[arg(long, default_value = "5%")]
    pub rate: String,
}

impl ToleranceArgs {
    fn parse(&self) -> Result<Tolerances, anyhow::Error> {
        let p = |name: &str, v: &str| parse_percent(v).map_err(|e| anyhow!("--{name}: {e}"));
        Ok(Tolerances {
            p50: p("p50", &self.p50)?,
            p95: p("p95", &self.p95)?,
            p99: p("p99", &self.p99)?,
            error_rate: p("error-rate", &self.error_rate)?,
            rate: p("rate", &self.rate)?,
        })
    }
}

/// Writes every report format again from a stored `result.json`.
pub fn report(result: &Path, out: Option<PathBuf>) -> Outcome {
    let r = match mcp_slo_report::read_result(result) {
        Ok(r) => r,
        Err(e) => return Outcome::Invalid(e.into()),
    };
    let out = out.unwrap_or_else(|| {
        result
            .parent()
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
    });
    match mcp_slo_report::write_all(&out, &r) {
        Ok(_) => {
            println!("{}", mcp_slo_report::console_table(&r));
            println!("report: {}", out.display());
            Outcome::Pass
        }
        Err(e) => Outcome::Infrastructure(e.into()),
    }
}

/// Compares two stored results; exit 1 when the current one regressed.
pub fn compare_files(
    baseline: &Path,
    current: &Path,
    tolerances: &ToleranceArgs,
    markdown_out: Option<PathBuf>,
) -> Outcome {
    let tol = match tolerances.parse() {
        Ok(t) => t,
        Err(e) => return Outcome::Invalid(e),
    };
    let (b, c) = match (
        mcp_slo_report::read_result(baseline),
        mcp_slo_report::read_result(current),
    ) {
        (Ok(b), Ok(c)) => (b, c),
        (Err(e), _) | (_, Err(e)) => return Outcome::Invalid(e.into()),
    };
    if b.scenario.name != c.scenario.name {
        eprintln!(
            "warning: comparing different scenarios ({} and {})",
            b.scenario.name, c.scenario.name
        );
    }
    let comparison = compare(&b, &c, &tol);
    let text = markdown(&comparison);
    println!("{text}");
    if let Some(path) = markdown_out
        && let Err(e) = std::fs::write(&path, &text)
    {
        return Outcome::Infrastructure(anyhow!("cannot write {}: {e}", path.display()));
    }
    if comparison.regressions == 0 {
        Outcome::Pass
    } else {
        Outcome::Fail
    }
}

/// The scenario's `baseline:`: the run compared with a stored result, as one verdict line
/// (failing on any regression); the full table goes to `compare.md` in the report.
pub fn baseline_objective(
    baseline: &mcp_slo_core::spec::Baseline,
    result: &mut mcp_slo_core::result::RunResult,
    out: &Path,
) -> Result<(), anyhow::Error> {
    let base = mcp_slo_report::read_result(&baseline.file)?;
    let label = baseline.file.display().to_string();
    let (line, comparison) = judge_baseline(&label, &base, result, &baseline.tolerances);
    std::fs::write(out.join("compare.md"), markdown(&comparison))
        .map_err(|e| anyhow!("cannot write {}: {e}", out.join("compare.md").display()))?;
    add_line(result, line);
    Ok(())
}
