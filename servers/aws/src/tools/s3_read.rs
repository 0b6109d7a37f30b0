//! `s3_read {bucket, key, range?, max_bytes?}`: GetObject under the tool's role. Text comes
//! back as text, anything else as base64 with its content type, capped at `max_bytes`.

use base64::Engine as _;
use futures::future::BoxFuture;
use mcp_server_core::config::ToolConfig;
use mcp_server_core::registry::{ToolCall, ToolError, ToolHandler, ToolOutput};
use rmcp::model::ContentBlock;
use serde_json::json;

use super::sdk::{AttemptCounter, deadline, sdk_error};

pub struct S3Read {
    client: aws_sdk_s3::Client,
    role: String,
    max_bytes: usize,
}

impl S3Read {
    pub fn new(client: aws_sdk_s3::Client, config: &ToolConfig) -> Self {
        S3Read {
            client,
            role: config.security.iam_role.clone().unwrap_or_default(),
            max_bytes: config.options.max_bytes.unwrap_or(1024 * 1024),
        }
    }

    async fn run(&self, call: ToolCall<'_>) -> Result<ToolOutput, ToolError> {
        let bucket = call
            .str_arg("bucket")
            .ok_or_else(|| ToolError::invalid("missing required argument `bucket`"))?;
        let key = call
            .str_arg("key")
            .ok_or_else(|| ToolError::invalid("missing required argument `key`"))?;
        if bucket.is_empty() || key.is_empty() {
            return Err(ToolError::invalid("`bucket` and `key` must not be empty"));
        }
        let max_bytes = call
            .u64_arg("max_bytes")
            .map_or(self.max_bytes, |m| (m as usize).min(self.max_bytes))
            .max(1);
        let range = bounded_range(call.str_arg("range"), max_bytes).map_err(ToolError::invalid)?;
        call.report.role(&self.role);
        let attempts = AttemptCounter::default();
        let what = format!("s3://{bucket}/{key}");
        let answer = self
            .client
            .get_object()
            .bucket(bucket)
            .key(key)
            .range(range)
            .customize()
            .interceptor(attempts.clone())
            .config_override(
                aws_sdk_s3::config::Builder::new().timeout_config(deadline(call.remaining())),
            )
            .send()
            .await;
        attempts.report(call.report);
        let object = answer.map_err(|e| sdk_error(e, &self.role, "s3:GetObject", &what))?;
        let content_type = object
            .content_type()
            .unwrap_or("application/octet-stream")
            .to_owned();
        let total = object
            .content_range()
            .and_then(|r| r.rsplit('/').next())
            .and_then(|t| t.parse::<u64>().ok())
            .or(object.content_length().map(|l| l as u64));
        // The range already asks for no more than one byte past `max_bytes`; reading stops
        // there too, whatever the store sends.
        let mut body = object.body;
        let mut bytes = Vec::new();
        while bytes.len() <= max_bytes {
            match body.try_next().await {
                Ok(Some(chunk)) => bytes.extend_from_slice(&chunk),
                Ok(None) => break,
                Err(e) => return Err(ToolError::backend(format!("reading {what}: {e}"))),
            }
        }
        let truncated = bytes.len() > max_bytes;
        bytes.truncate(max_bytes);
        let textual = content_type.starts_with("text/")
            || content_type.contains("json")
            || content_type.contains("yaml")
            || content_type.contains("xml");
        let text = if textual {
            String::from_utf8(bytes.clone()).ok()
        } else {
            None
        };
        let (block, encoding, data) = match text {
            Some(t) => (ContentBlock::text(t.clone()), "utf-8", t),
            None => {
                let b64 = base64::engine::general_purpose::STANDARD.encode(&bytes);
                let block = if content_type.starts_with("image/") {
                    ContentBlock::image(b64.clone(), content_type.clone())
                } else {
                    ContentBlock::text(b64.clone())
                };
                (block, "base64", b64)
            }
        };
        Ok(ToolOutput {
            content: vec![block],
            structured: Some(json!({
                "bucket": bucket, "key": key, "content_type": content_type, "size": total,
                "returned_bytes": bytes.len(), "truncated": truncated, "encoding": encoding, "content": data,
            })),
        })
    }
}

impl ToolHandler for S3Read {
    fn call<'a>(&'a self, call: ToolCall<'a>) -> BoxFuture<'a, Result<ToolOutput, ToolError>> {
        Box::pin(self.run(call))
    }
}

/// The `Range` to fetch: the caller's (`bytes=START-END`, `bytes=START-`, `bytes=-SUFFIX`),
/// cut to `max_bytes` plus one byte (to know whether the object was cut), so what is
/// downloaded is bounded, not only what is returned; `bytes=0-max_bytes` without one.
fn bounded_range(range: Option<&str>, max_bytes: usize) -> Result<String, String> {
    let max = max_bytes as u64;
    let Some(range) = range else {
        return Ok(format!("bytes=0-{max}"));
    };
    let bad = || {
        format!(
            "`range` must look like bytes=START-END, bytes=START- or bytes=-LAST, got {range:?}"
        )
    };
    let spec = range.strip_prefix("bytes=").ok_or_else(bad)?;
    let (start, end) = spec.split_once('-').ok_or_else(bad)?;
    let number = |s: &str| s.trim().parse::<u64>().map_err(|_| bad());
    match (start.trim(), end.trim()) {
        ("", last) => {
            let last = number(last)?;
            if last > max {
                return Err(format!(
                    "`range` {range:?} asks for the last {last} bytes; at most {max} may be read"
                ));
            }
            Ok(format!("bytes=-{last}"))
        }
        (start, "") => {
            let start = number(start)?;
            Ok(format!("bytes={start}-{}", start.saturating_add(max)))
        }
        (start, end) => {
            let (start, end) = (number(start)?, number(end)?);
            if end < start {
                return Err(bad());
            }
            Ok(format!(
                "bytes={start}-{}",
                end.min(start.saturating_add(max))
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::bounded_range;

    #[test]
    fn a_range_is_cut_to_what_may_be_read() {
        assert_eq!(bounded_range(None, 100).as_deref(), Ok("bytes=0-100"));
        assert_eq!(
            bounded_range(Some("bytes=0-2097151"), 100).as_deref(),
            Ok("bytes=0-100")
        );
        assert_eq!(
            bounded_range(Some("bytes=10-20"), 100).as_deref(),
            Ok("bytes=10-20")
        );
        assert_eq!(
            bounded_range(Some("bytes=1000-"), 100).as_deref(),
            Ok("bytes=1000-1100")
        );
        assert_eq!(
            bounded_range(Some("bytes=-50"), 100).as_deref(),
            Ok("bytes=-50")
        );
        assert!(
            bounded_range(Some("bytes=-500"), 100)
                .unwrap_err()
                .contains("at most 100")
        );
        for bad in ["0-10", "bytes=a-b", "bytes=10-5", "bytes=0-1,5-9", "bytes"] {
            assert!(bounded_range(Some(bad), 100).is_err(), "{bad}");
        }
    }
}
