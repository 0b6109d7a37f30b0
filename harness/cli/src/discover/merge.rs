//! The merged view: tier → category → tools across every target, name collisions across
//! targets, and the sizes; rendered as JSON and as a readable table with the same content.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;
use serde_json::Value;

use super::inspect::{Inspected, estimate_tokens};

/// How the token counts are estimated (said in both outputs).
pub const TOKEN_RULE: &str = "estimated tokens = ceil(bytes / 4), bytes being the tools/list JSON-RPC responses as received (every page; an SSE event's JSON without its framing)";

#[derive(Debug, Serialize)]
pub struct Merged {
    pub token_estimate: &'static str,
    pub targets: Vec<Inspected>,
    pub tiers: Vec<Tier>,
    pub collisions: Vec<Collision>,
    pub total: Total,
}

#[derive(Debug, Serialize)]
pub struct Tier {
    pub tier: String,
    pub categories: Vec<Category>,
}

#[derive(Debug, Serialize)]
pub struct Category {
    pub category: String,
    pub tools: Vec<Row>,
}

/// One tool name under one tier and category, with every target that serves it there.
#[derive(Debug, Serialize)]
pub struct Row {
    pub name: String,
    pub targets: Vec<String>,
    /// Served by more than one target (here or under another tier or category).
    pub collision: bool,
}

