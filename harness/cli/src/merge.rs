//! `merge DIR...`: shards' report directories (`run --shard`) as one run, judged once.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, anyhow};
use mcp_slo_core::measure::file::RecordFile;
use mcp_slo_core::measure::shards::{ShardRun, merge as merge_records};
use mcp_slo_core::result::{Finding, FindingSeverity, RunResult};

use crate::Outcome;
use crate::shard::{RECORD_FILE, scenario_sha256};

#[derive(Debug, clap::Args)]
pub struct MergeArgs {
    /// The shards' report directories (each with result.json and record.json).
    #[arg(required = true)]
    dirs: Vec<PathBuf>,
    /// Report directory (default: reports/<scenario>-merged-<timestamp>).
    #[arg(long)]
    out: Option<PathBuf>,
    /// The scenario the shards ran (default: the file their results name); it must be the
    /// same file (its SHA-256 is checked).
    #[arg(long)]
    scenario: Option<PathBuf>,
    /// Refuse shards whose loads started further apart than this.
    #[arg(long, default_value = "5s")]
    max_skew: String,
}

pub fn merge(args: &MergeArgs) -> Outcome {
    let max_skew = match mcp_slo_core::units::parse_duration(&args.max_skew) {
        Ok(d) => d,
        Err(e) => return Outcome::Invalid(anyhow!("--max-skew: {e}")),
    };
    match read_and_merge(args, max_skew) {
        Ok(outcome) => outcome,
        Err(e) => Outcome::Invalid(e),
    }
}

fn read_and_merge(args: &MergeArgs, max_skew: Duration) -> Result<Outcome, anyhow::Error> {
    let mut results = Vec::with_capacity(args.dirs.len());
    let mut runs = Vec::with_capacity(args.dirs.len());
    for dir in &args.dirs {
        let (result, run) = read_shard(dir)?;
        results.push(result);
        runs.push(run);
    }
    let first = results
        .iter()
        .min_by_key(|r| r.shard.as_ref().map(|m| m.index))
        .ok_or_else(|| anyhow!("nothing to merge"))?;
    let path = args
        .scenario
        .clone()
        .unwrap_or_else(|| PathBuf::from(&first.scenario.file));
    let (scenario, feasibility) = crate::run::load(&path)?;
    let sha256 = scenario_sha256(&path)?;
    if let Some(mark) = &first.shard
        && mark.scenario_sha256 != sha256
    {
        return Err(anyhow!(
            "{}: its SHA-256 is {sha256}, but the shards ran a file whose SHA-256 is {}: give the scenario they ran (--scenario)",
            path.display(),
            mark.scenario_sha256
        ));
    }
    let (record, merged) = merge_records(runs, max_skew)?;
    eprintln!(
        "merged {} shards of {} (starts {:.0} ms apart at most)",
        merged.count, scenario.name, merged.skew_ms
    );
    let mut findings = feasibility;
    findings.extend(shards_findings(&results));
    if results.iter().any(|r| !r.costs.is_empty()) {
        findings.push(Finding {
            severity: FindingSeverity::Info,
            message: "each shard sampled the server processes it could see: their costs are in the shards' reports".to_owned(),
        });
    }
    let probes = first.probes.clone();
    let targets = first.targets.clone();
    let mut result =
        crate::assemble::assemble(&scenario, &record, targets, findings, Vec::new(), probes);
    result.merged = Some(merged);
    let out = args.out.clone().unwrap_or_else(|| {
        PathBuf::from("reports").join(format!(
            "{}-merged-{}",
            scenario.name,
            crate::run::humantime_stamp()
        ))
    });
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    Ok(crate::run::finish(&scenario, result, &out))
}

/// A shard's result and record, checked to be a shard's.
fn read_shard(dir: &Path) -> Result<(RunResult, ShardRun), anyhow::Error> {
    let result = mcp_slo_report::read_result(&dir.join("result.json"))?;
    let Some(mark) = result.shard.clone() else {
        return Err(anyhow!(
            "{}: not a shard's result (run it with --shard I/N)",
            dir.join("result.json").display()
        ));
    };
    let path = dir.join(RECORD_FILE);
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let file: RecordFile = serde_json::from_str(&text)
        .with_context(|| format!("{}: not a run's record", path.display()))?;
    let record = file
        .record()
        .with_context(|| format!("{}", path.display()))?;
    Ok((
        result,
        ShardRun {
            mark,
            record,
            source: dir.display().to_string(),
        },
    ))
}

/// The shards' findings, each once, saying which shards had it.
fn shards_findings(results: &[RunResult]) -> Vec<Finding> {
    let mut seen: Vec<(Finding, Vec<u32>)> = Vec::new();
    for r in results {
        let index = r.shard.as_ref().map_or(0, |m| m.index);
        for f in &r.findings {
            match seen.iter_mut().find(|(s, _)| s.message == f.message) {
                Some((_, shards)) => shards.push(index),
                None => seen.push((f.clone(), vec![index])),
            }
        }
    }
    seen.into_iter()
        .map(|(f, mut shards)| {
            shards.sort_unstable();
            let list: Vec<String> = shards.iter().map(u32::to_string).collect();
            Finding {
                severity: f.severity,
                message: format!("shard {}: {}", list.join(", "), f.message),
            }
        })
        .collect()
}
