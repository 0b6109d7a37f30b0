//! The load engine: an MCP client for load, the one request path (`execute_op`), the
//! open/closed schedule, goose workers, recorders, and the spawned targets' cost sampling.

pub mod client;
pub mod cloudwatch;
pub mod op;
pub mod probes;
pub mod run;
pub mod sampler;
pub mod schedule;
pub mod spawn;
