//! Login throttling per username and per client address: failed logins lock the key with an
//! exponential backoff ([`LoginPolicy`]); a locked key is answered `429 Too Many Requests` with
//! `Retry-After` BEFORE any password is hashed, so guessing costs the server nothing.
//!
//! A small table of its own rather than a rate-limiting crate: the rule counts failures only
//! (a user who logs in correctly is never slowed down) and doubles the lockout, which token-bucket
//! limiters such as `governor` do not express.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;

use crate::policy::LoginPolicy;
use crate::AppState;

/// The client's address: the TCP peer (served with `into_make_service_with_connect_info`), or
/// the last `X-Forwarded-For` entry when the policy trusts the reverse proxy in front.
pub struct ClientAddress(pub Option<IpAddr>);

impl FromRequestParts<AppState> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let forwarded = state
            .policy()
            .trust_forwarded_for
            .then(|| parts.headers.get_all("x-forwarded-for").iter().next_back())
            .flatten()
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .and_then(|v| v.trim().parse().ok());
        let peer = || {
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(addr)| addr.ip())
        };
        Ok(ClientAddress(forwarded.or_else(peer)))
    }
}

/// The first lockout; each further failure doubles it.
const FIRST_LOCKOUT: Duration = Duration::from_secs(5);
/// Keys tracked at most (storage stays bounded whatever usernames or addresses are tried).
const MAX_KEYS: usize = 100_000;
/// Usernames are compared on this many leading characters, lowercased.
const MAX_USERNAME_KEY: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    User(String),
    /// IPv4 address, or the /64 network of an IPv6 address (one host owns a whole /64).
    Address(IpAddr),
}

#[derive(Debug, Clone, Copy)]
struct Strikes {
    failures: u32,
    last_failure: Instant,
    locked_until: Option<Instant>,
}

pub struct LoginThrottle {
    policy: LoginPolicy,
    keys: Mutex<HashMap<Key, Strikes>>,
}

fn user_key(username: &str) -> Key {
    Key::User(
        username
            .trim()
            .chars()
            .take(MAX_USERNAME_KEY)
            .flat_map(char::to_lowercase)
            .collect(),
    )
}

fn address_key(address: IpAddr) -> Key {
    Key::Address(match address {
        IpAddr::V4(_) => address,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let mut segments = v6.segments();
                segments[4..].fill(0);
                IpAddr::V6(segments.into())
            }
        },
    })
}

impl LoginThrottle {
    pub fn new(policy: LoginPolicy) -> Self {
        Self {
            policy,
            keys: Mutex::new(HashMap::new()),
        }
    }

    fn keys(&self, username: &str, address: Option<IpAddr>) -> Vec<(Key, u32)> {
        let mut keys = vec![(user_key(username), self.policy.free_failures_per_user)];
        if let Some(address) = address {
            keys.push((address_key(address), self.policy.free_failures_per_address));
        }
        keys
    }

    /// `Err(wait)` while the username or the address is locked.
    pub fn check(&self, username: &str, address: Option<IpAddr>) -> Result<(), Duration> {
        let now = Instant::now();
        let table = self.keys.lock().expect("throttle table");
        let wait = self
            .keys(username, address)
            .into_iter()
            .filter_map(|(key, _)| table.get(&key)?.locked_until)
            .filter_map(|until| until.checked_duration_since(now))
            .filter(|wait| !wait.is_zero())
            .max();
        wait.map_or(Ok(()), Err)
    }

    /// Records a failed login; returns how long the username or address is now locked, if it is.
    pub fn failed(&self, username: &str, address: Option<IpAddr>) -> Option<Duration> {
        let now = Instant::now();
        let mut table = self.keys.lock().expect("throttle table");
        if table.len() >= MAX_KEYS {
            self.forget_stale(&mut table, now);
        }
        let mut longest = None;
        for (key, free) in self.keys(username, address) {
            if !table.contains_key(&key) && table.len() >= MAX_KEYS {
                evict_oldest(&mut table);
            }
            let strikes = table.entry(key).or_insert(Strikes {
                failures: 0,
                last_failure: now,
                locked_until: None,
            });
            if now.duration_since(strikes.last_failure) > self.policy.max_lockout {
                strikes.failures = 0;
            }
            strikes.failures += 1;
            strikes.last_failure = now;
            if strikes.failures >= free {
                let doublings = (strikes.failures - free).min(30);
                let lockout = (FIRST_LOCKOUT * (1u32 << doublings)).min(self.policy.max_lockout);
                strikes.locked_until = Some(now + lockout);
                longest = longest.max(Some(lockout));
            }
        }
        longest
    }

    /// A correct password clears the username's failures (the address keeps its own).
    pub fn succeeded(&self, username: &str) {
        self.keys
            .lock()
            .expect("throttle table")
            .remove(&user_key(username));
    }

    fn forget_stale(&self, table: &mut HashMap<Key, Strikes>, now: Instant) {
        let keep = self.policy.max_lockout;
        table.retain(|_, s| {
            now.duration_since(s.last_failure) <= keep || s.locked_until.is_some_and(|u| u > now)
        });
    }
}

fn evict_oldest(table: &mut HashMap<Key, Strikes>) {
    let oldest = table
        .iter()
        .min_by_key(|(_, s)| s.last_failure)
        .map(|(k, _)| k.clone());
    if let Some(key) = oldest {
        table.remove(&key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn throttle() -> LoginThrottle {
        LoginThrottle::new(LoginPolicy {
            free_failures_per_user: 3,
            free_failures_per_address: 5,
            max_lockout: Duration::from_secs(60),
        })
    }

    #[test]
    fn failures_lock_the_username_with_a_doubling_lockout() {
        let t = throttle();
        let here: Option<IpAddr> = Some("10.0.0.1".parse().unwrap());
        assert_eq!(t.failed("Ana", here), None);
        assert_eq!(t.failed("ana", here), None);
        assert_eq!(t.failed("ANA ", here), Some(Duration::from_secs(5)));
        assert_eq!(t.failed("ana", here), Some(Duration::from_secs(10)));
        assert_eq!(t.failed("ana", here), Some(Duration::from_secs(20)));
        assert!(t.check("ana", None).is_err());
        // Another user from another address is not affected; a success clears the username.
        assert_eq!(t.check("bo", Some("10.0.0.2".parse().unwrap())), Ok(()));
        t.succeeded("ana");
        assert_eq!(t.check("ana", Some("10.0.0.2".parse().unwrap())), Ok(()));
    }

    #[test]
    fn an_address_trying_many_usernames_is_locked() {
        let t = throttle();
        let here: Option<IpAddr> = Some("2001:db8::1".parse().unwrap());
        for n in 0..7 {
            t.failed(&format!("user{n}"), here);
        }
        // The same /64 network counts as the same client.
        let neighbour: Option<IpAddr> = Some("2001:db8::ffff".parse().unwrap());
        assert!(t.check("someone-else", neighbour).is_err());
        assert_eq!(t.check("someone-else", None), Ok(()));
    }

    #[test]
    fn the_lockout_never_exceeds_the_maximum() {
        let t = throttle();
        let last = (0..20).filter_map(|_| t.failed("ana", None)).last();
        assert_eq!(last, Some(Duration::from_secs(60)));
    }
}
