//! GNOME (Wayland or X) idle time from Mutter's `org.gnome.Mutter.IdleMonitor` over D-Bus.

use tokio::runtime::Handle;
use zbus::Connection;

use super::idle::{IdleReading, IdleSource};

const SERVICE: &str = "org.gnome.Mutter.IdleMonitor";
const PATH: &str = "/org/gnome/Mutter/IdleMonitor/Core";

/// A session-bus connection to Mutter's idle monitor.
pub struct MutterIdle {
    connection: Connection,
    runtime: Handle,
}

async fn idle_ms(connection: &Connection) -> Result<u64, String> {
    let reply = connection
        .call_method(Some(SERVICE), PATH, Some(SERVICE), "GetIdletime", &())
        .await
        .map_err(|e| e.to_string())?;
    reply.body().deserialize::<u64>().map_err(|e| e.to_string())
}

impl MutterIdle {
    /// Connects to the session bus and checks that Mutter answers.
    ///
    /// # Errors
    /// Why GNOME's idle monitor cannot be used (no session bus, not GNOME, no async runtime).
    pub fn connect() -> Result<Self, String> {
        if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_none() {
            return Err("no D-Bus session".to_owned());
        }
        let runtime = Handle::try_current().map_err(|e| e.to_string())?;
        // Called off the async runtime (the collectors run on a blocking thread).
        let connection = runtime.block_on(async {
            let connection = Connection::session().await.map_err(|e| e.to_string())?;
            idle_ms(&connection).await?;
            Ok::<_, String>(connection)
        })?;
        Ok(Self {
            connection,
            runtime,
        })
    }
}

impl IdleSource for MutterIdle {
    fn name(&self) -> &'static str {
        "mutter"
    }

    fn idle(&mut self) -> IdleReading {
        match self.runtime.block_on(idle_ms(&self.connection)) {
            Ok(ms) => IdleReading {
                seconds: Some(ms as f64 / 1000.0),
                source: "mutter".to_owned(),
            },
            Err(e) => IdleReading {
                seconds: None,
                source: format!("unavailable: GNOME idle monitor {e}"),
            },
        }
    }
}
