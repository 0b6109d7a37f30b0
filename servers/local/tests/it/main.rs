//! Integration tests of the local tier against the real Postgres, MariaDB and Redis, over
//! real HTTP. With `MCP_SLO_REQUIRE_SERVICES=1` a missing service fails the test; without
//! it the test says it was skipped and why.

mod audit;
mod binary;
mod cache;
mod direct;
mod embedded;
mod families;
mod files;
mod foreign_client;
mod http;
mod limits;
mod list_changed;
#[path = "../../../test-support/otel.rs"]
mod otel;
mod pg;
mod resources;
mod shared_rate;
mod sql;
mod support;
mod telemetry;
mod tools;
mod transport;
