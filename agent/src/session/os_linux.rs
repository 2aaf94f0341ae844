//! Sessions on Linux, from systemd-logind over the system D-Bus: who is logged on at a seat
//! (for the service), and this process's own session (for the helper). Without logind (a
//! container, a minimal system) the answers are "unknown".

use std::time::Duration;

use zbus::OwnedVariant as OwnedValue;
use zbus::{Connection, OwnedObjectPath};

use super::merge::LoggedOn;
use super::os::OwnSession;

const LOGIND: &str = "org.freedesktop.login1";
const MANAGER_PATH: &str = "/org/freedesktop/login1";
const MANAGER: &str = "org.freedesktop.login1.Manager";
const SESSION: &str = "org.freedesktop.login1.Session";

/// How long one logind query may take before the answer is "unknown".
const TIMEOUT: Duration = Duration::from_secs(2);

async fn system_bus() -> Option<Connection> {
    if !std::path::Path::new("/run/dbus/system_bus_socket").exists()
        && std::env::var_os("DBUS_SYSTEM_BUS_ADDRESS").is_none()
    {
        return None;
    }
    tokio::time::timeout(TIMEOUT, Connection::system())
        .await
        .ok()?
        .ok()
}

struct SessionProps {
    active: bool,
    class: String,
    seat: String,
    user: String,
    /// Logon time, µs since the epoch.
    since_us: u64,
}

/// One property of a logind object (`org.freedesktop.DBus.Properties.Get`).
async fn property<T>(
    bus: &Connection,
    path: &OwnedObjectPath,
    interface: &str,
    name: &str,
) -> Option<T>
where
    T: TryFrom<OwnedValue>,
{
    let reply = bus
        .call_method(
            Some(LOGIND),
            path.as_str(),
            Some("org.freedesktop.DBus.Properties"),
            "Get",
            &(interface, name),
        )
        .await
        .ok()?;
    let value: OwnedValue = reply.body().deserialize().ok()?;
    T::try_from(value).ok()
}

async fn session_props(bus: &Connection, path: OwnedObjectPath) -> Option<SessionProps> {
    let seat: (String, OwnedObjectPath) = property(bus, &path, SESSION, "Seat").await?;
    Some(SessionProps {
        active: property(bus, &path, SESSION, "Active").await?,
        class: property(bus, &path, SESSION, "Class")
            .await
            .unwrap_or_default(),
        seat: seat.0,
        user: property(bus, &path, SESSION, "Name")
            .await
            .unwrap_or_default(),
        since_us: property(bus, &path, SESSION, "Timestamp")
            .await
            .unwrap_or_default(),
    })
}

/// A method of logind's manager.
async fn call<A, R>(bus: &Connection, method: &str, args: &A) -> Option<R>
where
    A: serde::Serialize + zbus::zvariant::DynamicType,
    R: for<'d> serde::Deserialize<'d> + zbus::zvariant::Type,
{
    let reply = bus
        .call_method(Some(LOGIND), MANAGER_PATH, Some(MANAGER), method, args)
        .await
        .ok()?;
    reply.body().deserialize().ok()
}

fn ms(us: u64) -> Option<i64> {
    (us > 0).then(|| i64::try_from(us / 1000).unwrap_or(i64::MAX))
}

/// Who is logged on at a seat (a graphical or console user session).
pub async fn logged_on() -> LoggedOn {
    let Some(bus) = system_bus().await else {
        return LoggedOn::Unknown;
    };
    let query = async {
        let sessions: Vec<(String, u32, String, String, OwnedObjectPath)> =
            call(&bus, "ListSessions", &()).await?;
        let mut found = LoggedOn::Nobody;
        for (_, _, _, _, path) in sessions {
            let Some(props) = session_props(&bus, path).await else {
                continue;
            };
            if props.class == "user" && !props.seat.is_empty() && props.active {
                found = LoggedOn::User {
                    name: Some(props.user),
                    since_ms: ms(props.since_us),
                };
                break;
            }
        }
        Some(found)
    };
    tokio::time::timeout(TIMEOUT, query)
        .await
        .ok()
        .flatten()
        .unwrap_or(LoggedOn::Unknown)
}

/// This process's session: its user, logon time and whether it is the active one at its seat.
pub async fn own_session() -> OwnSession {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .ok();
    let fallback = OwnSession {
        user: user.clone(),
        since_ms: None,
        active: true,
    };
    let Some(bus) = system_bus().await else {
        return fallback;
    };
    let query = async {
        let path: OwnedObjectPath = call(&bus, "GetSessionByPID", &(std::process::id(),)).await?;
        let props = session_props(&bus, path).await?;
        Some(OwnSession {
            user: Some(props.user).filter(|u| !u.is_empty()).or(user.clone()),
            since_ms: ms(props.since_us),
            active: props.active,
        })
    };
    tokio::time::timeout(TIMEOUT, query)
        .await
        .ok()
        .flatten()
        .unwrap_or(fallback)
}
