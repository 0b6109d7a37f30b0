//! The list_changed probe: `listeners` clients each open a notification stream (their own
//! connection, their own session on the 2025 revisions), then the probe changes the tool
//! list `changes` times, one at a time, through the request the scenario names, and times
//! each listener's `notifications/tools/list_changed` from the moment that request was
//! sent. A change's notifications are awaited (until the deadline) before the next change,
//! so each notification belongs to one change.

use std::time::Duration;

use mcp_slo_core::result::ProbeResult;
use mcp_slo_core::spec::probes::{ChangeRequest, ListChangedProbe};
use mcp_slo_core::verdict::probes::{ChangeRecord, ListChangedRecord, judge_list_changed};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::ProbeError;
use crate::client::listen::Listener;
use crate::client::{Endpoint, Http, Session};

/// After a change's last notification, how long later ones are still counted as its
/// extras before the next change.
const QUIET: Duration = Duration::from_millis(50);

/// How long a listener may take to open its stream.
const OPEN_WITHIN: Duration = Duration::from_secs(10);

pub(super) async fn probe(
    target: &str,
    endpoint: &Endpoint,
    p: &ListChangedProbe,
) -> Result<ProbeResult, ProbeError> {
    let setup = |message: String| ProbeError::Setup {
        probe: "list_changed",
        message,
    };
    // No whole-request timeout: the streams stay open for the whole probe.
    let reqwest = reqwest::Client::builder()
        .tcp_nodelay(true)
        .connect_timeout(Duration::from_secs(5))
        .build()
        .map_err(|e| setup(e.to_string()))?;
    let client = Http::new(reqwest, None);
    let (opened, sessions, open_failure, heard) = open_listeners(endpoint, &client, p).await;
    let mut record = ListChangedRecord {
        opened: opened.len() as u32,
        open_failure,
        ..Default::default()
    };
    let mut heard = heard;
    // Let every stream settle on the server before the first change.
    tokio::time::sleep(Duration::from_millis(200)).await;
    record.extra += drain(&mut heard);
    for k in 0..p.changes {
        let (n, adds) = p.change(k);
        let request = match (&p.remove, adds) {
            (Some(remove), false) => remove,
            _ => &p.add,
        };
        let sent = Instant::now();
        let (status, message) = change(&client, endpoint, request, n).await;
        let mut delays = vec![None; opened.len()];
        if (200..300).contains(&status) {
            let until = sent + p.deadline;
            let mut waiting = opened.len();
            while waiting > 0 {
                match tokio::time::timeout_at(until, heard.recv()).await {
                    Ok(Some((i, at))) => match &mut delays[i] {
                        slot @ None => {
                            *slot = Some(at.saturating_duration_since(sent));
                            waiting -= 1;
                        }
                        Some(_) => record.extra += 1,
                    },
                    Ok(None) | Err(_) => break,
                }
            }
            tokio::time::sleep(QUIET).await;
            record.extra += drain(&mut heard);
        }
        record.changes.push(ChangeRecord {
            status,
            message,
            delays,
        });
    }
    // A stream that ended during the probe says why its notifications were missed.
    for task in opened {
        if task.is_finished() {
            if let Ok(Some(why)) = task.await {
                record.stream_failure.get_or_insert(why);
            }
        } else {
            task.abort();
        }
    }
    for session in &sessions {
        endpoint.close(&client, session).await;
    }
    Ok(judge_list_changed(target, p, &record))
}

/// A listener's index and when it heard a `list_changed`.
type Heard = (usize, Instant);

