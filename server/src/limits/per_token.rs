//! Open Socket.IO connections per per-host agent token: one token in hostile hands may hold
//! `limits.connections_per_token` connections, not every slot of the server.
//!
//! A std `Mutex` guards the map: each critical section is one map operation and nothing awaits
//! while it is held.

use std::collections::HashMap;
use std::sync::Mutex;

/// Connection counts by token id.
pub struct PerToken {
    cap: usize,
    open: Mutex<HashMap<u64, usize>>,
}

impl PerToken {
    /// At most `cap` connections per token (0: no limit).
    #[must_use]
    pub fn new(cap: usize) -> Self {
        Self {
            cap,
            open: Mutex::new(HashMap::new()),
        }
    }

    /// The cap (0: none).
    #[must_use]
    pub fn cap(&self) -> usize {
        self.cap
    }

    /// Counts a new connection of token `id`; false (nothing counted) when it already holds
    /// the most allowed.
    pub fn try_open(&self, id: u64) -> bool {
        let mut open = self.lock();
        let n = open.entry(id).or_insert(0);
        if self.cap > 0 && *n >= self.cap {
            if *n == 0 {
                open.remove(&id);
            }
            return false;
        }
        *n += 1;
        true
    }

    /// A connection of token `id` closed.
    pub fn close(&self, id: u64) {
        let mut open = self.lock();
        if let Some(n) = open.get_mut(&id) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                open.remove(&id);
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, usize>> {
        self.open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_holds_at_most_its_cap_and_closing_frees_a_slot() {
        let counts = PerToken::new(2);
        assert!(counts.try_open(7) && counts.try_open(7));
        assert!(!counts.try_open(7));
        assert!(counts.try_open(8), "other tokens are counted apart");
        counts.close(7);
        assert!(counts.try_open(7));
        let unlimited = PerToken::new(0);
        assert!((0..100).all(|_| unlimited.try_open(1)));
    }
}
