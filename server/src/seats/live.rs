//! Keeps seat-view sockets and dashboards current: learns at start which apps each PC ran in
//! the installed window, then every [`TICK`] compares every PC's seat with what was last sent
//! and sends the changes as one `seats` event to the room of all labs ([`ALL`]) and to each
//! changed lab's own room ([`room_of`]). Ingest never waits for it.

use std::time::Duration;

use futures_util::FutureExt;
use idlewatch_protocol::api::{Seat, SeatState, SeatsEvent};
use idlewatch_protocol::events;
use idlewatch_protocol::time::now_ms;
use socketioxide::SocketIo;
use socketioxide::adapter::Adapter;
use socketioxide::socket::Socket;
use tracing::{debug, info, warn};

use std::sync::Arc;

use prometheus_client::metrics::counter::Counter;

use super::SeatBoard;
use crate::auth::Scope;
use crate::directory::Directory;
use crate::groups::HostGroups;
use crate::registry::HostRegistry;
use crate::stores::Stores;

/// What the seat task reads and counts.
pub struct Sources {
    /// The board.
    pub board: Arc<SeatBoard>,
    /// The live hosts.
    pub registry: Arc<HostRegistry>,
    /// Each host's group.
    pub groups: HostGroups,
    /// The PCs that should report.
    pub directory: Arc<Directory>,
    /// The history the installed apps are learnt from.
    pub store: Stores,
    /// How long one snapshot covers (3 × the report interval), ms.
    pub cover_ms: i64,
    /// `idlewatch_seat_events_total`.
    pub seat_events: Counter,
    /// `idlewatch_events_dropped_total`.
    pub events_dropped: Counter,
}

/// How often seats are compared and changes sent.
pub const TICK: Duration = Duration::from_secs(1);

/// The room of sockets that see every lab.
pub const ALL: &str = "seats";

/// The room of sockets that see lab `group` (lower-cased; `""`: the PCs in no group).
#[must_use]
pub fn room_of(group: Option<&str>) -> String {
    format!("seats:{}", group.unwrap_or_default().to_lowercase())
}

/// The labs a seat-view socket sees (lower-cased; `None`: all), kept in its extensions.
#[derive(Debug, Clone)]
pub struct Labs(pub Option<Vec<String>>);

/// The labs asked (`only`, lower-cased; `None`: all) narrowed to `scope`'s: a token scoped to
/// labs sees those, whatever it asks.
#[must_use]
pub fn within(scope: Option<&Scope>, only: Option<Vec<String>>) -> Option<Vec<String>> {
    let Some(scope) = scope else {
        return only;
    };
    let keys = scope.keys();
    Some(match only {
        None => keys,
        Some(asked) => asked.into_iter().filter(|g| keys.contains(g)).collect(),
    })
}

/// Puts `socket` in the rooms of `only` (lower-cased groups), or of every lab.
pub fn join<A: Adapter>(socket: &Socket<A>, only: Option<Vec<String>>) {
    match &only {
        None => socket.join(ALL),
        Some(groups) => {
            for group in groups {
                socket.join(room_of((!group.is_empty()).then_some(group.as_str())));
            }
        }
    }
    socket.extensions.insert(Labs(only));
}

/// The seats of the labs `socket` sees, from the last round, as its first event.
pub fn send_all<A: Adapter>(socket: &Socket<A>, src: &Sources) {
    let Labs(only) = socket.extensions.get::<Labs>().unwrap_or(Labs(None));
    let seats: Vec<Seat> = src
        .board
        .current(&src.registry, &src.groups, &src.directory.all())
        .iter()
        .filter(|s| super::shown(s.group.as_deref(), only.as_deref()))
        .cloned()
        .collect();
    let event = SeatsEvent {
        full: true,
        seats,
        removed: Vec::new(),
    };
    if socket.emit(events::SEATS, &event).is_err() {
        src.events_dropped.inc();
    }
}

