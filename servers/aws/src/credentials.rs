//! Per-role credentials through STS AssumeRole.
//!
//! Each tool's calls are signed with credentials of that tool's own role, assumed from the
//! base credentials of the standard provider chain. Credentials are cached per role and
//! refreshed in the background once less than the refresh window is left; a refresh is
//! single-flight (many concurrent calls at expiry cause one AssumeRole) and callers keep
//! using the still-valid credentials meanwhile, so none of them waits or fails.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant, SystemTime};

use aws_credential_types::Credentials;
use aws_credential_types::provider::{ProvideCredentials, error::CredentialsError, future};
use aws_sdk_sts::error::ProvideErrorMetadata as _;

use crate::tools::sdk::describe;

/// Why a role's credentials could not be had.
#[derive(Debug, Clone, thiserror::Error)]
#[error("cannot assume role {role}: {message}")]
pub struct RoleError {
    pub role: String,
    pub message: String,
}

#[derive(Clone)]
struct Cached {
    credentials: Credentials,
    expires: SystemTime,
}

struct RoleState {
    arn: String,
    current: RwLock<Option<Cached>>,
    refresh: Arc<tokio::sync::Mutex<()>>,
    assumes: AtomicU64,
    last_error: RwLock<Option<String>>,
}

/// A latency sample of AssumeRole, for `/metrics` and the readiness report.
pub type LatencyObserver = Arc<dyn Fn(&str, Duration, bool) + Send + Sync>;

pub struct RoleCredentials {
    sts: aws_sdk_sts::Client,
    roles: BTreeMap<String, Arc<RoleState>>,
    duration: Duration,
    window: Duration,
    observe: Option<LatencyObserver>,
}

impl std::fmt::Debug for RoleCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RoleCredentials")
            .field("roles", &self.roles.keys())
            .finish()
    }
}

