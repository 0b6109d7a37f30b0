//! The tool registry: tools registered at run time, listed in pages, filtered per caller.
//!
//! Readers take a cheap snapshot (an `Arc` clone under a read lock held for nanoseconds);
//! registration copies the map and swaps it in, so listing and calling never wait on a
//! writer. Every change bumps a version that subscribers (the `list_changed` notifier)
//! watch.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, OnceLock, RwLock};
use std::time::Duration;

use futures::future::BoxFuture;
use rmcp::model::{ContentBlock, Tool as McpTool};
use serde_json::{Map, Value};
use tokio::sync::watch;
use tokio::time::Instant;

use crate::caller::Caller;
use crate::config::{Category, Tier, ToolConfig};

/// What a tool receives for one call.
pub struct ToolCall<'a> {
    pub args: &'a Map<String, Value>,
    /// When the call must be finished; tools push it into their backends.
    pub deadline: Instant,
    pub caller: &'a Caller,
    /// What the tool tells the audit trail (the role it used, its attempts).
    pub report: &'a CallReport,
}

/// Facts a tool records about its call for the audit trail.
#[derive(Debug, Default)]
pub struct CallReport {
    pub iam_role: std::sync::OnceLock<String>,
    pub attempts: std::sync::atomic::AtomicU32,
}

impl CallReport {
    pub fn role(&self, role: &str) {
        let _ = self.iam_role.set(role.to_owned());
    }
    pub fn attempts(&self) -> Option<u32> {
        match self.attempts.load(std::sync::atomic::Ordering::Relaxed) {
            0 => None,
            n => Some(n),
        }
    }
}

impl ToolCall<'_> {
    pub fn str_arg(&self, name: &str) -> Option<&str> {
        self.args.get(name).and_then(Value::as_str)
    }

    pub fn u64_arg(&self, name: &str) -> Option<u64> {
        self.args.get(name).and_then(Value::as_u64)
    }

    /// The same call with other arguments: how a generated tool hands its call to its
    /// base tool.
    pub fn with_args<'b>(&'b self, args: &'b Map<String, Value>) -> ToolCall<'b> {
        ToolCall {
            args,
            deadline: self.deadline,
            caller: self.caller,
            report: self.report,
        }
    }

    /// Time left before the deadline.
    pub fn remaining(&self) -> std::time::Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }
}

/// A successful tool result.
#[derive(Debug, Default)]
pub struct ToolOutput {
    pub content: Vec<ContentBlock>,
    pub structured: Option<Value>,
}

impl ToolOutput {
    /// A JSON result, returned both as structured content and as text.
    pub fn json(value: Value) -> Self {
        // `serde_json::to_string` writes to a buffer directly; `Value`'s `Display` (the
        // same text) goes through `fmt::Write` piece by piece, at twice the cost. A
        // `Value` always serializes, so the fallback is never taken.
        let text = serde_json::to_string(&value).unwrap_or_else(|_| value.to_string());
        ToolOutput {
            content: vec![ContentBlock::text(text)],
            structured: Some(value),
        }
    }
}

/// Why a tool that ran did not succeed. Reaches the caller as `isError: true` with the
/// message, which must be actionable and must never carry credentials or connection strings.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ToolError {
    pub kind: ToolErrorKind,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ToolErrorKind {
    /// The arguments were wrong: fix the call.
    InvalidArguments,
    /// The call was understood and refused by policy (SQL class, path, key prefix, role).
    Refused,
    /// The named thing does not exist.
    NotFound,
    /// The backend failed or is unreachable.
    Backend,
    /// The backend gave up at the deadline.
    Timeout,
}

impl ToolError {
    pub fn new(kind: ToolErrorKind, message: impl Into<String>) -> Self {
        ToolError {
            kind,
            message: message.into(),
        }
    }
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ToolErrorKind::InvalidArguments, message)
    }
    pub fn refused(message: impl Into<String>) -> Self {
        Self::new(ToolErrorKind::Refused, message)
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ToolErrorKind::NotFound, message)
    }
    pub fn backend(message: impl Into<String>) -> Self {
        Self::new(ToolErrorKind::Backend, message)
    }
}

/// A tool implementation.
pub trait ToolHandler: Send + Sync + 'static {
    fn call<'a>(&'a self, call: ToolCall<'a>) -> BoxFuture<'a, Result<ToolOutput, ToolError>>;
}

/// A registered tool: its MCP description plus where it belongs.
pub struct RegisteredTool {
    pub tier: Tier,
    pub config: Arc<ToolConfig>,
    pub descriptor: McpTool,
    pub handler: Arc<dyn ToolHandler>,
    /// Set for a tool added at run time as a preset of a configured one (`admin/`).
    pub preset: Option<Preset>,
    /// The family that generated it (see [`ToolRegistry::replace_family`]).
    pub family: Option<Arc<Membership>>,
    /// `descriptor` as JSON, made at its first listing (a registered tool no longer
    /// changes): a listing page copies it instead of serializing the tool again.
    json: OnceLock<Option<String>>,
}

