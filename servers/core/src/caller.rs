//! Who is calling: set by the admission stack, read by the handler, the limiter and audit.

use std::collections::BTreeSet;
use std::sync::Arc;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The rate-limit key and audit name: the authenticated principal, or the peer address.
    pub id: Arc<str>,
    /// Set when the caller authenticated.
    pub principal: Option<Arc<str>>,
    /// The tools this caller may see and call; `None` means all.
    pub allowed_tools: Option<Arc<BTreeSet<String>>>,
}

impl Caller {
    pub fn anonymous(id: impl Into<Arc<str>>) -> Self {
        Caller {
            id: id.into(),
            principal: None,
            allowed_tools: None,
        }
    }

    pub fn with_tools(principal: &str, tools: impl IntoIterator<Item = String>) -> Self {
        Caller {
            id: principal.into(),
            principal: Some(principal.into()),
            allowed_tools: Some(Arc::new(tools.into_iter().collect())),
        }
    }

    pub fn may_use(&self, tool: &str) -> bool {
        self.allowed_tools
            .as_ref()
            .is_none_or(|set| set.contains(tool))
    }
}
