//! `max_permissions`: the ceiling a tool's config declares on what its role may do. The
//! server refuses to start when a tool's declared ceiling does not grant the action the
//! tool itself calls, so the config cannot claim a bound the tool would break.

use mcp_server_core::config::{FamilyConfig, FamilyKind, Functions, ServerConfig, ToolConfig};

/// The IAM actions each tool calls (any one of them, as a config may name it).
fn calls(tool: &str) -> &'static [&'static str] {
    match tool {
        "s3_read" => &["s3:GetObject"],
        // The seed writes `rds:ExecuteStatement` for the Data API's action.
        "rds_query" => &["rds-data:ExecuteStatement", "rds:ExecuteStatement"],
        "lambda_invoke" => &["lambda:InvokeFunction"],
        _ => &[],
    }
}

/// Whether `granted` (an action, `service:*` or `*`) covers `action`.
fn covers(granted: &str, action: &str) -> bool {
    granted == "*"
        || granted.eq_ignore_ascii_case(action)
        || granted.strip_suffix('*').is_some_and(|prefix| {
            action
                .to_ascii_lowercase()
                .starts_with(&prefix.to_ascii_lowercase())
        })
}

/// The IAM action a family lists its backend with, if it lists one.
fn lists(family: &FamilyKind) -> Option<&'static str> {
    match family {
        FamilyKind::S3Prefixes { prefixes: None, .. } => Some("s3:ListBucket"),
        FamilyKind::LambdaFunctions(Functions::Prefix(_)) => Some("lambda:ListFunctions"),
        _ => None,
    }
}

/// Why `family` (the `i`th) may not list its backend under `base`, if its base's
/// `max_permissions` does not grant the listing action; checked at start and on reload.
pub fn listing_ungranted(i: usize, family: &FamilyConfig, base: &ToolConfig) -> Option<String> {
    let action = lists(&family.kind)?;
    let granted = &base.security.max_permissions;
    (!granted.is_empty() && !granted.iter().any(|g| covers(g, action))).then(|| {
        format!(
            "server.families[{i}] ({}): lists with {action}, which {}'s security.max_permissions ({}) does not grant",
            family.name,
            base.name,
            granted.join(", ")
        )
    })
}

/// One line per tool whose `max_permissions` does not grant what the tool calls, and per
/// family that lists its backend under a base tool whose ceiling does not grant listing.
pub fn ungranted(config: &ServerConfig) -> Vec<String> {
    let mut out = Vec::new();
    for (i, family) in config.families.iter().enumerate() {
        if let Some(base) = config.tool(&family.base) {
            out.extend(listing_ungranted(i, family, base));
        }
    }
    for (i, tool) in config.tools.iter().enumerate() {
        let granted = &tool.security.max_permissions;
        let needed = calls(&tool.name);
        if granted.is_empty() || needed.is_empty() {
            continue;
        }
        if !needed.iter().any(|a| granted.iter().any(|g| covers(g, a))) {
            out.push(format!(
                "server.tools[{i}] ({}).security.max_permissions: grants {} but the tool calls {}",
                tool.name,
                granted.join(", "),
                needed[0]
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    #[test]
    fn the_committed_config_grants_what_each_tool_calls() {
        let file =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/aws_managed_mcp_config.yaml");
        let config = ServerConfig::load(&file).unwrap();
        assert_eq!(ungranted(&config), Vec::<String>::new());
    }

    #[test]
    fn a_ceiling_below_the_tools_own_call_is_refused_and_wildcards_count() {
        let file =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/aws_managed_mcp_config.yaml");
        let mut config = ServerConfig::load(&file).unwrap();
        config.tools[0].security.max_permissions = vec!["s3:PutObject".into()];
        assert_eq!(
            ungranted(&config),
            vec!["server.tools[0] (s3_read).security.max_permissions: grants s3:PutObject but the tool calls s3:GetObject".to_owned()]
        );
        config.tools[0].security.max_permissions = vec!["s3:Get*".into()];
        assert!(ungranted(&config).is_empty());
        config.tools[0].security.max_permissions = vec!["*".into()];
        assert!(ungranted(&config).is_empty());
    }

    #[test]
    fn a_family_that_lists_needs_its_base_to_grant_listing() {
        let file =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/aws_managed_mcp_config.yaml");
        let mut config = ServerConfig::load(&file).unwrap();
        let at = config
            .families
            .iter()
            .position(|f| matches!(f.kind, FamilyKind::LambdaFunctions(Functions::Prefix(_))))
            .expect("the committed config lists its functions by prefix");
        let lambda = config
            .tools
            .iter_mut()
            .find(|t| t.name == "lambda_invoke")
            .unwrap();
        lambda.security.max_permissions = vec!["lambda:InvokeFunction".into()];
        assert_eq!(
            ungranted(&config),
            vec![format!(
                "server.families[{at}] (agent_functions): lists with lambda:ListFunctions, which lambda_invoke's security.max_permissions (lambda:InvokeFunction) does not grant"
            )]
        );
    }
}
