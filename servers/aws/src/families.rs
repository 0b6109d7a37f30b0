//! The AWS tier's tool families. An `s3_prefixes` family gives each key prefix of a bucket
//! a reader of its own (`s3_mcp_slo_reports_notes`: the key after the prefix); a
//! `lambda_functions` family gives each function one tool (`lambda_agent_echo`: the
//! payload only), from a list or from ListFunctions by name prefix, as awslabs' Lambda MCP
//! server does. Every generated tool runs through its base tool's handler (`s3_read`,
//! `lambda_invoke`): the same role, allowed functions, byte caps, limits, audit trail and
//! spans; a function the base does not allow gets no tool. Listing runs under the base
//! tool's role, so it needs `s3:ListBucket` or `lambda:ListFunctions` there.
//! [`mcp_server_core::families`] keeps the families loaded (at start, on SIGHUP and when
//! the config file changes).

use std::sync::Arc;
use std::time::Duration;

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_runtime_api::http::Response;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use futures::future::BoxFuture;
use mcp_server_core::config::{
    Category, FamilyConfig, FamilyKind, Functions, ServerConfig, Tier, ToolConfig, key_prefix,
};
use mcp_server_core::families::{self, Declare, Family};
use mcp_server_core::registry::{RegisteredTool, ToolCall, ToolError, ToolHandler, ToolOutput};
use serde_json::{Map, Value};

use crate::tools::lambda_invoke::LambdaInvoke;
use crate::tools::permissions::listing_ungranted;
use crate::tools::s3_read::S3Read;
use crate::tools::sdk::sdk_error;

/// How long one listing call (a page) may take.
const LIST_TIMEOUT: Duration = Duration::from_secs(10);

/// A configured tool that families run through: its config, its handler and an SDK
/// client under its role (for listing).
pub struct Base<H, C> {
    pub config: ToolConfig,
    pub handler: Arc<H>,
    pub client: C,
}

type S3Base = Base<S3Read, aws_sdk_s3::Client>;
type LambdaBase = Base<LambdaInvoke, aws_sdk_lambda::Client>;

/// The tier's tools that families can be based on.
#[derive(Default)]
pub struct Bases {
    pub s3: Option<Arc<S3Base>>,
    pub lambda: Option<Arc<LambdaBase>>,
}

/// How the AWS tier makes its families from a config: on its base tools, scoped only to
/// `principals` (the configured callers).
pub fn declare(bases: Bases, principals: Vec<String>) -> Declare {
    Box::new(move |config: &ServerConfig| {
        let mut out: Vec<Arc<dyn Family>> = Vec::new();
        let mut problems = Vec::new();
        for (i, family) in config.families.iter().enumerate() {
            // On reload too: the tools stay as the tier started with them.
            let base = match &family.kind {
                FamilyKind::S3Prefixes { .. } => bases.s3.as_ref().map(|b| &b.config),
                FamilyKind::LambdaFunctions(_) => bases.lambda.as_ref().map(|b| &b.config),
                FamilyKind::PostgresTables { .. } => None,
            };
            problems.extend(base.and_then(|b| listing_ungranted(i, family, b)));
            for principal in family.callers.iter().flatten() {
                if !principals.contains(principal) {
                    problems.push(format!(
                        "tool family {:?} is scoped to {principal:?}, which is not a configured caller",
                        family.name
                    ));
                }
            }
            let missing = |tool: &str| {
                format!(
                    "tool family {:?} runs through {tool}, which the tier does not serve",
                    family.name
                )
            };
            match &family.kind {
                FamilyKind::S3Prefixes { bucket, prefixes } => match &bases.s3 {
                    Some(base) => out.push(Arc::new(PrefixFamily {
                        config: family.clone(),
                        bucket: bucket.clone(),
                        prefixes: prefixes.clone(),
                        base: base.clone(),
                    })),
                    None => problems.push(missing("s3_read")),
                },
                FamilyKind::LambdaFunctions(functions) => match &bases.lambda {
                    Some(base) => out.push(Arc::new(FunctionFamily {
                        config: family.clone(),
                        functions: functions.clone(),
                        base: base.clone(),
                    })),
                    None => problems.push(missing("lambda_invoke")),
                },
                FamilyKind::PostgresTables { .. } => problems.push(format!(
                    "tool family {:?}: the AWS tier serves s3_prefixes and lambda_functions families, not postgres_tables",
                    family.name
                )),
            }
        }
        if problems.is_empty() {
            Ok(out)
        } else {
            Err(problems)
        }
    })
}

