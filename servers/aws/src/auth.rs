//! Bearer-token callers. Tokens are compared as SHA-256 hashes in constant time against
//! every configured caller (no early exit), so timing says nothing about which caller or
//! how much of a token matched.

use http::{HeaderMap, HeaderValue, header};
use mcp_server_core::admission::{AuthFailure, Authenticator};
use mcp_server_core::caller::Caller;
use mcp_server_core::config::{CallerEntry, Callers};
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;

pub struct BearerAuth {
    callers: Vec<CallerEntry>,
}

const REALM: &str = "Bearer realm=\"mcp-aws-server\"";

impl BearerAuth {
    pub fn new(callers: Callers) -> Self {
        BearerAuth {
            callers: callers.callers,
        }
    }

    /// Adds callers from `MCP_AWS_CALLER_TOKENS`: `principal=token[:tool|tool],...` (for
    /// development and tests; production keeps only hashes in the callers file).
    pub fn with_env_tokens(mut self, spec: &str) -> Result<Self, String> {
        for (i, entry) in spec
            .split(',')
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .enumerate()
        {
            let (principal, rest) = entry.split_once('=').ok_or_else(|| {
                format!("MCP_AWS_CALLER_TOKENS entry {i}: expected principal=token[:tools]")
            })?;
            let (token, tools) = match rest.split_once(':') {
                Some((t, tools)) => (t, Some(tools)),
                None => (rest, None),
            };
            if token.len() < 16 {
                return Err(format!(
                    "MCP_AWS_CALLER_TOKENS entry {i} ({principal}): tokens must be at least 16 characters"
                ));
            }
            let tools = tools
                .filter(|t| *t != "*")
                .map(|t| t.split('|').map(str::to_owned).collect());
            self.callers.push(CallerEntry {
                principal: principal.to_owned(),
                token_sha256: Sha256::digest(token.as_bytes()).into(),
                tools,
            });
        }
        Ok(self)
    }

    pub fn is_empty(&self) -> bool {
        self.callers.is_empty()
    }

    /// The configured principals.
    pub fn principals(&self) -> Vec<String> {
        self.callers.iter().map(|c| c.principal.clone()).collect()
    }
}

fn failure(message: &str, error: Option<&str>) -> AuthFailure {
    let value = match error {
        Some(e) => format!("{REALM}, error=\"{e}\""),
        None => REALM.to_owned(),
    };
    AuthFailure {
        message: message.to_owned(),
        www_authenticate: HeaderValue::from_str(&value)
            .unwrap_or_else(|_| HeaderValue::from_static(REALM)),
    }
}

impl Authenticator for BearerAuth {
    fn authenticate(&self, headers: &HeaderMap) -> Result<Caller, AuthFailure> {
        let Some(value) = headers.get(header::AUTHORIZATION) else {
            return Err(failure(
                "authentication required: send Authorization: Bearer <token>",
                None,
            ));
        };
        let token = value
            .to_str()
            .ok()
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                failure(
                    "malformed Authorization header: expected Bearer <token>",
                    Some("invalid_request"),
                )
            })?;
        let presented: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let mut found: Option<&CallerEntry> = None;
        for caller in &self.callers {
            if bool::from(caller.token_sha256.ct_eq(&presented)) {
                found = Some(caller);
            }
        }
        let caller = found.ok_or_else(|| failure("invalid bearer token", Some("invalid_token")))?;
        Ok(match &caller.tools {
            Some(tools) => Caller::with_tools(&caller.principal, tools.iter().cloned()),
            None => Caller {
                id: caller.principal.as_str().into(),
                principal: Some(caller.principal.as_str().into()),
                allowed_tools: None,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(value: Option<&str>) -> HeaderMap {
        let mut h = HeaderMap::new();
        if let Some(v) = value {
            h.insert(header::AUTHORIZATION, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn tokens_map_to_principals_and_their_tools() {
        let auth = BearerAuth::new(Callers::default())
            .with_env_tokens(
                "console=console-token-0123456789,reader=reader-token-0123456789:s3_read",
            )
            .unwrap();
        let console = auth
            .authenticate(&headers(Some("Bearer console-token-0123456789")))
            .unwrap();
        assert_eq!(console.principal.as_deref(), Some("console"));
        assert!(console.may_use("lambda_invoke"));
        let reader = auth
            .authenticate(&headers(Some("Bearer reader-token-0123456789")))
            .unwrap();
        assert!(reader.may_use("s3_read") && !reader.may_use("lambda_invoke"));
        let missing = auth.authenticate(&headers(None)).unwrap_err();
        assert_eq!(missing.www_authenticate, "Bearer realm=\"mcp-aws-server\"");
        let wrong = auth
            .authenticate(&headers(Some("Bearer nope-nope-nope-nope")))
            .unwrap_err();
        assert_eq!(wrong.message, "invalid bearer token");
        assert_eq!(
            wrong.www_authenticate,
            "Bearer realm=\"mcp-aws-server\", error=\"invalid_token\""
        );
        assert!(auth.authenticate(&headers(Some("Basic abc"))).is_err());
        assert!(
            BearerAuth::new(Callers::default())
                .with_env_tokens("x=short")
                .is_err()
        );
    }
}
