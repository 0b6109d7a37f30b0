//! Judging a run from what it recorded: verdict lines for what the scenario asserts.
//! The objectives themselves are judged in `slo.rs`; the alarms and burn-rate alerts
//! (`alarms.rs`) and the boundary probes' calls (`probes.rs`, the rate probe so far) here.

pub mod alarms;
pub mod probes;
