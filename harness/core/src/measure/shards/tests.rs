use std::time::{Duration, SystemTime};

use super::*;
use crate::measure::CallOutcome;
use crate::measure::file::RecordFile;

fn mark(index: u32, count: u32) -> ShardMark {
    ShardMark {
        index,
        count,
        scenario: "s".into(),
        scenario_sha256: "abc".into(),
    }
}

/// A shard that recorded `calls` (latency µs, outcome, second ended in) and started
/// `after_ms` after the epoch's second 1,000.
fn shard(index: u32, count: u32, after_ms: u64, calls: &[(u64, CallOutcome, usize)]) -> ShardRun {
    let mut record = RunRecord::empty(
        SystemTime::UNIX_EPOCH + Duration::from_secs(1000) + Duration::from_millis(after_ms),
    );
    let r = &mut record.measurements.recorder;
    for (latency, outcome, second) in calls {
        r.offered(*second);
        r.record("t", *outcome, *latency, *second, *second >= 1);
    }
    r.start_lateness(5, 40 + u64::from(index), false);
    record.measurements.recorded_window = (1, 3);
    record.measurements.recorded_seconds = 2.0;
    record.duration = Duration::from_secs(3);
    record.offered_calls = calls.len() as u64;
    record.offered_rate = 10.0;
    record.workers = 8;
    ShardRun {
        mark: mark(index, count),
        record,
        source: format!("shard-{index}"),
    }
}

const CALLS_A: [(u64, CallOutcome, usize); 5] = [
    (900, CallOutcome::Ok, 0),
    (1_250, CallOutcome::Ok, 1),
    (1_900, CallOutcome::ToolError, 1),
    (30_500, CallOutcome::Ok, 2),
    (2_100, CallOutcome::Ok, 2),
];
const CALLS_B: [(u64, CallOutcome, usize); 4] = [
    (700, CallOutcome::Ok, 1),
    (123_456, CallOutcome::RateLimited, 1),
    (2_222, CallOutcome::Ok, 2),
    (1_001, CallOutcome::Ok, 2),
];

#[test]
fn merged_shards_hold_exactly_what_one_process_recording_every_call_holds() {
    let (merged, parts) = merge(
        vec![shard(1, 2, 300, &CALLS_B), shard(0, 2, 0, &CALLS_A)],
        Duration::from_secs(5),
    )
    .unwrap();
    let one = shard(0, 1, 0, &[CALLS_A.as_slice(), CALLS_B.as_slice()].concat());
    let (m, o) = (
        &merged.measurements.recorder,
        &one.record.measurements.recorder,
    );
    assert_eq!(m.per_tool["t"].latency, o.per_tool["t"].latency);
    for q in [0.5, 0.9, 0.99, 0.999] {
        assert_eq!(
            m.per_tool["t"].latency.value_at_quantile(q),
            o.per_tool["t"].latency.value_at_quantile(q)
        );
    }
    assert_eq!(m.per_tool["t"].outcomes, o.per_tool["t"].outcomes);
    assert_eq!(m.seconds.len(), 3);
    for (mine, theirs) in m.seconds.iter().zip(&o.seconds) {
        assert_eq!(mine.outcomes, theirs.outcomes);
        assert_eq!(mine.offered, theirs.offered);
        assert_eq!(mine.latency, theirs.latency);
    }
    assert_eq!(m.start_lateness.len(), 2);
    assert_eq!((merged.offered_calls, merged.workers), (9, 16));
    assert!((merged.offered_rate - 20.0).abs() < 1e-9);
    assert_eq!(merged.started_at, one.record.started_at);
    assert_eq!(merged.measurements.recorded_window, (1, 3));
    assert!((merged.measurements.recorded_seconds - 2.3).abs() < 1e-9);
    assert_eq!(parts.count, 2);
    assert_eq!(
        parts
            .shards
            .iter()
            .map(|p| (p.index, p.shift_s, p.completed_calls))
            .collect::<Vec<_>>(),
        [(0, 0, 4), (1, 0, 4)]
    );
    assert!((parts.skew_ms - 300.0).abs() < 1e-6);
}

