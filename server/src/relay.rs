//! Flow control of the relay to dashboards, by bytes. The Socket.IO library bounds a socket's
//! send queue in packets only (`limits.socket_buffer`), and a packet may be a 1 MiB snapshot:
//! a dashboard that stops reading could hold a gigabyte. Here each dashboard's backlog is
//! estimated as the bytes relayed to it less the bytes its client has taken — written to its
//! WebSocket connection, or returned by its polling requests ([`Drains`]) — and a dashboard
//! more than `limits.dashboard_buffer` behind is paused: moved out of the dashboards room, it
//! misses telemetry (counted as dropped) until it has read half of its backlog, then rejoins
//! and gets the current `agent_list`.
//!
//! Checks run on the broadcasting thread before a large event and at least every
//! [`CHECK_EVERY_BYTES`] relayed, and on a timer for paused dashboards; between checks a
//! dashboard can fall behind by at most that much more.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use socketioxide::SocketIo;
use socketioxide::adapter::Adapter;
use socketioxide::extract::SocketRef;
use socketioxide::socket::Socket;

use crate::serve::ConnMeter;

/// Room of dashboards paused for being too far behind.
pub const PAUSED: &str = "dashboards-paused";

/// Relayed bytes between two checks at most (a larger event is checked on its own).
pub const CHECK_EVERY_BYTES: u64 = 256 << 10;

/// How often paused dashboards are looked at again.
pub const RESUME_EVERY: Duration = Duration::from_millis(250);

/// What one Engine.IO session's client has taken from the server.
#[derive(Debug)]
pub struct Drain {
    polled: AtomicU64,
    ws: OnceLock<Arc<ConnMeter>>,
    /// Bytes `ws` had written before it carried this session (the upgrade's own answer).
    ws_base: AtomicU64,
    claimed: AtomicBool,
    created: Instant,
}

impl Drain {
    fn new() -> Self {
        Self {
            polled: AtomicU64::new(0),
            ws: OnceLock::new(),
            ws_base: AtomicU64::new(0),
            claimed: AtomicBool::new(false),
            created: Instant::now(),
        }
    }

    /// Bytes taken so far.
    #[must_use]
    pub fn drained(&self) -> u64 {
        let ws = self.ws.get().map_or(0, |m| {
            m.written().saturating_sub(self.ws_base.load(Relaxed))
        });
        self.polled.load(Relaxed) + ws
    }

    /// Counts the body bytes of one polling answer.
    pub fn add_polled(&self, bytes: u64) {
        self.polled.fetch_add(bytes, Relaxed);
    }

    /// The session's WebSocket connection (its upgrade, or its handshake when it began as one).
    pub fn set_websocket(&self, meter: Arc<ConnMeter>) {
        let base = meter.written();
        if self.ws.set(meter).is_ok() {
            self.ws_base.store(base, Relaxed);
        }
    }
}

/// Drains by Engine.IO session id (which is also the Socket.IO socket id on namespace `/`).
#[derive(Debug, Default)]
pub struct Drains {
    by_sid: Mutex<HashMap<String, Arc<Drain>>>,
}

/// Unclaimed sessions (of agents upgrading to WebSocket) are forgotten after this.
const UNCLAIMED_FOR: Duration = Duration::from_secs(60);
/// Sessions remembered before unclaimed old ones are forgotten.
const PRUNE_AT: usize = 4096;

impl Drains {
    /// The session's drain, created if needed.
    pub fn get_or_create(&self, sid: &str) -> Arc<Drain> {
        let mut map = self.lock();
        if let Some(d) = map.get(sid) {
            return d.clone();
        }
        if map.len() >= PRUNE_AT {
            map.retain(|_, d| d.claimed.load(Relaxed) || d.created.elapsed() < UNCLAIMED_FOR);
        }
        let drain = Arc::new(Drain::new());
        map.insert(sid.to_owned(), drain.clone());
        drain
    }

    /// The session's drain, if a dashboard claimed it.
    #[must_use]
    pub fn get(&self, sid: &str) -> Option<Arc<Drain>> {
        self.lock().get(sid).cloned()
    }

    /// A dashboard's session: its drain, kept until [`Drains::forget`].
    pub fn claim(&self, sid: &str) -> Arc<Drain> {
        let drain = self.get_or_create(sid);
        drain.claimed.store(true, Relaxed);
        drain
    }

