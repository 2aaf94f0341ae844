//! Which server to send to: the servers of a cluster in turn. Each agent starts at a place in
//! the list chosen by its agent id (so a fleet spreads over the servers instead of all landing
//! on the first) and moves on to the next server when one cannot be reached, refuses it, or
//! takes the connection but stores nothing; the spool keeps every unacked snapshot for
//! whichever server comes next.

/// The servers in the order the agent tries them.
#[derive(Debug, Clone)]
pub struct Servers {
    urls: Vec<String>,
    at: usize,
    /// Servers tried without a connection since the last one that worked (or the start).
    failed: usize,
}

impl Servers {
    /// `urls` (at least one), starting at the place `agent_id` picks.
    ///
    /// # Panics
    /// When `urls` is empty (the configuration's check refuses that).
    #[must_use]
    pub fn new(urls: Vec<String>, agent_id: &str) -> Self {
        assert!(!urls.is_empty(), "at least one server");
        let at = usize::try_from(fnv1a(agent_id.as_bytes()) % urls.len() as u64).unwrap_or(0);
        Self {
            urls,
            at,
            failed: 0,
        }
    }

    /// The server to try now.
    #[must_use]
    pub fn current(&self) -> &str {
        &self.urls[self.at]
    }

    /// Whether there is more than one server to go to.
    #[must_use]
    pub fn several(&self) -> bool {
        self.urls.len() > 1
    }

    /// The current server could not be reached or refused the agent: the next one is current.
    /// True when every server has now failed since the last connection (time to pause before
    /// going round again).
    pub fn failed(&mut self) -> bool {
        self.at = (self.at + 1) % self.urls.len();
        self.failed += 1;
        if self.failed >= self.urls.len() {
            self.failed = 0;
            true
        } else {
            false
        }
    }

    /// The current server worked (it stored a snapshot, or had none to store).
    fn connected(&mut self) {
        self.failed = 0;
    }

    /// A session with the current server ended; true when it is time to pause. A server that
    /// `worked` and was not `refused` is tried again after a pause (the connection had a blip);
    /// one that refused the agent, or took the connection but stored nothing, counts as failed
    /// and the next is tried, pausing only after a whole round.
    pub fn after_session(&mut self, worked: bool, refused: bool) -> bool {
        if worked {
            self.connected();
        }
        if worked && !refused {
            true
        } else {
            self.failed()
        }
    }
}

/// FNV-1a: a hash that is the same on every machine and every run (std's is seeded), so an
/// agent keeps its place in the list across restarts.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn urls(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("http://s{i}:5000")).collect()
    }

    #[test]
    fn a_failure_moves_on_and_a_whole_round_of_them_says_so() {
        let mut servers = Servers::new(urls(3), "agent-a");
        let first = servers.current().to_owned();
        assert!(!servers.failed());
        assert_ne!(servers.current(), first);
        assert!(!servers.failed());
        assert!(servers.failed(), "all three failed");
        assert_eq!(servers.current(), first, "round again from the start");
        // A connection starts the count again.
        assert!(!servers.failed());
        servers.connected();
        assert!(!servers.failed());
        assert!(!servers.failed());
        assert!(servers.failed());
    }

    #[test]
    fn sessions_that_store_nothing_or_are_refused_move_on_and_pause_each_round() {
        let mut servers = Servers::new(urls(2), "agent-b");
        let first = servers.current().to_owned();
        // Every server refuses the agent: a pause every second session, never a spin.
        let pauses: Vec<bool> = (0..6).map(|_| servers.after_session(false, true)).collect();
        assert_eq!(pauses, [false, true, false, true, false, true]);
        // A server that takes connections but stores nothing is left the same way.
        assert!(!servers.after_session(false, false));
        assert_ne!(servers.current(), first);
        // One that worked is tried again after a pause.
        let worked = servers.current().to_owned();
        assert!(servers.after_session(true, false));
        assert_eq!(servers.current(), worked);
        // It worked, then refused: the next one at once.
        assert!(!servers.after_session(true, true));
        assert_ne!(servers.current(), worked);
    }

    #[test]
    fn one_server_is_a_whole_round() {
        let mut servers = Servers::new(urls(1), "agent-a");
        assert!(servers.failed());
        assert_eq!(servers.current(), "http://s0:5000");
    }

    #[test]
    fn agents_spread_over_the_servers_and_keep_their_place() {
        let mut counts = [0usize; 3];
        for i in 0..300 {
            let id = format!("0f{i:06x}-agent");
            let at = Servers::new(urls(3), &id).at;
            assert_eq!(
                Servers::new(urls(3), &id).at,
                at,
                "the same place every time"
            );
            counts[at] += 1;
        }
        assert!(counts.iter().all(|&n| n > 60), "{counts:?}");
    }
}
