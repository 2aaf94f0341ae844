//! The lead: one Redis key naming the server that does the work which must happen once in a
//! cluster (alert notifications and their records, Google Sheets uploads, licence-server polls,
//! and on a shared store retention and aging). One script takes it when free (`SET … PX`) or
//! extends it when it names this server, a few times per lease; a compare-and-delete script
//! gives it up at shutdown. A server that dies loses it when its
//! lease runs out, and another takes it at its next try.
//!
//! A server counts itself the holder only until the lease it last took or extended would run
//! out, measured from before it asked, less a margin for clock rates: with a stalled
//! connection it stops acting before its key can expire. And a server that takes a free lead
//! acts only one lease later: a key that vanished early (Redis restarted empty, or evicted it)
//! may have named another server that still counts itself the holder until then. A dead
//! leader is thus replaced within two leases and a try.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use redis::Script;
use redis::aio::ConnectionManager;
use tracing::{info, warn};

/// Take the key when free (2), extend it when it names this server (1), else 0.
const TAKE: &str = r"local holder = redis.call('GET', KEYS[1])
if not holder then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 2
end
if holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
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
    held: Mutex<Held>,
    outage: super::outage::Outage,
    take: Script,
    release: Script,
}

/// When the key names this server, by its own clock.
#[derive(Debug, Default, Clone, Copy)]
struct Held {
    /// From when it acts as the leader.
    from: Option<Instant>,
    /// Until when the key names it at least.
    until: Option<Instant>,
}

impl Held {
    fn now(self, now: Instant) -> bool {
        self.from.is_some_and(|f| f <= now) && self.until.is_some_and(|u| now < u)
    }
}

impl Lead {
    /// The lead under `key`, for server `id`, leased for `lease` at a time.
    #[must_use]
    pub fn new(key: String, id: String, lease: Duration) -> Self {
        Self {
            key,
            id,
            lease,
            held: Mutex::new(Held::default()),
            outage: super::outage::Outage::new("hold the lead"),
            take: Script::new(TAKE),
            release: Script::new(RELEASE),
        }
    }

    /// Whether this server holds the lead now.
    #[must_use]
    pub fn held(&self) -> bool {
        self.state().now(Instant::now())
    }

    fn state(&self) -> std::sync::MutexGuard<'_, Held> {
        self.held
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// How often the lead is tried for or renewed.
    #[must_use]
    pub fn every(&self) -> Duration {
        self.lease / 4
    }

    /// Takes the lead when free, or extends it when held. Returns whether it is held now.
    pub async fn try_once(&self, conn: &mut ConnectionManager) -> bool {
        let asked = Instant::now();
        let ms = u64::try_from(self.lease.as_millis()).unwrap_or(u64::MAX);
        let was = self.held();
        let mut invocation = self.take.key(&self.key);
        invocation.arg(&self.id).arg(ms);
        let ask = invocation.invoke_async::<i64>(conn);
        // An answer later than the next try is no answer: the lead runs out meanwhile.
        let result = tokio::time::timeout(self.every(), ask)
            .await
            .unwrap_or_else(|_| {
                Err(redis::RedisError::from(std::io::Error::from(
                    std::io::ErrorKind::TimedOut,
                )))
            });
        let mut held = self.state();
        // A tenth of the lease covers clocks that run at slightly different rates.
        let until = asked + self.lease - self.lease / 10;
        match result {
            Ok(2) => {
                self.outage.worked();
                // Taken free: act now only if the key named this server until now (it vanished
                // early); otherwise once a former holder can no longer count itself one.
                if held.until.is_none_or(|u| asked >= u) || held.from.is_none() {
                    held.from = Some(asked + self.lease);
                }
                held.until = Some(until);
            }
            Ok(1) => {
                self.outage.worked();
                // Already this server's: a try whose answer was lost took it free, so wait as
                // after taking it, unless it was acting already.
                held.from.get_or_insert(asked + self.lease);
                held.until = Some(until);
            }
            Ok(_) => {
                self.outage.worked();
                if was {
                    warn!("this server lost the lead of the cluster to another");
                }
                *held = Held::default();
            }
            Err(e) => {
                // Keep what was held until it runs out: Redis may be back before then.
                self.outage.failed(&e);
            }
        }
        let now = held.now(Instant::now());
        if now && !was {
            info!("this server now leads the cluster (alerts, licence polls, Sheets uploads)");
        }
        now
    }

    /// Gives the lead up (at shutdown), so another server takes it at once.
    pub async fn release(&self, conn: &mut ConnectionManager) {
        // Also while waiting to act: the key names this server all the same.
        if self.state().until.is_none_or(|u| Instant::now() >= u) {
            return;
        }
        *self.state() = Held::default();
        if let Err(e) = self
            .release
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
