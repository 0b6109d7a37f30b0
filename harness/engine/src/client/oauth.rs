//! A target's bearer token from an OAuth 2.1 token endpoint, client credentials grant
//! (RFC 6749 section 4.4): `grant_type=client_credentials` (with `scope`, RFC 8707
//! `resource` and `audience` when given) POSTed as a form, the client authenticated with
//! HTTP Basic (`client_secret_basic`) or in the form (`client_secret_post`).
//!
//! The first token is fetched before the load, so a wrong credential is a start-up error.
//! A background task fetches the next one before the current one expires (at 80% of its
//! lifetime or 60 s before its end, whichever is earlier, never before half of it), so no
//! call waits on the token endpoint: the request path only clones the current header value.
//! A failed refresh is counted and tried again with a doubling backoff while the current
//! token is still sent.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock, Weak};
use std::time::Duration;

use base64::Engine as _;
use mcp_slo_core::spec::ClientAuth;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use serde::Deserialize;
use serde_json::Value;

/// The whole exchange with the token endpoint, connecting included.
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// The first wait after a failed refresh, doubled after each further failure up to
/// [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(500);
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// The earliest a token is refreshed, however short its lifetime.
const MIN_REFRESH: Duration = Duration::from_millis(100);

/// Where and how to ask for tokens; the secret already read from its variable.
#[derive(Clone)]
pub struct OAuthConfig {
    pub token_url: String,
    pub client_id: String,
    pub client_secret: String,
    pub scope: Option<String>,
    /// RFC 8707 `resource`.
    pub resource: Option<String>,
    pub audience: Option<String>,
    pub auth_method: ClientAuth,
}

impl std::fmt::Debug for OAuthConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuthConfig")
            .field("token_url", &self.token_url)
            .field("client_id", &self.client_id)
            .field("scope", &self.scope)
            .field("resource", &self.resource)
            .field("audience", &self.audience)
            .field("auth_method", &self.auth_method)
            .finish_non_exhaustive()
    }
}

/// Why no token was had.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("token endpoint {url} is unreachable: {message}")]
    Unreachable { url: String, message: String },
    /// An OAuth error answer (RFC 6749 section 5.2).
    #[error(
        "token endpoint {url} refused (HTTP {status}): {error}{}",
        .description.as_ref().map(|d| format!(": {d}")).unwrap_or_default()
    )]
    Refused {
        url: String,
        status: u16,
        error: String,
        description: Option<String>,
    },
    #[error("token endpoint {url}: {message}")]
    Answer { url: String, message: String },
}

/// One token as issued.
struct Issued {
    header: HeaderValue,
    /// `expires_in`; `None` when the server gave none (the token is never refreshed).
    lifetime: Option<Duration>,
}

/// Sends the grant.
struct Fetcher {
    client: reqwest::Client,
    config: OAuthConfig,
}

impl Fetcher {
    async fn fetch(&self) -> Result<Issued, TokenError> {
        let c = &self.config;
        let url = || c.token_url.clone();
        let mut form = vec![("grant_type", "client_credentials")];
        let optional = [
            ("scope", &c.scope),
            ("resource", &c.resource),
            ("audience", &c.audience),
        ];
        form.extend(
            optional
                .iter()
                .filter_map(|(k, v)| Some((*k, v.as_deref()?))),
        );
        let mut request = self
            .client
            .post(&c.token_url)
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(ACCEPT, "application/json");
        match c.auth_method {
            ClientAuth::Basic => {
                // RFC 6749 section 2.3.1: both form-encoded before Basic encoding.
                let pair = format!(
                    "{}:{}",
                    form_encode(&c.client_id),
                    form_encode(&c.client_secret)
                );
                let basic = base64::engine::general_purpose::STANDARD.encode(pair);
                let mut value = HeaderValue::from_str(&format!("Basic {basic}")).map_err(|_| {
                    TokenError::Answer {
                        url: url(),
                        message: "the client credentials cannot be sent in a header".into(),
                    }
                })?;
                value.set_sensitive(true);
                request = request.header(AUTHORIZATION, value);
            }
            ClientAuth::Post => {
                form.push(("client_id", c.client_id.as_str()));
                form.push(("client_secret", c.client_secret.as_str()));
            }
        }
        let body = form
            .iter()
            .map(|(k, v)| format!("{k}={}", form_encode(v)))
            .collect::<Vec<_>>()
            .join("&");
        let unreachable = |e: reqwest::Error| TokenError::Unreachable {
            url: url(),
            message: super::describe(e),
        };
        let response = request.body(body).send().await.map_err(unreachable)?;
        let status = response.status().as_u16();
        let bytes = response.bytes().await.map_err(unreachable)?;
        read_answer(&c.token_url, status, &bytes)
    }
}