/// A tool name served by two or more targets.
#[derive(Debug, Serialize)]
pub struct Collision {
    pub tool: String,
    pub targets: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct Total {
    pub targets: usize,
    pub targets_failed: usize,
    /// Tools listed, each target's counted (a collision counts once per target).
    pub tools: usize,
    pub distinct_tools: usize,
    pub pages: u32,
    pub bytes: u64,
    pub wire_bytes: u64,
    pub estimated_tokens: u64,
}

/// Groups every target's tools by tier, then category, then name (each sorted), and finds
/// the names more than one target serves.
pub fn merge(targets: Vec<Inspected>) -> Merged {
    let mut by_name: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    let mut grouped: BTreeMap<&str, BTreeMap<&str, BTreeMap<&str, Vec<&str>>>> = BTreeMap::new();
    for target in &targets {
        for tool in &target.tools {
            let servers = by_name.entry(&tool.name).or_default();
            if !servers.contains(&target.name.as_str()) {
                servers.push(&target.name);
            }
            let here = grouped
                .entry(&tool.tier)
                .or_default()
                .entry(&tool.category)
                .or_default()
                .entry(&tool.name)
                .or_default();
            if !here.contains(&target.name.as_str()) {
                here.push(&target.name);
            }
        }
    }
    let collisions: Vec<Collision> = by_name
        .iter()
        .filter(|(_, servers)| servers.len() > 1)
        .map(|(tool, servers)| Collision {
            tool: (*tool).to_owned(),
            targets: servers.iter().map(|s| (*s).to_owned()).collect(),
        })
        .collect();
    let tiers = grouped
        .into_iter()
        .map(|(tier, categories)| Tier {
            tier: tier.to_owned(),
            categories: categories
                .into_iter()
                .map(|(category, tools)| Category {
                    category: category.to_owned(),
                    tools: tools
                        .into_iter()
                        .map(|(name, servers)| Row {
                            name: name.to_owned(),
                            targets: servers.iter().map(|s| (*s).to_owned()).collect(),
                            collision: by_name.get(name).is_some_and(|s| s.len() > 1),
                        })
                        .collect(),
                })
                .collect(),
        })
        .collect();
    let bytes = targets.iter().map(|t| t.bytes).sum();
    let total = Total {
        targets: targets.len(),
        targets_failed: targets.iter().filter(|t| t.error.is_some()).count(),
        tools: targets.iter().map(|t| t.tools.len()).sum(),
        distinct_tools: by_name.len(),
        pages: targets.iter().map(|t| t.pages).sum(),
        bytes,
        wire_bytes: targets.iter().map(|t| t.wire_bytes).sum(),
        estimated_tokens: estimate_tokens(bytes),
    };
    Merged {
        token_estimate: TOKEN_RULE,
        targets,
        tiers,
        collisions,
        total,
    }
}

/// The readable form: targets and their boundaries, server/discover, the tools by tier and
/// category, collisions, and the token rule.
pub fn table(m: &Merged) -> String {
    let mut out = String::new();
    let mut rows = vec![cells([
        "target", "revision", "sessions", "token", "pages", "tools", "bytes", "~tokens",
    ])];
    for t in &m.targets {
        rows.push(vec![
            t.name.clone(),
            t.revision.clone().unwrap_or_else(|| "-".into()),
            t.sessions.clone().unwrap_or_else(|| "-".into()),
            token(t),
            t.pages.to_string(),
            t.tools.len().to_string(),
            t.bytes.to_string(),
            t.estimated_tokens.to_string(),
        ]);
    }
    let tot = &m.total;
    rows.push(vec![
        "total".into(),
        String::new(),
        String::new(),
        String::new(),
        tot.pages.to_string(),
        tot.tools.to_string(),
        tot.bytes.to_string(),
        tot.estimated_tokens.to_string(),
    ]);
    out.push_str("targets\n");
    out.push_str(&columns(&rows, "  "));
    out.push_str("\nsecurity boundaries\n");
    for t in &m.targets {
        let _ = writeln!(out, "  {}: {}", t.name, t.url);
        let _ = writeln!(out, "    auth: {}; check: {}", token(t), t.auth_check);
        if let Some(how) = &t.negotiation {
            let _ = writeln!(out, "    revision: {how}");
        }
        let _ = writeln!(out, "    server/discover: {}", discover_line(t));
        if let Some(e) = &t.error {
            let _ = writeln!(out, "    ERROR: {e}");
        }
    }
    out.push_str("\ntools by tier and category\n");
    out.push_str(&tools_section(m));
    out.push('\n');
    if m.collisions.is_empty() {
        out.push_str("collisions: none (no tool name is served by two targets)\n");
    } else {
        let _ = writeln!(
            out,
            "COLLISIONS: {} tool name(s) served by more than one target",
            m.collisions.len()
        );
        for c in &m.collisions {
            let _ = writeln!(out, "  {}: {}", c.tool, c.targets.join(", "));
        }
    }
    let _ = writeln!(out, "\n{TOKEN_RULE}");
    out
}

/// Tier, category and tool rows, each tool with its targets and `COLLISION` when shared.
fn tools_section(m: &Merged) -> String {
    let mut rows = Vec::new();
    for tier in &m.tiers {
        rows.push(vec![
            format!("  {}", tier.tier),
            String::new(),
            String::new(),
        ]);
        for category in &tier.categories {
            rows.push(vec![
                format!("    {}", category.category),
                String::new(),
                String::new(),
            ]);
            for row in &category.tools {
                rows.push(vec![
                    format!("      {}", row.name),
                    row.targets.join(", "),
                    if row.collision { "COLLISION" } else { "" }.into(),
                ]);
            }
        }
    }
    columns(&rows, "")
}

fn token(t: &Inspected) -> String {
    let sent = match &t.token_env {
        Some(var) => format!("sent (${var})"),
        None => "none sent".into(),
    };
    let required = match t.token_required {
        Some(true) => "required",
        Some(false) => "not required",
        None => "requirement unknown",
    };
    format!("{sent}, {required}")
}

fn discover_line(t: &Inspected) -> String {
    let Some(d) = &t.discover else {
        return match &t.revision {
            Some(r) if r.as_str() < "2026-07-28" => format!("not at {r} (2026-07-28 only)"),
            _ => "-".into(),
        };
    };
    let info = d
        .get("serverInfo")
        .or_else(|| d.pointer("/_meta/io.modelcontextprotocol~1serverInfo"))
        .unwrap_or(&Value::Null);
    let name = info.get("name").and_then(Value::as_str).unwrap_or("?");
    let version = info.get("version").and_then(Value::as_str).unwrap_or("?");
    let versions: Vec<&str> = d
        .get("supportedVersions")
        .and_then(Value::as_array)
        .map(|v| v.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    format!("{name} {version}, supports {}", versions.join(", "))
}

fn cells<const N: usize>(texts: [&str; N]) -> Vec<String> {
    texts.iter().map(|s| (*s).to_owned()).collect()
}

/// Left-aligned columns, each as wide as its widest cell, `indent` before each line and
/// two spaces between cells, trailing spaces trimmed.
fn columns(rows: &[Vec<String>], indent: &str) -> String {
    let mut widths: Vec<usize> = Vec::new();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            let w = cell.chars().count();
            match widths.get_mut(i) {
                Some(x) => *x = (*x).max(w),
                None => widths.push(w),
            }
        }
    }
    let mut out = String::new();
    for row in rows {
        let mut line = String::from(indent);
        for (cell, width) in row.iter().zip(&widths) {
            line.push_str(cell);
            line.push_str(&" ".repeat(width.saturating_sub(cell.chars().count()) + 2));
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::discover::inspect::Tool;

    fn target(name: &str, tools: &[(&str, &str, &str)], bytes: u64) -> Inspected {
        let mut t = blank(name);
        t.bytes = bytes;
        t.tools = tools
            .iter()
            .map(|(n, tier, c)| Tool {
                name: (*n).into(),
                tier: (*tier).into(),
                tier_from: "_meta",
                category: (*c).into(),
                description: None,
            })
            .collect();
        t
    }

    fn blank(name: &str) -> Inspected {
        Inspected {
            name: name.into(),
            url: format!("http://127.0.0.1:1/{name}"),
            token_env: None,
            token_sent: false,
            token_required: Some(false),
            auth_check: "HTTP 200 without a token".into(),
            revision: Some("2026-07-28".into()),
            negotiation: None,
            sessions: None,
            discover: None,
            pages: 1,
            bytes: 0,
            wire_bytes: 0,
            estimated_tokens: 0,
            tools: Vec::new(),
            error: None,
        }
    }

    #[test]
    fn tools_group_by_tier_then_category_and_shared_names_collide() {
        let a = target(
            "a",
            &[("q", "local", "database"), ("f", "local", "file")],
            10,
        );
        let b = target("b", &[("q", "aws", "database"), ("s", "aws", "storage")], 7);
        let m = merge(vec![a, b]);
        let tiers: Vec<&str> = m.tiers.iter().map(|t| t.tier.as_str()).collect();
        assert_eq!(tiers, ["aws", "local"]);
        assert_eq!(m.collisions.len(), 1);
        assert_eq!(m.collisions[0].tool, "q");
        assert_eq!(m.collisions[0].targets, ["a", "b"]);
        assert_eq!(m.total.tools, 4);
        assert_eq!(m.total.distinct_tools, 3);
        assert_eq!(m.total.estimated_tokens, 5);
        let text = table(&m);
        assert!(text.contains("COLLISIONS: 1"), "{text}");
        let q: Vec<&str> = text.lines().filter(|l| l.starts_with("      q ")).collect();
        assert_eq!(q.len(), 2, "{text}");
        assert!(q.iter().all(|l| l.ends_with("COLLISION")), "{text}");
    }
}
