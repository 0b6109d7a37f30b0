//! Resources a tier serves beside its tools (`resources/list`, `resources/read`,
//! `resources/templates/list`): what a tier has that an agent may read as context, such as
//! the local tier's files under its allowed paths. The tier supplies a [`ResourceSource`];
//! the handler (`handler.rs`) pages its listing, holds each read to the tier's deadline
//! and audits it.

use futures::future::BoxFuture;
use rmcp::model::{ErrorData, Resource, ResourceContents, ResourceTemplate};
use serde_json::json;

use crate::registry::{ToolError, ToolErrorKind, decode_cursor, encode_cursor};

/// Resources listed per page.
pub const PAGE_SIZE: usize = 100;

/// Where a tier's resources come from.
pub trait ResourceSource: Send + Sync + 'static {
    /// Every resource, sorted by URI (the handler pages by URI).
    fn list(&self) -> BoxFuture<'_, Result<Vec<Resource>, ToolError>>;
    /// One resource's contents; a URI it does not serve is `ToolErrorKind::NotFound`.
    fn read<'a>(&'a self, uri: &'a str) -> BoxFuture<'a, Result<Vec<ResourceContents>, ToolError>>;
    /// URI templates the source answers (may be none).
    fn templates(&self) -> Vec<ResourceTemplate>;
}

/// One page of `resources` (sorted by URI) after `cursor`, and the cursor of the next.
pub fn page(
    resources: Vec<Resource>,
    cursor: Option<&str>,
) -> Result<(Vec<Resource>, Option<String>), ErrorData> {
    let after = cursor
        .map(decode_cursor)
        .transpose()
        .map_err(|e| ErrorData::invalid_params(e.to_string(), None))?;
    let start = after.map_or(0, |uri| {
        resources.partition_point(|r| r.uri.as_str() <= uri.as_str())
    });
    let mut page: Vec<Resource> = resources.into_iter().skip(start).collect();
    let next = (page.len() > PAGE_SIZE).then(|| encode_cursor(&page[PAGE_SIZE - 1].uri));
    page.truncate(PAGE_SIZE);
    Ok((page, next))
}

/// The JSON-RPC error for a failed read of `uri`: a resource that does not exist is
/// "resource not found" with the URI in its data (sent as -32602 from MCP 2026-07-28 on);
/// a refused or malformed URI is invalid params; a failing backend an internal error.
pub fn read_error(uri: &str, error: &ToolError) -> ErrorData {
    let data = Some(json!({ "uri": uri, "kind": error.kind }));
    match error.kind {
        ToolErrorKind::NotFound => ErrorData::resource_not_found(error.message.clone(), data),
        ToolErrorKind::InvalidArguments | ToolErrorKind::Refused => {
            ErrorData::invalid_params(error.message.clone(), data)
        }
        ToolErrorKind::Backend | ToolErrorKind::Timeout => {
            ErrorData::internal_error(error.message.clone(), data)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resources(n: usize) -> Vec<Resource> {
        (0..n)
            .map(|i| Resource::new(format!("file:///data/f{i:04}"), format!("f{i:04}")))
            .collect()
    }

    #[test]
    fn pages_cover_every_resource_once_in_order() {
        let all = resources(250);
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..4 {
            let (items, next) = page(all.clone(), cursor.as_deref()).unwrap();
            seen.extend(items.into_iter().map(|r| r.uri));
            cursor = next;
            if cursor.is_none() {
                break;
            }
        }
        assert!(cursor.is_none(), "three pages hold 250 resources");
        let expected: Vec<String> = all.into_iter().map(|r| r.uri).collect();
        assert_eq!(seen, expected);
    }

    #[test]
    fn a_cursor_stays_valid_when_resources_come_and_go() {
        let all = resources(150);
        let (_, next) = page(all.clone(), None).unwrap();
        let next = next.unwrap();
        // The first resource removed, one added before the cursor: the second page still
        // starts right after the last URI the first page showed.
        let mut changed = all[1..].to_vec();
        changed.insert(0, Resource::new("file:///data/a", "a"));
        let (items, _) = page(changed, Some(&next)).unwrap();
        assert_eq!(items[0].uri, "file:///data/f0100");
    }

    #[test]
    fn a_forged_cursor_is_invalid_params() {
        let err = page(resources(3), Some("not-a-cursor")).unwrap_err();
        assert_eq!(err.code, rmcp::model::ErrorCode::INVALID_PARAMS);
    }

    #[test]
    fn read_errors_keep_the_uri() {
        let err = read_error("file:///x", &ToolError::not_found("no such file"));
        assert_eq!(err.code, rmcp::model::ErrorCode::RESOURCE_NOT_FOUND);
        assert_eq!(err.data.unwrap()["uri"], "file:///x");
        let err = read_error("file:///x", &ToolError::refused("outside"));
        assert_eq!(err.code, rmcp::model::ErrorCode::INVALID_PARAMS);
    }
}
