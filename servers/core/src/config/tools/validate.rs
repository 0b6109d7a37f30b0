//! Parsing and validating a server config: the file as written (`Raw*`, unknown keys
//! collected), then the server, each tool, its parameters, security and options, every
//! problem pushed with its path.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use super::{
    DEFAULT_LISTING_TTL, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, ParamSpec, ServerConfig, ToolConfig,
    ToolOptions, ToolSecurity,
};
use crate::config::{Category, ConfigError, Issues, ParamKind, Tier, Unknown, parse_yaml};

#[derive(Debug, Deserialize)]
struct RawFile {
    server: Option<RawServer>,
    #[serde(flatten)]
    unknown: Unknown,
}

#[derive(Debug, Deserialize)]
struct RawServer {
    #[serde(rename = "type")]
    kind: Option<String>,
    region: Option<String>,
    #[serde(default)]
    tools: Vec<RawTool>,
    listing: Option<RawListing>,
    #[serde(default)]
    families: Vec<super::families::RawFamily>,
    #[serde(flatten)]
    unknown: Unknown,
}

#[derive(Debug, Deserialize)]
struct RawListing {
    page_size: Option<u64>,
    ttl_ms: Option<u64>,
    #[serde(flatten)]
    unknown: Unknown,
}

#[derive(Debug, Deserialize)]
struct RawTool {
    name: Option<String>,
    description: Option<String>,
    category: Option<String>,
    #[serde(default)]
    parameters: BTreeMap<String, RawParam>,
    security: Option<RawSecurity>,
    options: Option<RawOptions>,
    #[serde(flatten)]
    unknown: Unknown,
}

#[derive(Debug, Deserialize)]
struct RawParam {
    #[serde(rename = "type")]
    kind: Option<String>,
    description: Option<String>,
    default: Option<serde_json::Value>,
    required: Option<bool>,
    #[serde(flatten)]
    unknown: Unknown,
}

#[derive(Debug, Deserialize, Default)]
struct RawSecurity {
    requires_auth: Option<bool>,
    sandbox: Option<bool>,
    #[serde(default)]
    allowed_paths: Vec<String>,
    #[serde(default)]
    allowed_databases: Vec<String>,
    #[serde(default)]
    allowed_functions: Vec<String>,
    iam_role: Option<String>,
    max_permissions: Option<String>,
    #[serde(flatten)]
    unknown: Unknown,
}

#[derive(Debug, Deserialize, Default)]
struct RawOptions {
    max_rows: Option<u64>,
    max_bytes: Option<u64>,
    result_cache_ttl_ms: Option<u64>,
    key_prefix: Option<String>,
    #[serde(flatten)]
    unknown: Unknown,
}

pub(super) fn server_config(file: &Path, text: &str) -> Result<ServerConfig, ConfigError> {
    let raw: RawFile = parse_yaml(file, text)?;
    let mut issues = Issues::default();
    issues.unknown("", &raw.unknown);
    let Some(server) = raw.server else {
        issues.push("server", "missing");
        return Err(issues.fail(file));
    };
    issues.unknown("server", &server.unknown);
    let tier = tier(&mut issues, server.kind.as_deref());
    if tier == Some(Tier::AwsManaged) && server.region.is_none() {
        issues.push(
            "server.region",
            "missing (an aws_managed server needs a region)",
        );
    }
    let tools = tools(&mut issues, tier, server.tools);
    let (page_size, listing_ttl) = listing(&mut issues, server.listing);
    let families = super::families::families(&mut issues, tier, &tools, server.families);
    match tier {
        Some(tier) => issues.finish(
            file,
            ServerConfig {
                tier,
                region: server.region,
                tools,
                page_size,
                listing_ttl,
                families,
            },
        ),
        None => Err(issues.fail(file)),
    }
}

