//! The security fields of a tool that a tier cannot honour are refused at start-up, with
//! the field's path, rather than parsed and then ignored:
//! - `requires_auth: true` on the local tier, which authenticates no callers (it listens
//!   on loopback only); `requires_auth: false` on the AWS tier, which authenticates every
//!   caller;
//! - `sandbox: false` on either: every tool runs confined (`file_read` to its
//!   `allowed_paths`, the SQL tools to their `allowed_databases`, the AWS tools to their
//!   role);
//! - `max_permissions` on the local tier, which assumes no IAM role. (On the AWS tier the
//!   server checks that it grants what each tool calls: `mcp-aws-server`.)

use super::{ServerConfig, Tier};

impl ServerConfig {
    /// One line per security field this tier cannot honour (empty when all can be).
    pub fn refused_security(&self) -> Vec<String> {
        let mut refused = Vec::new();
        for (i, tool) in self.tools.iter().enumerate() {
            let at = format!("server.tools[{i}] ({}).security", tool.name);
            let sec = &tool.security;
            match (self.tier, sec.requires_auth) {
                (Tier::Local, Some(true)) => refused.push(format!(
                    "{at}.requires_auth: the local tier authenticates no callers (it listens on loopback only); a tool that needs authenticated callers belongs on the AWS tier"
                )),
                (Tier::AwsManaged, Some(false)) => refused.push(format!(
                    "{at}.requires_auth: the AWS tier authenticates every caller; false is not supported"
                )),
                _ => {}
            }
            if !sec.sandbox {
                refused.push(format!(
                    "{at}.sandbox: false is not supported: every tool runs confined (file_read to allowed_paths, SQL to allowed_databases, AWS tools to their role)"
                ));
            }
            if self.tier == Tier::Local && !sec.max_permissions.is_empty() {
                refused.push(format!(
                    "{at}.max_permissions: the local tier assumes no IAM role, so there is nothing to bound"
                ));
            }
        }
        refused
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn local(security: &str) -> ServerConfig {
        ServerConfig::from_yaml(
            Path::new("c.yaml"),
            &format!(
                "server:\n  type: \"local\"\n  tools:\n    - name: \"file_read\"\n      description: \"Read files\"\n      category: \"file\"\n      parameters:\n        path:\n          type: \"string\"\n      security:\n        allowed_paths: [\"/data\"]\n{security}"
            ),
        )
        .unwrap()
    }

    #[test]
    fn the_committed_configs_ask_for_nothing_a_tier_cannot_do() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        for file in [
            "config/local_mcp_server_config.yaml",
            "config/aws_managed_mcp_config.yaml",
        ] {
            let config = ServerConfig::load(&root.join(file)).unwrap();
            assert_eq!(config.refused_security(), Vec::<String>::new(), "{file}");
        }
    }

    #[test]
    fn what_the_local_tier_cannot_honour_is_named_with_its_path() {
        assert!(
            local("        requires_auth: false\n        sandbox: true\n")
                .refused_security()
                .is_empty()
        );
        let refused = local(
            "        requires_auth: true\n        sandbox: false\n        max_permissions: \"s3:GetObject\"\n",
        )
        .refused_security();
        assert_eq!(refused.len(), 3, "{refused:#?}");
        assert!(refused[0].starts_with("server.tools[0] (file_read).security.requires_auth: the local tier authenticates no callers"));
        assert!(
            refused[1].starts_with(
                "server.tools[0] (file_read).security.sandbox: false is not supported"
            )
        );
        assert!(refused[2].starts_with("server.tools[0] (file_read).security.max_permissions:"));
    }
}
