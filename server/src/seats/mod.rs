//! The free-seat view: which lab PCs a student can sit at now, with which software, for the
//! public `/seats` page, `GET /api/v1/seats` and the Socket.IO `seats` rooms.
//!
//! [`SeatBoard`] turns the live registry into seats (free, in use, offline — never users,
//! processes or windows), groups them into labs with their rooms ([`floor_plan`] checks SVG
//! plans), knows which apps each PC has ([`installed`]) and what changed since it last told the
//! sockets ([`live`] sends it).

pub mod floor_plan;
pub mod installed;
pub mod live;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use idlewatch_protocol::api::{Seat, SeatGroup, SeatMap, SeatState, SeatsView};
use idlewatch_protocol::session::NO_SESSION;
use idlewatch_protocol::time::{now_ms, rfc3339};

use crate::config::SeatsConfig;
use crate::groups::HostGroups;
use crate::registry::{HostRegistry, HostView};
use floor_plan::FloorPlan;
use installed::Installed;

/// A lab's room as loaded at start.
#[derive(Debug, Clone)]
enum Room {
    Rows(Vec<Vec<Option<String>>>),
    Plan(FloorPlan),
}

/// The seat view's settings, rooms, installed apps and what the sockets were last told.
pub struct SeatBoard {
    idle_after: Duration,
    installed_within: Duration,
    /// Lower-cased group → its name as configured and its room.
    rooms: HashMap<String, (String, Room)>,
    /// The labs shown (lower-cased); `None`: every group.
    labs: Option<Vec<String>>,
    /// Why a configured floor plan cannot be used (the server refuses to start).
    setup_error: Option<String>,
    /// Which apps each PC has.
    pub installed: Installed,
    /// Each host's seat as last sent, to send only changes.
    sent: Mutex<HashMap<String, Seat>>,
    /// The seats of the last round, what requests and new sockets are answered from.
    current: std::sync::RwLock<Option<Arc<Vec<Seat>>>>,
    /// Per host, the latest snapshot whose apps were last noted (by address): unchanged ones
    /// are not read again.
    observed: Mutex<HashMap<String, usize>>,
    /// Rounds computed, to forget hosts gone every [`FORGET_EVERY`] of them.
    rounds: std::sync::atomic::AtomicU64,
}

/// How many rounds (seconds) go by between two sweeps of what is kept per host for hosts no
/// longer known (deleted, dropped from the directory).
const FORGET_EVERY: u64 = 60;

/// A seat that changed, and the group it left when it moved to another.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The seat now.
    pub seat: Seat,
    /// Its previous group, when it had another (sockets of that lab must hear it left).
    pub left: Option<Option<String>>,
}

/// The seat of a host seen as `view`: offline unless reporting; free with no user session or
/// one idle at least `idle_after`; in use otherwise (also when idleness is unknown: a student
/// should not walk to a PC that may be taken).
#[must_use]
pub fn state_of(view: &HostView, idle_after: Duration) -> SeatState {
    if !view.online {
        return SeatState::Offline;
    }
    let Some(latest) = &view.latest else {
        return SeatState::InUse;
    };
    let fields = latest.fields();
    if fields.idle_source.as_deref() == Some(NO_SESSION) {
        return SeatState::Free;
    }
    match fields.idle() {
        Some(idle) if idle >= idle_after.as_secs_f64() => SeatState::Free,
        _ => SeatState::InUse,
    }
}

/// Lower-cased, for comparing group names.
fn key(group: Option<&str>) -> String {
    group.unwrap_or_default().to_lowercase()
}

/// Whether a seat of `group` is among `only` (lower-cased group names; `None`: every group).
#[must_use]
pub fn shown(group: Option<&str>, only: Option<&[String]>) -> bool {
    only.is_none_or(|only| only.contains(&key(group)))
}