/// Tools per `tools/list` page: 1 to [`MAX_PAGE_SIZE`], [`DEFAULT_PAGE_SIZE`] unless said;
/// and how long a page may be reused (`ttl_ms`, at most a day), [`DEFAULT_LISTING_TTL`]
/// unless said.
fn listing(issues: &mut Issues, listing: Option<RawListing>) -> (usize, Duration) {
    let Some(listing) = listing else {
        return (DEFAULT_PAGE_SIZE, DEFAULT_LISTING_TTL);
    };
    issues.unknown("server.listing", &listing.unknown);
    let page_size = match listing.page_size {
        None => DEFAULT_PAGE_SIZE,
        Some(n) if (1..=MAX_PAGE_SIZE as u64).contains(&n) => n as usize,
        Some(n) => {
            issues.push(
                "server.listing.page_size",
                format!("{n} is not between 1 and {MAX_PAGE_SIZE}"),
            );
            DEFAULT_PAGE_SIZE
        }
    };
    let ttl = match listing.ttl_ms {
        None => DEFAULT_LISTING_TTL,
        Some(ms) if ms <= MAX_LISTING_TTL_MS => Duration::from_millis(ms),
        Some(ms) => {
            issues.push(
                "server.listing.ttl_ms",
                format!("{ms} is more than a day ({MAX_LISTING_TTL_MS})"),
            );
            DEFAULT_LISTING_TTL
        }
    };
    (page_size, ttl)
}

/// The longest `listing.ttl_ms`: a day.
const MAX_LISTING_TTL_MS: u64 = 86_400_000;

fn tier(issues: &mut Issues, kind: Option<&str>) -> Option<Tier> {
    match kind {
        Some("local") => Some(Tier::Local),
        Some("aws_managed") => Some(Tier::AwsManaged),
        Some(other) => {
            issues.push(
                "server.type",
                format!("{other:?} is not one of \"local\", \"aws_managed\""),
            );
            None
        }
        None => {
            issues.push("server.type", "missing");
            None
        }
    }
}

/// The valid tools, each name once.
fn tools(issues: &mut Issues, tier: Option<Tier>, raw: Vec<RawTool>) -> Vec<ToolConfig> {
    if raw.is_empty() {
        issues.push("server.tools", "no tools declared");
    }
    let mut seen = BTreeSet::new();
    let mut tools = Vec::new();
    for (i, raw_tool) in raw.into_iter().enumerate() {
        let path = format!("server.tools[{i}]");
        if let Some(tool) = validate_tool(issues, &path, tier, raw_tool) {
            if !seen.insert(tool.name.clone()) {
                issues.push(
                    format!("{path}.name"),
                    format!("duplicate tool name {:?}", tool.name),
                );
            }
            tools.push(tool);
        }
    }
    tools
}

