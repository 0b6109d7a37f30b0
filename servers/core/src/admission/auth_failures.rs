//! Failed authentication, limited per peer address: a peer that has failed `limit` times
//! within a window is refused every request (a valid token too) until the window ends, so
//! that guessing tokens runs at `limit` guesses per window at most (plus the guesses
//! already in flight when the limit is reached: the check and the count are not one step).
//! Fixed windows per peer, on tokio's clock; an IPv6 peer counts by its /64 (one host
//! holds a whole /64). The table forgets peers whose window has passed, at most once a
//! window, once it holds [`PRUNE_AT`]; at [`MAX_PEERS`] new peers are not counted. Callers
//! behind one address (a NAT, a load balancer) share its count.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// Failed authentications a peer may have per window.
pub const FAILURES_PER_WINDOW: u32 = 20;
/// The window.
pub const WINDOW: Duration = Duration::from_secs(60);
/// Peers kept before those whose window has passed are dropped.
pub const PRUNE_AT: usize = 10_000;
/// Peers kept at most.
pub const MAX_PEERS: usize = 100_000;

#[derive(Debug)]
pub struct AuthFailures {
    limit: u32,
    window: Duration,
    peers: Mutex<Peers>,
}

#[derive(Debug, Default)]
struct Peers {
    counts: HashMap<IpAddr, (Instant, u32)>,
    pruned: Option<Instant>,
}

/// The address a peer is counted under: itself, or an IPv6 address's /64.
fn key(peer: IpAddr) -> IpAddr {
    match peer {
        IpAddr::V6(v6) if v6.to_ipv4_mapped().is_none() => {
            let bits = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(bits.into())
        }
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(peer, IpAddr::V4),
        v4 => v4,
    }
}

impl Default for AuthFailures {
    fn default() -> Self {
        AuthFailures::new(FAILURES_PER_WINDOW, WINDOW)
    }
}

impl AuthFailures {
    pub fn new(limit: u32, window: Duration) -> Self {
        AuthFailures {
            limit,
            window,
            peers: Mutex::new(Peers::default()),
        }
    }

    /// `Err(wait)`: the peer is locked out for `wait` more.
    pub fn check(&self, peer: IpAddr) -> Result<(), Duration> {
        let now = Instant::now();
        let Ok(peers) = self.peers.lock() else {
            return Ok(());
        };
        match peers.counts.get(&key(peer)) {
            Some((since, failed)) if *failed >= self.limit => {
                let until = *since + self.window;
                if until > now {
                    Err(until - now)
                } else {
                    Ok(())
                }
            }
            _ => Ok(()),
        }
    }

    /// Counts a failure of `peer`.
    pub fn failed(&self, peer: IpAddr) {
        let now = Instant::now();
        let Ok(mut peers) = self.peers.lock() else {
            return;
        };
        let window = self.window;
        if peers.counts.len() >= PRUNE_AT && peers.pruned.is_none_or(|p| p + window <= now) {
            peers.counts.retain(|_, (since, _)| *since + window > now);
            peers.pruned = Some(now);
        }
        let peer = key(peer);
        if peers.counts.len() >= MAX_PEERS && !peers.counts.contains_key(&peer) {
            return;
        }
        let entry = peers.counts.entry(peer).or_insert((now, 0));
        if entry.0 + self.window <= now {
            *entry = (now, 0);
        }
        entry.1 += 1;
    }

    pub fn limit(&self) -> u32 {
        self.limit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_peer_is_locked_out_after_its_failures_until_the_window_ends() {
        let f = AuthFailures::new(3, Duration::from_secs(60));
        let attacker: IpAddr = "127.0.0.9".parse().unwrap();
        let other: IpAddr = "127.0.0.10".parse().unwrap();
        for _ in 0..3 {
            assert_eq!(f.check(attacker), Ok(()));
            f.failed(attacker);
        }
        tokio::time::advance(Duration::from_secs(20)).await;
        assert_eq!(f.check(attacker), Err(Duration::from_secs(40)));
        assert_eq!(f.check(other), Ok(()), "other peers are not affected");
        tokio::time::advance(Duration::from_secs(40)).await;
        assert_eq!(f.check(attacker), Ok(()), "the window has passed");
        f.failed(attacker);
        assert_eq!(f.check(attacker), Ok(()), "a new window counts from one");
    }

    #[tokio::test(start_paused = true)]
    async fn an_ipv6_host_counts_by_its_64_and_a_mapped_ipv4_as_itself() {
        let f = AuthFailures::new(2, Duration::from_secs(60));
        f.failed("2001:db8::1".parse().unwrap());
        f.failed("2001:db8::ffff:2".parse().unwrap());
        assert!(f.check("2001:db8::3".parse().unwrap()).is_err());
        assert_eq!(f.check("2001:db8:0:1::1".parse().unwrap()), Ok(()));
        f.failed("::ffff:127.0.0.5".parse().unwrap());
        f.failed("127.0.0.5".parse().unwrap());
        assert!(f.check("127.0.0.5".parse().unwrap()).is_err());
    }
}
