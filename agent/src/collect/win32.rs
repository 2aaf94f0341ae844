//! Windows: the foreground window's process (`GetForegroundWindow` →
//! `GetWindowThreadProcessId`) and title.
//!
//! Idle time on Windows comes from user-idle (`GetLastInputInfo`), which only sees the
//! caller's session: run the agent in the user's session (see config/windows-service.md).

#![allow(unsafe_code)] // the Win32 calls below; each is a plain query with checked results

use windows::Win32::UI::WindowsAndMessaging::{
    GetForegroundWindow, GetWindowTextW, GetWindowThreadProcessId,
};

use super::foreground::{Foreground, ForegroundSource};

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
