//! Abuse limits: token buckets for the snapshot rate of one connection or host and the
//! connection rate of one IP address, the per-host daily byte budget ([`per_host`]), connections
//! per agent token ([`per_token`]), Engine.IO sessions waiting for their Socket.IO connect
//! ([`handshakes`]) and the storage floor ([`disk`]). A bucket holds up to
//! `burst` tokens, refilled at `rate` per second; each event takes one, and an event finding the
//! bucket empty is refused (a `busy` ack, or a refused connection), never queued.

pub mod disk;
pub mod handshakes;
pub mod per_host;
pub mod per_token;

pub use disk::DiskFloor;
pub use handshakes::PendingHandshakes;
pub use per_host::{HostRefusal, PerHost};
pub use per_token::PerToken;

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Instant;

/// One token bucket.
#[derive(Debug, Clone)]
pub struct Bucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
}

impl Bucket {
    /// A full bucket.
    #[must_use]
    pub fn new(rate: f64, burst: u32, now: Instant) -> Self {
        let burst = f64::from(burst.max(1));
        Self {
            rate,
            burst,
            tokens: burst,
            last: now,
        }
    }

    /// Takes a token if there is one.
    pub fn take(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// Whether the bucket has refilled completely (nothing to remember about its owner).
    #[must_use]
    pub fn is_full(&self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens + elapsed * self.rate >= self.burst
    }
}

/// Buckets per IP address (the connect rate).
pub struct PerIp {
    rate: f64,
    burst: u32,
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
}

/// Addresses remembered before full buckets are forgotten.
const PRUNE_AT: usize = 4096;

impl PerIp {
    /// Limits of `rate` per second with bursts of `burst`; a rate of 0 disables them.
    #[must_use]
    pub fn new(rate: f64, burst: u32) -> Self {
        Self {
            rate,
            burst,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Whether `ip` may connect now.
    pub fn allow(&self, ip: IpAddr, now: Instant) -> bool {
        if self.rate <= 0.0 {
            return true;
        }
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if buckets.len() >= PRUNE_AT {
            buckets.retain(|_, b| !b.is_full(now));
        }
        buckets
            .entry(ip)
            .or_insert_with(|| Bucket::new(self.rate, self.burst, now))
            .take(now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_bucket_allows_its_burst_then_its_rate() {
        let t0 = Instant::now();
        let mut b = Bucket::new(2.0, 5, t0);
        assert_eq!((0..10).filter(|_| b.take(t0)).count(), 5);
        assert!(!b.take(t0 + Duration::from_millis(400)));
        assert!(b.take(t0 + Duration::from_millis(500)));
        // 1.5 s later, 3 tokens have come back; the bucket never holds more than the burst.
        let later = t0 + Duration::from_secs(2);
        assert_eq!((0..10).filter(|_| b.take(later)).count(), 3);
        assert!(b.is_full(t0 + Duration::from_secs(10)));
        assert_eq!(
            (0..10)
                .filter(|_| b.take(t0 + Duration::from_secs(10)))
                .count(),
            5
        );
    }

    #[test]
    fn addresses_are_limited_separately_and_zero_disables() {
        let t0 = Instant::now();
        let limits = PerIp::new(1.0, 2);
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        assert!(limits.allow(a, t0) && limits.allow(a, t0));
        assert!(!limits.allow(a, t0));
        assert!(limits.allow(b, t0));
        let off = PerIp::new(0.0, 1);
        assert!((0..100).all(|_| off.allow(a, t0)));
    }
}
