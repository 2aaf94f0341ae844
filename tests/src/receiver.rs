//! A webhook receiver on 127.0.0.1, as a chat service or an IT team's automation would run:
//! it keeps every request it is sent (headers and body) and answers each with the next status
//! of a script (then 200), so tests can make the first attempts fail.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};

/// One request received.
#[derive(Debug, Clone)]
pub struct Received {
    /// Its headers.
    pub headers: HeaderMap,
    /// Its body.
    pub body: Vec<u8>,
    /// The status it was answered.
    pub status: u16,
}

impl Received {
    /// The body as JSON.
    ///
    /// # Panics
    /// When it is not JSON.
    #[must_use]
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }

    /// A header's value, if present.
    #[must_use]
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    }
}

#[derive(Default)]
struct Inner {
    received: Vec<Received>,
    script: VecDeque<u16>,
}

/// The receiver; it stops with the test process.
#[derive(Clone)]
pub struct Receiver {
    addr: SocketAddr,
    inner: Arc<Mutex<Inner>>,
}

impl Receiver {
    /// Starts a receiver answering the statuses of `script` in turn, then 200.
    ///
    /// # Panics
    /// When it cannot bind.
    #[must_use]
    pub fn start(script: &[u16]) -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind receiver");
        listener.set_nonblocking(true).expect("nonblocking");
        let addr = listener.local_addr().expect("address");
        let inner = Arc::new(Mutex::new(Inner {
            received: Vec::new(),
            script: script.iter().copied().collect(),
        }));
        let shared = inner.clone();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                let app = axum::Router::new().fallback(move |headers: HeaderMap, body: Bytes| {
                    let shared = shared.clone();
                    async move {
                        let mut inner = shared.lock().expect("receiver lock");
                        let status = inner.script.pop_front().unwrap_or(200);
                        inner.received.push(Received {
                            headers,
                            body: body.to_vec(),
                            status,
                        });
                        StatusCode::from_u16(status).unwrap_or(StatusCode::OK)
                    }
                });
                let _ = axum::serve(listener, app).await;
            });
        });
        Self { addr, inner }
    }

    /// `http://127.0.0.1:PORT/hook`.
    #[must_use]
    pub fn url(&self) -> String {
        format!("http://{}/hook", self.addr)
    }

    /// Every request so far.
    #[must_use]
    pub fn received(&self) -> Vec<Received> {
        self.inner.lock().expect("receiver lock").received.clone()
    }

    /// The bodies of the requests answered 2xx, as JSON.
    #[must_use]
    pub fn delivered(&self) -> Vec<serde_json::Value> {
        self.received()
            .iter()
            .filter(|r| (200..300).contains(&r.status))
            .map(Received::json)
            .collect()
    }

    /// Each alert notification delivered, as `"ALERT" "STATE"` (its name and state as JSON).
    #[must_use]
    pub fn told(&self) -> Vec<String> {
        self.delivered()
            .iter()
            .map(|n| format!("{} {}", n["alert"], n["state"]))
            .collect()
    }
}
