//! Statistics for the regression gate and the capacity search. Pure functions of numbers:
//! every one returns `None` rather than panicking on empty, NaN or otherwise degenerate
//! input.
//!
//! - Regression gate: [`mann_whitney_u`] asks whether a candidate's samples are larger than
//!   the baseline's; [`bootstrap_diff_ci`] says by how much, with a confidence interval.
//! - Capacity search: [`usl_fit`] fits the Universal Scalability Law to (concurrency,
//!   throughput) points, with concurrency from [`littles_law_concurrency`]; [`knee`] finds
//!   where latency starts to climb on a load/latency curve.
//! - [`percentile`] and [`median`]: type-7 sample percentiles (numpy's default).

mod bootstrap;
mod knee;
mod mann_whitney;
mod percentile;
mod usl;

pub use bootstrap::{Interval, bootstrap_diff_ci};
pub use knee::knee;
pub use mann_whitney::{MannWhitney, mann_whitney_u};
pub use percentile::{median, percentile};
pub use usl::{UslFit, littles_law_concurrency, usl_fit, usl_predict};