impl SeatBoard {
    /// The board for `config`, with its floor plans read and checked.
    #[must_use]
    pub fn new(config: &SeatsConfig) -> Self {
        let mut rooms = HashMap::new();
        let mut setup_error = None;
        for (i, map) in config.maps.iter().enumerate() {
            let room = match &map.svg {
                Some(path) => match floor_plan::load(path) {
                    Ok(plan) => {
                        if !plan.dropped.is_empty() {
                            let dropped: Vec<&str> =
                                plan.dropped.iter().map(String::as_str).collect();
                            tracing::warn!(group = %map.group, "the floor plan {} holds more than drawing; shown without: {}", path.display(), dropped.join(", "));
                        }
                        if plan.ids.is_empty() {
                            tracing::warn!(group = %map.group, "the floor plan {} has no element with an id: no PC can be placed on it (give each PC's shape id=\"<host name>\")", path.display());
                        }
                        Room::Plan(plan)
                    }
                    Err(why) => {
                        setup_error.get_or_insert(format!(
                            "seats.maps[{i}] (group {:?}): {why}",
                            map.group
                        ));
                        continue;
                    }
                },
                None => Room::Rows(map.places()),
            };
            rooms.insert(map.group.to_lowercase(), (map.group.clone(), room));
        }
        let labs = (!config.groups.is_empty()).then(|| {
            config
                .groups
                .iter()
                .map(|g| g.trim().to_lowercase())
                .collect()
        });
        Self {
            labs,
            idle_after: config.idle_after,
            installed_within: config.installed_within,
            rooms,
            setup_error,
            installed: Installed::default(),
            sent: Mutex::new(HashMap::new()),
            current: std::sync::RwLock::new(None),
            observed: Mutex::new(HashMap::new()),
            rounds: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// Why the seat view cannot be set up, if it cannot.
    #[must_use]
    pub fn setup_error(&self) -> Option<&str> {
        self.setup_error.as_deref()
    }

    /// The earliest sighting that still makes an app installed, epoch ms.
    fn installed_since(&self, now_ms: i64) -> i64 {
        now_ms.saturating_sub(i64::try_from(self.installed_within.as_millis()).unwrap_or(i64::MAX))
    }

    /// The window apps count as installed in, epoch ms: `(from, to)`.
    #[must_use]
    pub fn installed_window(&self, now_ms: i64) -> (i64, i64) {
        (self.installed_since(now_ms), now_ms)
    }

    /// Every known host's seat now, sorted by host, and the PCs `listed` by the directory that
    /// never reported (offline); the latest snapshots' running apps are noted as installed on
    /// the way.
    #[must_use]
    pub fn seats(
        &self,
        registry: &HostRegistry,
        groups: &HostGroups,
        listed: &crate::directory::Listing,
    ) -> Vec<Seat> {
        let now = SystemTime::now();
        let now_ms = now_ms();
        let since = self.installed_since(now_ms);
        let views = registry.views(now);
        let silent = crate::directory::never_seen(listed, views.iter().map(|v| &v.host));
        let mut seats: Vec<Seat> = views
            .into_iter()
            .map(|view| {
                if let Some(latest) = &view.latest
                    && self.first_look(&view.host, latest)
                {
                    let at = latest
                        .fields()
                        .captured_at
                        .map_or(now_ms, |c| c.epoch_ms().min(now_ms));
                    self.installed.observe(&view.host, latest.fields(), at);
                }
                Seat {
                    state: state_of(&view, self.idle_after),
                    group: groups.of(&view.host),
                    installed: self.installed.on(&view.host, since),
                    host: view.host,
                }
            })
            .collect();
        let before = seats.len();
        seats.extend(silent.into_iter().map(|known| Seat {
            state: SeatState::Offline,
            group: groups.of(&known.host),
            installed: Vec::new(),
            host: known.host.clone(),
        }));
        if seats.len() > before {
            seats.sort_by(|a, b| a.host.cmp(&b.host));
        }
        let round = self
            .rounds
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if round % FORGET_EVERY == FORGET_EVERY - 1 {
            self.forget_gone(&seats);
        }
        // Only the labs the seat view shows: staff PCs stay private.
        if let Some(labs) = &self.labs {
            seats.retain(|s| shown(s.group.as_deref(), Some(labs)) && s.group.is_some());
        }
        seats
    }

    /// Forgets what is kept for hosts not among `seats` (every host known now): their last
    /// snapshot's address, their seat as last sent, their installed apps.
    fn forget_gone(&self, seats: &[Seat]) {
        let hosts: std::collections::HashSet<&str> =
            seats.iter().map(|s| s.host.as_str()).collect();
        self.observed
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .retain(|h, _| hosts.contains(h.as_str()));
        self.sent
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .retain(|h, _| hosts.contains(h.as_str()));
        self.installed.keep_only(&hosts);
    }

    /// Whether `latest` is not the snapshot of `host` whose apps were last noted (and notes it).
    fn first_look(&self, host: &str, latest: &Arc<crate::registry::Latest>) -> bool {
        let address = Arc::as_ptr(latest) as usize;
        let mut observed = self
            .observed
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        observed.insert(host.to_owned(), address) != Some(address)
    }

    /// Computes every seat now ([`SeatBoard::seats`]) and keeps them as the current ones.
    pub fn refresh(
        &self,
        registry: &HostRegistry,
        groups: &HostGroups,
        listed: &crate::directory::Listing,
    ) -> Arc<Vec<Seat>> {
        let seats = Arc::new(self.seats(registry, groups, listed));
        *self
            .current
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(seats.clone());
        seats
    }

    /// The seats of the last round (at most a second old), or computed now before the first.
    pub fn current(
        &self,
        registry: &HostRegistry,
        groups: &HostGroups,
        listed: &crate::directory::Listing,
    ) -> Arc<Vec<Seat>> {
        let kept = self
            .current
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        kept.unwrap_or_else(|| self.refresh(registry, groups, listed))
    }

    /// The seats last sent that `seats` (this round's, all of them) no longer holds — PCs
    /// deleted, dropped from the directory or moved out of the labs shown — forgotten as sent.
    /// Called after [`SeatBoard::changes`], which notes every seat of the round as sent: so
    /// any surplus of sent seats is one gone.
    pub fn gone(&self, seats: &[Seat]) -> Vec<Seat> {
        let mut sent = self
            .sent
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if sent.len() <= seats.len() {
            return Vec::new();
        }
        let now: std::collections::HashSet<&str> = seats.iter().map(|s| s.host.as_str()).collect();
        let gone: Vec<String> = sent
            .keys()
            .filter(|h| !now.contains(h.as_str()))
            .cloned()
            .collect();
        let mut seats: Vec<Seat> = gone.iter().filter_map(|h| sent.remove(h)).collect();
        seats.sort_by(|a, b| a.host.cmp(&b.host));
        seats
    }

    /// The seats that differ from what was last sent, noting them as sent.
    pub fn changes(&self, seats: &[Seat]) -> Vec<Change> {
        let mut sent = self
            .sent
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut changed = Vec::new();
        for seat in seats {
            let before = sent.get(&seat.host);
            if before != Some(seat) {
                let left = before
                    .filter(|b| key(b.group.as_deref()) != key(seat.group.as_deref()))
                    .map(|b| b.group.clone());
                sent.insert(seat.host.clone(), seat.clone());
                changed.push(Change {
                    seat: seat.clone(),
                    left,
                });
            }
        }
        changed
    }

    /// The seat view of `seats` in the groups `only` (lower-cased; `None`: all): one lab per
    /// group (labs with a room but no PC known yet too), the PCs in no group last. Only the
    /// seats shown are copied.
    #[must_use]
    pub fn view(&self, seats: &[Seat], only: Option<&[String]>) -> SeatsView {
        let mut labs: BTreeMap<(bool, String), SeatGroup> = BTreeMap::new();
        let lab = |group: Option<String>| SeatGroup {
            map: group
                .as_deref()
                .and_then(|g| self.rooms.get(&g.to_lowercase()))
                .map(|(name, room)| match room {
                    Room::Rows(rows) => SeatMap::Rows { rows: rows.clone() },
                    Room::Plan(_) => SeatMap::Svg {
                        url: format!("/api/v1/seats/maps/{}", encode(name)),
                    },
                }),
            group,
            free: 0,
            in_use: 0,
            offline: 0,
            seats: Vec::new(),
        };
        for (name, _) in self.rooms.values() {
            if shown(Some(name), only) {
                labs.insert((false, name.to_lowercase()), lab(Some(name.clone())));
            }
        }
        let (mut free, mut in_use, mut offline) = (0, 0, 0);
        for seat in seats {
            if !shown(seat.group.as_deref(), only) {
                continue;
            }
            let k = (seat.group.is_none(), key(seat.group.as_deref()));
            let group = labs.entry(k).or_insert_with(|| lab(seat.group.clone()));
            if group.seats.is_empty() {
                // The lab is named as its PCs name it (a room's group matches without case).
                group.group.clone_from(&seat.group);
            }
            let counter = match seat.state {
                SeatState::Free => (&mut group.free, &mut free),
                SeatState::InUse => (&mut group.in_use, &mut in_use),
                SeatState::Offline => (&mut group.offline, &mut offline),
            };
            *counter.0 += 1;
            *counter.1 += 1;
            group.seats.push(seat.clone());
        }
        SeatsView {
            generated_at: rfc3339(SystemTime::now()),
            idle_after_seconds: self.idle_after.as_secs_f64(),
            installed_within_days: u32::try_from(self.installed_within.as_secs() / 86_400)
                .unwrap_or(u32::MAX),
            // Only the apps of the PCs shown: another lab's (a staff office's) stay unnamed.
            apps: installed::distinct(
                labs.values()
                    .flat_map(|lab| lab.seats.iter())
                    .flat_map(|s| s.installed.iter()),
            ),
            free,
            in_use,
            offline,
            groups: labs.into_values().collect(),
        }
    }

    /// The SVG floor plan of `group`, if it has one.
    #[must_use]
    pub fn plan(&self, group: &str) -> Option<&str> {
        match self.rooms.get(&group.to_lowercase()) {
            Some((_, Room::Plan(plan))) => Some(&plan.svg),
            _ => None,
        }
    }
}

/// `text` as one URL path segment.
fn encode(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC).to_string()
}

#[cfg(test)]
mod tests;
