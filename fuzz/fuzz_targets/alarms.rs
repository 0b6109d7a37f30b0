//! An alarm config (`cloudwatch_alarms.yaml`) from any text: an answer, never a panic.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use mcp_slo_core::alarms::AlarmsFile;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = AlarmsFile::from_yaml(Path::new("fuzz.yaml"), text);
    }
});
