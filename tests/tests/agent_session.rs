//! The agent as a system service with a session helper, on Linux under a real X server: the
//! helper (`idlewatch-agent session`) in the "user session" (it has the display, the service has
//! none) reports idle time and the foreground window over the local socket; the service puts
//! them, with `session`, into its snapshots; a helper killed without a word leaves
//! `idle_source: helper_missing`, one stopped on purpose (a logoff) does not.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use idlewatch_tests::{Agent, Server, Xvfb, binary, wait_until};
use serde_json::Value;
use x11rb::connection::Connection;
use x11rb::protocol::xproto::{AtomEnum, ConnectionExt, CreateWindowAux, PropMode, WindowClass};
use x11rb::wrapper::ConnectionExt as _;

/// A window of this test process, made the active one as a window manager would
/// (`_NET_ACTIVE_WINDOW` on the root, `_NET_WM_PID` on the window).
fn become_foreground(display: &str) -> x11rb::rust_connection::RustConnection {
    let (conn, screen) = x11rb::connect(Some(display)).expect("connect to Xvfb");
    let root = conn.setup().roots[screen].root;
    let window = conn.generate_id().unwrap();
    conn.create_window(
        0,
        window,
        root,
        0,
        0,
        100,
        100,
        0,
        WindowClass::INPUT_OUTPUT,
        0,
        &CreateWindowAux::new(),
    )
    .unwrap();
    let atom = |name: &str| {
        conn.intern_atom(false, name.as_bytes())
            .unwrap()
            .reply()
            .unwrap()
            .atom
    };
    let (pid_atom, active) = (atom("_NET_WM_PID"), atom("_NET_ACTIVE_WINDOW"));
    conn.change_property32(
        PropMode::REPLACE,
        window,
        pid_atom,
        AtomEnum::CARDINAL,
        &[std::process::id()],
    )
    .unwrap();
    conn.change_property32(PropMode::REPLACE, root, active, AtomEnum::WINDOW, &[window])
        .unwrap();
    conn.flush().unwrap();
    // The window lives as long as this connection.
    conn
}

struct Helper(Child);

impl Helper {
    fn start(channel: &Path, display: &str) -> Self {
        Self(
            Command::new(binary("idlewatch-agent"))
                .arg("session")
                .arg("--channel")
                .arg(channel)
                .env("DISPLAY", display)
                .env("IDLEWATCH_LOG", "debug")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("spawn the session helper"),
        )
    }

    fn signal(&mut self, signal: &str) {
        let _ = Command::new("kill")
            .args([&format!("-{signal}"), &self.0.id().to_string()])
            .status();
        let _ = self.0.wait();
    }
}

impl Drop for Helper {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn latest(server: &Server, host: &str) -> Value {
    server.get("/data", Some(&server.tokens().viewer)).json()[host].clone()
}

#[test]
fn the_helper_reports_its_session_and_a_killed_one_is_missing() {
    let server = Server::start();
    let x = Xvfb::start();
    let dir = tempfile::tempdir().unwrap();
    let channel = dir.path().join("session.sock");
    let spool = dir.path().join("spool");
    let url = server.url();
    let token = server.tokens().agent.clone();
    // The service: no display of its own (the harness starts agents without DISPLAY).
    let agent = Agent::start(
        &[
            "--server",
            &url,
            "--token",
            &token,
            "--interval",
            "1",
            "--host",
            "pc-svc",
            "--session-channel",
            channel.to_str().unwrap(),
        ],
        &spool,
    );
    agent.wait_for_log("session helpers may connect", Duration::from_secs(20));
    let _window = become_foreground(&x.display);
    x.xdotool(&["mousemove", "100", "100"]);
    let mut helper = Helper::start(&channel, &x.display);
    let mut snapshot = Value::Null;
    wait_until(
        "a snapshot with the helper's session",
        Duration::from_secs(20),
        || {
            snapshot = latest(&server, "pc-svc");
            snapshot["session"]["source"] == "helper"
        },
    );
    assert_eq!(snapshot["idle_source"], "x11", "{snapshot}");
    let user = std::env::var("USER").unwrap_or_else(|_| "root".to_owned());
    assert_eq!(snapshot["session"]["user"], user.as_str(), "{snapshot}");
    // The foreground window is this test's: its process name comes from the service's list.
    let me = std::fs::read_to_string("/proc/self/comm").unwrap();
    assert_eq!(snapshot["foreground_process"], me.trim(), "{snapshot}");
    // Idle time is the display's: it grows, and input resets it.
    wait_until(
        "idle time to grow past 2 s",
        Duration::from_secs(10),
        || {
            latest(&server, "pc-svc")["idle_seconds"]
                .as_f64()
                .unwrap_or(0.0)
                >= 2.0
        },
    );
    x.xdotool(&["mousemove", "300", "300"]);
    wait_until("input to reset idle time", Duration::from_secs(10), || {
        latest(&server, "pc-svc")["idle_seconds"]
            .as_f64()
            .unwrap_or(99.0)
            < 1.5
    });
    // Killed without a word: a tamper signal within two intervals.
    helper.signal("KILL");
    wait_until("helper_missing", Duration::from_secs(10), || {
        latest(&server, "pc-svc")["idle_source"] == "helper_missing"
    });
    let missing = latest(&server, "pc-svc");
    assert_eq!(missing["idle_seconds"], Value::Null);
    assert_eq!(missing["session"]["user"], user.as_str(), "{missing}");
    // A new helper takes over; stopped on purpose (a logoff) it leaves no tamper signal.
    let mut helper = Helper::start(&channel, &x.display);
    wait_until("the new helper", Duration::from_secs(10), || {
        latest(&server, "pc-svc")["idle_source"] == "x11"
    });
    helper.signal("TERM");
    wait_until(
        "the service's own reading after a goodbye",
        Duration::from_secs(10),
        || {
            let s = latest(&server, "pc-svc");
            s["session"].is_null() && s["idle_source"] != "helper_missing"
        },
    );
    let log = agent.log();
    assert!(log.contains("session helper said goodbye"), "{log}");
}
