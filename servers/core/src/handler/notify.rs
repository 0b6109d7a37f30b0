//! `notifications/tools/list_changed`: every change of the registry reaches the clients
//! that asked to hear of it.
//!
//! - A 2025-06-18 / 2025-11-25 session gets it on its own stream (the GET SSE stream, or
//!   rmcp's cache for it until the client opens one): a task per session, started when
//!   the session is initialized (so nothing changed after the client's `initialize` goes
//!   unannounced), watches the registry's version and ends with the session.
//! - A 2026-07-28 client opens a `subscriptions/listen` stream (rmcp acknowledges it and
//!   hands it here, `listen`) and gets it there, tagged with the subscription's id, until
//!   it cancels the request or the server shuts down.
//!
//! The registry's writer only bumps a `watch` value (it never waits for anyone); each
//! watcher sleeps [`COALESCE`] after a change before it sends, so a burst of changes (a
//! script adding twenty tools) reaches a client as one notification.

use std::sync::Arc;
use std::time::Duration;

use rmcp::RoleServer;
use rmcp::model::SubscriptionFilter;
use rmcp::service::{Peer, SubscriptionContext};
use tokio::sync::watch;

use crate::metrics::Metrics;

/// How long a watcher waits after a change for more before it notifies.
pub const COALESCE: Duration = Duration::from_millis(5);

/// How often a session's watcher checks that its session still exists, when the registry
/// is quiet (rmcp exposes no future that completes when a session ends).
const SESSION_CHECK: Duration = Duration::from_secs(2);

/// After a change was seen, waits for the burst it starts to settle, and marks the burst
/// seen. Run outside any `select!`: only `changed()` is cancel-safe, so a change seen is
/// never dropped by another branch winning during the wait.
async fn settle(changes: &mut watch::Receiver<u64>) {
    tokio::time::sleep(COALESCE).await;
    changes.mark_unchanged();
}

/// Sends `notifications/tools/list_changed` to a 2025-xx session after each change, until
/// the session ends (its transport closes or a send fails).
pub fn watch_session(
    mut changes: watch::Receiver<u64>,
    peer: Peer<RoleServer>,
    metrics: &Arc<Metrics>,
) {
    changes.mark_unchanged();
    let listening = metrics.listening();
    let metrics = Arc::clone(metrics);
    tokio::spawn(async move {
        let _listening = listening;
        let mut check = tokio::time::interval(SESSION_CHECK);
        check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                changed = changes.changed() => {
                    if changed.is_err() {
                        break;
                    }
                    settle(&mut changes).await;
                    if peer.is_transport_closed() {
                        break;
                    }
                    if let Err(error) = peer.notify_tool_list_changed().await {
                        tracing::debug!(%error, "session ended before tools/list_changed");
                        break;
                    }
                    metrics.list_changed_sent();
                }
                _ = check.tick() => {
                    if peer.is_transport_closed() {
                        break;
                    }
                }
            }
        }
    });
}

/// What a `subscriptions/listen` request may hear from us: `toolsListChanged` only.
pub fn accepted_filter(requested: &SubscriptionFilter) -> Option<SubscriptionFilter> {
    let mut accepted = SubscriptionFilter::new();
    if requested.tools_list_changed == Some(true) {
        accepted.tools_list_changed = Some(true);
    }
    Some(accepted)
}

/// Serves one established 2026-07-28 subscription: a `notifications/tools/list_changed`
/// after each change, until the client cancels it (or the stream closes).
pub async fn listen(
    mut changes: watch::Receiver<u64>,
    subscription: SubscriptionContext,
    metrics: &Arc<Metrics>,
) {
    if subscription.accepted().tools_list_changed != Some(true) {
        subscription.cancelled().await;
        return;
    }
    changes.mark_unchanged();
    let _listening = metrics.listening();
    let sink = subscription.sink().clone();
    loop {
        tokio::select! {
            () = subscription.cancelled() => return,
            changed = changes.changed() => {
                if changed.is_err() {
                    return;
                }
                settle(&mut changes).await;
                if let Err(error) = sink.notify_tool_list_changed().await {
                    tracing::debug!(%error, "subscription ended before tools/list_changed");
                    return;
                }
                metrics.list_changed_sent();
            }
        }
    }
}
