//! Failed authentication, limited per peer address: a peer that has failed `limit` times
//! within a window is refused every request (a valid token too) until the window ends, so
//! that guessing tokens runs at `limit` guesses per window at most. Fixed windows per peer,
//! on tokio's clock; the table forgets peers whose window has passed once it grows large.

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
const PRUNE_AT: usize = 10_000;

#[derive(Debug)]
pub struct AuthFailures {
    limit: u32,
    window: Duration,
    peers: Mutex<HashMap<IpAddr, (Instant, u32)>>,
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
            peers: Mutex::new(HashMap::new()),
        }
    }

    /// `Err(wait)`: the peer is locked out for `wait` more.
    pub fn check(&self, peer: IpAddr) -> Result<(), Duration> {
        let now = Instant::now();
        let Ok(peers) = self.peers.lock() else {
            return Ok(());
        };
        match peers.get(&peer) {
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
        if peers.len() >= PRUNE_AT {
            let window = self.window;
            peers.retain(|_, (since, _)| *since + window > now);
        }
        let entry = peers.entry(peer).or_insert((now, 0));
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
}
