//! Where a tier keeps its rate limit: in the replica (the default) or in Redis, shared by
//! every replica of the tier. Both binaries take the same flags ([`RateLimitArgs`], one
//! definition flattened into each `Args`), validated into a [`RateStore`].

use std::time::Duration;

use crate::config::Tier;

/// The shared rate limit's flags, as both tier binaries take them.
#[derive(Debug, Clone, clap::Args)]
pub struct RateLimitArgs {
    /// Keep the tool-call rate limit in Redis at URL, shared by every replica that names the
    /// same key prefix, so N replicas together admit the declared rate, not N times it
    /// (default: each replica limits on its own).
    #[arg(
        long = "rate-limit-redis",
        value_name = "URL",
        env = "MCP_RATE_LIMIT_REDIS_URL",
        hide_env_values = true
    )]
    pub redis: Option<String>,
    /// Prefix of the shared limit's Redis keys; replicas of one tier share it (default
    /// `mcp-slo:rate:<tier>`, so the two tiers never share a limit).
    #[arg(long = "rate-limit-key", value_name = "PREFIX", requires = "redis")]
    pub key: Option<String>,
    /// When Redis does not answer within the timeout: `open` limits each replica on its own
    /// meanwhile, `closed` refuses tool calls (503).
    #[arg(
        long = "rate-limit-redis-unreachable",
        value_name = "POLICY",
        default_value = "open",
        requires = "redis"
    )]
    pub unreachable: Unreachable,
    /// How long a call waits for the shared limit's answer before the policy above applies.
    #[arg(
        long = "rate-limit-redis-timeout",
        value_name = "DURATION",
        default_value = "50ms",
        value_parser = humantime::parse_duration,
        requires = "redis"
    )]
    pub timeout: Duration,
}

/// What a tier does while its rate limit store does not answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Unreachable {
    /// Fall back to the replica's own limiter (each replica admits the whole rate).
    Open,
    /// Refuse tool calls with 503 until the store answers.
    Closed,
}

impl Unreachable {
    pub fn as_str(self) -> &'static str {
        match self {
            Unreachable::Open => "open",
            Unreachable::Closed => "closed",
        }
    }
}

/// Where the rate limit is kept, validated.
#[derive(Debug, Clone, Default)]
pub enum RateStore {
    /// In the replica: two in-process GCRA limiters.
    #[default]
    Local,
    /// In Redis, shared by the replicas.
    Redis(Box<SharedRate>),
}

/// For the start-up log: where the limit is kept (never the store's URL).
impl std::fmt::Display for RateStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RateStore::Local => f.write_str("per replica"),
            RateStore::Redis(shared) => write!(
                f,
                "shared in Redis under {}, {} when unreachable",
                shared.key_prefix,
                shared.unreachable.as_str()
            ),
        }
    }
}

/// The shared limit's store and what to do without it.
#[derive(Debug, Clone)]
pub struct SharedRate {
    /// The store (its URL may hold a password: never logged).
    pub client: redis::Client,
    /// Keys are `{PREFIX}:global` and `{PREFIX}:caller:<id>`.
    pub key_prefix: String,
    pub unreachable: Unreachable,
    /// The most a call waits for the store's answer.
    pub timeout: Duration,
}

/// A rate limit flag that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum RateLimitConfigError {
    /// The URL's text is left out of the message: it may carry a password.
    #[error("--rate-limit-redis: not a Redis URL ({0})")]
    Url(#[source] redis::RedisError),
    #[error("--rate-limit-key: the prefix is empty")]
    EmptyKey,
    #[error("--rate-limit-key {0:?}: braces would break the key's hash tag")]
    BracedKey(String),
    #[error("--rate-limit-redis-timeout: must be more than zero")]
    ZeroTimeout,
}

/// The key prefix a tier uses unless `--rate-limit-key` says otherwise.
pub fn default_key_prefix(tier: Tier) -> String {
    format!("mcp-slo:rate:{}", tier.as_str())
}

