//! Judging a run from what it recorded: verdict lines for what the scenario asserts.
//! The objectives themselves are judged in `slo.rs`; the alarms and burn-rate alerts here
//! (`alarms.rs`).

pub mod alarms;
