//! A real Socket.IO client in another process (python-socketio or socket.io-client), driven
//! over the line protocol of `tests/peers/README.md`.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::server::Server;

/// Which client library.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeerKind {
    /// python-socketio 5 (the Python original's client library).
    Python,
    /// socket.io-client 4 on Node.
    Node,
}

/// How to connect.
#[derive(Debug, Clone)]
pub struct Connect {
    /// `["polling", "websocket"]` or `["websocket"]`.
    pub transports: Vec<&'static str>,
    /// The Socket.IO auth object.
    pub auth: Option<Value>,
    /// Query parameters on the connection URL.
    pub query: Option<Value>,
    /// Emit `agent_register {"host"}` from the client's connect handler, as the seed agent did.
    pub register_as: Option<String>,
    /// The only CA trusted for an `https://` server.
    pub ca_file: Option<std::path::PathBuf>,
}

impl Connect {
    /// Polling first, then upgrade (the clients' default).
    #[must_use]
    pub fn polling_then_upgrade() -> Self {
        Self {
            transports: vec!["polling", "websocket"],
            auth: None,
            query: None,
            register_as: None,
            ca_file: None,
        }
    }

    /// WebSocket only.
    #[must_use]
    pub fn websocket() -> Self {
        Self {
            transports: vec!["websocket"],
            ..Self::polling_then_upgrade()
        }
    }

    /// With `{"token": token}` as the auth object.
    #[must_use]
    pub fn token(mut self, token: &str) -> Self {
        self.auth = Some(json!({ "token": token }));
        self
    }

    /// Trusting only the CA in `ca_file` (for a server started with TLS).
    #[must_use]
    pub fn ca_file(mut self, ca_file: &std::path::Path) -> Self {
        self.ca_file = Some(ca_file.to_owned());
        self
    }

    /// Registering as `host` from the connect handler.
    #[must_use]
    pub fn register(mut self, host: &str) -> Self {
        self.register_as = Some(host.to_owned());
        self
    }
}

/// A running peer; exits when dropped.
pub struct Peer {
    /// Which library it wraps.
    pub kind: PeerKind,
    child: Child,
    stdin: ChildStdin,
    lines: Receiver<Value>,
    seen: Vec<Value>,
    next_id: u64,
}

const WAIT: Duration = Duration::from_secs(15);

