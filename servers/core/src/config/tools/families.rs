//! `server.families`: tools generated from what a backend holds, validated against the
//! tools they run through (a family's tool can do no more than its base).
//!
//! ```yaml
//! families:
//!   # local tier
//!   - name: "table_lookups"
//!     kind: "postgres_tables"      # one read-only lookup by primary key per table
//!     base: "postgres_query"       # default; whose implementation, limits and databases they use
//!     databases: ["agents"]        # default: the base tool's allowed databases
//!     schemas: ["public"]          # default
//!     max_tools: 5000              # default, for every kind
//!   # AWS tier
//!   - name: "report_prefixes"
//!     kind: "s3_prefixes"          # one reader per key prefix: s3_<bucket>_<prefix>
//!     base: "s3_read"              # default
//!     bucket: "mcp-slo-reports"
//!     prefixes: ["notes/"]         # default: the bucket's top-level prefixes (needs s3:ListBucket)
//!     callers: ["agent-console"]   # only these principals see and call its tools (default: all
//!                                  # who may use the base)
//!   - name: "agent_functions"
//!     kind: "lambda_functions"     # one tool per function: lambda_<function>
//!     base: "lambda_invoke"        # default; only functions it allows (allowed_functions)
//!     function_prefix: "agent-"    # ListFunctions, by name prefix (needs lambda:ListFunctions)
//!     # functions: ["agent-echo"]  # or these, exactly
//! ```

use serde::Deserialize;

use super::{FamilyConfig, FamilyKind, Functions, ToolConfig};
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
    bucket: Option<String>,
    prefixes: Option<Vec<String>>,
    functions: Option<Vec<String>>,
    function_prefix: Option<String>,
    callers: Option<Vec<String>>,
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

/// A kind: its name, the tier it belongs to and the tool it runs through.
const KINDS: [(&str, Tier, &str); 3] = [
    ("postgres_tables", Tier::Local, "postgres_query"),
    ("s3_prefixes", Tier::AwsManaged, "s3_read"),
    ("lambda_functions", Tier::AwsManaged, "lambda_invoke"),
];

fn family(
    issues: &mut Issues,
    path: &str,
    tier: Option<Tier>,
    tools: &[ToolConfig],
    mut raw: RawFamily,
) -> Option<FamilyConfig> {
    issues.unknown(path, &raw.unknown);
    let before = issues.len();
    let name = raw.name.take().unwrap_or_default();
    if !identifier(&name) {
        issues.push(
            format!("{path}.name"),
            format!("{name:?} is not a family name (1-63 of a-z 0-9 _)"),
        );
    }
    let kinds: Vec<&str> = KINDS.iter().map(|k| k.0).collect();
    let kind = match raw.kind.take() {
        None => {
            issues.push(format!("{path}.kind"), "missing");
            None
        }
        Some(kind) => match KINDS.iter().find(|k| k.0 == kind) {
            None => {
                issues.push(
                    format!("{path}.kind"),
                    format!("{kind:?} is not a family kind ({})", kinds.join(", ")),
                );
                None
            }
            Some(k) if tier.is_some_and(|t| t != k.1) => {
                issues.push(
                    format!("{path}.kind"),
                    format!("{} families belong to the {} tier", k.0, k.1.as_str()),
                );
                None
            }
            Some(k) => Some(*k),
        },
    };
    let (kind_name, _, serves) = kind?;
    let base_name = raw.base.take().unwrap_or_else(|| serves.to_owned());
    let base = match tools.iter().find(|t| t.name == base_name) {
        Some(b) if b.name == serves => Some(b),
        Some(_) => {
            issues.push(
                format!("{path}.base"),
                format!("{base_name:?} cannot serve a {kind_name} family ({serves} can)"),
            );
            None
        }
        None => {
            issues.push(
                format!("{path}.base"),
                format!("{base_name:?} is not a tool declared in server.tools"),
            );
            None
        }
    };
    // Each kind takes its own fields; another kind's is a mistake worth naming.
    let own: &[&str] = match kind_name {
        "postgres_tables" => &["databases", "schemas"],
        "s3_prefixes" => &["bucket", "prefixes"],
        _ => &["functions", "function_prefix"],
    };
    let given = [
        ("databases", raw.databases.is_some()),
        ("schemas", raw.schemas.is_some()),
        ("bucket", raw.bucket.is_some()),
        ("prefixes", raw.prefixes.is_some()),
        ("functions", raw.functions.is_some()),
        ("function_prefix", raw.function_prefix.is_some()),
    ];
    for (field, _) in given.iter().filter(|(f, set)| *set && !own.contains(f)) {
        issues.push(
            format!("{path}.{field}"),
            format!(
                "not a field of {kind_name} families (they take: {})",
                own.join(", ")
            ),
        );
    }
    let kind = match kind_name {
        "postgres_tables" => postgres_tables(issues, path, base, &mut raw),
        "s3_prefixes" => s3_prefixes(issues, path, &mut raw),
        _ => lambda_functions(issues, path, base, &mut raw),
    };
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
    if let Some(callers) = &raw.callers {
        if tier == Some(Tier::Local) {
            issues.push(
                format!("{path}.callers"),
                "the local tier has no authenticated callers to scope a family to",
            );
        }
        if callers.is_empty() {
            issues.push(
                format!("{path}.callers"),
                "empty: no caller could use the family (leave it out for all)",
            );
        }
        for (j, caller) in callers.iter().enumerate() {
            if caller.is_empty() || caller.len() > 128 || caller.chars().any(char::is_control) {
                issues.push(
                    format!("{path}.callers[{j}]"),
                    format!("{caller:?} is not a principal (1-128 printable characters)"),
                );
            }
        }
    }
    if issues.len() > before {
        return None;
    }
    Some(FamilyConfig {
        name,
        kind: kind?,
        base: base_name,
        max_tools,
        callers: raw.callers,
    })
}

