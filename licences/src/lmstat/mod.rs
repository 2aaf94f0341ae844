//! FlexNet (FLEXlm) `lmutil lmstat -a -c PORT@HOST` output, parsed.
//!
//! The format is text for people, and it varies between FlexNet versions and vendors. What
//! this parser reads (every other line is ignored, so a new header or a vendor's extra line
//! costs nothing):
//!
//! ```text
//! License server status: 1055@lic1
//!     lic1: license server UP (MASTER) v11.19.0
//! Vendor daemon status (on lic1):
//!   ansyslmd: UP v11.19.0
//! Users of aa_r:  (Total of 25 licenses issued;  Total of 3 licenses in use)
//!   "aa_r" v2024.0630, vendor: ansyslmd, expiry: 31-dec-2026
//!   floating license
//!     jdoe LAB-PC07 LAB-PC07 (v2024.0630) (lic1/1055 4123), start Mon 11/30 9:05
//!     ana lab-pc12.college.example /dev/pts/1 (v2024.0630) (lic1/1055 2210), start Tue 12/1 14:30, 2 licenses
//!     bo LAB-PC03 LAB-PC03 (v2024.0630) (lic1/1055 310), start Tue 12/1 8:02 (linger: 1800 / 120)
//!     cy LAB-PC04 LAB-PC04 (v2024.0630) (lic1/1055 311) queued for 1 license
//!   2 RESERVATIONs for HOST LAB-PC01 (lic1/1055)
//! Users of aa_mcad:  (Total of 1 license issued;  Total of 0 licenses in use)
//! Users of old_feature:  (Total of 4 licenses available)
//! Users of nodelocked_feature:  (Uncounted, node-locked)
//! Users of bad_feature:  (Error: 2 licenses, unsupported by licensed server)
//! ```
//!
//! - A pool is a `Users of FEATURE:` line: licences issued and in use (singular or plural; the
//!   old `available` form gives the issued count only, and then in use is the sum of the
//!   checkouts), uncounted, or an error the server reported for the feature.
//! - A checkout line: user, host and display (a user name may contain spaces: the host and
//!   display are the last two words), then `(vVERSION)`, `(SERVER/PORT HANDLE)`, and `start`
//!   with the weekday, month/day and time (no year: [`Start::at`] places it before the poll),
//!   optionally `, N licenses` and `(linger: N)` or `(linger: N / M)`. A `queued for` line is a
//!   user waiting for a seat, kept apart from the checkouts.
//! - A reservation line: `N RESERVATION(s) for KIND NAME (SERVER/PORT)`.
//! - Problems with the server itself (`license server DOWN`, `Cannot connect to license
//!   server`, `Error getting status`, a vendor daemon down) are collected in
//!   [`Status::problems`].
//!
//! Windows line ends and tabs are accepted. Parsing never fails and never panics (fuzzed): text
//! that is not lmstat output yields no pools.

mod line;
#[cfg(test)]
mod tests;

use serde::{Deserialize, Serialize};

pub use line::Start;

/// What one `lmstat -a` run said.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    /// Each feature's pool, in the order listed.
    pub pools: Vec<Pool>,
    /// Lines saying the license server or a vendor daemon is down or unreachable.
    pub problems: Vec<String>,
}

/// One feature's licences (a `Users of FEATURE:` section).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pool {
    /// The feature's name.
    pub feature: String,
    /// Licences issued, when counted.
    pub issued: Option<u32>,
    /// Licences in use, as the server counts them (or the checkouts' sum when it did not say).
    pub in_use: Option<u32>,
    /// An uncounted (node-locked) feature.
    pub uncounted: bool,
    /// The error the server reported for this feature, if any.
    pub error: Option<String>,
    /// The vendor daemon, from the feature's detail line.
    pub vendor: Option<String>,
    /// Who holds its licences.
    pub checkouts: Vec<Checkout>,
    /// Who waits for one.
    pub queued: Vec<Checkout>,
    /// Licences reserved for a user, host or group.
    pub reservations: Vec<Reservation>,
}

/// One checkout (or one queued request).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkout {
    /// The user who holds it.
    pub user: String,
    /// The host it was checked out from, as the client reported it.
    pub host: String,
    /// The display (often the host again, or a terminal).
    pub display: String,
    /// The feature version checked out.
    pub version: Option<String>,
    /// The license server and port (`lic1/1055`).
    pub server: Option<String>,
    /// The server's handle for the checkout.
    pub handle: Option<String>,
    /// When it was checked out.
    pub start: Option<Start>,
    /// Licences it holds (`, N licenses`; 1 when not said).
    pub licences: u32,
    /// Seconds the licence lingers after the client releases it.
    pub linger_seconds: Option<u32>,
}

/// Licences reserved for someone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reservation {
    /// How many.
    pub count: u32,
    /// For what kind of holder: `USER`, `HOST`, `GROUP`, `HOST_GROUP`, `DISPLAY`,
    /// `INTERNET`, `PROJECT`.
    pub kind: String,
    /// The holder's name.
    pub name: String,
}

impl Pool {
    /// Licences held by the listed checkouts.
    #[must_use]
    pub fn checked_out(&self) -> u32 {
        // Saturating: the counts are the licence server's text, not to be trusted.
        self.checkouts
            .iter()
            .fold(0, |sum, c| sum.saturating_add(c.licences))
    }
}

/// Parses `lmstat -a` output.
#[must_use]
pub fn parse(text: &str) -> Status {
    let mut status = Status::default();
    for raw in text.lines() {
        // Tabs inside a line only when a vendor's tool indents with them: copy then.
        let untabbed;
        let mut line = raw.trim();
        if line.contains('\t') {
            untabbed = line.replace('\t', " ");
            line = untabbed.as_str();
        }
        if line.is_empty() {
            continue;
        }
        if let Some(pool) = line::pool(line) {
            status.pools.push(pool);
            continue;
        }
        // Checkouts are most of the lines: tried before the problem phrases, which never
        // appear in one.
        if let Some(pool) = status.pools.last_mut() {
            if let Some(vendor) = line::vendor(line) {
                pool.vendor.get_or_insert(vendor);
                continue;
            }
            if let Some(reservation) = line::reservation(line) {
                pool.reservations.push(reservation);
                continue;
            }
            if let Some((checkout, queued)) = line::checkout(line) {
                if queued {
                    pool.queued.push(checkout);
                } else {
                    pool.checkouts.push(checkout);
                }
                continue;
            }
        }
        if line::is_problem(line) {
            status.problems.push(line.to_owned());
        }
    }
    for pool in &mut status.pools {
        if pool.in_use.is_none() && !pool.uncounted && pool.error.is_none() {
            pool.in_use = Some(pool.checked_out());
        }
    }
    status
}