/// MCP tool names: 1–128 characters of ASCII letters, digits, `_`, `-` and `.`.
fn valid_tool_name(name: &str) -> bool {
    (1..=128).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

/// One tool; `None` when anything in it is wrong (its unknown keys aside).
fn validate_tool(
    issues: &mut Issues,
    path: &str,
    tier: Option<Tier>,
    raw: RawTool,
) -> Option<ToolConfig> {
    issues.unknown(path, &raw.unknown);
    let before = issues.len();
    let name = raw.name.unwrap_or_default();
    if !valid_tool_name(&name) {
        issues.push(
            format!("{path}.name"),
            format!("{name:?} is not a tool name (1-128 of A-Z a-z 0-9 _ - .)"),
        );
    }
    let description = raw.description.unwrap_or_default();
    if description.trim().is_empty() {
        issues.push(format!("{path}.description"), "missing");
    }
    let category = category(issues, path, raw.category.as_deref(), &name);
    let mut parameters = Vec::new();
    for (pname, p) in raw.parameters {
        let ppath = format!("{path}.parameters.{pname}");
        parameters.extend(parameter(issues, &ppath, pname, p));
    }
    let sec = raw.security.unwrap_or_default();
    issues.unknown(&format!("{path}.security"), &sec.unknown);
    let opts = raw.options.unwrap_or_default();
    issues.unknown(&format!("{path}.options"), &opts.unknown);
    check_security(issues, path, tier, &sec);
    if opts.max_rows == Some(0) || opts.max_bytes == Some(0) {
        issues.push(
            format!("{path}.options"),
            "max_rows and max_bytes must be positive",
        );
    }
    if issues.len() > before {
        return None;
    }
    Some(ToolConfig {
        name,
        description,
        category: category?,
        parameters,
        security: security(sec),
        options: options(opts),
    })
}

/// The category as written, else the one the tool's name prefix implies.
fn category(
    issues: &mut Issues,
    path: &str,
    written: Option<&str>,
    name: &str,
) -> Option<Category> {
    match written {
        Some(text) => Category::parse(text).or_else(|| {
            issues.push(
                format!("{path}.category"),
                format!("{text:?} is not one of database, file, cache, storage, compute"),
            );
            None
        }),
        None if !valid_tool_name(name) => None,
        None => Category::from_name(name).or_else(|| {
            issues.push(
                format!("{path}.category"),
                format!("missing, and {name:?} has no known prefix to derive it from"),
            );
            None
        }),
    }
}

/// One parameter; `None` when its type is missing or unknown.
fn parameter(issues: &mut Issues, ppath: &str, name: String, p: RawParam) -> Option<ParamSpec> {
    issues.unknown(ppath, &p.unknown);
    let kind = match p.kind.as_deref() {
        Some(t) => ParamKind::parse(t).or_else(|| {
            issues.push(
                format!("{ppath}.type"),
                format!("{t:?} is not a JSON Schema type (string, integer, number, boolean, array, object)"),
            );
            None
        }),
        None => {
            issues.push(format!("{ppath}.type"), "missing");
            None
        }
    };
    if let (Some(kind), Some(default)) = (kind, &p.default)
        && !kind.admits(default)
    {
        issues.push(
            format!("{ppath}.default"),
            format!("{default} is not a {}", kind.as_str()),
        );
    }
    Some(ParamSpec {
        required: p.required.unwrap_or(p.default.is_none()),
        name,
        kind: kind?,
        description: p.description,
        default: p.default,
    })
}

fn check_security(issues: &mut Issues, path: &str, tier: Option<Tier>, sec: &RawSecurity) {
    for (i, p) in sec.allowed_paths.iter().enumerate() {
        if !p.starts_with('/') || p.split('/').any(|c| c == "..") {
            issues.push(
                format!("{path}.security.allowed_paths[{i}]"),
                format!("{p:?} must be an absolute path without `..`"),
            );
        }
    }
    if tier == Some(Tier::AwsManaged) && sec.iam_role.is_none() {
        issues.push(
            format!("{path}.security.iam_role"),
            "missing (every AWS tool runs under its own role)",
        );
    }
    if let Some(role) = &sec.iam_role
        && !role.starts_with("arn:aws:iam::")
    {
        issues.push(
            format!("{path}.security.iam_role"),
            format!("{role:?} is not an IAM role ARN"),
        );
    }
}

/// A tool's security as declared (checked by `check_security`); sandboxed unless it says not.
fn security(sec: RawSecurity) -> ToolSecurity {
    ToolSecurity {
        requires_auth: sec.requires_auth,
        sandbox: sec.sandbox.unwrap_or(true),
        allowed_paths: sec.allowed_paths.into_iter().map(PathBuf::from).collect(),
        allowed_databases: sec.allowed_databases,
        allowed_functions: sec.allowed_functions,
        iam_role: sec.iam_role,
        max_permissions: sec
            .max_permissions
            .map(|p| {
                p.split(',')
                    .map(|s| s.trim().to_owned())
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .unwrap_or_default(),
    }
}

fn options(opts: RawOptions) -> ToolOptions {
    ToolOptions {
        max_rows: opts.max_rows.map(|v| v as usize),
        max_bytes: opts.max_bytes.map(|v| v as usize),
        result_cache_ttl: opts.result_cache_ttl_ms.map(Duration::from_millis),
        key_prefix: opts.key_prefix,
    }
}
