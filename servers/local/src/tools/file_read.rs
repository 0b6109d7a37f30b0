//! `file_read`: files inside the configured `allowed_paths` only.
//!
//! Each allowed path is opened once as a directory handle (cap-std), and every file is
//! opened *beneath* its handle: `..`, absolute symlinks and symlinks leading out are refused
//! by the kernel-level resolution (openat2 `RESOLVE_BENEATH` where available), so the check
//! cannot be raced by swapping a symlink in between check and open. The virtual paths of the
//! config (`/data/reports`) are re-rooted beneath a data root on the host.

use std::io::Read as _;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use base64::Engine as _;
use cap_std::ambient_authority;
use cap_std::fs::{Dir, OpenOptions, OpenOptionsExt as _};
use futures::future::BoxFuture;
use mcp_server_core::config::ToolConfig;
use mcp_server_core::registry::{ToolCall, ToolError, ToolHandler, ToolOutput};
use rmcp::model::ContentBlock;
use serde_json::json;

mod resources;

pub use resources::FileResources;

/// One allowed directory.
struct Mount {
    /// As written in the config, e.g. `/data/reports`.
    virtual_path: PathBuf,
    /// Its last component, used for relative paths (`reports/daily.csv`).
    name: String,
    /// Where it is on the host.
    host_path: PathBuf,
    dir: Result<Arc<Dir>, String>,
}

pub struct FileRead {
    mounts: Vec<Mount>,
    max_bytes: usize,
}

impl FileRead {
    /// `data_root`: when set, `/data/reports` is found at `<data_root>/data/reports`.
    pub fn new(config: &ToolConfig, data_root: Option<&Path>) -> Self {
        let mut mounts: Vec<Mount> = config
            .security
            .allowed_paths
            .iter()
            .map(|virtual_path| {
                let host_path = match data_root {
                    Some(root) => root.join(virtual_path.strip_prefix("/").unwrap_or(virtual_path)),
                    None => virtual_path.clone(),
                };
                let dir = Dir::open_ambient_dir(&host_path, ambient_authority())
                    .map(Arc::new)
                    .map_err(|e| format!("{}: {e}", virtual_path.display()));
                Mount {
                    name: virtual_path
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default(),
                    virtual_path: virtual_path.clone(),
                    host_path,
                    dir,
                }
            })
            .collect();
        // Longest first, so nested allowed paths resolve to the most specific one.
        mounts.sort_by_key(|m| std::cmp::Reverse(m.virtual_path.as_os_str().len()));
        FileRead {
            mounts,
            max_bytes: config.options.max_bytes.unwrap_or(1024 * 1024),
        }
    }

    /// Directories that could not be opened (for `/readyz`).
    pub fn problems(&self) -> Vec<String> {
        self.mounts
            .iter()
            .filter_map(|m| {
                m.dir
                    .as_ref()
                    .err()
                    .map(|e| format!("{e} (looked in {})", m.host_path.display()))
            })
            .collect()
    }

