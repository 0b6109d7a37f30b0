//! The one request path: goose workers, boundary probes, the `call` command and tests all
//! send an operation through [`execute_op`]: any MCP method, a whole paged list walk as
//! one operation, and the scenario's retries.

use std::time::Duration;

use mcp_slo_core::measure::CallOutcome;
use mcp_slo_core::spec::Retries;
use mcp_slo_core::spec::ops::Method;
use serde_json::Value;
use tokio::time::Instant;

use crate::client::{Answer, Endpoint, Http, Listing, Prepared, Session};

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

/// An operation made ready ahead of its start ([`prepare_op`]): its first request already
/// encoded (a paged walk encodes each page as it goes).
pub struct ReadyOp<'a> {
    method: &'a Method,
    args: Value,
    first: Option<Prepared>,
}

/// Encodes the op's first request now, so that sending it later costs only the exchange.
pub fn prepare_op<'a>(
    endpoint: &Endpoint,
    session: &mut Session,
    method: &'a Method,
    args: Value,
) -> ReadyOp<'a> {
    let first = match method {
        Method::List { .. } => None,
        _ => {
            let params = method.params(args.clone(), None);
            let name = method.header_name(params.as_ref()).map(str::to_owned);
            Some(endpoint.prepare(session, method.name(), params, name.as_deref()))
        }
    };
    ReadyOp {
        method,
        args,
        first,
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
    let op = prepare_op(endpoint, session, method, args);
    execute_ready(client, endpoint, session, op, attempts).await
}

/// [`execute_op`] for an op prepared ahead.
pub async fn execute_ready(
    client: &Http,
    endpoint: &Endpoint,
    session: &mut Session,
    op: ReadyOp<'_>,
    attempts: Attempts,
) -> Answer {
    let ReadyOp {
        method,
        args,
        mut first,
    } = op;
    let mut attempt = 1;
    let mut first_outcome = None;
    let mut reopened = 0;
    loop {
        let left = attempts.deadline.saturating_duration_since(Instant::now());
        let mut answer = if left.is_zero() {
            Answer::transport("timed out: the deadline passed before the attempt".into())
        } else {
            let prepared = first.take();
            once(client, endpoint, session, (method, &args, prepared), left).await
        };
        reopened += answer.reopened;
        let outcome = *first_outcome.get_or_insert(answer.outcome);
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
                answer.first_outcome = outcome;
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
            | CallOutcome::Unanswered
    )
}

/// One attempt: one request (prepared ahead, or now), or a whole walk of a paged list.
async fn once(
    client: &Http,
    endpoint: &Endpoint,
    session: &mut Session,
    (method, args, prepared): (&Method, &Value, Option<Prepared>),
    timeout: Duration,
) -> Answer {
    let Method::List { kind, walk } = method else {
        let prepared = prepared.unwrap_or_else(|| {
            let params = method.params(args.clone(), None);
            let name = method.header_name(params.as_ref()).map(str::to_owned);
            endpoint.prepare(session, method.name(), params, name.as_deref())
        });
        return endpoint
            .send(client, session, prepared, Some(timeout))
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
        let (items, next) = answer.page(kind.items_field()).unwrap_or_default();
        listing.pages += 1;
        listing.bytes += answer.body.len() as u64;
        listing.items += items;
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