fn postgres_tables(
    issues: &mut Issues,
    path: &str,
    base: Option<&ToolConfig>,
    raw: &mut RawFamily,
) -> Option<FamilyKind> {
    let allowed = base
        .map(|b| b.security.allowed_databases.clone())
        .unwrap_or_default();
    let databases = raw.databases.take().unwrap_or_else(|| allowed.clone());
    if let Some(base) = base {
        if databases.is_empty() {
            issues.push(
                format!("{path}.databases"),
                "no database to generate tools from",
            );
        }
        for (j, db) in databases.iter().enumerate() {
            if !allowed.contains(db) {
                issues.push(
                    format!("{path}.databases[{j}]"),
                    format!(
                        "{db:?} is not one of {}'s allowed databases ({})",
                        base.name,
                        allowed.join(", ")
                    ),
                );
            }
        }
    }
    let schemas = raw
        .schemas
        .take()
        .unwrap_or_else(|| vec!["public".to_owned()]);
    for (j, schema) in schemas.iter().enumerate() {
        if !identifier(schema) {
            issues.push(
                format!("{path}.schemas[{j}]"),
                format!("{schema:?} is not a schema name (1-63 of a-z 0-9 _)"),
            );
        }
    }
    Some(FamilyKind::PostgresTables { databases, schemas })
}

fn s3_prefixes(issues: &mut Issues, path: &str, raw: &mut RawFamily) -> Option<FamilyKind> {
    let bucket = raw.bucket.take().unwrap_or_default();
    let valid_bucket = (3..=63).contains(&bucket.len())
        && bucket
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-');
    if !valid_bucket {
        issues.push(
            format!("{path}.bucket"),
            format!("{bucket:?} is not a bucket name (3-63 of a-z 0-9 . -)"),
        );
    }
    let prefixes = raw.prefixes.take();
    for (j, prefix) in prefixes.iter().flatten().enumerate() {
        if let Err(why) = key_prefix(prefix) {
            issues.push(format!("{path}.prefixes[{j}]"), format!("{prefix:?} {why}"));
        }
    }
    if prefixes.as_ref().is_some_and(Vec::is_empty) {
        issues.push(
            format!("{path}.prefixes"),
            "empty (leave it out to use the bucket's prefixes)",
        );
    }
    Some(FamilyKind::S3Prefixes { bucket, prefixes })
}

/// Whether a key prefix can head a family's keys: what is read under it stays under it.
pub fn key_prefix(prefix: &str) -> Result<(), &'static str> {
    if prefix.is_empty() || prefix.len() > 512 {
        Err("is not a key prefix (1-512 bytes)")
    } else if prefix.starts_with('/') || prefix.split('/').any(|s| s == "." || s == "..") {
        Err("must not start with / or hold . or .. segments")
    } else if prefix.chars().any(char::is_control) {
        Err("must not hold control characters")
    } else {
        Ok(())
    }
}

fn lambda_functions(
    issues: &mut Issues,
    path: &str,
    base: Option<&ToolConfig>,
    raw: &mut RawFamily,
) -> Option<FamilyKind> {
    let valid = |f: &str| {
        (1..=64).contains(&f.len())
            && f.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    if let Some(base) = base
        && base.security.allowed_functions.is_empty()
    {
        issues.push(
            format!("{path}.base"),
            format!(
                "{} allows no function (security.allowed_functions)",
                base.name
            ),
        );
    }
    match (raw.functions.take(), raw.function_prefix.take()) {
        (Some(functions), None) => {
            if functions.is_empty() {
                issues.push(format!("{path}.functions"), "empty");
            }
            for (j, function) in functions.iter().enumerate() {
                if !valid(function) {
                    issues.push(
                        format!("{path}.functions[{j}]"),
                        format!("{function:?} is not a function name (1-64 of A-Z a-z 0-9 - _)"),
                    );
                } else if let Some(base) = base
                    && !base.security.allows_function(function)
                {
                    issues.push(
                        format!("{path}.functions[{j}]"),
                        format!(
                            "{function:?} is not one of {}'s allowed functions ({})",
                            base.name,
                            base.security.allowed_functions.join(", ")
                        ),
                    );
                }
            }
            Some(FamilyKind::LambdaFunctions(Functions::Listed(functions)))
        }
        (None, Some(prefix)) => {
            if !valid(&prefix) {
                issues.push(
                    format!("{path}.function_prefix"),
                    format!("{prefix:?} is not a function name prefix (1-64 of A-Z a-z 0-9 - _)"),
                );
            }
            Some(FamilyKind::LambdaFunctions(Functions::Prefix(prefix)))
        }
        (Some(_), Some(_)) => {
            issues.push(
                format!("{path}.functions"),
                "give functions or function_prefix, not both",
            );
            None
        }
        (None, None) => {
            issues.push(
                format!("{path}.functions"),
                "missing: give functions (a list) or function_prefix (ListFunctions)",
            );
            None
        }
    }
}

/// Lower-case SQL-safe identifiers: never quoted into a statement from the config.
fn identifier(text: &str) -> bool {
    (1..=63).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

#[cfg(test)]
mod tests;
