//! The tier's resources, when it has a source of them (`crate::resources`): listed a page at a
//! time, each read held to the tier's deadline and audited as `resources/read`.

use rmcp::model::{
    ErrorData, ListResourcesRequestMethod, ListResourcesResult, ReadResourceRequestMethod,
    ReadResourceResult, RequestId,
};
use serde_json::{Map, Value};

use super::{CallEnd, McpHandler, id_text};
use crate::admitted::Admitted;
use crate::audit::Outcome;
use crate::registry::{CallReport, ToolError, ToolErrorKind};
use crate::resources;

impl McpHandler {
    /// A `resources/list` page (-32601 for a tier without resources, as rmcp answers).
    pub async fn list_resources(
        &self,
        cursor: Option<&str>,
    ) -> Result<ListResourcesResult, ErrorData> {
        let Some(source) = &self.0.resources else {
            return Err(ErrorData::method_not_found::<ListResourcesRequestMethod>());
        };
        let all = source
            .list()
            .await
            .map_err(|e| ErrorData::internal_error(e.message, None))?;
        let (items, next) = resources::page(all, cursor)?;
        let mut result = ListResourcesResult::with_all_items(items);
        result.next_cursor = next;
        Ok(result)
    }

    /// A `resources/read`, held to the tier's deadline and audited as `resources/read`.
    pub async fn read_resource(
        &self,
        uri: &str,
        admitted: &Admitted,
        id: &RequestId,
    ) -> Result<ReadResourceResult, ErrorData> {
        let Some(source) = &self.0.resources else {
            return Err(ErrorData::method_not_found::<ReadResourceRequestMethod>());
        };
        let deadline = admitted.received + self.0.limits.timeout;
        let read = tokio::time::timeout_at(deadline, source.read(uri)).await;
        let read = read.unwrap_or_else(|_| {
            Err(ToolError::new(
                ToolErrorKind::Timeout,
                format!(
                    "reading {uri} timed out after {} ms",
                    self.0.limits.timeout.as_millis()
                ),
            ))
        });
        let (outcome, error) = match &read {
            Ok(_) => (Outcome::Ok, None),
            Err(e) if e.kind == ToolErrorKind::Timeout => (Outcome::TimedOut, Some(e)),
            Err(e) => (Outcome::ToolError, Some(e)),
        };
        let mut args = Map::new();
        args.insert("uri".to_owned(), Value::String(uri.to_owned()));
        self.audit(
            admitted,
            &CallEnd {
                name: "resources/read",
                outcome,
                args: &args,
                request_id: &id_text(id),
                error: error.map(|e| e.message.as_str()),
                trace_id: None,
                report: &CallReport::default(),
            },
        );
        match read {
            Ok(contents) => Ok(ReadResourceResult::new(contents)),
            Err(e) => Err(resources::read_error(uri, &e)),
        }
    }
}