impl RateLimitArgs {
    /// The flags as a store for `tier`; every problem is reported, not only the first.
    pub fn store(&self, tier: Tier) -> Result<RateStore, Vec<RateLimitConfigError>> {
        let Some(url) = &self.redis else {
            return Ok(RateStore::Local);
        };
        let mut errors = Vec::new();
        let client = redis::Client::open(url.as_str())
            .map_err(|e| errors.push(RateLimitConfigError::Url(e)))
            .ok();
        let key_prefix = self.key.clone().unwrap_or_else(|| default_key_prefix(tier));
        if key_prefix.is_empty() {
            errors.push(RateLimitConfigError::EmptyKey);
        } else if key_prefix.contains(['{', '}']) {
            errors.push(RateLimitConfigError::BracedKey(key_prefix.clone()));
        }
        if self.timeout.is_zero() {
            errors.push(RateLimitConfigError::ZeroTimeout);
        }
        match client {
            Some(client) if errors.is_empty() => Ok(RateStore::Redis(Box::new(SharedRate {
                client,
                key_prefix,
                unreachable: self.unreachable,
                timeout: self.timeout,
            }))),
            _ => Err(errors),
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        rate: RateLimitArgs,
    }

    fn parse(args: &[&str]) -> Result<RateLimitArgs, clap::Error> {
        Cli::try_parse_from(std::iter::once("tier").chain(args.iter().copied())).map(|c| c.rate)
    }

    #[test]
    fn without_a_url_the_limit_stays_in_the_replica() {
        // The environment could name a store; the flags are what is under test here.
        let args = RateLimitArgs {
            redis: None,
            ..parse(&[]).unwrap()
        };
        assert!(matches!(args.store(Tier::Local), Ok(RateStore::Local)));
    }

    #[test]
    fn a_url_gives_a_shared_limit_with_the_tier_named_in_its_keys() {
        let args = parse(&["--rate-limit-redis", "redis://127.0.0.1:6379/0"]).unwrap();
        let Ok(RateStore::Redis(shared)) = args.store(Tier::AwsManaged) else {
            panic!("a shared limit");
        };
        assert_eq!(shared.key_prefix, "mcp-slo:rate:aws_managed");
        assert_eq!(
            RateStore::Redis(shared.clone()).to_string(),
            "shared in Redis under mcp-slo:rate:aws_managed, open when unreachable"
        );
        assert_eq!(shared.unreachable, Unreachable::Open);
        assert_eq!(shared.timeout, Duration::from_millis(50));
        assert_ne!(default_key_prefix(Tier::Local), shared.key_prefix);
    }

    #[test]
    fn every_flag_is_read() {
        let args = parse(&[
            "--rate-limit-redis",
            "redis://127.0.0.1:6379/2",
            "--rate-limit-key",
            "team-a:rate",
            "--rate-limit-redis-unreachable",
            "closed",
            "--rate-limit-redis-timeout",
            "20ms",
        ])
        .unwrap();
        let Ok(RateStore::Redis(shared)) = args.store(Tier::Local) else {
            panic!("a shared limit");
        };
        assert_eq!(shared.key_prefix, "team-a:rate");
        assert_eq!(shared.unreachable, Unreachable::Closed);
        assert_eq!(shared.timeout, Duration::from_millis(20));
    }

    #[test]
    fn the_store_s_options_need_a_store() {
        let refused = parse(&["--rate-limit-redis-unreachable", "closed"]).unwrap_err();
        assert_eq!(
            refused.kind(),
            clap::error::ErrorKind::MissingRequiredArgument
        );
    }

    #[test]
    fn every_problem_is_reported_and_the_url_is_not_repeated() {
        let args = parse(&[
            "--rate-limit-redis",
            "http://user:hunter2@example.com",
            "--rate-limit-key",
            "{x}",
            "--rate-limit-redis-timeout",
            "0s",
        ])
        .unwrap();
        let errors = args.store(Tier::Local).unwrap_err();
        let messages: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(messages.len(), 3, "{messages:?}");
        assert!(messages[0].starts_with("--rate-limit-redis: not a Redis URL"));
        assert_eq!(
            messages[1],
            "--rate-limit-key \"{x}\": braces would break the key's hash tag"
        );
        assert_eq!(
            messages[2],
            "--rate-limit-redis-timeout: must be more than zero"
        );
        assert!(
            messages.iter().all(|m| !m.contains("hunter2")),
            "{messages:?}"
        );
    }
}