    fn allowed_list(&self) -> String {
        self.mounts
            .iter()
            .map(|m| m.virtual_path.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Finds the mount and the path beneath it. Refuses what is hostile on its face; the
    /// open beneath the directory handle refuses the rest.
    fn resolve(&self, requested: &str) -> Result<(&Mount, PathBuf), ToolError> {
        self.resolve_or(requested, |requested, allowed| {
            ToolError::refused(format!(
                "path {requested:?} is outside the allowed paths ({allowed})"
            ))
        })
    }

    /// [`Self::resolve`], with `outside` saying what a path under no allowed path is (given
    /// the path and the allowed paths): a refusal for `file_read`, "no such resource" for
    /// a resource URI.
    fn resolve_or(
        &self,
        requested: &str,
        outside: impl FnOnce(&str, &str) -> ToolError,
    ) -> Result<(&Mount, PathBuf), ToolError> {
        if requested.is_empty() {
            return Err(ToolError::invalid("argument `path` is empty"));
        }
        if requested.contains('\0') {
            return Err(ToolError::refused("path contains a NUL byte"));
        }
        if requested.len() > 4096 {
            return Err(ToolError::invalid("path is longer than 4096 bytes"));
        }
        let path = Path::new(requested);
        if path.components().any(|c| c == Component::ParentDir) {
            return Err(ToolError::refused(format!(
                "path {requested:?} contains `..`: only paths inside {} may be read",
                self.allowed_list()
            )));
        }
        let found = if path.is_absolute() {
            self.mounts.iter().find_map(|m| {
                path.strip_prefix(&m.virtual_path)
                    .ok()
                    .map(|rest| (m, rest.to_path_buf()))
            })
        } else {
            let mut components = path.components();
            let first = components
                .next()
                .map(|c| c.as_os_str().to_string_lossy().into_owned());
            self.mounts
                .iter()
                .find(|m| Some(&m.name) == first.as_ref())
                .map(|m| (m, components.as_path().to_path_buf()))
        };
        let Some((mount, rest)) = found else {
            return Err(outside(requested, &self.allowed_list()));
        };
        if rest.as_os_str().is_empty() {
            return Err(ToolError::invalid(format!(
                "{requested:?} is a directory, not a file"
            )));
        }
        Ok((mount, rest))
    }

    async fn run(&self, call: ToolCall<'_>) -> Result<ToolOutput, ToolError> {
        let requested = call
            .str_arg("path")
            .ok_or_else(|| ToolError::invalid("missing required argument `path`"))?
            .to_owned();
        let max_bytes = call
            .u64_arg("max_bytes")
            .map_or(self.max_bytes, |m| (m as usize).min(self.max_bytes))
            .max(1);
        let (mount, rest) = self.resolve(&requested)?;
        let dir = mount.dir.clone().map_err(|e| {
            ToolError::backend(format!("allowed path is unavailable on this server: {e}"))
        })?;
        let shown = requested.clone();
        tokio::task::spawn_blocking(move || read_beneath(&dir, &rest, &shown, max_bytes))
            .await
            .map_err(|e| ToolError::backend(format!("file read task failed: {e}")))?
    }
}

/// A file read beneath its mount: up to `max_bytes` of it, its size on disk, its media
/// type (from its name), and whether it was cut at `max_bytes`.
pub(crate) struct FileBytes {
    pub size: u64,
    pub bytes: Vec<u8>,
    pub truncated: bool,
    pub media_type: String,
    /// Its bytes as text, when its media type is textual and they are UTF-8 without NUL.
    pub is_text: bool,
}

pub(crate) fn read_file(
    dir: &Dir,
    rest: &Path,
    shown: &str,
    max_bytes: usize,
) -> Result<FileBytes, ToolError> {
    let mut options = OpenOptions::new();
    // O_NONBLOCK: opening a FIFO must not hang the call.
    options
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY);
    let file = dir
        .open_with(rest, &options)
        .map_err(|e| open_error(e, shown))?;
    let meta = file
        .metadata()
        .map_err(|e| ToolError::backend(format!("{shown:?}: {e}")))?;
    if !meta.is_file() {
        return Err(ToolError::refused(format!(
            "{shown:?} is not a regular file"
        )));
    }
    let size = meta.len();
    let mut bytes = Vec::with_capacity((size as usize).min(max_bytes));
    file.take(max_bytes as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| ToolError::backend(format!("{shown:?}: {e}")))?;
    let truncated = bytes.len() > max_bytes;
    bytes.truncate(max_bytes);
    let guessed = mime_guess::from_path(shown).first_raw();
    let is_text = guessed.is_none_or(|m| m.starts_with("text/") || is_textual(m))
        && std::str::from_utf8(&bytes).is_ok_and(|t| !t.contains('\0'));
    let media_type = guessed
        .unwrap_or(if is_text {
            "text/plain"
        } else {
            "application/octet-stream"
        })
        .to_owned();
    Ok(FileBytes {
        size,
        bytes,
        truncated,
        media_type,
        is_text,
    })
}

fn read_beneath(
    dir: &Dir,
    rest: &Path,
    shown: &str,
    max_bytes: usize,
) -> Result<ToolOutput, ToolError> {
    let FileBytes {
        size,
        bytes,
        truncated,
        media_type,
        is_text,
    } = read_file(dir, rest, shown, max_bytes)?;
    let (content, encoding, data) = match String::from_utf8(bytes) {
        Ok(t) if is_text => (ContentBlock::text(t.clone()), "utf-8", t),
        Ok(t) => binary(t.into_bytes(), &media_type),
        Err(e) => binary(e.into_bytes(), &media_type),
    };
    Ok(ToolOutput {
        content: vec![content],
        structured: Some(json!({
            "path": shown,
            "size": size,
            "media_type": media_type,
            "encoding": encoding,
            "truncated": truncated,
            "content": data,
        })),
    })
}

/// Binary contents as Base64: an image block for an image, else text.
fn binary(bytes: Vec<u8>, media_type: &str) -> (ContentBlock, &'static str, String) {
    let b64 = base64::engine::general_purpose::STANDARD.encode(&bytes);
    let block = if media_type.starts_with("image/") {
        ContentBlock::image(b64.clone(), media_type.to_owned())
    } else {
        ContentBlock::text(b64.clone())
    };
    (block, "base64", b64)
}

fn is_textual(media_type: &str) -> bool {
    matches!(
        media_type,
        "application/json"
            | "application/yaml"
            | "application/x-yaml"
            | "application/xml"
            | "application/toml"
            | "application/javascript"
    )
}

fn open_error(e: std::io::Error, shown: &str) -> ToolError {
    match e.kind() {
        std::io::ErrorKind::NotFound => ToolError::not_found(format!("no such file: {shown:?}")),
        // cap-std reports an escape (via `..`, an absolute symlink or a symlink leading out)
        // as PermissionDenied.
        std::io::ErrorKind::PermissionDenied => ToolError::refused(format!(
            "{shown:?} resolves outside the allowed paths (or is not readable)"
        )),
        _ if e.raw_os_error() == Some(libc::ELOOP) || e.raw_os_error() == Some(libc::EXDEV) => {
            ToolError::refused(format!("{shown:?} resolves outside the allowed paths"))
        }
        _ => ToolError::backend(format!("cannot open {shown:?}: {e}")),
    }
}

impl ToolHandler for FileRead {
    fn call<'a>(&'a self, call: ToolCall<'a>) -> BoxFuture<'a, Result<ToolOutput, ToolError>> {
        Box::pin(self.run(call))
    }
}
