//! Tool families: tools generated from what a backend holds (a database's tables, a
//! bucket's prefixes, an account's functions), kept in step with it. Each tier says how
//! its families are made ([`Declare`]) and what one generates ([`Family`]); this module
//! keeps them loaded.
//!
//! Families load when the server starts and again on SIGHUP or when their config file
//! changes ([`crate::reload`]; their declarations read again from the file first); each
//! load replaces the family's tools in one registry change, which reaches listening
//! clients as one `notifications/tools/list_changed` (none when nothing changed).

use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};

use futures::future::BoxFuture;

use crate::config::{FamilyConfig, ServerConfig};
use crate::health::Check;
use crate::registry::{Membership, RegisteredTool, ToolRegistry};
use crate::reload::{Reason, Reloads};

/// How long after a failed load the families are loaded again.
const RETRY: std::time::Duration = std::time::Duration::from_secs(5);

/// One declared family, able to generate its tools.
pub trait Family: Send + Sync + 'static {
    /// Its declaration.
    fn config(&self) -> &FamilyConfig;
    /// Its tools as the backend holds them now, in a deterministic order, at most
    /// `max_tools` of them.
    fn generate(&self) -> BoxFuture<'_, Result<Vec<RegisteredTool>, String>>;
}

/// The families a config declares, each ready to generate; or every family that cannot be
/// served, as a problem.
pub type Declare =
    Box<dyn Fn(&ServerConfig) -> Result<Vec<Arc<dyn Family>>, Vec<String>> + Send + Sync>;

/// A tier's families and what their last load gave.
pub struct Families {
    registry: Arc<ToolRegistry>,
    families: RwLock<Vec<Arc<Slot>>>,
    declare: Declare,
    /// The config file they were declared in: SIGHUP, or a change of it, reads their
    /// declarations again.
    file: Option<PathBuf>,
}

struct Slot {
    family: Arc<dyn Family>,
    /// Tools after the last load, or why it failed; `None` before the first.
    loaded: Mutex<Option<Result<usize, String>>>,
}

fn slots(families: Vec<Arc<dyn Family>>) -> Vec<Arc<Slot>> {
    families
        .into_iter()
        .map(|family| {
            Arc::new(Slot {
                family,
                loaded: Mutex::new(None),
            })
        })
        .collect()
}

impl Families {
    /// The families `config` declares (read from `file`, when given), made by `declare`;
    /// every family that cannot be served is a problem.
    pub fn new(
        registry: Arc<ToolRegistry>,
        config: &ServerConfig,
        declare: Declare,
        file: Option<PathBuf>,
    ) -> Result<Families, Vec<String>> {
        Ok(Families {
            families: RwLock::new(slots(declare(config)?)),
            registry,
            declare,
            file,
        })
    }

    /// Whether there is anything to keep loaded: families, or a file that may declare some.
    pub fn is_idle(&self) -> bool {
        self.file.is_none() && self.current().is_empty()
    }