/// The family a generated tool belongs to: its tools are replaced together, run through
/// `base` and are used by whoever may use `base` (or only by `callers`, when given).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    pub family: String,
    pub base: String,
    /// Principals: when set, only these see and call the family's tools.
    pub callers: Option<BTreeSet<String>>,
}

impl Membership {
    pub fn of(family: &crate::config::FamilyConfig) -> Self {
        Membership {
            family: family.name.clone(),
            base: family.base.clone(),
            callers: family.callers.as_ref().map(|c| c.iter().cloned().collect()),
        }
    }
}

/// A tool that is a configured (`base`) tool with some arguments fixed: its calls run the
/// base tool's handler with `args` laid over the caller's arguments.
#[derive(Debug, Clone, PartialEq)]
pub struct Preset {
    pub base: String,
    pub args: Map<String, Value>,
}

impl RegisteredTool {
    pub fn new(tier: Tier, config: ToolConfig, handler: Arc<dyn ToolHandler>) -> Self {
        let mut meta = rmcp::model::MetaObject::new();
        meta.0
            .insert("io.mcp-slo/tier".into(), Value::from(tier.as_str()));
        meta.0.insert(
            "io.mcp-slo/category".into(),
            Value::from(config.category.as_str()),
        );
        let mut descriptor = McpTool::new(
            config.name.clone(),
            config.description.clone(),
            Arc::new(config.input_schema()),
        );
        descriptor.meta = Some(meta);
        RegisteredTool {
            tier,
            config: Arc::new(config),
            descriptor,
            handler,
            preset: None,
            family: None,
            json: OnceLock::new(),
        }
    }

    /// The same tool as a member of `family`.
    pub fn in_family(mut self, family: &Arc<Membership>) -> Self {
        if let Some(meta) = self.descriptor.meta.as_mut() {
            meta.0.insert(
                "io.mcp-slo/family".into(),
                Value::from(family.family.as_str()),
            );
            meta.0
                .insert("io.mcp-slo/base".into(), Value::from(family.base.as_str()));
        }
        self.family = Some(family.clone());
        self
    }

    pub fn name(&self) -> &str {
        &self.config.name
    }

    /// The tool's descriptor as a listing gives it, serialized once (`None` if it could
    /// not be: a listing then serializes its page whole).
    pub fn descriptor_json(&self) -> Option<&str> {
        self.json
            .get_or_init(|| serde_json::to_string(&self.descriptor).ok())
            .as_deref()
    }

    /// The configured tool it runs through, for a preset or a family's tool.
    pub fn base(&self) -> Option<&str> {
        match (&self.preset, &self.family) {
            (Some(preset), _) => Some(&preset.base),
            (None, Some(family)) => Some(&family.base),
            (None, None) => None,
        }
    }

    /// Whether `caller` may see and call it: a preset or a family's tool, whoever may use
    /// its base (it can do no more than the base tool), unless its family names its callers.
    pub fn usable_by(&self, caller: &Caller) -> bool {
        let scoped_out = self
            .family
            .as_ref()
            .and_then(|f| f.callers.as_ref())
            .is_some_and(|callers| {
                caller
                    .principal
                    .as_deref()
                    .is_none_or(|p| !callers.contains(p))
            });
        !scoped_out
            && (caller.may_use(self.name()) || self.base().is_some_and(|b| caller.may_use(b)))
    }

    pub fn category(&self) -> Category {
        self.config.category
    }
}

type Snapshot = Arc<BTreeMap<String, Arc<RegisteredTool>>>;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    #[error("a tool named {0:?} is already registered")]
    Duplicate(String),
    #[error("invalid cursor: pass the nextCursor of a previous answer to the same list method")]
    BadCursor,
}

pub struct ToolRegistry {
    tools: RwLock<Snapshot>,
    version: watch::Sender<u64>,
    page_size: usize,
    listing_ttl: Duration,
}

/// What [`ToolRegistry::replace_family`] did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FamilyChange {
    /// Tools the family has now.
    pub tools: usize,
    /// Of them, the same as before.
    pub unchanged: usize,
    /// Tools it had before.
    pub removed: usize,
    /// Generated names other tools already hold (left out).
    pub clashes: Vec<String>,
    /// Whether the listing changed (and the version moved).
    pub changed: bool,
}

/// One page of a listing.
pub struct Page {
    pub tools: Vec<Arc<RegisteredTool>>,
    pub next_cursor: Option<String>,
    /// How long the page may be reused unless a list_changed notification says otherwise.
    pub ttl: Duration,
}

impl ToolRegistry {
    pub fn new(page_size: usize) -> Self {
        ToolRegistry {
            tools: RwLock::new(Arc::default()),
            version: watch::Sender::new(0),
            page_size: page_size.max(1),
            listing_ttl: crate::config::DEFAULT_LISTING_TTL,
        }
    }

    /// Listing pages carry `ttl` as their cache hint (`ttlMs`).
    pub fn with_listing_ttl(mut self, ttl: Duration) -> Self {
        self.listing_ttl = ttl;
        self
    }

