//! X11: idle time from the screensaver extension, the foreground window from the window
//! manager's `_NET_ACTIVE_WINDOW` and `_NET_WM_PID`. Pure Rust (x11rb's own connection).

use std::sync::{Arc, Mutex};

use x11rb::connection::Connection;
use x11rb::protocol::screensaver::ConnectionExt as _;
use x11rb::protocol::xproto::{Atom, AtomEnum, ConnectionExt as _, Window};
use x11rb::rust_connection::RustConnection;

use super::foreground::{Foreground, ForegroundSource};
use super::idle::{IdleReading, IdleSource};

struct Inner {
    conn: RustConnection,
    root: Window,
    active_window: Atom,
    wm_pid: Atom,
    net_wm_name: Atom,
    utf8_string: Atom,
}

/// A connection to the X display, shared by the idle and foreground sources.
#[derive(Clone)]
pub struct X11 {
    // A std Mutex: held only for synchronous X round trips, never across an await.
    inner: Arc<Mutex<Inner>>,
}

impl X11 {
    /// Connects to `$DISPLAY` and checks that the screensaver extension answers.
    ///
    /// # Errors
    /// Why the display cannot be used.
    pub fn connect() -> Result<Self, String> {
        if std::env::var_os("DISPLAY").is_none() {
            return Err("DISPLAY is not set".to_owned());
        }
        let (conn, screen) = x11rb::connect(None).map_err(|e| e.to_string())?;
        let root = conn.setup().roots[screen].root;
        let atom = |name: &[u8]| -> Result<Atom, String> {
            conn.intern_atom(false, name)
                .map_err(|e| e.to_string())?
                .reply()
                .map(|r| r.atom)
                .map_err(|e| e.to_string())
        };
        let inner = Inner {
            active_window: atom(b"_NET_ACTIVE_WINDOW")?,
            wm_pid: atom(b"_NET_WM_PID")?,
            net_wm_name: atom(b"_NET_WM_NAME")?,
            utf8_string: atom(b"UTF8_STRING")?,
            root,
            conn,
        };
        inner
            .ms_since_input()
            .map_err(|e| format!("screensaver extension: {e}"))?;
        Ok(Self {
            inner: Arc::new(Mutex::new(inner)),
        })
    }
}

impl Inner {
    fn ms_since_input(&self) -> Result<u32, String> {
        self.conn
            .screensaver_query_info(self.root)
            .map_err(|e| e.to_string())?
            .reply()
            .map(|r| r.ms_since_user_input)
            .map_err(|e| e.to_string())
    }

    fn property32(&self, window: Window, property: Atom, kind: AtomEnum) -> Option<u32> {
        let reply = self
            .conn
            .get_property(false, window, property, kind, 0, 1)
            .ok()?
            .reply()
            .ok()?;
        reply.value32()?.next()
    }

    fn title(&self, window: Window) -> Option<String> {
        let reply = self
            .conn
            .get_property(false, window, self.net_wm_name, self.utf8_string, 0, 1024)
            .ok()?
            .reply()
            .ok()?;
        let title = String::from_utf8_lossy(&reply.value).into_owned();
        (!title.is_empty()).then_some(title)
    }
}

impl IdleSource for X11 {
    fn name(&self) -> &'static str {
        "x11"
    }

    fn idle(&mut self) -> IdleReading {
        let result = match self.inner.lock() {
            Ok(inner) => inner.ms_since_input(),
            Err(_) => Err("X11 connection lock poisoned".to_owned()),
        };
        match result {
            Ok(ms) => IdleReading {
                seconds: Some(f64::from(ms) / 1000.0),
                source: "x11".to_owned(),
            },
            Err(e) => IdleReading {
                seconds: None,
                source: format!("unavailable: X11 {e}"),
            },
        }
    }
}

impl ForegroundSource for X11 {
    fn name(&self) -> &'static str {
        "x11"
    }

    fn foreground(&mut self, with_title: bool) -> Option<Foreground> {
        let inner = self.inner.lock().ok()?;
        let window = inner.property32(inner.root, inner.active_window, AtomEnum::WINDOW)?;
        if window == 0 {
            return None;
        }
        let pid = inner.property32(window, inner.wm_pid, AtomEnum::CARDINAL)?;
        Some(Foreground {
            pid,
            title: if with_title {
                inner.title(window)
            } else {
                None
            },
        })
    }
}
