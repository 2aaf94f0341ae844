//! The lead: one Redis key naming the server that does the work which must happen once in a
//! cluster (alert notifications and their records, Google Sheets uploads). Taken with
//! `SET NX PX`, renewed a few times per lease period by a compare-and-extend script, given up
//! at shutdown by a compare-and-delete script; a server that dies loses it when its lease runs
//! out, and another takes it at its next try, within one lease period.
//!
//! A server counts itself the holder only until the lease it last took or renewed would run
//! out, measured from before it asked, less a margin for clock rates: with a stalled
//! connection it stops acting before another server could start.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use redis::Script;
use redis::aio::ConnectionManager;
use tracing::{info, warn};

/// Renewal: extend only while the key still names this server.
const RENEW: &str = r"if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0";

/// Release: delete only while the key still names this server.
const RELEASE: &str = r"if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0";

/// This server's view of the lead.
#[derive(Debug)]
pub struct Lead {
    key: String,
    id: String,
    lease: Duration,
    held_until: Mutex<Option<Instant>>,
    outage: super::outage::Outage,
}

impl Lead {
    /// The lead under `key`, for server `id`, leased for `lease` at a time.
    #[must_use]
    pub fn new(key: String, id: String, lease: Duration) -> Self {
        Self {
            key,
            id,
            lease,
            held_until: Mutex::new(None),
            outage: super::outage::Outage::new("hold the lead"),
        }
    }

    /// Whether this server holds the lead now.
    #[must_use]
    pub fn held(&self) -> bool {
        let until = *self.held_until.lock().unwrap_or_else(|e| e.into_inner());
        until.is_some_and(|t| Instant::now() < t)
    }

    /// How often the lead is tried for or renewed.
    #[must_use]
    pub fn every(&self) -> Duration {
        self.lease / 4
    }

    /// Takes the lead when free, or renews it when held. Returns whether it is held now.
    pub async fn try_once(&self, conn: &mut ConnectionManager) -> bool {
        let asked = Instant::now();
        let ms = u64::try_from(self.lease.as_millis()).unwrap_or(u64::MAX);
        let was = self.held();
        let ask = async {
            if was {
                Script::new(RENEW)
                    .key(&self.key)
                    .arg(&self.id)
                    .arg(ms)
                    .invoke_async::<i64>(conn)
                    .await
                    .map(|n| n == 1)
            } else {
                redis::cmd("SET")
                    .arg(&self.key)
                    .arg(&self.id)
                    .arg("NX")
                    .arg("PX")
                    .arg(ms)
                    .query_async::<Option<String>>(conn)
                    .await
                    .map(|ok| ok.is_some())
            }
        };
        // An answer later than the next try is no answer: the lead runs out meanwhile.
        let result = tokio::time::timeout(self.every(), ask)
            .await
            .unwrap_or_else(|_| {
                Err(redis::RedisError::from(std::io::Error::from(
                    std::io::ErrorKind::TimedOut,
                )))
            });
        let mut until = self.held_until.lock().unwrap_or_else(|e| e.into_inner());
        match result {
            Ok(true) => {
                self.outage.worked();
                // A tenth of the lease covers clocks that run at slightly different rates.
                *until = Some(asked + self.lease - self.lease / 10);
                if !was {
                    info!("this server now leads the cluster (alerts, Sheets uploads)");
                }
            }
            Ok(false) => {
                self.outage.worked();
                if was {
                    warn!("this server lost the lead of the cluster to another");
                }
                *until = None;
            }
            Err(e) => {
                // Keep what was held until it runs out: Redis may be back before then.
                self.outage.failed(&e);
            }
        }
        until.is_some_and(|t| Instant::now() < t)
    }

    /// Gives the lead up (at shutdown), so another server takes it at once.
    pub async fn release(&self, conn: &mut ConnectionManager) {
        if !self.held() {
            return;
        }
        *self.held_until.lock().unwrap_or_else(|e| e.into_inner()) = None;
        if let Err(e) = Script::new(RELEASE)
            .key(&self.key)
            .arg(&self.id)
            .invoke_async::<i64>(conn)
            .await
        {
            warn!("cannot give up the lead ({e}); another server takes it when it runs out");
        }
    }

    /// Holds the lead whenever it is free, until aborted.
    pub async fn run(&self, mut conn: ConnectionManager) {
        let mut tick = tokio::time::interval(self.every());
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            self.try_once(&mut conn).await;
        }
    }
}
