//! `licences servers [--orphaned]`: each licence server's seats, and every checkout beside
//! what the agent on its PC reports (orphaned seats in red).

use idlewatch_protocol::api::{CheckoutView, LicenceServerView, LicenceServersAnswer, Seen};

use crate::api::Api;
use crate::cli::{Format, LicenceServersArgs};
use crate::error::CliError;
use crate::output::{self, Cell, Output, Tone};

/// Column headers of the table and CSV: one row per checkout.
pub const HEADERS: [&str; 8] = [
    "SERVER",
    "FEATURE",
    "USER",
    "HOST",
    "SEATS",
    "SINCE",
    "ON THE PC",
    "ORPHANED",
];

fn seen(s: Seen) -> Cell {
    let (text, key, tone) = match s {
        Seen::InUse => ("in use", "in_use", Tone::Good),
        Seen::Idle => ("idle", "idle", Tone::Bad),
        Seen::NotRunning => ("not running", "not_running", Tone::Bad),
        Seen::Unknown => ("app not reported", "unknown", Tone::Dim),
        Seen::NoAgent => ("no agent", "no_agent", Tone::Bad),
    };
    Cell::with(text, key).tone(tone)
}

fn row(server: &LicenceServerView, feature: &str, c: &CheckoutView) -> Vec<Cell> {
    vec![
        Cell::text(&server.name),
        Cell::text(feature),
        Cell::text(&c.user),
        Cell::text(&c.host),
        Cell::text(c.licences.to_string()),
        Cell::text(c.since.as_deref().unwrap_or_default()),
        seen(c.seen),
        if c.orphaned {
            Cell::with("yes", "true").tone(Tone::Bad)
        } else {
            Cell::with("", "false")
        },
    ]
}

/// One line per server: its seats, or why it could not be read.
fn summary(s: &LicenceServerView) -> String {
    if let Some(e) = &s.error {
        return format!("{} ({}): poll failed: {e}\n", s.name, s.app);
    }
    let Some(at) = &s.polled_at else {
        return format!("{} ({}): not polled yet\n", s.name, s.app);
    };
    let mut line = format!(
        "{} ({}): {} issued, {} in use, {} seen in use on the PCs, {} orphaned (at {at})\n",
        s.name, s.app, s.issued, s.in_use, s.seen_in_use, s.orphaned
    );
    for problem in &s.problems {
        line.push_str(&format!("  licence server says: {problem}\n"));
    }
    line
}

/// Runs `licences servers`.
///
/// # Errors
/// The server unreachable or refusing.
pub fn servers(api: &Api, out: &Output, args: &LicenceServersArgs) -> Result<(), CliError> {
    let mut answer: LicenceServersAnswer = api.get_as("/api/v1/licences/servers", &[])?;
    if args.orphaned {
        for server in &mut answer.servers {
            for pool in &mut server.pools {
                pool.checkouts.retain(|c| c.orphaned);
            }
        }
    }
    if out.format == Format::Json {
        return output::print(&output::json_of(&answer));
    }
    let rows: Vec<Vec<Cell>> = answer
        .servers
        .iter()
        .flat_map(|s| {
            s.pools
                .iter()
                .flat_map(move |p| p.checkouts.iter().map(move |c| row(s, &p.feature, c)))
        })
        .collect();
    let mut text = String::new();
    if out.format == Format::Table {
        if answer.servers.is_empty() {
            text.push_str(
                "no licence servers are configured: add [[licence_servers]] to the server's \
                 config (docs/LICENCES.md)\n",
            );
            return output::print(&text);
        }
        for s in &answer.servers {
            text.push_str(&summary(s));
        }
        if rows.is_empty() {
            return output::print(&text);
        }
        text.push('\n');
    }
    text.push_str(&out.rows(&HEADERS, &rows));
    output::print(&text)
}
