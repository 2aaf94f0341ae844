//! Windows: the foreground window's process (`GetForegroundWindow` →
//! `GetWindowThreadProcessId`) and title, the session's idle time (`GetLastInputInfo`: it sees
//! the caller's session only, so the session helper reads it), and the machine's CPU use from
//! `GetSystemTimes` (not PDH, whose counters break under Wine and while installers rewrite
//! them).

#![allow(unsafe_code)] // the Win32 calls below; each is a plain query with checked results

use windows::Win32::Foundation::FILETIME;
use windows::Win32::System::SystemInformation::GetTickCount;
use windows::Win32::System::Threading::GetSystemTimes;
use windows::Win32::UI::Input::KeyboardAndMouse::{GetLastInputInfo, LASTINPUTINFO};
use windows::Win32::UI::WindowsAndMessaging::{
    GetForegroundWindow, GetWindowTextW, GetWindowThreadProcessId,
};

use super::foreground::{Foreground, ForegroundSource};
use super::idle::{IdleReading, IdleSource};

/// The foreground window through Win32.
pub struct Win32Foreground;

impl ForegroundSource for Win32Foreground {
    fn name(&self) -> &'static str {
        "win32"
    }

    fn foreground(&mut self, with_title: bool) -> Option<Foreground> {
        // SAFETY: no arguments; returns a window handle or null.
        let window = unsafe { GetForegroundWindow() };
        if window.is_invalid() {
            return None;
        }
        let mut pid = 0u32;
        // SAFETY: `window` was just returned by the system; `pid` outlives the call.
        unsafe { GetWindowThreadProcessId(window, Some(&mut pid)) };
        if pid == 0 {
            return None;
        }
        let title = with_title.then(|| {
            let mut buffer = [0u16; 512];
            // SAFETY: the buffer is valid for its whole length during the call.
            let len = unsafe { GetWindowTextW(window, &mut buffer) };
            String::from_utf16_lossy(&buffer[..usize::try_from(len).unwrap_or(0)])
        });
        Some(Foreground {
            pid,
            title: title.filter(|t| !t.is_empty()),
        })
    }
}

/// The session's idle time through `GetLastInputInfo`.
pub struct Win32Idle;

impl IdleSource for Win32Idle {
    fn name(&self) -> &'static str {
        "win32"
    }

    fn idle(&mut self) -> IdleReading {
        let mut info = LASTINPUTINFO {
            cbSize: u32::try_from(std::mem::size_of::<LASTINPUTINFO>()).unwrap_or(0),
            dwTime: 0,
        };
        // SAFETY: `info` is a valid LASTINPUTINFO with its size set.
        let ok = unsafe { GetLastInputInfo(&mut info) }.as_bool();
        if !ok {
            return IdleReading {
                seconds: None,
                source: "unavailable: GetLastInputInfo failed".to_owned(),
            };
        }
        // Both are 32-bit millisecond tick counts: the difference is right across a wrap.
        // SAFETY: no arguments.
        let now = unsafe { GetTickCount() };
        IdleReading {
            seconds: Some(f64::from(now.wrapping_sub(info.dwTime)) / 1000.0),
            source: "win32".to_owned(),
        }
    }
}

fn ticks(t: FILETIME) -> u64 {
    (u64::from(t.dwHighDateTime) << 32) | u64::from(t.dwLowDateTime)
}

/// Machine CPU use between two calls, from the system's idle, kernel and user times.
pub struct SystemTimes {
    previous: Option<(u64, u64)>,
}

impl SystemTimes {
    /// A sampler with its baseline taken now.
    #[must_use]
    pub fn new() -> Self {
        let mut me = Self { previous: None };
        me.previous = me.read();
        me
    }

    /// (idle, total) ticks: kernel time includes idle time.
    fn read(&mut self) -> Option<(u64, u64)> {
        let (mut idle, mut kernel, mut user) = (
            FILETIME::default(),
            FILETIME::default(),
            FILETIME::default(),
        );
        // SAFETY: three valid out-pointers for the call.
        unsafe { GetSystemTimes(Some(&mut idle), Some(&mut kernel), Some(&mut user)) }.ok()?;
        Some((ticks(idle), ticks(kernel) + ticks(user)))
    }

    /// Percent of the machine busy since the previous call (0 on the first, or when unknown).
    pub fn busy_percent(&mut self) -> f64 {
        let now = self.read();
        let busy = match (self.previous, now) {
            (Some((idle0, total0)), Some((idle1, total1))) if total1 > total0 => {
                let total = (total1 - total0) as f64;
                let idle = idle1.saturating_sub(idle0) as f64;
                (1.0 - idle / total).clamp(0.0, 1.0) * 100.0
            }
            _ => 0.0,
        };
        self.previous = now.or(self.previous);
        busy
    }
}

