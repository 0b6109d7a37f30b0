//! The one request path: goose workers, boundary probes, the `call` command and tests all
//! send an operation through [`execute_op`]: any MCP method, a whole paged list walk as
//! one operation, and the scenario's retries.

use std::time::Duration;

use mcp_slo_core::measure::CallOutcome;
use mcp_slo_core::spec::Retries;
use mcp_slo_core::spec::ops::Method;
use serde_json::Value;
use tokio::time::Instant;

use crate::client::{Answer, Endpoint, Http, Listing, Session};

/// A walk stops after this many pages (a server handing out cursors forever).
pub const MAX_PAGES: u32 = 10_000;

/// When to give up on an operation and whether to try again.
#[derive(Debug, Clone, Copy)]
pub struct Attempts {
    /// No attempt starts or runs past this.
    pub deadline: Instant,
    pub retries: Option<Retries>,
}

impl Attempts {
    /// One attempt, bounded by `timeout` from now.
    pub fn once(timeout: Duration) -> Attempts {
        Attempts {
            deadline: Instant::now() + timeout,
            retries: None,
        }
    }
}

/// Sends `method` once, or as often as the retries allow: a failed attempt (refused for
/// rate or load, timed out, or lost in transport) is tried again after an exponential
/// backoff from the base delay (or the server's `Retry-After`, when longer), never past
/// the deadline. A tool that ran and failed is not retried.
pub async fn execute_op(
    client: &Http,
    endpoint: &Endpoint,
    session: &mut Session,
    method: &Method,
    args: Value,
    attempts: Attempts,
) -> Answer {
    let mut attempt = 1;
    let mut first = None;
    let mut reopened = 0;
    loop {
        let left = attempts.deadline.saturating_duration_since(Instant::now());
        let mut answer = if left.is_zero() {
            Answer::transport("timed out: the deadline passed before the attempt".into())
        } else {
            once(client, endpoint, session, method, args.clone(), left).await
        };
        reopened += answer.reopened;
        let first_outcome = *first.get_or_insert(answer.outcome);
        let retry = attempts.retries.and_then(|r| {
            (attempt < r.attempts && retryable(answer.outcome)).then(|| {
                let backoff = r.base.saturating_mul(1 << (attempt - 1).min(16));
                let server = Duration::from_secs(answer.retry_after.unwrap_or(0));
                backoff.max(server)
            })
        });
        let wake = retry.map(|d| Instant::now() + d);
        match wake {
            Some(at) if at < attempts.deadline => {
                tokio::time::sleep_until(at).await;
                attempt += 1;
            }
            _ => {
                answer.first_outcome = first_outcome;
                answer.attempts = attempt;
                answer.reopened = reopened;
                return answer;
            }
        }
    }
}

/// Outcomes another attempt may change.
fn retryable(outcome: CallOutcome) -> bool {
    matches!(
        outcome,
        CallOutcome::RateLimited
            | CallOutcome::Overloaded
            | CallOutcome::TimedOut
            | CallOutcome::TransportError
    )
}

/// One attempt: one request, or a whole walk of a paged list.
async fn once(
    client: &Http,
    endpoint: &Endpoint,
    session: &mut Session,
    method: &Method,
    args: Value,
    timeout: Duration,
) -> Answer {
    let Method::List { kind, walk } = method else {
        let params = method.params(args, None);
        let name = method.header_name(params.as_ref()).map(str::to_owned);
        return endpoint
            .request(
                client,
                session,
                method.name(),
                params,
                name.as_deref(),
                Some(timeout),
            )
            .await;
    };
    let deadline = Instant::now() + timeout;
    let mut listing = Listing::default();
    let mut cursor: Option<String> = None;
    let mut reopened = 0;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let params = method.params(Value::Null, cursor.as_deref());
        let mut answer = endpoint
            .request(client, session, kind.method(), params, None, Some(left))
            .await;
        reopened += answer.reopened;
        answer.reopened = reopened;
        if answer.outcome != CallOutcome::Ok {
            answer.listing = Some(listing);
            return answer;
        }
        let result = answer.result().unwrap_or_default();
        listing.pages += 1;
        listing.bytes += answer.body.len() as u64;
        listing.items += result
            .get(kind.items_field())
            .and_then(Value::as_array)
            .map_or(0, |a| a.len() as u64);
        let next = result
            .get("nextCursor")
            .and_then(Value::as_str)
            .filter(|c| !c.is_empty())
            .map(str::to_owned);
        let problem = match &next {
            Some(c) if cursor.as_deref() == Some(c.as_str()) => {
                Some(format!("the server gave the same cursor twice ({c:?})"))
            }
            Some(_) if listing.pages >= MAX_PAGES => Some(format!("more than {MAX_PAGES} pages")),
            _ => None,
        };
        if let Some(problem) = problem {
            answer.outcome = CallOutcome::JsonRpcError;
            answer.message = Some(format!("{}: {problem}", kind.method()));
        }
        match next {
            Some(c) if *walk && answer.outcome == CallOutcome::Ok => cursor = Some(c),
            _ => {
                answer.listing = Some(listing);
                return answer;
            }
        }
    }
}
