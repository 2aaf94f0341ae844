//! `[seats]`: the free-seat view students use (`/seats`, `/api/v1/seats`) — who may read it,
//! when a PC counts as free, and the labs' rooms (`[[seats.maps]]`) — and its checks.

use std::collections::HashSet;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use idlewatch_protocol::time::duration;

use super::Error;

/// `[seats]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SeatsConfig {
    /// Anyone may read the seat view, without a token (it shows no user, process or window);
    /// needs `groups`.
    pub public: bool,
    /// The labs the seat view shows (names without case); empty: every group, allowed only
    /// while the view is not public.
    pub groups: Vec<String>,
    /// A PC whose user has been idle this long is free.
    #[serde(with = "duration")]
    pub idle_after: Duration,
    /// An app counts as installed on a PC seen running it within this long.
    #[serde(with = "duration")]
    pub installed_within: Duration,
    /// The labs' rooms.
    pub maps: Vec<SeatMapConfig>,
}

impl Default for SeatsConfig {
    fn default() -> Self {
        Self {
            public: false,
            groups: Vec::new(),
            idle_after: Duration::from_secs(15 * 60),
            installed_within: Duration::from_secs(30 * 86_400),
            maps: Vec::new(),
        }
    }
}

/// `[[seats.maps]]`: one lab's room, as rows of desks or as an SVG floor plan.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeatMapConfig {
    /// The group (lab) it draws.
    pub group: String,
    /// Rows of host names separated by spaces, front row first; `.` is an aisle.
    #[serde(default)]
    pub rows: Vec<String>,
    /// An SVG floor plan whose elements carrying a host name as their `id` are the PCs.
    #[serde(default)]
    pub svg: Option<PathBuf>,
}

impl SeatMapConfig {
    /// The rows as places: `None` for an aisle.
    #[must_use]
    pub fn places(&self) -> Vec<Vec<Option<String>>> {
        self.rows
            .iter()
            .map(|row| {
                row.split_whitespace()
                    .map(|p| (p != ".").then(|| p.to_owned()))
                    .collect()
            })
            .collect()
    }
}

/// Checks `[seats]`.
///
/// # Errors
/// The first setting or map that cannot be used, naming it and what to fix.
pub fn check(seats: &SeatsConfig) -> Result<(), Error> {
    if seats.idle_after < Duration::from_secs(1) {
        return Err(Error::Invalid(format!(
            "seats.idle_after = {:?} is too short; give how long a user must be idle before their \
             PC counts as free, e.g. \"15m\" (the default)",
            seats.idle_after
        )));
    }
    if seats.installed_within < Duration::from_secs(3600) {
        return Err(Error::Invalid(format!(
            "seats.installed_within = {:?} is too short; give at least \"1h\" (default \"30d\")",
            seats.installed_within
        )));
    }
    if seats.public && seats.groups.is_empty() {
        return Err(Error::Invalid(
            "seats.public = true needs seats.groups: list the labs students may see, e.g. \
             groups = [\"Lab CTI\", \"Library\"]; the other PCs (staff offices) stay private"
                .to_owned(),
        ));
    }
    if let Some(g) = seats.groups.iter().find(|g| g.trim().is_empty()) {
        return Err(Error::Invalid(format!(
            "seats.groups holds an empty name ({g:?}); list the labs by name"
        )));
    }
    let listed: HashSet<String> = seats
        .groups
        .iter()
        .map(|g| g.trim().to_lowercase())
        .collect();
    let mut groups = HashSet::new();
    for (i, map) in seats.maps.iter().enumerate() {
        let bad = |what: String| {
            Err(Error::Invalid(format!(
                "seats.maps[{i}] (group {:?}): {what}",
                map.group
            )))
        };
        if map.group.trim().is_empty() {
            return bad("`group` is empty; name the group (lab) this map draws".to_owned());
        }
        if !listed.is_empty() && !listed.contains(&map.group.trim().to_lowercase()) {
            return bad(
                "seats.groups does not list this group, so the seat view never shows it; add it \
                 there or remove the map"
                    .to_owned(),
            );
        }
        if !groups.insert(map.group.to_lowercase()) {
            return bad("another map draws this group already; give each lab one map".to_owned());
        }
        match (map.rows.is_empty(), &map.svg) {
            (true, None) => {
                return bad(
                    "give `rows` (e.g. [\"PC01 PC02 . PC03\"]) or `svg` (a floor plan file)"
                        .to_owned(),
                );
            }
            (false, Some(_)) => {
                return bad("give either `rows` or `svg`, not both".to_owned());
            }
            _ => {}
        }
        let mut hosts = HashSet::new();
        for (r, row) in map.places().iter().enumerate() {
            if row.is_empty() {
                return bad(format!(
                    "row {} is empty; write its host names separated by spaces, `.` for an aisle",
                    r + 1
                ));
            }
            for host in row.iter().flatten() {
                if !hosts.insert(host.to_lowercase()) {
                    return bad(format!("{host} appears twice; each PC has one place"));
                }
            }
        }
    }
    Ok(())
}
