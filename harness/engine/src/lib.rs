//! The load engine: an MCP client for load, the one request path (`execute_op`), the
//! open/closed schedule, goose workers, recorders, the stall meter, and the spawned targets'
//! cost sampling.

pub mod build_info;
pub mod calibration;
pub mod client;
pub mod cloudwatch;
pub mod faults;
pub mod metrics_page;
mod mix;
pub mod op;
pub mod pacer;
pub mod probes;
mod progress;
pub mod run;
pub mod sampler;
pub mod schedule;
pub mod spawn;
pub mod stalls;
pub mod wake;

/// The HTTP client the engine uses, for callers that build headers or clients for it.
pub use reqwest;
