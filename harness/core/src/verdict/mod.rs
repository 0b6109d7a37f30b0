//! Judging a run from what it recorded: every verdict line the harness gives is reached
//! here, with its tests beside it, and nowhere else: the scenario's objectives
//! (`objectives.rs`, faults' in `faults.rs`, a soak's `growth.rs`), the boundary probes' calls (`probes/`), the alarms and burn-rate
//! alerts (`alarms.rs`), the baseline comparison (`baseline.rs`), a capacity search's steps
//! (`capacity.rs`), the calibration's agreement (`calibration.rs`), the latency lines a stall of
//! the machine spoilt (`stalls.rs`), and the run's result and
//! verdict (`run.rs`). The engine measures; the
//! binary parses, calls, prints and exits.

pub mod alarms;
pub mod baseline;
pub mod calibration;
pub mod capacity;
pub mod faults;
pub mod growth;
mod line;
pub mod objectives;
pub mod probes;
mod run;
pub mod server_metric;
pub mod stalls;

pub use line::RunFacts;
pub use run::{Context, add_line, judge_run, verdict_of};
