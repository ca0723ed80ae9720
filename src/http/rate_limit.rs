//! Sign-in throttling: failed attempts are counted per client address and per email over a
//! sliding window, so one attacker cannot guess passwords quickly nor lock every user out.

use std::{
    collections::{HashMap, VecDeque},
    sync::Mutex,
    time::{Duration, Instant},
};

/// Failed attempts allowed per email within [`WINDOW`].
pub const MAX_FAILURES: usize = 10;
/// Failed attempts allowed per client address: higher, because an office or a proxy puts
/// many people behind one address.
pub const MAX_FAILURES_PER_ADDRESS: usize = 50;
pub const WINDOW: Duration = Duration::from_secs(15 * 60);
/// Keys kept before stale ones are swept.
const SWEEP_AT: usize = 10_000;

#[derive(Default)]
pub struct LoginLimiter {
    failures: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl LoginLimiter {
    /// Counts an attempt before the password is checked, so parallel guesses cannot all slip
    /// under the limit; `Err(seconds)` when a key is already over it. Call [`forgive`] when
    /// the attempt succeeds.
    ///
    /// [`forgive`]: LoginLimiter::forgive
    pub fn attempt(&self, keys: &[String]) -> Result<(), u64> {
        self.check(keys)?;
        self.record_failure(keys);
        Ok(())
    }

    /// Takes back the attempt recorded by the latest [`LoginLimiter::attempt`] on `keys`.
    pub fn forgive(&self, keys: &[String]) {
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        for key in keys {
            if let Some(times) = map.get_mut(key) {
                times.pop_back();
            }
        }
    }

    fn limit(key: &str) -> usize {
        if key.starts_with("ip:") {
            MAX_FAILURES_PER_ADDRESS
        } else {
            MAX_FAILURES
        }
    }

    /// `Err(seconds)` when any key is over its limit, with how long until it frees up.
    pub fn check(&self, keys: &[String]) -> Result<(), u64> {
        let now = Instant::now();
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let mut wait = None;
        for key in keys {
            if let Some(times) = map.get_mut(key) {
                while times
                    .front()
                    .is_some_and(|t| now.duration_since(*t) > WINDOW)
                {
                    times.pop_front();
                }
                if times.len() >= Self::limit(key) {
                    let oldest = times.front().copied().unwrap_or(now);
                    let secs = WINDOW
                        .saturating_sub(now.duration_since(oldest))
                        .as_secs()
                        .max(1);
                    wait = Some(wait.map_or(secs, |w: u64| w.max(secs)));
                }
            }
        }
        wait.map_or(Ok(()), Err)
    }

    pub fn record_failure(&self, keys: &[String]) {
        let now = Instant::now();
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() > SWEEP_AT {
            map.retain(|_, times| {
                times
                    .back()
                    .is_some_and(|t| now.duration_since(*t) <= WINDOW)
            });
        }
        for key in keys {
            map.entry(key.clone()).or_default().push_back(now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn successful_attempts_are_forgiven() {
        let limiter = LoginLimiter::default();
        let keys = vec!["ip:9".to_owned(), "email:z".to_owned()];
        for _ in 0..MAX_FAILURES * 2 {
            limiter.attempt(&keys).unwrap();
            limiter.forgive(&keys);
        }
        assert!(limiter.check(&keys).is_ok());
    }

    #[test]
    fn addresses_get_a_higher_limit() {
        let limiter = LoginLimiter::default();
        for i in 0..MAX_FAILURES_PER_ADDRESS {
            limiter
                .attempt(&["ip:1".into(), format!("email:{i}")])
                .unwrap();
        }
        assert!(
            limiter
                .attempt(&["ip:1".into(), "email:new".into()])
                .is_err()
        );
    }

    #[test]
    fn blocks_after_too_many_failures() {
        let limiter = LoginLimiter::default();
        let keys = vec!["ip:1".to_owned(), "email:a".to_owned()];
        for _ in 0..MAX_FAILURES {
            assert!(limiter.check(&keys).is_ok());
            limiter.record_failure(&keys);
        }
        let wait = limiter.check(&keys).unwrap_err();
        assert!(wait > 0 && wait <= WINDOW.as_secs());
        // Another address trying another account is unaffected.
        assert!(limiter.check(&["ip:2".into(), "email:b".into()]).is_ok());
    }
}
