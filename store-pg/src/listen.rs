//! What another server changed that this one must learn at once — an issued token, or its
//! revocation — told by PostgreSQL's `LISTEN`/`NOTIFY` (a trigger on the table notifies; see
//! `migrations/sql/postgres/0004_token_changes.sql`). A thread of its own holds one connection
//! listening, and connects again after any failure; each time it starts listening it calls
//! back once too, for what changed while it was not.

use std::time::Duration;

use postgres::fallible_iterator::FallibleIterator;
use tokio_postgres_rustls::MakeRustlsConnect;
use tracing::{info, warn};

use idlewatch_store::Error;

/// The channel the tokens table's trigger notifies.
pub(crate) const TOKENS: &str = "idlewatch_tokens";

/// How long the thread waits before connecting again after a failure.
const RECONNECT: Duration = Duration::from_secs(1);

/// Starts the thread listening on `channel`; `changed` runs at each notification (and each
/// time listening starts), and the thread ends once it returns false.
pub(crate) fn spawn(
    config: postgres::Config,
    tls: MakeRustlsConnect,
    channel: &'static str,
    changed: Box<dyn Fn() -> bool + Send>,
) -> Result<(), Error> {
    std::thread::Builder::new()
        .name("idlewatch-pg-listen".to_owned())
        .spawn(move || {
            let mut failing = false;
            loop {
                match listen(&config, &tls, channel, &*changed, &mut failing) {
                    Ok(true) => return,
                    Ok(false) => {}
                    Err(e) if !failing => {
                        warn!(
                            "cannot listen for changes on {channel} ({e}); connecting again, and \
                             taking them again every minute meanwhile"
                        );
                        failing = true;
                    }
                    Err(_) => {}
                }
                std::thread::sleep(RECONNECT);
            }
        })
        .map_err(|e| Error::Postgres(format!("cannot start the listening thread: {e}")))?;
    Ok(())
}

/// Listens until `changed` returns false (then true: stop) or the connection ends (false, or
/// an error: connect again).
fn listen(
    config: &postgres::Config,
    tls: &MakeRustlsConnect,
    channel: &str,
    changed: &dyn Fn() -> bool,
    failing: &mut bool,
) -> Result<bool, postgres::Error> {
    let mut client = config.connect(tls.clone())?;
    client.batch_execute(&format!("LISTEN {channel}"))?;
    if *failing {
        info!("listening for changes on {channel} again");
        *failing = false;
    }
    if !changed() {
        return Ok(true);
    }
    let mut notifications = client.notifications();
    let mut each = notifications.blocking_iter();
    while each.next()?.is_some() {
        if !changed() {
            return Ok(true);
        }
    }
    Ok(false)
}