#[test]
fn a_shard_that_started_seconds_later_lands_on_the_same_wall_clock_seconds() {
    let (merged, parts) = merge(
        vec![shard(0, 2, 0, &CALLS_A), shard(1, 2, 2_000, &CALLS_B)],
        Duration::from_secs(5),
    )
    .unwrap();
    let seconds = &merged.measurements.recorder.seconds;
    // Shard 1's second 1 is the merged second 3.
    assert_eq!(seconds.len(), 5);
    assert_eq!(seconds[3].outcomes.rate_limited, 1);
    assert_eq!(seconds[1].outcomes.total(), 2);
    assert_eq!(parts.shards[1].shift_s, 2);
    assert_eq!(merged.measurements.recorded_window, (1, 5));
    assert_eq!(merged.duration, Duration::from_secs(5));
}

#[test]
fn shards_that_do_not_belong_together_are_refused() {
    let other_scenario = {
        let mut s = shard(1, 2, 0, &CALLS_B);
        s.mark.scenario_sha256 = "def".into();
        s
    };
    let cases: Vec<(Vec<ShardRun>, &str)> = vec![
        (
            vec![],
            "nothing to merge: give the shards' report directories",
        ),
        (
            vec![shard(0, 2, 0, &CALLS_A), other_scenario],
            "shard-1: shard of s (scenario file sha256 def), but shard-0 is of s (abc): shards of other scenarios or other versions of it are not merged",
        ),
        (
            vec![shard(0, 2, 0, &CALLS_A), shard(1, 3, 0, &CALLS_B)],
            "shard-1: shard 1 of 3, but shard-0 is one of 2",
        ),
        (
            vec![shard(0, 2, 0, &CALLS_A), shard(0, 2, 0, &CALLS_B)],
            "shard-0 and shard-0 are both shard 0",
        ),
        (
            vec![shard(0, 3, 0, &CALLS_A), shard(2, 3, 0, &CALLS_B)],
            "shard [1] of 3 missing: merge every shard of the run",
        ),
        (
            vec![shard(0, 2, 0, &CALLS_A), shard(1, 2, 7_500, &CALLS_B)],
            "shard-1: its load started 7.5 s after shard-0's, more than 5.0 s: these shards did not run together (start them with the same --start-at, or pass --max-skew)",
        ),
    ];
    for (runs, message) in cases {
        let err = merge(runs, Duration::from_secs(5)).err().unwrap();
        assert_eq!(err.to_string(), message);
    }
}

#[test]
fn a_record_file_gives_back_the_record_it_was_made_of() {
    let mut run = shard(0, 1, 250, &CALLS_A).record;
    run.measurements
        .recorder
        .per_tool
        .get_mut("t")
        .unwrap()
        .retries = 3;
    run.faults.push(crate::measure::FaultWindow {
        name: "cut".into(),
        kind: "cut".into(),
        started_ms: 100,
        ended_ms: Some(900),
        error: None,
    });
    let text = serde_json::to_string(&RecordFile::of(&run)).unwrap();
    let back = serde_json::from_str::<RecordFile>(&text)
        .unwrap()
        .record()
        .unwrap();
    let (a, b) = (&run.measurements.recorder, &back.measurements.recorder);
    assert_eq!(a.per_tool["t"].latency, b.per_tool["t"].latency);
    assert_eq!(a.per_tool["t"].retries, 3);
    assert_eq!(b.per_tool["t"].retries, 3);
    assert_eq!(a.seconds.len(), b.seconds.len());
    for (x, y) in a.seconds.iter().zip(&b.seconds) {
        assert_eq!((x.offered, x.outcomes), (y.offered, y.outcomes));
        assert_eq!(x.latency, y.latency);
        assert_eq!(x.per_tool["t"].latency, y.per_tool["t"].latency);
    }
    assert_eq!(a.start_lateness, b.start_lateness);
    assert_eq!(back.started_at, run.started_at);
    assert_eq!(back.faults, run.faults);
    assert_eq!(
        serde_json::from_str::<RecordFile>(&text.replace("mcp-slo/record/v1", "v0"))
            .unwrap()
            .record()
            .err()
            .unwrap()
            .to_string(),
        "schema \"v0\" is not mcp-slo/record/v1"
    );
}
