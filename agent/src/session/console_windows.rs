//! The helper's console on Windows. The exe is a console program (so that `--once`, `configure`
//! and a hand-run agent print where the administrator typed them); started at logon by the
//! HKLM `Run` key, the helper would therefore get a console window of its own, which a student
//! would see and could close, ending the helper. It leaves that window at start.

#![allow(unsafe_code)] // two Console calls on a buffer this function owns

use windows::Win32::System::Console::{FreeConsole, GetConsoleProcessList};

/// Detaches from the console when this process is the only one attached to it (Windows opened
/// it for the helper, and it then closes); keeps a console someone started the helper from,
/// where its log belongs.
pub fn leave_own_console() {
    let mut attached = [0u32; 2];
    // SAFETY: the buffer is valid for its length; the call only writes into it.
    let count = unsafe { GetConsoleProcessList(&mut attached) };
    if count == 1 {
        // SAFETY: no handle of this console is held across the call; later writes to the
        // standard handles fail quietly, and the helper needs none of them.
        let _ = unsafe { FreeConsole() };
    }
}