/// Opens the listeners, each reading its stream in a task that reports every
/// notification (and ends with why its stream ended, if it did); gives the tasks, the
/// sessions to close, why the first that failed to open did.
async fn open_listeners(
    endpoint: &Endpoint,
    client: &Http,
    p: &ListChangedProbe,
) -> (
    Vec<tokio::task::JoinHandle<Option<String>>>,
    Vec<Session>,
    Option<String>,
    mpsc::UnboundedReceiver<Heard>,
) {
    let opening: Vec<_> = (0..p.listeners)
        .map(|_| {
            let (endpoint, client) = (endpoint.clone(), client.clone());
            tokio::spawn(async move {
                let mut session = endpoint
                    .initialize(&client)
                    .await
                    .map_err(|e| e.to_string())?;
                let opened =
                    tokio::time::timeout(OPEN_WITHIN, endpoint.listen(&client, &mut session)).await;
                let listener = match opened {
                    Ok(Ok(listener)) => listener,
                    Ok(Err(why)) => {
                        endpoint.close(&client, &session).await;
                        return Err(why);
                    }
                    Err(_) => {
                        endpoint.close(&client, &session).await;
                        return Err(format!("no stream within {OPEN_WITHIN:?}"));
                    }
                };
                Ok::<(Listener, Session), String>((listener, session))
            })
        })
        .collect();
    let mut results = Vec::with_capacity(opening.len());
    for task in opening {
        results.push(task.await.unwrap_or_else(|e| Err(e.to_string())));
    }
    let (tx, rx) = mpsc::unbounded_channel();
    let (mut tasks, mut sessions, mut failure) = (Vec::new(), Vec::new(), None);
    for result in results {
        match result {
            Ok((mut listener, session)) => {
                let i = tasks.len();
                let tx = tx.clone();
                tasks.push(tokio::spawn(async move {
                    loop {
                        match listener.next_list_changed().await {
                            Ok(at) => {
                                if tx.send((i, at)).is_err() {
                                    return None;
                                }
                            }
                            Err(why) => return Some(why),
                        }
                    }
                }));
                sessions.push(session);
            }
            Err(why) => {
                failure.get_or_insert(why);
            }
        }
    }
    (tasks, sessions, failure, rx)
}

/// Notifications waiting in the channel (extras).
fn drain(heard: &mut mpsc::UnboundedReceiver<Heard>) -> u64 {
    let mut n = 0;
    while heard.try_recv().is_ok() {
        n += 1;
    }
    n
}

/// Sends change `n`: its HTTP status (0: none) and, unless it succeeded, why.
async fn change(
    client: &Http,
    endpoint: &Endpoint,
    request: &ChangeRequest,
    n: u32,
) -> (u16, Option<String>) {
    let (url, body) = request.render(n);
    let url = match resolve(&endpoint.url, &url) {
        Ok(url) => url,
        Err(why) => return (0, Some(why)),
    };
    let method = reqwest::Method::from_bytes(request.method.as_bytes()).unwrap_or_default();
    let mut builder = client
        .reqwest()
        .request(method, url.clone())
        .headers(endpoint.credentials())
        .timeout(Duration::from_secs(10));
    if let Some(body) = body {
        builder = builder.json(&body);
    }
    match builder.send().await {
        Ok(answer) => {
            let status = answer.status().as_u16();
            if answer.status().is_success() {
                (status, None)
            } else {
                let text = answer.text().await.unwrap_or_default();
                (status, Some(text.chars().take(200).collect()))
            }
        }
        Err(e) => (0, Some(format!("{url}: {e}"))),
    }
}

/// A change request's URL: absolute, or a path on the target's origin.
fn resolve(target: &str, url: &str) -> Result<reqwest::Url, String> {
    reqwest::Url::parse(target)
        .and_then(|base| base.join(url))
        .map_err(|e| format!("{url} (against {target}): {e}"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_path_is_on_the_targets_origin_and_a_url_stands_as_given() {
        let at = |url| super::resolve("http://127.0.0.1:8080/mcp", url).map(|u| u.to_string());
        assert_eq!(
            at("/admin/tools/t_3").as_deref(),
            Ok("http://127.0.0.1:8080/admin/tools/t_3")
        );
        assert_eq!(
            at("https://console.example.com/tools").as_deref(),
            Ok("https://console.example.com/tools")
        );
        assert!(super::resolve("not a url", "/admin").is_err());
    }
}