/// The `DOMAIN\user` (or `user`) owning process `pid`: its token's user SID, looked up with
/// `LookupAccountSidW`, which also knows domain accounts (a lab PC's students).
#[must_use]
pub fn process_owner(pid: u32) -> Option<String> {
    use windows::Win32::Foundation::{CloseHandle, HANDLE};
    use windows::Win32::Security::{GetTokenInformation, TOKEN_QUERY, TOKEN_USER, TokenUser};
    use windows::Win32::System::Threading::{
        OpenProcess, OpenProcessToken, PROCESS_QUERY_LIMITED_INFORMATION,
    };
    // SAFETY: plain queries; every handle opened here is closed before returning.
    unsafe {
        let process = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, false, pid).ok()?;
        let mut token = HANDLE::default();
        let opened = OpenProcessToken(process, TOKEN_QUERY, &mut token);
        let _ = CloseHandle(process);
        opened.ok()?;
        let mut needed = 0u32;
        let _ = GetTokenInformation(token, TokenUser, None, 0, &mut needed);
        let mut buffer = vec![0u8; needed as usize];
        let got = GetTokenInformation(
            token,
            TokenUser,
            Some(buffer.as_mut_ptr().cast()),
            needed,
            &mut needed,
        );
        let _ = CloseHandle(token);
        got.ok()?;
        let user = &*buffer.as_ptr().cast::<TOKEN_USER>();
        account_name(user.User.Sid)
    }
}

/// The account name of a SID given as text (`S-1-5-21-…`), for process owners sysinfo's local
/// user list does not know (domain accounts).
#[must_use]
pub fn account_of_sid_text(sid: &str) -> Option<String> {
    use windows::Win32::Foundation::{HLOCAL, LocalFree};
    use windows::Win32::Security::Authorization::ConvertStringSidToSidW;
    use windows::Win32::Security::PSID;
    let wide: Vec<u16> = sid.encode_utf16().chain(Some(0)).collect();
    let mut psid = PSID::default();
    // SAFETY: `wide` is NUL-terminated; the SID is LocalAlloc'ed and freed below.
    unsafe {
        ConvertStringSidToSidW(windows::core::PCWSTR(wide.as_ptr()), &mut psid).ok()?;
        let name = account_name(psid);
        let _ = LocalFree(Some(HLOCAL(psid.0)));
        name
    }
}

/// `DOMAIN\user` for a SID, or `user` when the domain is empty.
///
/// # Safety
/// `sid` must point to a valid SID for the call's duration.
unsafe fn account_name(sid: windows::Win32::Security::PSID) -> Option<String> {
    use windows::Win32::Security::{LookupAccountSidW, SID_NAME_USE};
    let (mut name_len, mut domain_len) = (0u32, 0u32);
    let mut kind = SID_NAME_USE::default();
    // SAFETY: sizing call with null buffers, as documented.
    let _ = unsafe {
        LookupAccountSidW(
            windows::core::PCWSTR::null(),
            sid,
            None,
            &mut name_len,
            None,
            &mut domain_len,
            &mut kind,
        )
    };
    if name_len == 0 {
        return None;
    }
    let mut name = vec![0u16; name_len as usize];
    let mut domain = vec![0u16; domain_len.max(1) as usize];
    // SAFETY: both buffers are as long as the sizing call asked for.
    unsafe {
        LookupAccountSidW(
            windows::core::PCWSTR::null(),
            sid,
            Some(windows::core::PWSTR(name.as_mut_ptr())),
            &mut name_len,
            Some(windows::core::PWSTR(domain.as_mut_ptr())),
            &mut domain_len,
            &mut kind,
        )
    }
    .ok()?;
    let name = String::from_utf16_lossy(&name[..name_len as usize]);
    let domain = String::from_utf16_lossy(&domain[..domain_len as usize]);
    Some(if domain.is_empty() {
        name
    } else {
        format!("{domain}\\{name}")
    })
}

/// The system's ProgramData folder (`SHGetKnownFolderPath`), the same for the installer and
/// the service whatever their environments say.
#[must_use]
pub fn known_program_data() -> Option<std::path::PathBuf> {
    use windows::Win32::System::Com::CoTaskMemFree;
    use windows::Win32::UI::Shell::{FOLDERID_ProgramData, KF_FLAG_DEFAULT, SHGetKnownFolderPath};
    // SAFETY: the returned string is CoTaskMemAlloc'ed and freed once after copying.
    unsafe {
        let path = SHGetKnownFolderPath(&FOLDERID_ProgramData, KF_FLAG_DEFAULT, None).ok()?;
        let text = path.to_string().ok();
        CoTaskMemFree(Some(path.0.cast()));
        text.filter(|t| !t.is_empty()).map(std::path::PathBuf::from)
    }
}