    fn snapshot(&self) -> Snapshot {
        self.tools.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Whether the tool's input schema marks an argument with `x-mcp-header` (to be
    /// mirrored into an `Mcp-Param-*` header on 2026-07-28), anywhere in it: such calls
    /// are left to rmcp, which checks those headers.
    pub fn mirrors_params(&self, name: &str) -> bool {
        fn marked(value: &Value) -> bool {
            match value {
                Value::Object(map) => map.contains_key("x-mcp-header") || map.values().any(marked),
                Value::Array(items) => items.iter().any(marked),
                _ => false,
            }
        }
        self.snapshot().get(name).is_some_and(|tool| {
            let schema = &tool.descriptor.input_schema;
            schema.contains_key("x-mcp-header") || schema.values().any(marked)
        })
    }

    pub fn register(&self, tool: RegisteredTool) -> Result<(), RegistryError> {
        let mut guard = self.tools.write().unwrap_or_else(|p| p.into_inner());
        if guard.contains_key(tool.name()) {
            return Err(RegistryError::Duplicate(tool.name().to_owned()));
        }
        let mut next = BTreeMap::clone(&guard);
        next.insert(tool.name().to_owned(), Arc::new(tool));
        *guard = Arc::new(next);
        drop(guard);
        self.version.send_modify(|v| *v += 1);
        Ok(())
    }

    pub fn unregister(&self, name: &str) -> bool {
        let mut guard = self.tools.write().unwrap_or_else(|p| p.into_inner());
        if !guard.contains_key(name) {
            return false;
        }
        let mut next = BTreeMap::clone(&guard);
        next.remove(name);
        *guard = Arc::new(next);
        drop(guard);
        self.version.send_modify(|v| *v += 1);
        true
    }

    /// Puts `tools` in place of every tool `family` has now, as one change (one version,
    /// one `list_changed`), and none when the family is unchanged. A generated tool whose
    /// name a tool outside the family holds is left out and named in the result.
    pub fn replace_family(&self, family: &Membership, tools: Vec<RegisteredTool>) -> FamilyChange {
        let member =
            |t: &RegisteredTool| t.family.as_ref().is_some_and(|f| f.family == family.family);
        let family = Arc::new(family.clone());
        let mut guard = self.tools.write().unwrap_or_else(|p| p.into_inner());
        let mut next = BTreeMap::clone(&guard);
        let before = next.len();
        next.retain(|_, t| !member(t));
        let mut change = FamilyChange {
            removed: before - next.len(),
            ..FamilyChange::default()
        };
        for tool in tools {
            let tool = tool.in_family(&family);
            if next.contains_key(tool.name()) {
                change.clashes.push(tool.name().to_owned());
                continue;
            }
            let name = tool.name().to_owned();
            let same = guard
                .get(&name)
                .is_some_and(|old| old.family == tool.family && old.descriptor == tool.descriptor);
            if same {
                change.unchanged += 1;
            }
            next.insert(name, Arc::new(tool));
            change.tools += 1;
        }
        let changed = change.tools != change.unchanged || change.removed != change.unchanged;
        if changed {
            *guard = Arc::new(next);
        }
        drop(guard);
        if changed {
            self.version.send_modify(|v| *v += 1);
        }
        change.changed = changed;
        change
    }

    /// The registry's version: how many changes it has seen.
    pub fn version(&self) -> u64 {
        *self.version.borrow()
    }

    /// Watches the registry's version; it changes whenever the tool set does.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.version.subscribe()
    }

    pub fn len(&self) -> usize {
        self.snapshot().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether a tool of that name is registered (whoever may use it).
    pub fn contains(&self, name: &str) -> bool {
        self.snapshot().contains_key(name)
    }

    /// The tool, if it exists and the caller may use it.
    pub fn get(&self, name: &str, caller: &Caller) -> Option<Arc<RegisteredTool>> {
        let tool = self.snapshot().get(name).cloned()?;
        tool.usable_by(caller).then_some(tool)
    }

    /// A page of the tools this caller may use, in name order. The cursor is opaque to
    /// clients; it holds the last name of the previous page, so pages stay consistent while
    /// tools are registered.
    pub fn list(&self, cursor: Option<&str>, caller: &Caller) -> Result<Page, RegistryError> {
        let after = cursor.map(decode_cursor).transpose()?;
        let snapshot = self.snapshot();
        let range = match &after {
            Some(name) => snapshot
                .range::<String, _>((std::ops::Bound::Excluded(name), std::ops::Bound::Unbounded)),
            None => snapshot.range::<String, _>(..),
        };
        let mut tools = Vec::with_capacity(self.page_size.min(snapshot.len()));
        let mut last = None;
        let mut more = false;
        for (name, tool) in range.filter(|(_, tool)| tool.usable_by(caller)) {
            if tools.len() == self.page_size {
                more = true;
                break;
            }
            tools.push(tool.clone());
            last = Some(name);
        }
        Ok(Page {
            tools,
            next_cursor: if more {
                last.map(|n| encode_cursor(n))
            } else {
                None
            },
            ttl: self.listing_ttl,
        })
    }
}

mod cursor;
pub(crate) use cursor::{decode_cursor, encode_cursor};

#[cfg(test)]
pub(crate) mod tests;