/// Reads which apps each known PC ran within the installed window from the store (rollups for
/// whole days, summaries for the rest), off the runtime.
async fn learn_installed(src: Arc<Sources>) {
    let learning = src.clone();
    let learned = tokio::task::spawn_blocking(move || {
        let (from, to) = learning.board.installed_window(now_ms());
        let cover_ms = learning.cover_ms;
        let hosts: Vec<String> = learning
            .registry
            .views(std::time::SystemTime::now())
            .into_iter()
            .map(|v| v.host)
            .collect();
        for host in &hosts {
            let spans =
                crate::report::seats::host_spans(&learning.store, host, from, to, cover_ms)?;
            for (app, spans) in spans.into_apps() {
                if let Some(last) = spans
                    .iter()
                    .filter(|s| s.state != idlewatch_protocol::WatchedState::NotRunning)
                    .map(|s| s.end_ms)
                    .max()
                {
                    learning.board.installed.seen(host, &app, last);
                }
            }
        }
        Ok::<_, idlewatch_store::Error>(hosts.len())
    })
    .await;
    match learned {
        Ok(Ok(hosts)) => info!(hosts, "seat view: installed apps read from history"),
        Ok(Err(e)) => warn!(
            "seat view: cannot read which apps the PCs ran ({e}); installed apps are learnt from new snapshots only"
        ),
        Err(e) => warn!("seat view: reading installed apps failed ({e})"),
    }
}

/// Sends seat changes until aborted.
pub async fn run(io: SocketIo, src: Arc<Sources>) {
    let learning = tokio::spawn(learn_installed(src.clone()));
    let _abort_learning = AbortOnDrop(learning);
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        // A round over every host: off the runtime's threads.
        let worker = src.clone();
        let Ok((changed, gone)) = tokio::task::spawn_blocking(move || {
            let listed = worker.directory.all();
            let seats = worker
                .board
                .refresh(&worker.registry, &worker.groups, &listed);
            let changed = worker.board.changes(&seats);
            (changed, worker.board.gone(&seats))
        })
        .await
        else {
            continue;
        };
        if !changed.is_empty() || !gone.is_empty() {
            send(&io, &src, &changed, &gone);
        }
    }
}

/// Aborts its task when dropped (the seat task is aborted at shutdown).
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// `changed` and `gone` to the room of all labs, and each lab's to its room — a PC that moved
/// to another lab to the room of the lab it left too, so its sockets drop it.
fn send(io: &SocketIo, src: &Sources, changed: &[super::Change], gone: &[Seat]) {
    let mut by_room: std::collections::BTreeMap<String, (Vec<Seat>, Vec<String>)> =
        Default::default();
    for seat in gone {
        by_room
            .entry(room_of(seat.group.as_deref()))
            .or_default()
            .1
            .push(seat.host.clone());
    }
    for change in changed {
        let seat = &change.seat;
        by_room
            .entry(room_of(seat.group.as_deref()))
            .or_default()
            .0
            .push(seat.clone());
        if let Some(left) = &change.left {
            // The lab it left hears only that it went, and where: not its state or software.
            by_room
                .entry(room_of(left.as_deref()))
                .or_default()
                .0
                .push(Seat {
                    host: seat.host.clone(),
                    group: seat.group.clone(),
                    state: SeatState::Offline,
                    installed: Vec::new(),
                });
        }
    }
    let changed: Vec<Seat> = changed.iter().map(|c| c.seat.clone()).collect();
    let removed: Vec<String> = gone.iter().map(|s| s.host.clone()).collect();
    let emit = |room: String, (seats, removed): (Vec<Seat>, Vec<String>)| {
        let event = SeatsEvent {
            full: false,
            seats,
            removed,
        };
        // `io.of` rather than `io.to`: during shutdown the namespace is already gone.
        let Some(root) = io.of("/") else {
            return;
        };
        match root.to(room).emit(events::SEATS, &event).now_or_never() {
            Some(Ok(())) => {}
            Some(Err(e)) => {
                src.events_dropped.inc();
                debug!("seats event not delivered everywhere: {e}");
            }
            None => warn!("seats event did not complete synchronously and was dropped"),
        }
    };
    emit(ALL.to_owned(), (changed, removed));
    for (room, event) in by_room {
        emit(room, event);
    }
    src.seat_events.inc();
}
