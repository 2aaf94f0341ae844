//! Connections from one address that have not yet sent a complete request. A slow or silent
//! client (slowloris) holds a file descriptor until the header timeout closes it; this cap
//! keeps one address from holding more than `limits.idle_connections_per_ip` of them at once,
//! so the others (and `/healthz`) are still served.
//!
//! A std `Mutex` guards the map: each critical section is one map operation and nothing awaits
//! while it is held.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::{Arc, Mutex};

/// Counts per address.
#[derive(Debug, Default)]
pub struct IdleConnections {
    cap: usize,
    by_ip: Mutex<HashMap<IpAddr, usize>>,
}

/// One connection still waiting for its first request; counted until
/// [`Waiting::request_seen`] or drop.
#[derive(Debug)]
pub struct Waiting {
    owner: Arc<IdleConnections>,
    ip: IpAddr,
    done: AtomicBool,
}

impl IdleConnections {
    /// At most `cap` per address (0: no limit).
    #[must_use]
    pub fn new(cap: usize) -> Arc<Self> {
        Arc::new(Self {
            cap,
            by_ip: Mutex::new(HashMap::new()),
        })
    }

    /// Counts a new connection from `ip`, or `None` when the address already has `cap`.
    pub fn open(self: &Arc<Self>, ip: IpAddr) -> Option<Waiting> {
        let mut by_ip = self.lock();
        let n = by_ip.entry(ip).or_insert(0);
        if self.cap > 0 && *n >= self.cap {
            return None;
        }
        *n += 1;
        Some(Waiting {
            owner: self.clone(),
            ip,
            done: AtomicBool::new(false),
        })
    }

    fn release(&self, ip: IpAddr) {
        let mut by_ip = self.lock();
        if let Some(n) = by_ip.get_mut(&ip) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                by_ip.remove(&ip);
            }
        }
    }

    /// Connections of `ip` waiting now.
    #[must_use]
    pub fn of(&self, ip: IpAddr) -> usize {
        self.lock().get(&ip).copied().unwrap_or(0)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, usize>> {
        self.by_ip
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Waiting {
    /// The connection sent a complete request: it no longer counts.
    pub fn request_seen(&self) {
        if !self.done.swap(true, Relaxed) {
            self.owner.release(self.ip);
        }
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        self.request_seen();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_holds_at_most_its_cap_until_a_request_or_a_close() {
        let idle = IdleConnections::new(2);
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let a = idle.open(ip).unwrap();
        let b = idle.open(ip).unwrap();
        assert!(idle.open(ip).is_none());
        assert!(idle.open("10.0.0.2".parse().unwrap()).is_some());
        a.request_seen();
        a.request_seen();
        assert_eq!(idle.of(ip), 1, "counted once");
        let c = idle.open(ip).unwrap();
        drop(b);
        drop(c);
        drop(a);
        assert_eq!(idle.of(ip), 0);
    }
}