/// The short name of a role ARN (`agent-s3-read`).
pub fn role_name(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

impl RoleCredentials {
    pub fn new(
        sts: aws_sdk_sts::Client,
        roles: impl IntoIterator<Item = String>,
        duration: Duration,
        window: Duration,
        observe: Option<LatencyObserver>,
    ) -> Arc<Self> {
        let roles = roles
            .into_iter()
            .map(|arn| {
                let state = RoleState {
                    arn: arn.clone(),
                    current: RwLock::new(None),
                    refresh: Arc::new(tokio::sync::Mutex::new(())),
                    assumes: AtomicU64::new(0),
                    last_error: RwLock::new(None),
                };
                (arn, Arc::new(state))
            })
            .collect();
        Arc::new(RoleCredentials {
            sts,
            roles,
            duration,
            window,
            observe,
        })
    }

    /// AssumeRole calls made for `role` so far.
    pub fn assumes(&self, role: &str) -> u64 {
        self.roles
            .get(role)
            .map_or(0, |s| s.assumes.load(Ordering::Relaxed))
    }

    /// The last AssumeRole error of `role`, if its credentials are not usable now.
    pub fn problem(&self, role: &str) -> Option<String> {
        let state = self.roles.get(role)?;
        let usable = read(&state.current).is_some_and(|c| c.expires > SystemTime::now());
        if usable {
            None
        } else {
            state.last_error.read().ok()?.clone()
        }
    }

    /// Credentials for `role`, assuming it if needed.
    pub async fn get(self: &Arc<Self>, role: &str) -> Result<Credentials, RoleError> {
        let state = self.roles.get(role).ok_or_else(|| RoleError {
            role: role.to_owned(),
            message: "the role is not configured for any tool".into(),
        })?;
        let now = SystemTime::now();
        if let Some(cached) = read(&state.current) {
            if cached.expires > now + self.window {
                return Ok(cached.credentials);
            }
            if cached.expires > now {
                self.refresh_in_background(state.clone());
                return Ok(cached.credentials);
            }
        }
        // None yet, or expired: wait for one AssumeRole, shared by everyone waiting.
        let _guard = state.refresh.lock().await;
        if let Some(cached) = read(&state.current)
            && cached.expires > SystemTime::now()
        {
            return Ok(cached.credentials);
        }
        self.assume(state).await
    }

    fn refresh_in_background(self: &Arc<Self>, state: Arc<RoleState>) {
        let Ok(guard) = state.refresh.clone().try_lock_owned() else {
            return; // a refresh is already under way
        };
        let this = self.clone();
        tokio::spawn(async move {
            let _guard = guard;
            let fresh =
                read(&state.current).is_some_and(|c| c.expires > SystemTime::now() + this.window);
            if !fresh {
                let _ = this.assume(&state).await;
            }
        });
    }

    async fn assume(&self, state: &RoleState) -> Result<Credentials, RoleError> {
        let session = format!(
            "mcp-{}-{}",
            role_name(&state.arn).chars().take(40).collect::<String>(),
            &uuid::Uuid::new_v4().simple().to_string()[..12]
        );
        let started = Instant::now();
        let answer = self
            .sts
            .assume_role()
            .role_arn(&state.arn)
            .role_session_name(session)
            .duration_seconds(self.duration.as_secs().clamp(1, i32::MAX as u64) as i32)
            .send()
            .await;
        let elapsed = started.elapsed();
        state.assumes.fetch_add(1, Ordering::Relaxed);
        if let Some(observe) = &self.observe {
            observe(role_name(&state.arn), elapsed, answer.is_ok());
        }
        let fail = |message: String| {
            if let Ok(mut last) = state.last_error.write() {
                *last = Some(message.clone());
            }
            RoleError {
                role: state.arn.clone(),
                message,
            }
        };
        let out = answer.map_err(|e| {
            let code = e.code().unwrap_or("error").to_owned();
            let message = e
                .message()
                .map(str::to_owned)
                .unwrap_or_else(|| describe(&e));
            fail(format!("{code}: {message}"))
        })?;
        let c = out
            .credentials()
            .ok_or_else(|| fail("STS returned no credentials".into()))?;
        let expires = SystemTime::try_from(*c.expiration())
            .unwrap_or_else(|_| SystemTime::now() + self.duration);
        let credentials = Credentials::new(
            c.access_key_id(),
            c.secret_access_key(),
            Some(c.session_token().to_owned()),
            Some(expires),
            "mcp-slo-assume-role",
        );
        if let Ok(mut current) = state.current.write() {
            *current = Some(Cached {
                credentials: credentials.clone(),
                expires,
            });
        }
        if let Ok(mut last) = state.last_error.write() {
            *last = None;
        }
        Ok(credentials)
    }

    /// Assumes every role once, so the first calls do not wait (errors are kept for
    /// `/readyz`).
    pub async fn warm(self: &Arc<Self>) {
        let roles: Vec<String> = self.roles.keys().cloned().collect();
        for role in roles {
            if let Err(e) = self.get(&role).await {
                tracing::warn!(error = %e, "role not assumable yet");
            }
        }
    }

    /// A credentials provider for SDK clients of one role.
    pub fn provider(self: &Arc<Self>, role: &str) -> RoleProvider {
        RoleProvider {
            credentials: self.clone(),
            role: role.to_owned(),
        }
    }
}

fn read(lock: &RwLock<Option<Cached>>) -> Option<Cached> {
    lock.read().ok().and_then(|g| g.clone())
}

/// Signs an SDK client's requests with one role's credentials.
#[derive(Debug, Clone)]
pub struct RoleProvider {
    credentials: Arc<RoleCredentials>,
    role: String,
}

impl ProvideCredentials for RoleProvider {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        future::ProvideCredentials::new(async move {
            self.credentials
                .get(&self.role)
                .await
                .map_err(CredentialsError::provider_error)
        })
    }
}