    fn current(&self) -> Vec<Arc<Slot>> {
        self.families
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Reads the config file's families again; a file that does not load, or declares a
    /// family that cannot be served, leaves the families as they were. Tools of families
    /// no longer declared are removed.
    fn reread(&self, reason: Reason) {
        let Some(file) = &self.file else {
            return;
        };
        let config = match ServerConfig::load(file) {
            Ok(config) => config,
            Err(e) => {
                tracing::warn!(
                    "{}: {} not read again, the families stay as they were: {e}",
                    reason.as_str(),
                    file.display()
                );
                return;
            }
        };
        let families = match (self.declare)(&config) {
            Ok(families) => slots(families),
            Err(problems) => {
                tracing::warn!(
                    ?problems,
                    "{}: the families stay as they were",
                    reason.as_str()
                );
                return;
            }
        };
        let old = std::mem::replace(
            &mut *self.families.write().unwrap_or_else(|p| p.into_inner()),
            families,
        );
        let kept: Vec<String> = self
            .current()
            .iter()
            .map(|s| s.family.config().name.clone())
            .collect();
        for gone in old.iter().map(|s| s.family.config()) {
            if kept.contains(&gone.name) {
                continue;
            }
            let change = self
                .registry
                .replace_family(&Membership::of(gone), Vec::new());
            tracing::info!(family = %gone.name, removed = change.removed, "tool family no longer declared");
        }
    }

    /// Loads every family now; whether all of them loaded.
    pub async fn load(&self) -> bool {
        let mut all = true;
        for slot in self.current() {
            let config = slot.family.config();
            let name = &config.name;
            let result = slot.family.generate().await.map(|tools| {
                let change = self.registry.replace_family(&Membership::of(config), tools);
                if !change.clashes.is_empty() {
                    tracing::warn!(family = %name, clashes = ?change.clashes, "generated tools left out: other tools hold their names");
                }
                tracing::info!(family = %name, tools = change.tools, changed = change.changed, "tool family loaded");
                change.tools
            });
            if let Err(e) = &result {
                all = false;
                tracing::warn!(family = %name, "tool family not loaded: {e}");
            }
            *slot.loaded.lock().unwrap_or_else(|p| p.into_inner()) = Some(result);
        }
        all
    }

    /// Loads the families, then again on each SIGHUP and each change of the config file,
    /// until dropped; a load that failed (a backend down at start) is tried again every
    /// [`RETRY`] meanwhile.
    pub fn keep_loaded(self: Arc<Self>) -> BoxFuture<'static, ()> {
        Box::pin(async move {
            let mut reloads = Reloads::new(self.file.as_deref());
            let mut loaded = self.load().await;
            loop {
                tokio::select! {
                    reason = reloads.next() => {
                        let Some(reason) = reason else {
                            return;
                        };
                        tracing::info!("{}: reloading tool families", reason.as_str());
                        self.reread(reason);
                    }
                    _ = tokio::time::sleep(RETRY), if !loaded => {}
                }
                loaded = self.load().await;
            }
        })
    }

    /// One `/readyz` check per family: ready once it has loaded.
    pub fn checks(&self) -> Vec<Check> {
        self.current()
            .iter()
            .map(|s| {
                let loaded = s.loaded.lock().unwrap_or_else(|p| p.into_inner());
                let (ok, detail) = match &*loaded {
                    Some(Ok(n)) => (true, format!("{n} tools")),
                    Some(Err(e)) => (false, e.clone()),
                    None => (false, "loading".to_owned()),
                };
                Check {
                    name: format!("family/{}", s.family.config().name),
                    ok,
                    detail,
                }
            })
            .collect()
    }
}

/// The tools `make` gives `items`, in order, at most the family's `max_tools`: an item it
/// makes none of (`what`, e.g. "prefix") is left out, and so are those past the cap, each
/// with a warning.
pub fn capped<T: std::fmt::Debug>(
    family: &FamilyConfig,
    what: &str,
    items: impl IntoIterator<Item = T>,
    mut make: impl FnMut(&T) -> Option<RegisteredTool>,
) -> Vec<RegisteredTool> {
    let mut tools = Vec::new();
    for item in items {
        if tools.len() == family.max_tools {
            tracing::warn!(family = %family.name, max_tools = family.max_tools, "more of them than max_tools: the rest are left out ({what}s from {item:?} on)");
            break;
        }
        match make(&item) {
            Some(tool) => tools.push(tool),
            None => {
                tracing::warn!(family = %family.name, "{what} {item:?} left out: it makes no usable tool");
            }
        }
    }
    tools
}

/// A generated tool's name from `raw` (`agents_orders_by_id`, `s3_reports_notes`): lower
/// case, every character but `a-z 0-9 _` as `_`; `None` when longer than a tool name may be.
pub fn tool_name(raw: &str) -> Option<String> {
    let name: String = raw
        .chars()
        .map(|c| match c {
            'a'..='z' | '0'..='9' | '_' => c,
            'A'..='Z' => c.to_ascii_lowercase(),
            _ => '_',
        })
        .collect();
    (name.len() <= 128).then_some(name)
}
