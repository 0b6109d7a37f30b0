//! `mcp-slo soak`: a scenario's load held at one rate for minutes (by default 80 % of the
//! capacity `mcp-slo capacity` found), judged by its objectives and by how much the server
//! processes' resident memory and open descriptors grew after the warm-up. The scenario
//! is made by `mcp_slo_core::verdict::capacity::soak_scenario`; the run is `run`'s.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::anyhow;
use mcp_slo_core::units::{parse_duration, parse_percent, parse_rate};
use mcp_slo_core::verdict::capacity::soak_scenario;

use crate::Outcome;

#[derive(Debug, clap::Args)]
pub struct SoakArgs {
    /// The rate to hold, e.g. `400/s` (instead of a fraction of --capacity).
    #[arg(long, conflicts_with = "capacity")]
    pub rate: Option<String>,
    /// A `capacity.json` written by `mcp-slo capacity`: the soak holds --fraction of the
    /// highest rate that met every objective.
    #[arg(long)]
    pub capacity: Option<PathBuf>,
    /// The part of the capacity to hold.
    #[arg(long, default_value = "80%")]
    pub fraction: String,
    /// How long the judged soak lasts (after the warm-up).
    #[arg(long, default_value = "10m")]
    pub duration: String,
    /// Load at the same rate before the judged soak; growth is judged after it.
    #[arg(long, default_value = "1m")]
    pub warmup: String,
    /// Report directory (default: reports/<scenario>-soak-<timestamp>).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Sample this server process too (spawned targets are sampled anyway).
    #[arg(long)]
    pub target_pid: Option<u32>,
    /// Plain progress lines instead of a progress bar.
    #[arg(long)]
    pub no_progress_bar: bool,
    /// Where the spawned servers' backends come from (as for `run`).
    #[arg(long, default_value = "auto", env = "MCP_SLO_BACKENDS")]
    pub backends: mcp_slo_backends::Choice,
}

/// The rate a soak holds: `--rate`, or `--fraction` of a capacity report's highest passing
/// rate.
fn rate(args: &SoakArgs) -> Result<f64, anyhow::Error> {
    if let Some(r) = &args.rate {
        return parse_rate(r).map_err(|e| anyhow!("--rate: {e}"));
    }
    let Some(file) = &args.capacity else {
        return Err(anyhow!(
            "give --rate, or --capacity with the capacity.json of `mcp-slo capacity`"
        ));
    };
    let fraction = parse_percent(&args.fraction)
        .ok()
        .filter(|f| *f > 0.0)
        .ok_or_else(|| {
            anyhow!(
                "--fraction: {:?} is not a percentage above 0",
                args.fraction
            )
        })?;
    let text =
        std::fs::read_to_string(file).map_err(|e| anyhow!("--capacity {}: {e}", file.display()))?;
    let report: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| anyhow!("--capacity {}: not JSON: {e}", file.display()))?;
    let max = report
        .get("max_rate")
        .and_then(serde_json::Value::as_f64)
        .ok_or_else(|| {
            anyhow!(
                "--capacity {}: no max_rate (no step met every objective, or not a capacity report)",
                file.display()
            )
        })?;
    Ok(max * fraction)
}

fn duration(name: &str, text: &str) -> Result<Duration, anyhow::Error> {
    parse_duration(text)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| anyhow!("--{name}: {text:?} is not a duration above 0"))
}

pub async fn soak(path: &Path, args: &SoakArgs) -> Outcome {
    let (scenario, findings) = match crate::run::load(path) {
        Ok(x) => x,
        Err(e) => return Outcome::Invalid(e),
    };
    let (rate, warmup, hold) = match (
        rate(args),
        duration("warmup", &args.warmup),
        duration("duration", &args.duration),
    ) {
        (Ok(r), Ok(w), Ok(h)) => (r, w, h),
        (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => return Outcome::Invalid(e),
    };
    if scenario.mix.is_empty() {
        return Outcome::Invalid(anyhow!("{}: a soak needs a mix", path.display()));
    }
    let soak = soak_scenario(&scenario, rate, warmup, hold);
    eprintln!(
        "soak of {}: {rate:.1}/s for {} after a {} warm-up",
        scenario.name, args.duration, args.warmup
    );
    crate::run::run_loaded(
        &soak,
        findings,
        args.out.clone(),
        crate::run::RunOptions {
            target_pid: args.target_pid,
            plain: args.no_progress_bar,
            backends: args.backends,
            publish: None,
            launch: Default::default(),
        },
    )
    .await
}
