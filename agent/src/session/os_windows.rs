//! Sessions on Windows, from Terminal Services (WTS): who is logged on at the console (for the
//! service), and this process's own session (for the helper). Where WTS cannot say (Wine has
//! no logon times), the answer leaves that part unknown.

#![allow(unsafe_code)] // the WTS calls below; each buffer is checked and freed

use windows::Win32::System::RemoteDesktop::{
    ProcessIdToSessionId, WTS_CURRENT_SERVER_HANDLE, WTS_INFO_CLASS, WTSFreeMemory,
    WTSGetActiveConsoleSessionId, WTSINFOW, WTSQuerySessionInformationW, WTSSessionInfo,
    WTSUserName,
};
use windows::core::PWSTR;

use super::merge::LoggedOn;
use super::os::OwnSession;

/// No session is attached to the console.
const NO_CONSOLE: u32 = 0xFFFF_FFFF;
/// 100 ns ticks between 1601-01-01 and 1970-01-01.
const EPOCH_TICKS: i64 = 116_444_736_000_000_000;

/// One WTS query's buffer, freed on drop.
struct Buffer {
    ptr: PWSTR,
    len: u32,
}

impl Drop for Buffer {
    fn drop(&mut self) {
        // SAFETY: the buffer was allocated by WTSQuerySessionInformationW and is freed once.
        unsafe { WTSFreeMemory(self.ptr.0.cast()) };
    }
}

fn query(session: u32, class: WTS_INFO_CLASS) -> Option<Buffer> {
    let mut ptr = PWSTR::null();
    let mut len = 0u32;
    // SAFETY: out-pointers valid for the call; the buffer is owned by the returned value.
    unsafe {
        WTSQuerySessionInformationW(
            Some(WTS_CURRENT_SERVER_HANDLE),
            session,
            class,
            &mut ptr,
            &mut len,
        )
    }
    .ok()?;
    (!ptr.is_null()).then_some(Buffer { ptr, len })
}

fn user_of(session: u32) -> Option<String> {
    let buffer = query(session, WTSUserName)?;
    // SAFETY: WTSUserName returns a NUL-terminated wide string.
    let name = unsafe { buffer.ptr.to_string() }.ok()?;
    Some(name).filter(|n| !n.is_empty())
}

fn logon_ms(session: u32) -> Option<i64> {
    let buffer = query(session, WTSSessionInfo)?;
    if (buffer.len as usize) < std::mem::size_of::<WTSINFOW>() {
        return None;
    }
    // SAFETY: the buffer holds a WTSINFOW of the size just checked.
    let info = unsafe { &*buffer.ptr.0.cast::<WTSINFOW>() };
    (info.LogonTime > 0).then(|| (info.LogonTime - EPOCH_TICKS) / 10_000)
}

fn console() -> Option<u32> {
    // SAFETY: no arguments.
    let id = unsafe { WTSGetActiveConsoleSessionId() };
    (id != NO_CONSOLE).then_some(id)
}

/// Who is logged on at the console.
pub async fn logged_on() -> LoggedOn {
    let Some(session) = console() else {
        return LoggedOn::Nobody;
    };
    match user_of(session) {
        Some(name) => LoggedOn::User {
            name: Some(name),
            since_ms: logon_ms(session),
        },
        None => LoggedOn::Nobody,
    }
}

/// This process's session: its user, logon time and whether it is the console's.
pub async fn own_session() -> OwnSession {
    let mut mine = 0u32;
    // SAFETY: `mine` outlives the call.
    let known = unsafe { ProcessIdToSessionId(std::process::id(), &mut mine) }.is_ok();
    let user = known
        .then(|| user_of(mine))
        .flatten()
        .or_else(|| std::env::var("USERNAME").ok());
    OwnSession {
        user,
        since_ms: known.then(|| logon_ms(mine)).flatten(),
        active: !known || console() == Some(mine),
    }
}