impl Peer {
    /// Starts a peer of `kind`.
    ///
    /// # Panics
    /// When the peer cannot start (run `scripts/install-test-deps`).
    #[must_use]
    pub fn start(kind: PeerKind) -> Self {
        let root = crate::workspace_root();
        let mut command = match kind {
            PeerKind::Python => {
                let python = root.join("target/test-env/venv/bin/python");
                assert!(
                    python.exists(),
                    "{} is missing: run scripts/install-test-deps",
                    python.display()
                );
                let mut c = Command::new(python);
                c.arg(root.join("tests/peers/py_peer.py"));
                c
            }
            PeerKind::Node => {
                let modules = root.join("tests/peers/node/node_modules/socket.io-client");
                assert!(
                    modules.exists(),
                    "{} is missing: run scripts/install-test-deps",
                    modules.display()
                );
                let mut c = Command::new("node");
                c.arg(root.join("tests/peers/node/peer.mjs"));
                c
            }
        };
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn peer");
        let stdin = child.stdin.take().expect("stdin");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let value = serde_json::from_str(&line)
                    .unwrap_or_else(|e| panic!("peer printed non-JSON ({e}): {line}"));
                if tx.send(value).is_err() {
                    break;
                }
            }
        });
        Self {
            kind,
            child,
            stdin,
            lines,
            seen: Vec::new(),
            next_id: 0,
        }
    }

    /// Sends one command line.
    ///
    /// # Panics
    /// When the peer is gone.
    pub fn send(&mut self, command: &Value) {
        let mut line = serde_json::to_string(command).expect("command");
        line.push('\n');
        self.stdin
            .write_all(line.as_bytes())
            .expect("write to peer");
        self.stdin.flush().expect("flush peer stdin");
    }

    /// Connects to `server`; returns the `connected` or `connect_error` line.
    pub fn connect(&mut self, server: &Server, how: &Connect) -> Value {
        self.send(&json!({
            "cmd": "connect",
            "url": server.url(),
            "transports": how.transports,
            "auth": how.auth,
            "query": how.query,
            "register_on_connect": how.register_as,
            "ca_file": how.ca_file,
            "timeout": 10,
        }));
        self.wait_for("a connect outcome", |v| {
            v["type"] == "connected" || v["type"] == "connect_error"
        })
    }

    /// Connects and panics unless connected.
    pub fn connect_ok(&mut self, server: &Server, how: &Connect) {
        let outcome = self.connect(server, how);
        assert_eq!(outcome["type"], "connected", "{outcome}");
    }

    /// Emits `event` with `data`; with `ack`, waits for and returns the ack's first argument.
    pub fn emit(&mut self, event: &str, data: &Value, ack: bool) -> Option<Value> {
        self.next_id += 1;
        let id = format!("e{}", self.next_id);
        self.send(&json!({"cmd": "emit", "event": event, "data": data, "ack": ack, "id": id}));
        self.wait_for("emitted", |v| {
            v["type"] == "emitted" && v["id"] == id.as_str()
        });
        ack.then(|| {
            self.wait_for("an ack", |v| v["type"] == "ack" && v["id"] == id.as_str())["data"]
                .clone()
        })
    }

    /// Emits `event` `count` times without ack.
    pub fn emit_many(&mut self, event: &str, data: &Value, count: usize) {
        self.next_id += 1;
        let id = format!("b{}", self.next_id);
        self.send(
            &json!({"cmd": "emit_many", "event": event, "data": data, "count": count, "id": id}),
        );
        self.wait_for("emitted", |v| {
            v["type"] == "emitted" && v["id"] == id.as_str()
        });
    }

    /// Waits for a received event `name` whose data satisfies `pred`; returns its data.
    pub fn wait_event(&mut self, name: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let what = format!("event {name}");
        self.wait_for(&what, |v| {
            v["type"] == "event" && v["event"] == name && pred(&v["data"])
        })["data"]
            .clone()
    }

    /// Waits until `count` events `name` have arrived in all.
    ///
    /// # Panics
    /// When fewer arrive within 60 s.
    pub fn wait_event_count(&mut self, name: &str, count: usize) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let seen = self.events(name).len();
            if seen >= count {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "only {seen} of {count} {name} events arrived"
            );
            self.settle(Duration::from_millis(100));
        }
    }

    /// The transport in use now.
    pub fn transport(&mut self) -> String {
        self.send(&json!({"cmd": "transport"}));
        let line = self.wait_for_new("transport", |v| v["type"] == "transport");
        line["name"].as_str().unwrap_or("none").to_owned()
    }

    /// Waits until the transport is `name` (socket.io-client upgrades in the background).
    pub fn wait_transport(&mut self, name: &str) {
        let deadline = Instant::now() + WAIT;
        while self.transport() != name {
            assert!(Instant::now() < deadline, "transport never became {name}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Reads lines for `period` and returns every line seen so far.
    pub fn settle(&mut self, period: Duration) -> &[Value] {
        let deadline = Instant::now() + period;
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.lines.recv_timeout(left) {
                Ok(v) => self.seen.push(v),
                Err(_) => break,
            }
        }
        &self.seen
    }

    /// Data of every received event `name` so far (after reading what is pending).
    pub fn events(&mut self, name: &str) -> Vec<Value> {
        while let Ok(v) = self.lines.try_recv() {
            self.seen.push(v);
        }
        self.seen
            .iter()
            .filter(|v| v["type"] == "event" && v["event"] == name)
            .map(|v| v["data"].clone())
            .collect()
    }

    /// The first line, seen before or arriving within 15 s, satisfying `pred`.
    ///
    /// # Panics
    /// On timeout, listing what was seen.
    pub fn wait_for(&mut self, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        if let Some(v) = self.seen.iter().find(|v| pred(v)) {
            return v.clone();
        }
        self.wait_for_new(what, pred)
    }

    fn wait_for_new(&mut self, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(v) => {
                    let hit = pred(&v);
                    self.seen.push(v.clone());
                    if hit {
                        return v;
                    }
                }
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => panic!(
                    "{:?} peer: no {what} within {WAIT:?}; saw {} lines, the last ones:\n{}",
                    self.kind,
                    self.seen.len(),
                    self.seen
                        .iter()
                        .rev()
                        .take(12)
                        .rev()
                        .map(Value::to_string)
                        .collect::<Vec<_>>()
                        .join("\n")
                ),
            }
        }
    }

    /// Disconnects from the server.
    pub fn disconnect(&mut self) {
        self.send(&json!({"cmd": "disconnect"}));
        self.wait_for_new("disconnected", |v| v["type"] == "disconnected");
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.stdin.write_all(b"{\"cmd\":\"exit\"}\n");
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
