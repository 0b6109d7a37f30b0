//! Preset tools: a new name for a configured tool with some of its arguments fixed.
//!
//! `{"name": "agents_orders", "base": "postgres_query", "description": "...", "preset":
//! {"database": "agents"}}` registers `agents_orders`, whose calls run `postgres_query`'s
//! own handler (its SQL classifier, allowed databases, row cap) with `database` fixed, under
//! the same limits, spans and audit as any call. The fixed arguments leave the new tool's
//! schema, so a caller cannot pass them; a preset of a preset is flattened onto the
//! configured tool.

use std::sync::Arc;

use serde::Deserialize;
use serde_json::{Map, Value};

use super::AdminError;
use crate::caller::Caller;
use crate::registry::{Preset, RegisteredTool, ToolRegistry};

/// Longest description a preset may carry.
const MAX_DESCRIPTION: usize = 4096;

/// What `POST /admin/tools` takes.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PresetSpec {
    pub name: String,
    pub base: String,
    pub description: Option<String>,
    #[serde(default)]
    pub preset: Map<String, Value>,
}

/// MCP tool names: 1–128 characters of ASCII letters, digits, `_`, `-` and `.` (as in the
/// tier's config).
fn valid_tool_name(name: &str) -> bool {
    (1..=128).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

/// The tool `spec` describes, checked against the registry as it is now.
pub fn build(spec: PresetSpec, registry: &ToolRegistry) -> Result<RegisteredTool, AdminError> {
    if !valid_tool_name(&spec.name) {
        return Err(AdminError::invalid(
            "invalid_name",
            format!(
                "{:?} is not a tool name (1-128 of A-Z a-z 0-9 _ - .)",
                spec.name
            ),
        ));
    }
    if registry.contains(&spec.name) {
        return Err(AdminError::duplicate(&spec.name));
    }
    let Some(base) = registry.get(&spec.base, &Caller::anonymous("admin")) else {
        return Err(AdminError::invalid(
            "unknown_base",
            format!("no tool named {:?} to base a preset on", spec.base),
        ));
    };
    if spec.preset.is_empty() {
        return Err(AdminError::invalid(
            "empty_preset",
            "`preset` must fix at least one argument of the base tool",
        ));
    }
    check_fixed(&base, &spec.preset)?;
    let description = match spec.description {
        Some(d) if d.len() > MAX_DESCRIPTION => {
            return Err(AdminError::invalid(
                "invalid_description",
                format!("`description` is longer than {MAX_DESCRIPTION} bytes"),
            ));
        }
        Some(d) => d,
        None => format!(
            "{} (preset: {})",
            base.config.description,
            Value::Object(spec.preset.clone())
        ),
    };
    // A preset of a preset runs the configured tool with both sets of fixed arguments.
    let (root, mut fixed) = match &base.preset {
        Some(p) => (p.base.clone(), p.args.clone()),
        None => (base.name().to_owned(), Map::new()),
    };
    fixed.extend(spec.preset);
    let mut config = (*base.config).clone();
    config.name = spec.name;
    config.description = description;
    config.parameters.retain(|p| !fixed.contains_key(&p.name));
    let mut tool = RegisteredTool::new(base.tier, config, Arc::clone(&base.handler));
    if let Some(meta) = tool.descriptor.meta.as_mut() {
        meta.0
            .insert("io.mcp-slo/base".into(), Value::from(root.as_str()));
        meta.0
            .insert("io.mcp-slo/preset".into(), Value::Object(fixed.clone()));
    }
    tool.preset = Some(Preset {
        base: root,
        args: fixed,
    });
    Ok(tool)
}

/// Each fixed argument must be one the base tool still takes, with a value of its type.
fn check_fixed(base: &RegisteredTool, preset: &Map<String, Value>) -> Result<(), AdminError> {
    for (key, value) in preset {
        let Some(param) = base.config.parameters.iter().find(|p| &p.name == key) else {
            let known: Vec<&str> = base
                .config
                .parameters
                .iter()
                .map(|p| p.name.as_str())
                .collect();
            return Err(AdminError::invalid(
                "invalid_preset",
                format!(
                    "{} takes no argument `{key}` to fix (it takes: {})",
                    base.name(),
                    known.join(", ")
                ),
            ));
        };
        if value.is_null() || !param.kind.admits(value) {
            return Err(AdminError::invalid(
                "invalid_preset",
                format!("`{key}` of {} must be {}", base.name(), param.kind.as_str()),
            ));
        }
    }
    Ok(())
}
