//! The files under the allowed paths as MCP resources: `file://` URIs of their paths as
//! the config names them (`file:///data/reports/daily.csv`), listed by walking each allowed
//! directory beneath its handle and read with the same confinement as `file_read` (the
//! open beneath the handle refuses `..` and symlinks leading out). Only regular files are
//! listed; symbolic links are neither listed nor followed while walking.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::Engine as _;
use cap_std::fs::Dir;
use futures::future::BoxFuture;
use mcp_server_core::registry::ToolError;
use mcp_server_core::resources::ResourceSource;
use percent_encoding::{AsciiSet, CONTROLS, percent_decode_str, utf8_percent_encode};
use rmcp::model::{Resource, ResourceContents, ResourceTemplate};

use super::{FileBytes, FileRead, read_file};

const SCHEME: &str = "file://";
/// Bytes escaped in a path segment of a URI (RFC 3986: what is not `pchar`, and `/`).
const SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'/')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}');
/// How deep the listing walks beneath an allowed directory.
const MAX_DEPTH: usize = 8;
/// At most this many files are listed (all allowed directories together).
pub const MAX_LISTED: usize = 10_000;

/// `file://` and the virtual path, each segment escaped.
fn uri_of(path: &Path) -> String {
    let mut uri = SCHEME.to_owned();
    for segment in path.iter().skip(1) {
        uri.push('/');
        uri.extend(utf8_percent_encode(&segment.to_string_lossy(), SEGMENT));
    }
    uri
}

/// The virtual path a `file://` URI names.
fn path_of(uri: &str) -> Result<String, ToolError> {
    let rest = uri.strip_prefix(SCHEME).ok_or_else(|| {
        ToolError::not_found(format!(
            "no such resource: {uri} (this tier serves file:// URIs)"
        ))
    })?;
    // `file:///path` or `file://localhost/path`.
    let path = rest.strip_prefix("localhost").unwrap_or(rest);
    if !path.starts_with('/') {
        return Err(ToolError::invalid(format!(
            "{uri}: a file URI names an absolute path (file:///...)"
        )));
    }
    percent_decode_str(path)
        .decode_utf8()
        .map(|p| p.into_owned())
        .map_err(|_| ToolError::invalid(format!("{uri}: its path is not UTF-8")))
}

impl FileRead {
    /// Every regular file beneath the allowed directories, sorted by URI.
    fn walk(&self) -> Vec<Resource> {
        let mut found = Vec::new();
        for mount in &self.mounts {
            if let Ok(dir) = &mount.dir {
                walk_dir(dir, &mount.virtual_path, 0, &mut found);
            }
        }
        found.sort_by(|a, b| a.uri.cmp(&b.uri));
        found.dedup_by(|a, b| a.uri == b.uri);
        found
    }

    fn read_uri(&self, uri: &str) -> Result<Vec<ResourceContents>, ToolError> {
        let path = path_of(uri)?;
        // Outside every allowed path: not a resource this tier has.
        let (mount, rest) = self.resolve_or(&path, |_, _| {
            ToolError::not_found(format!("no such resource: {uri}"))
        })?;
        let dir = mount.dir.clone().map_err(|e| {
            ToolError::backend(format!("allowed path is unavailable on this server: {e}"))
        })?;
        let FileBytes {
            bytes,
            truncated,
            media_type,
            is_text,
            size,
        } = read_file(&dir, &rest, &path, self.max_bytes)?;
        if truncated {
            return Err(ToolError::invalid(format!(
                "{uri} has {size} bytes, more than the {} a read returns; file_read reads a part of it",
                self.max_bytes
            )));
        }
        let contents = match String::from_utf8(bytes) {
            Ok(text) if is_text => ResourceContents::text(text, uri),
            Ok(text) => blob(text.as_bytes(), uri),
            Err(e) => blob(e.as_bytes(), uri),
        };
        Ok(vec![contents.with_mime_type(media_type)])
    }
}

fn blob(bytes: &[u8], uri: &str) -> ResourceContents {
    ResourceContents::blob(base64::engine::general_purpose::STANDARD.encode(bytes), uri)
}

/// Adds the regular files beneath `dir` (shown as `at`), down to `MAX_DEPTH`, up to
/// `MAX_LISTED` in all. Entries that cannot be read are left out.
fn walk_dir(dir: &Dir, at: &Path, depth: usize, found: &mut Vec<Resource>) {
    let Ok(entries) = dir.entries() else { return };
    for entry in entries.flatten() {
        if found.len() >= MAX_LISTED {
            return;
        }
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        let name = entry.file_name();
        let path: PathBuf = at.join(&name);
        if kind.is_dir() && depth + 1 < MAX_DEPTH {
            if let Ok(sub) = entry.open_dir() {
                walk_dir(&sub, &path, depth + 1, found);
            }
        } else if kind.is_file() {
            let shown = path.display().to_string();
            let mut resource = Resource::new(uri_of(&path), shown.trim_start_matches('/'));
            if let Some(media) = mime_guess::from_path(&path).first_raw() {
                resource = resource.with_mime_type(media);
            }
            if let Ok(meta) = entry.metadata() {
                resource = resource.with_size(meta.len());
            }
            found.push(resource);
        }
    }
}

/// The files of a `file_read` tool as the tier's resources.
pub struct FileResources(pub Arc<FileRead>);

impl ResourceSource for FileResources {
    fn list(&self) -> BoxFuture<'_, Result<Vec<Resource>, ToolError>> {
        let files = self.0.clone();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || files.walk())
                .await
                .map_err(|e| ToolError::backend(format!("listing files failed: {e}")))
        })
    }

    fn read<'a>(&'a self, uri: &'a str) -> BoxFuture<'a, Result<Vec<ResourceContents>, ToolError>> {
        let files = self.0.clone();
        let uri = uri.to_owned();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || files.read_uri(&uri))
                .await
                .map_err(|e| ToolError::backend(format!("file read task failed: {e}")))?
        })
    }

    fn templates(&self) -> Vec<ResourceTemplate> {
        self.0
            .mounts
            .iter()
            .map(|m| {
                ResourceTemplate::new(
                    format!("{}/{{+path}}", uri_of(&m.virtual_path)),
                    format!("files under {}", m.virtual_path.display()),
                )
                .with_description(format!(
                    "Any file beneath {} (read-only, confined as file_read is)",
                    m.virtual_path.display()
                ))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mcp_server_core::registry::ToolErrorKind;

    #[test]
    fn uris_escape_what_a_path_segment_cannot_hold() {
        let path = Path::new("/data/reports/q1 #2?.csv");
        let uri = uri_of(path);
        assert_eq!(uri, "file:///data/reports/q1%20%232%3F.csv");
        assert_eq!(path_of(&uri).unwrap(), "/data/reports/q1 #2?.csv");
        assert_eq!(
            path_of("file://localhost/data/x").unwrap(),
            "/data/x",
            "a localhost authority names this host"
        );
    }

    #[test]
    fn other_uris_are_refused_with_their_reason() {
        let e = path_of("s3://bucket/key").unwrap_err();
        assert_eq!(e.kind, ToolErrorKind::NotFound);
        let e = path_of("file://host.example/data/x").unwrap_err();
        assert!(e.message.contains("absolute path"), "{}", e.message);
        let e = path_of("file:///data/%FF").unwrap_err();
        assert!(e.message.contains("UTF-8"), "{}", e.message);
    }
}