/// The fields of a token answer (RFC 6749 sections 5.1 and 5.2) that matter here.
#[derive(Deserialize)]
struct TokenAnswer {
    access_token: Option<String>,
    token_type: Option<String>,
    /// A number, though some servers send a numeric string.
    expires_in: Option<Value>,
    error: Option<String>,
    error_description: Option<String>,
}

fn read_answer(url: &str, status: u16, body: &[u8]) -> Result<Issued, TokenError> {
    let answer_error = |message: String| TokenError::Answer {
        url: url.to_owned(),
        message,
    };
    let parsed: Option<TokenAnswer> = serde_json::from_slice(body).ok();
    let answer = match parsed {
        Some(TokenAnswer {
            error: Some(error),
            error_description,
            ..
        }) => {
            return Err(TokenError::Refused {
                url: url.to_owned(),
                status,
                error,
                description: error_description,
            });
        }
        Some(a) if (200..300).contains(&status) => a,
        _ => {
            let text = String::from_utf8_lossy(body);
            let text: String = text.chars().take(200).collect();
            return Err(answer_error(format!(
                "HTTP {status} without a token answer: {text:?}"
            )));
        }
    };
    let Some(token) = answer.access_token.filter(|t| !t.is_empty()) else {
        return Err(answer_error("the answer has no access_token".into()));
    };
    match answer.token_type.as_deref() {
        Some(t) if t.eq_ignore_ascii_case("bearer") => {}
        Some(t) => {
            return Err(answer_error(format!(
                "token_type {t:?}: only Bearer tokens can be sent"
            )));
        }
        None => return Err(answer_error("the answer has no token_type".into())),
    }
    let lifetime = match &answer.expires_in {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) => n.as_f64(),
        Some(Value::String(s)) => s.trim().parse::<f64>().ok(),
        Some(_) => None,
    };
    let lifetime = match (lifetime, &answer.expires_in) {
        // Too long to represent: as good as never expiring.
        (Some(secs), _) if secs >= 0.0 => Duration::try_from_secs_f64(secs).ok(),
        (_, None | Some(Value::Null)) => None,
        (_, Some(v)) => {
            return Err(answer_error(format!(
                "expires_in {v} is not a number of seconds"
            )));
        }
    };
    let mut header = HeaderValue::from_str(&format!("Bearer {token}"))
        .map_err(|_| answer_error("the access_token cannot be sent in a header".into()))?;
    header.set_sensitive(true);
    Ok(Issued { header, lifetime })
}

/// `application/x-www-form-urlencoded`: unreserved characters kept, space as `+`, every
/// other byte as `%XX`.
fn form_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'*' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// When to fetch the next token: at 80% of the lifetime or 60 s before its end, whichever
/// is earlier, but not before half of it (nor before [`MIN_REFRESH`]).
pub fn refresh_after(lifetime: Duration) -> Duration {
    let early = lifetime
        .mul_f64(0.8)
        .min(lifetime.saturating_sub(Duration::from_secs(60)));
    early.max(lifetime / 2).max(MIN_REFRESH)
}

/// Where a refresher reports a failed refresh (the run's log).
pub type TokenLog = Arc<dyn Fn(&str) + Send + Sync>;

struct Shared {
    header: RwLock<HeaderValue>,
    token_url: String,
    /// Tokens had, the first included.
    fetches: AtomicU64,
    /// Refreshes that failed (each tried again).
    failures: AtomicU64,
    refresher: Mutex<Option<tokio::task::AbortHandle>>,
}

impl Drop for Shared {
    fn drop(&mut self) {
        let refresher = self
            .refresher
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(task) = refresher.take() {
            task.abort();
        }
    }
}

/// A bearer token kept fresh in the background. Clones share it; the refresher stops when
/// the last clone is dropped.
#[derive(Clone)]
pub struct OAuthToken {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for OAuthToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuthToken")
            .field("token_url", &self.shared.token_url)
            .field("fetches", &self.fetches())
            .finish_non_exhaustive()
    }
}

impl OAuthToken {
    /// Fetches the first token (its failure is the caller's start-up error) and, when it
    /// has a lifetime, starts refreshing it in the background (on the current tokio
    /// runtime).
    /// Returns the token and the first one's lifetime.
    pub async fn start(
        config: OAuthConfig,
        log: TokenLog,
    ) -> Result<(OAuthToken, Option<Duration>), TokenError> {
        let client = reqwest::Client::builder()
            .timeout(FETCH_TIMEOUT)
            .connect_timeout(CONNECT_TIMEOUT)
            .build()
            .map_err(|e| TokenError::Unreachable {
                url: config.token_url.clone(),
                message: super::describe(e),
            })?;
        let fetcher = Fetcher { client, config };
        let first = fetcher.fetch().await?;
        let lifetime = first.lifetime;
        let shared = Arc::new(Shared {
            header: RwLock::new(first.header),
            token_url: fetcher.config.token_url.clone(),
            fetches: AtomicU64::new(1),
            failures: AtomicU64::new(0),
            refresher: Mutex::new(None),
        });
        if let Some(lifetime) = lifetime {
            let task = tokio::spawn(refresh(Arc::downgrade(&shared), fetcher, lifetime, log));
            *shared
                .refresher
                .lock()
                .unwrap_or_else(PoisonError::into_inner) = Some(task.abort_handle());
        }
        Ok((OAuthToken { shared }, lifetime))
    }

