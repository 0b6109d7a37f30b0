//! `server.families`: tools generated from what a backend holds, validated against the
//! tools they run through.
//!
//! ```yaml
//! families:
//!   - name: "table_lookups"
//!     kind: "postgres_tables"      # one read-only lookup by primary key per table
//!     base: "postgres_query"       # whose implementation, limits and databases they use
//!     databases: ["agents"]        # default: the base tool's allowed databases
//!     schemas: ["public"]          # default
//!     max_tools: 5000              # default
//! ```

use serde::Deserialize;

use super::{FamilyConfig, FamilyKind, ToolConfig};
use crate::config::{Issues, Tier, Unknown};

/// The most tools one family may generate.
pub const MAX_FAMILY_TOOLS: usize = 100_000;
const DEFAULT_MAX_TOOLS: usize = 5_000;

#[derive(Debug, Deserialize)]
pub(super) struct RawFamily {
    name: Option<String>,
    kind: Option<String>,
    base: Option<String>,
    databases: Option<Vec<String>>,
    schemas: Option<Vec<String>>,
    max_tools: Option<u64>,
    #[serde(flatten)]
    unknown: Unknown,
}

/// The valid families; each problem is pushed with its path.
pub(super) fn families(
    issues: &mut Issues,
    tier: Option<Tier>,
    tools: &[ToolConfig],
    raw: Vec<RawFamily>,
) -> Vec<FamilyConfig> {
    let mut out: Vec<FamilyConfig> = Vec::new();
    for (i, raw) in raw.into_iter().enumerate() {
        let path = format!("server.families[{i}]");
        if let Some(family) = family(issues, &path, tier, tools, raw) {
            if out.iter().any(|f| f.name == family.name) {
                issues.push(
                    format!("{path}.name"),
                    format!("duplicate family name {:?}", family.name),
                );
            }
            out.push(family);
        }
    }
    out
}

fn family(
    issues: &mut Issues,
    path: &str,
    tier: Option<Tier>,
    tools: &[ToolConfig],
    raw: RawFamily,
) -> Option<FamilyConfig> {
    issues.unknown(path, &raw.unknown);
    let before = issues.len();
    let name = raw.name.unwrap_or_default();
    if !identifier(&name) {
        issues.push(
            format!("{path}.name"),
            format!("{name:?} is not a family name (1-63 of a-z 0-9 _)"),
        );
    }
    let kind = match raw.kind.as_deref() {
        Some("postgres_tables") if tier == Some(Tier::Local) => Some(FamilyKind::PostgresTables),
        Some("postgres_tables") => {
            issues.push(
                format!("{path}.kind"),
                "postgres_tables families belong to the local tier",
            );
            None
        }
        Some(other) => {
            issues.push(
                format!("{path}.kind"),
                format!("{other:?} is not a family kind (postgres_tables)"),
            );
            None
        }
        None => {
            issues.push(format!("{path}.kind"), "missing");
            None
        }
    };
    let base_name = raw.base.unwrap_or_else(|| "postgres_query".to_owned());
    let base = tools.iter().find(|t| t.name == base_name);
    match base {
        Some(b) if b.name == "postgres_query" => {}
        Some(_) => issues.push(
            format!("{path}.base"),
            format!("{base_name:?} cannot serve a postgres_tables family (postgres_query can)"),
        ),
        None => issues.push(
            format!("{path}.base"),
            format!("{base_name:?} is not a tool declared in server.tools"),
        ),
    }
    let base = base.filter(|b| b.name == "postgres_query");
    let allowed = base
        .map(|b| b.security.allowed_databases.clone())
        .unwrap_or_default();
    let databases = raw.databases.unwrap_or_else(|| allowed.clone());
    if base.is_some() && databases.is_empty() {
        issues.push(
            format!("{path}.databases"),
            "no database to generate tools from",
        );
    }
    for (j, db) in databases.iter().enumerate() {
        if base.is_some() && !allowed.contains(db) {
            issues.push(
                format!("{path}.databases[{j}]"),
                format!(
                    "{db:?} is not one of {base_name}'s allowed databases ({})",
                    allowed.join(", ")
                ),
            );
        }
    }
    let schemas = raw.schemas.unwrap_or_else(|| vec!["public".to_owned()]);
    for (j, schema) in schemas.iter().enumerate() {
        if !identifier(schema) {
            issues.push(
                format!("{path}.schemas[{j}]"),
                format!("{schema:?} is not a schema name (1-63 of a-z 0-9 _)"),
            );
        }
    }
    let max_tools = match raw.max_tools {
        None => DEFAULT_MAX_TOOLS,
        Some(n) if (1..=MAX_FAMILY_TOOLS as u64).contains(&n) => n as usize,
        Some(n) => {
            issues.push(
                format!("{path}.max_tools"),
                format!("{n} is not between 1 and {MAX_FAMILY_TOOLS}"),
            );
            DEFAULT_MAX_TOOLS
        }
    };
    if issues.len() > before {
        return None;
    }
    Some(FamilyConfig {
        name,
        kind: kind?,
        base: base_name,
        databases,
        schemas,
        max_tools,
    })
}

/// Lower-case SQL-safe identifiers: never quoted into a statement from the config.
fn identifier(text: &str) -> bool {
    (1..=63).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}
