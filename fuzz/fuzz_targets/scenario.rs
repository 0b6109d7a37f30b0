//! A scenario file from any text: an answer (a scenario, or the problems with their
//! locations), never a panic.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use mcp_slo_core::spec::Scenario;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = Scenario::from_yaml(Path::new("fuzz.yaml"), text);
    }
});