    /// The session ended.
    pub fn forget(&self, sid: &str) {
        self.lock().remove(sid);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Drain>>> {
        self.by_sid
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// One dashboard's backlog estimate.
#[derive(Debug)]
pub struct Flow {
    drain: Arc<Drain>,
    state: Mutex<FlowState>,
}

#[derive(Debug)]
struct FlowState {
    paused: bool,
    /// Estimated backlog at the marks.
    base: u64,
    relayed_mark: u64,
    drained_mark: u64,
}

impl Flow {
    /// A dashboard joining now, when `relayed` bytes have been relayed in all.
    #[must_use]
    pub fn new(drain: Arc<Drain>, relayed: u64) -> Arc<Self> {
        let drained = drain.drained();
        Arc::new(Self {
            drain,
            state: Mutex::new(FlowState {
                paused: false,
                base: 0,
                relayed_mark: relayed,
                drained_mark: drained,
            }),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, FlowState> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The backlog now, folded into the marks (so credit for bytes the estimate did not count,
    /// such as framing, never accumulates).
    fn backlog(&self, relayed: u64) -> (u64, bool) {
        let mut s = self.lock();
        (self.fold(&mut s, relayed), s.paused)
    }

    fn fold(&self, s: &mut FlowState, relayed: u64) -> u64 {
        let drained = self.drain.drained();
        let sent = if s.paused {
            0
        } else {
            relayed.saturating_sub(s.relayed_mark)
        };
        let backlog = (s.base + sent).saturating_sub(drained.saturating_sub(s.drained_mark));
        s.base = backlog;
        s.relayed_mark = relayed;
        s.drained_mark = drained;
        backlog
    }

    fn is_paused(&self) -> bool {
        self.lock().paused
    }

    fn set_paused(&self, paused: bool, relayed: u64) {
        let mut s = self.lock();
        s.paused = paused;
        s.relayed_mark = relayed;
    }
}

/// The relay's totals and the checks.
#[derive(Debug)]
pub struct Relay {
    budget: u64,
    relayed: AtomicU64,
    since_check: AtomicU64,
    paused: AtomicU64,
    /// Dashboards of tokens scoped to labs connected now (see `socket::scoped`).
    pub scoped: AtomicU64,
    /// Sessions' drains.
    pub drains: Drains,
}

/// Whether an event goes to a dashboard that keeps its own count of bytes relayed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admit {
    /// Send it.
    Send,
    /// Send it: the dashboard just caught up after missing events (send it the current state
    /// first).
    Resumed,
    /// Drop it: the dashboard is too far behind.
    Drop,
}

impl Relay {
    /// A dashboard may be `budget` bytes behind.
    #[must_use]
    pub fn new(budget: u64) -> Self {
        Self {
            budget,
            relayed: AtomicU64::new(0),
            since_check: AtomicU64::new(0),
            paused: AtomicU64::new(0),
            scoped: AtomicU64::new(0),
            drains: Drains::default(),
        }
    }

    /// Bytes relayed to dashboards so far (per dashboard in the room).
    #[must_use]
    pub fn relayed(&self) -> u64 {
        self.relayed.load(Relaxed)
    }

    /// Dashboards paused now: each misses every event relayed while paused.
    #[must_use]
    pub fn paused(&self) -> u64 {
        self.paused.load(Relaxed)
    }

    /// Whether an event of `bytes` calls for a check before it is sent.
    #[must_use]
    pub fn due(&self, bytes: u64) -> bool {
        bytes >= CHECK_EVERY_BYTES / 4
            || self.since_check.load(Relaxed).saturating_add(bytes) >= CHECK_EVERY_BYTES
    }

    /// Counts an event of `bytes` relayed to the dashboards room.
    pub fn sent(&self, bytes: u64) {
        self.relayed.fetch_add(bytes, Relaxed);
        self.since_check.fetch_add(bytes, Relaxed);
    }

    /// Pauses the dashboards of `io` that an event of `next` bytes would put past the budget,
    /// and resumes the paused ones that caught up (`on_resume` gets each). Each socket's
    /// [`Flow`] is in its extensions. Returns how many were paused.
    pub fn check<A: Adapter>(
        &self,
        io: &SocketIo<A>,
        dashboards: &'static str,
        next: u64,
        on_resume: impl Fn(&SocketRef<A>),
    ) -> usize {
        self.since_check.store(0, Relaxed);
        let relayed = self.relayed();
        let Some(root) = io.of("/") else {
            return 0;
        };
        let mut paused = 0;
        for socket in root.to(dashboards).sockets() {
            let Some(flow) = socket.extensions.get::<Arc<Flow>>() else {
                continue;
            };
            let (backlog, _) = flow.backlog(relayed);
            if backlog.saturating_add(next) > self.budget {
                flow.set_paused(true, relayed);
                move_room(&socket, dashboards, PAUSED);
                self.paused.fetch_add(1, Relaxed);
                paused += 1;
            }
        }
        self.resume(io, dashboards, on_resume);
        paused
    }

    /// Resumes the paused dashboards whose backlog fell to half the budget; `on_resume` gets
    /// each.
    pub fn resume<A: Adapter>(
        &self,
        io: &SocketIo<A>,
        dashboards: &'static str,
        on_resume: impl Fn(&SocketRef<A>),
    ) {
        if self.paused() == 0 {
            return;
        }
        let relayed = self.relayed();
        let Some(root) = io.of("/") else {
            return;
        };
        for socket in root.to(PAUSED).sockets() {
            let Some(flow) = socket.extensions.get::<Arc<Flow>>() else {
                continue;
            };
            let (backlog, _) = flow.backlog(relayed);
            if backlog <= self.budget / 2 {
                flow.set_paused(false, relayed);
                move_room(&socket, PAUSED, dashboards);
                self.paused.fetch_sub(1, Relaxed);
                on_resume(&socket);
            }
        }
    }

    /// Whether an event of `bytes` may go to a dashboard that gets only some events and keeps
    /// its own count of the bytes relayed to it (`relayed`, to which `bytes` is added when it
    /// may): one more than the budget behind is paused and misses events until it has read
    /// half of its backlog. Checked at each event it would get, so a paused one resumes with
    /// the next event after it caught up. Events for one dashboard may come from several
    /// threads at once: the count is read, judged and moved on under the flow's lock.
    pub fn admit(&self, flow: &Flow, relayed: &AtomicU64, bytes: u64) -> Admit {
        let mut s = flow.lock();
        let now = relayed.load(Relaxed);
        let backlog = flow.fold(&mut s, now);
        if s.paused && backlog > self.budget / 2 {
            return Admit::Drop;
        }
        if backlog.saturating_add(bytes) > self.budget {
            s.paused = true;
            return Admit::Drop;
        }
        relayed.fetch_add(bytes, Relaxed);
        if s.paused {
            s.paused = false;
            return Admit::Resumed;
        }
        Admit::Send
    }

    /// A socket went away (a paused dashboard no longer counts as one).
    pub fn left<A: Adapter>(&self, socket: &Socket<A>) {
        if let Some(flow) = socket.extensions.get::<Arc<Flow>>()
            && flow.is_paused()
        {
            self.paused.fetch_sub(1, Relaxed);
        }
        self.drains.forget(&socket.id.to_string());
    }
}

fn move_room<A: Adapter>(socket: &SocketRef<A>, from: &'static str, to: &'static str) {
    socket.leave(from);
    socket.join(to);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dashboard_with_its_own_count_pauses_past_the_budget_and_resumes_at_half_of_it() {
        let relay = Relay::new(1000);
        let drain = Arc::new(Drain::new());
        let flow = Flow::new(drain.clone(), 0);
        let relayed = AtomicU64::new(0);
        assert_eq!(relay.admit(&flow, &relayed, 900), Admit::Send);
        // 900 bytes behind: 200 more would pass the budget.
        assert_eq!(relay.admit(&flow, &relayed, 200), Admit::Drop);
        assert_eq!(relayed.load(Relaxed), 900, "a dropped event is not relayed");
        // Read 300: 600 behind, still more than half the budget.
        drain.add_polled(300);
        assert_eq!(relay.admit(&flow, &relayed, 10), Admit::Drop);
        // Read 200 more: 400 behind, it resumes (and is told so, to be sent the state first).
        drain.add_polled(200);
        assert_eq!(relay.admit(&flow, &relayed, 10), Admit::Resumed);
        assert_eq!(relay.admit(&flow, &relayed, 10), Admit::Send);
        assert_eq!(relayed.load(Relaxed), 920);
        // Once read up, it is not behind at all.
        drain.add_polled(420);
        assert_eq!(relay.admit(&flow, &relayed, 1000), Admit::Send);
    }

    #[test]
    fn events_from_many_threads_at_once_are_counted_once_each() {
        let relay = Relay::new(u64::MAX / 4);
        let flow = Flow::new(Arc::new(Drain::new()), 0);
        let relayed = AtomicU64::new(0);
        std::thread::scope(|scope| {
            for _ in 0..4 {
                scope.spawn(|| {
                    for _ in 0..10_000 {
                        assert_eq!(relay.admit(&flow, &relayed, 3), Admit::Send);
                    }
                });
            }
        });
        // Nothing was read: the backlog is exactly what was sent.
        assert_eq!(relayed.load(Relaxed), 120_000);
        assert_eq!(flow.backlog(120_000), (120_000, false));
    }
}