    /// The current `Authorization` value (`Bearer ...`); never waits on the token endpoint.
    pub fn header(&self) -> HeaderValue {
        self.shared
            .header
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub fn token_url(&self) -> &str {
        &self.shared.token_url
    }

    /// Tokens had so far, the first included.
    pub fn fetches(&self) -> u64 {
        self.shared.fetches.load(Ordering::Relaxed)
    }

    /// Refreshes that failed so far (each was tried again).
    pub fn failures(&self) -> u64 {
        self.shared.failures.load(Ordering::Relaxed)
    }
}

/// Fetches each next token before the current one expires, until the token is dropped or
/// a token comes without `expires_in`.
async fn refresh(weak: Weak<Shared>, fetcher: Fetcher, lifetime: Duration, log: TokenLog) {
    let mut lifetime = lifetime;
    loop {
        tokio::time::sleep(refresh_after(lifetime)).await;
        let mut backoff = FIRST_BACKOFF;
        let issued = loop {
            let result = fetcher.fetch().await;
            let Some(shared) = weak.upgrade() else {
                return;
            };
            match result {
                Ok(issued) => break issued,
                Err(e) => {
                    let failures = shared.failures.fetch_add(1, Ordering::Relaxed) + 1;
                    log(&format!(
                        "token refresh failed ({failures} so far), next try in {backoff:?}: {e}"
                    ));
                }
            }
            drop(shared);
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(MAX_BACKOFF);
        };
        let Some(shared) = weak.upgrade() else {
            return;
        };
        *shared
            .header
            .write()
            .unwrap_or_else(PoisonError::into_inner) = issued.header;
        shared.fetches.fetch_add(1, Ordering::Relaxed);
        match issued.lifetime {
            Some(next) => lifetime = next,
            None => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refreshes_before_expiry() {
        let s = Duration::from_secs;
        assert_eq!(refresh_after(s(3600)), s(2880), "80% of an hour");
        assert_eq!(refresh_after(s(240)), s(180), "60 s before the end");
        assert_eq!(refresh_after(s(100)), s(50), "never before half");
        assert_eq!(refresh_after(s(2)), s(1));
        assert_eq!(refresh_after(s(0)), MIN_REFRESH);
    }

    #[test]
    fn form_encoding_keeps_only_unreserved_characters() {
        assert_eq!(form_encode("a-Z_0.9*"), "a-Z_0.9*");
        assert_eq!(form_encode("mcp:tools read"), "mcp%3Atools+read");
        assert_eq!(form_encode("s3/c+r=t&é"), "s3%2Fc%2Br%3Dt%26%C3%A9");
    }

    #[test]
    fn answers_are_read_as_rfc_6749_has_them() {
        let ok = read_answer(
            "u",
            200,
            br#"{"access_token":"abc","token_type":"bearer","expires_in":"60"}"#,
        )
        .unwrap();
        assert_eq!(ok.header.to_str().unwrap(), "Bearer abc");
        assert!(ok.header.is_sensitive());
        assert_eq!(ok.lifetime, Some(Duration::from_secs(60)));
        let forever = read_answer("u", 200, br#"{"access_token":"a","token_type":"Bearer"}"#);
        assert_eq!(forever.unwrap().lifetime, None);
        let err = |status, body: &[u8]| read_answer("u", status, body).err().unwrap().to_string();
        assert_eq!(
            err(
                401,
                br#"{"error":"invalid_client","error_description":"bad secret"}"#
            ),
            "token endpoint u refused (HTTP 401): invalid_client: bad secret"
        );
        assert_eq!(
            err(400, br#"{"error":"invalid_scope"}"#),
            "token endpoint u refused (HTTP 400): invalid_scope"
        );
        assert_eq!(
            err(200, br#"{"access_token":"a","token_type":"mac"}"#),
            "token endpoint u: token_type \"mac\": only Bearer tokens can be sent"
        );
        assert_eq!(
            err(200, br#"{"token_type":"Bearer"}"#),
            "token endpoint u: the answer has no access_token"
        );
        assert_eq!(
            err(502, b"Bad Gateway"),
            "token endpoint u: HTTP 502 without a token answer: \"Bad Gateway\""
        );
        assert_eq!(
            err(
                200,
                br#"{"access_token":"a","token_type":"Bearer","expires_in":"soon"}"#
            ),
            "token endpoint u: expires_in \"soon\" is not a number of seconds"
        );
    }
}
