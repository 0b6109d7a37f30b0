//! What a client discovers of the tools: a `tools/list` page with its cache hint, and the
//! `server/discover` answer; both used by rmcp's handler and the direct path alike.

use rmcp::ServerHandler as _;
use rmcp::model::{DiscoverResult, ErrorData, ListToolsResult};

use std::sync::Arc;

use super::McpHandler;
use crate::caller::Caller;
use crate::registry::RegisteredTool;

impl McpHandler {
    /// A `tools/list` page as rmcp's handler answers it.
    pub fn list(
        &self,
        cursor: Option<&str>,
        caller: &Caller,
    ) -> Result<ListToolsResult, ErrorData> {
        let (mut result, tools) = self.list_page(cursor, caller)?;
        result.tools = tools.iter().map(|t| t.descriptor.clone()).collect();
        Ok(result)
    }

    /// A `tools/list` page without its tools, and the tools it lists: the direct path
    /// writes each tool's JSON as serialized once ([`RegisteredTool::descriptor_json`]).
    pub fn list_page(
        &self,
        cursor: Option<&str>,
        caller: &Caller,
    ) -> Result<(ListToolsResult, Vec<Arc<RegisteredTool>>), ErrorData> {
        let page = self
            .0
            .registry
            .list(cursor, caller)
            .map_err(|e| ErrorData::invalid_params(e.to_string(), None))?;
        let mut result = ListToolsResult::with_all_items(Vec::new());
        result.next_cursor = page.next_cursor;
        // Reusable for `ttl` (a change is announced by list_changed), by this caller only:
        // what a caller is listed depends on who it is.
        result.ttl_ms = Some(page.ttl.as_millis() as u64);
        result.cache_scope = Some(rmcp::model::CacheScope::Private);
        Ok((result, page.tools))
    }

    /// What `server/discover` answers (rmcp's default discovery from the server's
    /// configuration); also used by the direct path, so both give the same answer.
    pub fn discovery(&self) -> DiscoverResult {
        DiscoverResult::from_server_info(
            self.supported_protocol_versions().into_owned(),
            self.0.info.clone(),
        )
    }
}