/// A listing call's answer, or what it failed with (for `/readyz` and the log).
async fn listed<T, E>(
    call: impl std::future::Future<Output = Result<T, SdkError<E, Response>>>,
    role: &str,
    action: &str,
    what: &str,
) -> Result<T, String>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match tokio::time::timeout(LIST_TIMEOUT, call).await {
        Ok(Ok(out)) => Ok(out),
        Ok(Err(e)) => Err(sdk_error(e, role, action, what).message),
        Err(_) => Err(format!(
            "{action} on {what} took longer than {} s",
            LIST_TIMEOUT.as_secs()
        )),
    }
}

/// The base tool's parameters but `fixed`, for a generated tool.
fn parameters_but(base: &ToolConfig, fixed: &str) -> Vec<mcp_server_core::config::ParamSpec> {
    base.parameters
        .iter()
        .filter(|p| p.name != fixed)
        .cloned()
        .collect()
}

struct PrefixFamily {
    config: FamilyConfig,
    bucket: String,
    /// `None`: the bucket's top-level prefixes.
    prefixes: Option<Vec<String>>,
    base: Arc<S3Base>,
}

impl Family for PrefixFamily {
    fn config(&self) -> &FamilyConfig {
        &self.config
    }

    fn generate(&self) -> BoxFuture<'_, Result<Vec<RegisteredTool>, String>> {
        Box::pin(async move {
            let base = &*self.base;
            let mut prefixes = match &self.prefixes {
                Some(prefixes) => prefixes.clone(),
                None => self.bucket_prefixes(base).await?,
            };
            prefixes.sort();
            prefixes.dedup();
            let tools = families::capped(&self.config, "prefix", prefixes, |prefix| {
                self.reader(base, prefix)
            });
            Ok(tools)
        })
    }
}

impl PrefixFamily {
    /// The bucket's top-level prefixes (ListObjectsV2 with delimiter `/`, every page).
    async fn bucket_prefixes(&self, base: &S3Base) -> Result<Vec<String>, String> {
        let role = base.config.security.iam_role.clone().unwrap_or_default();
        let what = format!("s3://{}", self.bucket);
        let mut prefixes = Vec::new();
        let mut token = None;
        loop {
            let request = base
                .client
                .list_objects_v2()
                .bucket(&self.bucket)
                .delimiter("/")
                .set_continuation_token(token.take())
                .send();
            let page = listed(request, &role, "s3:ListBucket", &what).await?;
            prefixes.extend(
                page.common_prefixes()
                    .iter()
                    .filter_map(|p| p.prefix().map(str::to_owned)),
            );
            match page.next_continuation_token() {
                Some(next) if page.is_truncated() == Some(true) => token = Some(next.to_owned()),
                _ => return Ok(prefixes),
            }
        }
    }

    /// The reader of one prefix; `None` when the prefix or its name cannot be served.
    fn reader(&self, base: &S3Base, prefix: &str) -> Option<RegisteredTool> {
        key_prefix(prefix).ok()?;
        let raw = format!("s3_{}_{}", self.bucket, prefix);
        let name = families::tool_name(raw.trim_end_matches(|c: char| !c.is_ascii_alphanumeric()))?;
        let mut parameters = parameters_but(&base.config, "bucket");
        for p in parameters.iter_mut().filter(|p| p.name == "key") {
            p.description = Some(format!(
                "the object's key after s3://{}/{prefix}",
                self.bucket
            ));
        }
        let config = ToolConfig {
            name,
            description: format!(
                "Read an object under s3://{}/{prefix} (give its key after the prefix); generated by the tool family {}",
                self.bucket, self.config.name
            ),
            category: Category::Storage,
            parameters,
            security: base.config.security.clone(),
            options: base.config.options.clone(),
        };
        let handler = PrefixRead {
            base: base.handler.clone(),
            bucket: Value::String(self.bucket.clone()),
            prefix: prefix.to_owned(),
        };
        Some(RegisteredTool::new(
            Tier::AwsManaged,
            config,
            Arc::new(handler),
        ))
    }
}

/// A generated reader: the caller's key, under the prefix, read by `s3_read`.
struct PrefixRead {
    base: Arc<S3Read>,
    bucket: Value,
    prefix: String,
}

