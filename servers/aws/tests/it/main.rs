//! Integration tests of the AWS tier against moto (`scripts/setup-moto.sh`), over real HTTP.
//! With `MCP_SLO_REQUIRE_SERVICES=1` a missing emulator fails the test; without it the test
//! says it was skipped and why.

mod admin;
mod auth;
mod credentials;
mod families;
mod limits;
#[path = "../../../test-support/otel.rs"]
mod otel;
mod resilience;
mod support;
mod telemetry;
mod tools;
