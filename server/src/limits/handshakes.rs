//! Engine.IO sessions opened but not yet connected to Socket.IO. Anyone may open one (the token
//! only comes with the Socket.IO connect that follows), and each costs memory until the connect
//! timeout ends it; past `limits.pending_handshakes` at once, new handshakes are refused with
//! 503 until some connect or time out.
//!
//! Only the count matters, so each connect retires the oldest pending entry, and entries older
//! than the connect timeout (whose sessions the Socket.IO library has closed) are dropped. A std
//! `Mutex` guards the queue: each critical section is a few queue operations and nothing awaits
//! while it is held.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The sessions waiting for their Socket.IO connect.
pub struct PendingHandshakes {
    cap: usize,
    window: Duration,
    started: Mutex<VecDeque<Instant>>,
}

impl PendingHandshakes {
    /// At most `cap` at once (0: no limit), each pending for at most `window`.
    #[must_use]
    pub fn new(cap: usize, window: Duration) -> Self {
        Self {
            cap,
            window,
            started: Mutex::new(VecDeque::new()),
        }
    }

    /// Counts a new handshake at `now`; false (nothing counted) when `cap` are pending.
    pub fn try_begin(&self, now: Instant) -> bool {
        if self.cap == 0 {
            return true;
        }
        let mut started = self.lock();
        while started
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) > self.window)
        {
            started.pop_front();
        }
        if started.len() >= self.cap {
            return false;
        }
        started.push_back(now);
        true
    }

    /// One pending session reached its Socket.IO connect (accepted or refused).
    pub fn connected(&self) {
        if self.cap > 0 {
            self.lock().pop_front();
        }
    }

    /// Sessions pending now.
    #[must_use]
    pub fn pending(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<Instant>> {
        self.started
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_most_cap_pending_until_they_connect_or_expire() {
        let pending = PendingHandshakes::new(2, Duration::from_secs(10));
        let t0 = Instant::now();
        assert!(pending.try_begin(t0) && pending.try_begin(t0));
        assert!(!pending.try_begin(t0));
        pending.connected();
        assert!(pending.try_begin(t0));
        assert!(!pending.try_begin(t0 + Duration::from_secs(10)));
        assert!(pending.try_begin(t0 + Duration::from_secs(11)), "expired");
        assert_eq!(pending.pending(), 1);
        let unlimited = PendingHandshakes::new(0, Duration::from_secs(1));
        assert!((0..100).all(|_| unlimited.try_begin(t0)));
    }
}