impl ToolHandler for PrefixRead {
    fn call<'a>(&'a self, call: ToolCall<'a>) -> BoxFuture<'a, Result<ToolOutput, ToolError>> {
        Box::pin(async move {
            let key = call
                .str_arg("key")
                .ok_or_else(|| ToolError::invalid("missing required argument `key`"))?;
            // Whatever is read stays under the prefix: no way back up, none to the root.
            if key.is_empty()
                || key.starts_with('/')
                || key.split('/').any(|s| s == "." || s == "..")
            {
                return Err(ToolError::invalid(format!(
                    "`key` must be a key under {} (not empty, no leading /, no . or .. segments)",
                    self.prefix
                )));
            }
            let mut args: Map<String, Value> = call.args.clone();
            args.insert("bucket".into(), self.bucket.clone());
            args.insert("key".into(), Value::String(format!("{}{key}", self.prefix)));
            self.base.call(call.with_args(&args)).await
        })
    }
}

struct FunctionFamily {
    config: FamilyConfig,
    functions: Functions,
    base: Arc<LambdaBase>,
}

impl Family for FunctionFamily {
    fn config(&self) -> &FamilyConfig {
        &self.config
    }

    fn generate(&self) -> BoxFuture<'_, Result<Vec<RegisteredTool>, String>> {
        Box::pin(async move {
            let base = &*self.base;
            let mut functions: Vec<(String, Option<String>)> = match &self.functions {
                Functions::Listed(names) => names.iter().map(|n| (n.clone(), None)).collect(),
                Functions::Prefix(prefix) => self.account_functions(base, prefix).await?,
            };
            functions.sort();
            functions.dedup_by(|a, b| a.0 == b.0);
            // A function the base does not allow gets no tool: a family's tools can do no
            // more than its base.
            functions.retain(|(function, _)| {
                let allowed = base.config.security.allows_function(function);
                if !allowed {
                    tracing::warn!(family = %self.config.name, function, "function left out: lambda_invoke does not allow it (security.allowed_functions)");
                }
                allowed
            });
            let tools = families::capped(&self.config, "function", functions, |(f, d)| {
                self.invoker(base, f, d.as_deref())
            });
            Ok(tools)
        })
    }
}

impl FunctionFamily {
    /// The account's functions whose names start with `prefix` (ListFunctions, every page),
    /// with their descriptions.
    async fn account_functions(
        &self,
        base: &LambdaBase,
        prefix: &str,
    ) -> Result<Vec<(String, Option<String>)>, String> {
        let role = base.config.security.iam_role.clone().unwrap_or_default();
        let mut functions = Vec::new();
        let mut marker = None;
        loop {
            let request = base
                .client
                .list_functions()
                .set_marker(marker.take())
                .send();
            let page = listed(
                request,
                &role,
                "lambda:ListFunctions",
                "the account's functions",
            )
            .await?;
            functions.extend(page.functions().iter().filter_map(|f| {
                let name = f.function_name()?;
                name.starts_with(prefix).then(|| {
                    let description = f.description().filter(|d| !d.is_empty());
                    (name.to_owned(), description.map(str::to_owned))
                })
            }));
            match page.next_marker() {
                Some(next) => marker = Some(next.to_owned()),
                None => return Ok(functions),
            }
        }
    }

    /// The tool of one function; `None` when its name makes no tool name.
    fn invoker(
        &self,
        base: &LambdaBase,
        function: &str,
        description: Option<&str>,
    ) -> Option<RegisteredTool> {
        let name = families::tool_name(&format!("lambda_{function}"))?;
        let description = match description {
            Some(d) => format!(
                "{d} (the Lambda function {function}; generated by the tool family {})",
                self.config.name
            ),
            None => format!(
                "Invoke the Lambda function {function} with a JSON payload; generated by the tool family {}",
                self.config.name
            ),
        };
        let config = ToolConfig {
            name,
            description,
            category: Category::Compute,
            parameters: parameters_but(&base.config, "function_name"),
            security: base.config.security.clone(),
            options: base.config.options.clone(),
        };
        let handler = FunctionInvoke {
            base: base.handler.clone(),
            function: Value::String(function.to_owned()),
        };
        Some(RegisteredTool::new(
            Tier::AwsManaged,
            config,
            Arc::new(handler),
        ))
    }
}

/// A generated invoker: the caller's payload to one function, sent by `lambda_invoke`.
struct FunctionInvoke {
    base: Arc<LambdaInvoke>,
    function: Value,
}

impl ToolHandler for FunctionInvoke {
    fn call<'a>(&'a self, call: ToolCall<'a>) -> BoxFuture<'a, Result<ToolOutput, ToolError>> {
        Box::pin(async move {
            let mut args: Map<String, Value> = call.args.clone();
            args.insert("function_name".into(), self.function.clone());
            self.base.call(call.with_args(&args)).await
        })
    }
}
