//! Shards' records added into one run (`mcp-slo merge`): histograms added (exact, as if
//! one process had recorded every call), per-second series aligned on the wall clock,
//! counts summed. Shards that do not belong together are refused.

use std::time::Duration;

use super::{Measurements, Recorder, RunRecord};
use crate::result::{MergedShard, MergedShards, ShardMark};

/// One shard as read: its mark, its record, and where it came from (for messages).
pub struct ShardRun {
    pub mark: ShardMark,
    pub record: RunRecord,
    pub source: String,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MergeError {
    #[error("nothing to merge: give the shards' report directories")]
    Empty,
    #[error(
        "{dir}: shard of {theirs}, but {first} is of {ours}: shards of other scenarios or other versions of it are not merged"
    )]
    OtherScenario {
        dir: String,
        /// `name (scenario file sha256 ...)`.
        theirs: String,
        first: String,
        ours: String,
    },
    #[error("{dir}: shard {index} of {count}, but {first} is one of {first_count}")]
    OtherCount {
        dir: String,
        index: u32,
        count: u32,
        first: String,
        first_count: u32,
    },
    #[error("{dir} and {other} are both shard {index}")]
    Overlap {
        dir: String,
        other: String,
        index: u32,
    },
    #[error("shard {missing:?} of {count} missing: merge every shard of the run")]
    Missing { missing: Vec<u32>, count: u32 },
    #[error(
        "{dir}: its load started {apart_s:.1} s after {first}'s, more than {max_s:.1} s: these shards did not run together (start them with the same --start-at, or pass --max-skew)"
    )]
    TooFarApart {
        dir: String,
        first: String,
        apart_s: f64,
        max_s: f64,
    },
}

/// The shards' records as one run (see the module's documentation).
pub fn merge(
    mut runs: Vec<ShardRun>,
    max_skew: Duration,
) -> Result<(RunRecord, MergedShards), MergeError> {
    belong_together(&mut runs)?;
    let origin = runs
        .iter()
        .map(|r| r.record.started_at)
        .min()
        .ok_or(MergeError::Empty)?;
    let after = |r: &ShardRun| {
        r.record
            .started_at
            .duration_since(origin)
            .unwrap_or_default()
    };
    let earliest = runs
        .iter()
        .min_by_key(|r| r.record.started_at)
        .map(|r| r.source.clone())
        .unwrap_or_default();
    if let Some(late) = runs.iter().find(|r| after(r) > max_skew) {
        return Err(MergeError::TooFarApart {
            dir: late.source.clone(),
            first: earliest,
            apart_s: after(late).as_secs_f64(),
            max_s: max_skew.as_secs_f64(),
        });
    }
    let mut recorder = Recorder::default();
    let mut window: Option<(usize, usize)> = None;
    let (mut recorded_seconds, mut duration) = (0.0_f64, Duration::ZERO);
    let (mut workers, mut offered_calls, mut offered_rate) = (0, 0, 0.0);
    let mut parts = Vec::with_capacity(runs.len());
    for run in &runs {
        let r = &run.record;
        let m = &r.measurements;
        let offset = after(run);
        let shift = offset.as_secs_f64().round() as usize;
        recorder.merge_at(&m.recorder, shift);
        let (start, end) = (m.recorded_window.0 + shift, m.recorded_window.1 + shift);
        window = Some(window.map_or((start, end), |(s, e)| (s.min(start), e.max(end))));
        recorded_seconds = recorded_seconds.max(offset.as_secs_f64() + m.recorded_seconds);
        duration = duration.max(offset + r.duration);
        workers += r.workers;
        offered_calls += r.offered_calls;
        offered_rate += r.offered_rate;
        parts.push(MergedShard {
            index: run.mark.index,
            source: run.source.clone(),
            started_after_ms: offset.as_secs_f64() * 1e3,
            shift_s: shift as u32,
            offered_calls: r.offered_calls,
            completed_calls: m.recorder.overall().outcomes.total(),
        });
    }
    // What acts on the target as a whole ran in shard 0 (faults, metrics pages, the
    // sampled server): its times move to the merged clock.
    let first = &runs[0];
    let moved_ms = after(first).as_millis() as u64;
    let mut faults = first.record.faults.clone();
    for f in &mut faults {
        f.started_ms += moved_ms;
        f.ended_ms = f.ended_ms.map(|e| e + moved_ms);
    }
    let mut footprints = first.record.footprints.clone();
    for sample in footprints.iter_mut().flat_map(|f| f.samples.iter_mut()) {
        sample.at_ms += moved_ms;
    }
    let skew_ms = parts.iter().map(|p| p.started_after_ms).fold(0.0, f64::max);
    let merged = RunRecord {
        measurements: Measurements {
            recorder,
            recorded_window: window.unwrap_or_default(),
            recorded_seconds,
        },
        started_at: origin,
        duration,
        workers,
        offered_calls,
        offered_rate,
        pacer: first.record.pacer.clone(),
        faults,
        metrics_pages: first.record.metrics_pages.clone(),
        footprints,
    };
    let count = first.mark.count;
    Ok((
        merged,
        MergedShards {
            count,
            shards: parts,
            skew_ms,
        },
    ))
}

/// Every shard of one run of one scenario, each once; sorted by index.
fn belong_together(runs: &mut [ShardRun]) -> Result<(), MergeError> {
    let Some(first) = runs.first() else {
        return Err(MergeError::Empty);
    };
    let (first_source, first_mark) = (first.source.clone(), first.mark.clone());
    for run in runs.iter() {
        let mark = &run.mark;
        if mark.scenario_sha256 != first_mark.scenario_sha256
            || mark.scenario != first_mark.scenario
        {
            return Err(MergeError::OtherScenario {
                dir: run.source.clone(),
                theirs: format!(
                    "{} (scenario file sha256 {})",
                    mark.scenario, mark.scenario_sha256
                ),
                first: first_source,
                ours: format!("{} ({})", first_mark.scenario, first_mark.scenario_sha256),
            });
        }
        if mark.count != first_mark.count {
            return Err(MergeError::OtherCount {
                dir: run.source.clone(),
                index: mark.index,
                count: mark.count,
                first: first_source,
                first_count: first_mark.count,
            });
        }
    }
    runs.sort_by_key(|r| r.mark.index);
    if let Some(pair) = runs.windows(2).find(|w| w[0].mark.index == w[1].mark.index) {
        return Err(MergeError::Overlap {
            dir: pair[0].source.clone(),
            other: pair[1].source.clone(),
            index: pair[0].mark.index,
        });
    }
    let missing: Vec<u32> = (0..first_mark.count)
        .filter(|i| !runs.iter().any(|r| r.mark.index == *i))
        .collect();
    if !missing.is_empty() {
        return Err(MergeError::Missing {
            missing,
            count: first_mark.count,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests;
