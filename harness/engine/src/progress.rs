//! Live progress of a run, as handed to a display about once a second.

use std::sync::Arc;
use std::time::Duration;

/// Receives progress about once a second.
pub type ProgressFn = Arc<dyn Fn(&Progress) + Send + Sync>;

/// Live figures for a progress display.
#[derive(Debug, Clone, Default)]
pub struct Progress {
    pub elapsed: Duration,
    pub total: Duration,
    pub offered: u64,
    pub completed: u64,
    pub failed: u64,
    pub last_second_p99_us: u64,
}
