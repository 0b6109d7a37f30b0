//! What a result says of shards: a shard's mark (`run --shard`), and a merged run's parts
//! (`merge`).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// One shard's share of a run: shard `index` (from 0) of `count`, of the scenario whose
/// file had `scenario_sha256`. Its record (`record.json`, beside `result.json`) holds its
/// calls exactly, for `mcp-slo merge`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ShardMark {
    pub index: u32,
    pub count: u32,
    pub scenario: String,
    /// SHA-256 of the scenario file, hex: shards of other files are not merged.
    pub scenario_sha256: String,
}

/// A run merged from shards: each shard's part and how far its clock was from the first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct MergedShards {
    pub count: u32,
    pub shards: Vec<MergedShard>,
    /// The largest distance between two shards' starts, ms (within a second, every shard's
    /// seconds fall on the same seconds of the merged timeline).
    pub skew_ms: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct MergedShard {
    pub index: u32,
    /// Where it was read from.
    pub source: String,
    /// When its load started, ms after the first shard's.
    pub started_after_ms: f64,
    /// Whole seconds its timeline was moved by to align with the first shard's.
    pub shift_s: u32,
    pub offered_calls: u64,
    pub completed_calls: u64,
}
