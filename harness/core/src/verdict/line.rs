//! What an objective judged (the fields of its verdict line besides its name and tool),
//! and what a run recorded beside its measurements for the objectives that need it.

use crate::measure::{FaultWindow, Footprint, MetricsPage};
use crate::result::JudgedKind;

/// What a run recorded beside its measurements, for the objectives that judge it.
#[derive(Debug, Clone, Copy, Default)]
pub struct RunFacts<'a> {
    /// The faults as they happened.
    pub windows: &'a [FaultWindow],
    /// Open model: the calls the recorded phases offered (a closed load offers what it
    /// completes, so nothing can be lost between the two).
    pub offered_calls: Option<u64>,
    /// Servers' metrics pages read before and after the load.
    pub metrics: &'a [MetricsPage],
    /// The client's timeout per call (how long after a fault a call it hung may end).
    pub call_timeout: std::time::Duration,
    /// The sampled server processes' footprints.
    pub footprints: &'a [Footprint],
    /// Where the first recorded phase starts, from the start of the load.
    pub warmup: std::time::Duration,
}

/// What an objective judged: the target and measured value, as text and numbers.
pub struct Line {
    pub kind: JudgedKind,
    pub target: String,
    pub measured: String,
    pub target_value: f64,
    pub measured_value: f64,
    pub passed: bool,
    pub detail: Option<String>,
}
