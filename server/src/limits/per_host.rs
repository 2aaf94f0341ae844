//! Per-host allowances: the snapshot rate and the bytes of snapshot JSON per UTC day that one
//! host may send, whatever the number of connections it opens. One token in hostile hands then
//! writes at most `host_bytes_per_day` a day, not that times its connections.
//!
//! A std `Mutex` guards the map: each critical section is one map lookup and a few additions,
//! and nothing awaits while it is held.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use super::Bucket;

/// Why a host's snapshot is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostRefusal {
    /// Faster than the host's snapshot rate.
    Rate,
    /// Today's byte budget is spent.
    DayBytes {
        /// Bytes accepted today.
        used: u64,
        /// The budget.
        budget: u64,
    },
}

#[derive(Debug)]
struct Allowance {
    rate: Option<Bucket>,
    day: i64,
    bytes: u64,
}

/// The allowances of every host that sent something recently.
pub struct PerHost {
    rate: Option<(f64, u32)>,
    bytes_per_day: u64,
    hosts: Mutex<HashMap<String, Allowance>>,
}

/// Hosts remembered before those with nothing left to remember are forgotten.
const PRUNE_AT: usize = 4096;

const DAY_MS: i64 = 86_400_000;

impl PerHost {
    /// `rate`: snapshots per second and burst (`None`: unlimited); `bytes_per_day`: 0 for
    /// unlimited.
    #[must_use]
    pub fn new(rate: Option<(f64, u32)>, bytes_per_day: u64) -> Self {
        Self {
            rate,
            bytes_per_day,
            hosts: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one snapshot of `bytes` bytes from `host`'s allowance at `now` (`now_ms` is the
    /// wall clock, whose UTC day the byte budget counts).
    ///
    /// # Errors
    /// The first allowance the snapshot exceeds; nothing is taken then.
    pub fn take(
        &self,
        host: &str,
        bytes: u64,
        now: Instant,
        now_ms: i64,
    ) -> Result<(), HostRefusal> {
        if self.rate.is_none() && self.bytes_per_day == 0 {
            return Ok(());
        }
        let day = now_ms.div_euclid(DAY_MS);
        let mut hosts = self
            .hosts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if hosts.len() >= PRUNE_AT && !hosts.contains_key(host) {
            hosts.retain(|_, a| {
                (a.day == day && a.bytes > 0) || a.rate.as_ref().is_some_and(|b| !b.is_full(now))
            });
        }
        let allowance = match hosts.get_mut(host) {
            Some(a) => a,
            None => hosts.entry(host.to_owned()).or_insert_with(|| Allowance {
                rate: self.rate.map(|(r, burst)| Bucket::new(r, burst, now)),
                day,
                bytes: 0,
            }),
        };
        if allowance.day != day {
            allowance.day = day;
            allowance.bytes = 0;
        }
        if self.bytes_per_day > 0 && allowance.bytes.saturating_add(bytes) > self.bytes_per_day {
            return Err(HostRefusal::DayBytes {
                used: allowance.bytes,
                budget: self.bytes_per_day,
            });
        }
        if let Some(bucket) = &mut allowance.rate
            && !bucket.take(now)
        {
            return Err(HostRefusal::Rate);
        }
        allowance.bytes = allowance.bytes.saturating_add(bytes);
        Ok(())
    }

    /// Gives back `bytes` of today's budget: the snapshot was not stored (`busy`, `storage`)
    /// and the agent will send it again.
    pub fn refund(&self, host: &str, bytes: u64, now_ms: i64) {
        let day = now_ms.div_euclid(DAY_MS);
        let mut hosts = self
            .hosts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(a) = hosts.get_mut(host)
            && a.day == day
        {
            a.bytes = a.bytes.saturating_sub(bytes);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    const NOON: i64 = 1_795_694_400_000; // 2026-11-26T12:00Z

    #[test]
    fn the_rate_is_per_host_not_per_caller() {
        let limits = PerHost::new(Some((1.0, 3)), 0);
        let t0 = Instant::now();
        let taken = (0..10)
            .filter(|_| limits.take("pc-1", 100, t0, NOON).is_ok())
            .count();
        assert_eq!(taken, 3, "the burst, whichever connection sends");
        assert_eq!(limits.take("pc-1", 100, t0, NOON), Err(HostRefusal::Rate));
        assert!(limits.take("pc-2", 100, t0, NOON).is_ok());
        assert!(
            limits
                .take("pc-1", 100, t0 + Duration::from_secs(1), NOON)
                .is_ok()
        );
    }

    #[test]
    fn the_byte_budget_resets_with_the_utc_day_and_refunds_count() {
        let limits = PerHost::new(None, 1000);
        let t0 = Instant::now();
        assert!(limits.take("pc", 600, t0, NOON).is_ok());
        assert_eq!(
            limits.take("pc", 500, t0, NOON),
            Err(HostRefusal::DayBytes {
                used: 600,
                budget: 1000
            })
        );
        assert!(limits.take("pc", 400, t0, NOON).is_ok());
        limits.refund("pc", 400, NOON);
        assert!(limits.take("pc", 400, t0, NOON).is_ok());
        assert!(limits.take("pc", 1, t0, NOON).is_err());
        let tomorrow = NOON + DAY_MS;
        assert!(limits.take("pc", 1000, t0, tomorrow).is_ok());
    }

    #[test]
    fn a_refused_snapshot_takes_nothing() {
        let limits = PerHost::new(Some((1.0, 1)), 1000);
        let t0 = Instant::now();
        assert!(limits.take("pc", 2000, t0, NOON).is_err());
        assert!(limits.take("pc", 10, t0, NOON).is_ok(), "rate token kept");
    }

    #[test]
    fn no_limits_take_nothing() {
        let limits = PerHost::new(None, 0);
        let t0 = Instant::now();
        assert!((0..1000).all(|_| limits.take("pc", u64::MAX, t0, NOON).is_ok()));
    }
}
