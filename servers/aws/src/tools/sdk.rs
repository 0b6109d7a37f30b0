//! What the three tools share: the attempt counter, the per-call deadline handed to the
//! SDK, and turning SDK errors into tool errors a person can act on.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_runtime_api::http::Response;
use aws_smithy_types::config_bag::ConfigBag;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use aws_smithy_types::retry::RetryConfig;
use aws_smithy_types::timeout::TimeoutConfig;
use mcp_server_core::registry::{CallReport, ToolError, ToolErrorKind};

use crate::credentials::role_name;

/// Counts the SDK's attempts (first try plus retries) for the audit record.
#[derive(Debug, Clone, Default)]
pub struct AttemptCounter(Arc<AtomicU32>);

impl Intercept for AttemptCounter {
    fn name(&self) -> &'static str {
        "AttemptCounter"
    }

    fn read_before_attempt(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.0.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

impl AttemptCounter {
    pub fn report(&self, report: &CallReport) {
        report
            .attempts
            .store(self.0.load(Ordering::Relaxed), Ordering::Relaxed);
    }
}

/// Exponential backoff with jitter (the SDK's standard mode), at most three attempts.
pub fn retry_config() -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(3)
        .with_initial_backoff(Duration::from_millis(50))
        .with_max_backoff(Duration::from_secs(2))
}

/// Bounds the whole operation, retries included, by the call's deadline.
pub fn deadline(remaining: Duration) -> TimeoutConfig {
    TimeoutConfig::builder()
        .operation_timeout(remaining.max(Duration::from_millis(1)))
        .connect_timeout(Duration::from_secs(2).min(remaining.max(Duration::from_millis(1))))
        .build()
}

/// An SDK error as a tool error that names the role and the action.
pub fn sdk_error<E>(err: SdkError<E, Response>, role: &str, action: &str, what: &str) -> ToolError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let status = err.raw_response().map(|r| r.status().as_u16());
    let (code, message) = match &err {
        SdkError::ServiceError(e) => (
            e.err().code().map(str::to_owned),
            e.err().message().map(str::to_owned),
        ),
        _ => (None, None),
    };
    let chain = describe(&err);
    if let Some(at) = chain.find("cannot assume role") {
        // The role's credentials could not be had: say which role and why.
        return ToolError::backend(chain[at..].to_owned());
    }
    let role = role_name(role);
    let code_text = code.clone().unwrap_or_default();
    if status == Some(403)
        || code_text.contains("AccessDenied")
        || code_text == "UnrecognizedClientException"
    {
        return ToolError::refused(format!(
            "access denied: role {role} may not {action} on {what} (grant {action} to the role, or use a tool whose role has it)"
        ));
    }
    match (&err, code.as_deref()) {
        (SdkError::TimeoutError(_), _) => ToolError::new(
            ToolErrorKind::Timeout,
            format!("{action} on {what} did not finish before the deadline"),
        ),
        (SdkError::DispatchFailure(_), _) => ToolError::backend(format!(
            "the AWS endpoint for {action} is unreachable (role {role}); check AWS_ENDPOINT_URL or the network"
        )),
        (_, Some(code)) => {
            let message = message.unwrap_or_default();
            ToolError::new(
                if status == Some(404) || code.starts_with("NoSuch") || code.contains("NotFound") {
                    ToolErrorKind::NotFound
                } else {
                    ToolErrorKind::Backend
                },
                format!(
                    "{action} on {what} failed: {code}{}{message}",
                    if message.is_empty() { "" } else { ": " }
                ),
            )
        }
        _ => ToolError::backend(format!(
            "{action} on {what} failed (role {role}): {}",
            describe(&err)
        )),
    }
}

/// An error with its chain of causes.
pub(crate) fn describe(e: &dyn std::error::Error) -> String {
    let mut message = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        message.push_str(": ");
        message.push_str(&s.to_string());
        source = s.source();
    }
    message
}
