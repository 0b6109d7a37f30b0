//! A tier config (`local_mcp_server_config.yaml`, `aws_managed_mcp_config.yaml`) from any
//! text: an answer, never a panic; a config that loads keeps its own rules (page size in
//! range, every family based on a declared tool, every generated-tool prefix confined).
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use mcp_server_core::config::{FamilyKind, MAX_PAGE_SIZE, ServerConfig, key_prefix};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(config) = ServerConfig::from_yaml(Path::new("fuzz.yaml"), text) else {
        return;
    };
    assert!((1..=MAX_PAGE_SIZE).contains(&config.page_size));
    for family in &config.families {
        assert!(config.tool(&family.base).is_some(), "{family:?}");
        if let FamilyKind::S3Prefixes {
            prefixes: Some(prefixes),
            ..
        } = &family.kind
        {
            for prefix in prefixes {
                assert!(key_prefix(prefix).is_ok(), "{prefix:?}");
            }
        }
    }
});
