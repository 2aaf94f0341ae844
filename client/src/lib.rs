//! A minimal Socket.IO v5 client over WebSocket only, cheap enough to run thousands at once:
//! two tasks and a few channels per connection, no thread, events handed over as received text.
//!
//! It speaks what Idlewatch needs — namespace `/`, an `auth` object, events with and without
//! acks — and nothing more: no long-polling, no binary attachments, no reconnection. Shared by
//! the load generator and the server's integration tests, which use it as a real client.
//!
//! ```no_run
//! # async fn demo() -> Result<(), idlewatch_client::Error> {
//! use idlewatch_client::Client;
//! let (client, _events) = Client::connect("http://127.0.0.1:5000", Some("agent-token")).await?;
//! let ack = client
//!     .emit_with_ack("agent_snapshot", &serde_json::json!({"host": "pc-1"}))
//!     .await?;
//! assert_eq!(ack["ok"], true);
//! client.close().await;
//! # Ok(()) }
//! ```

mod error;
mod event;
mod frame;
mod tasks;
mod tls;

use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

pub use error::Error;
pub use event::{Event, Events};
pub use tls::{TlsError, client_config};

use crate::frame::Inbound;
use tasks::{AckReply, Outgoing, ReaderContext, Shared, Socket};

/// [`ClientOptions::fragment_bytes`] by default: below the 4 KiB read buffer a server
/// (engineioxide) gives each WebSocket, with room for the frame header.
pub const DEFAULT_FRAGMENT_BYTES: usize = 4096 - 16;

/// How to connect. [`Default`] suits one client; lower the buffers for thousands.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Sent as the Socket.IO auth object `{"token": ...}`.
    pub token: Option<String>,
    /// Limit for the WebSocket and Socket.IO handshakes together.
    pub connect_timeout: Duration,
    /// How long [`PendingAck::wait`] waits.
    pub ack_timeout: Duration,
    /// Events held for the user; more are dropped (see [`Events`]).
    pub event_buffer: usize,
    /// Packets queued for the writer before `emit` waits.
    pub send_buffer: usize,
    /// WebSocket read buffer, allocated up front for each connection.
    pub read_buffer_bytes: usize,
    /// Longest WebSocket frame sent: longer messages (snapshots) are sent in fragments of this
    /// size, which keeps the server's per-connection read buffer small. 0 sends every message
    /// in one frame, as python-socketio and socket.io-client do.
    pub fragment_bytes: usize,
    /// Whom `https://` / `wss://` servers must be certified by ([`client_config`]); `None`:
    /// the system's certificate authorities.
    pub tls: Option<Arc<rustls::ClientConfig>>,
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            token: None,
            connect_timeout: Duration::from_secs(10),
            ack_timeout: Duration::from_secs(10),
            event_buffer: 1024,
            send_buffer: 64,
            read_buffer_bytes: 16 * 1024,
            fragment_bytes: DEFAULT_FRAGMENT_BYTES,
            tls: None,
        }
    }
}

/// A connected Socket.IO client on namespace `/`. Cheap to clone; every clone sends on the
/// same connection, which closes once the last clone is dropped or [`Client::close`] is called.
#[derive(Clone)]
pub struct Client {
    tx: mpsc::Sender<Outgoing>,
    shared: Arc<Shared>,
    ack_timeout: Duration,
    sid: Arc<str>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").field("sid", &self.sid).finish()
    }
}

impl Client {
    /// Connects to the server at `url` (`http://host:port`, `ws://host:port`, optionally with a
    /// path other than `/socket.io/`) presenting `token`, if any.
    ///
    /// # Errors
    /// A bad URL, an unreachable server, a refusal ([`Error::Refused`]) or a handshake that does
    /// not finish within the default timeout.
    pub async fn connect(url: &str, token: Option<&str>) -> Result<(Self, Events), Error> {
        let options = ClientOptions {
            token: token.map(str::to_owned),
            ..ClientOptions::default()
        };
        Self::connect_with(url, &options).await
    }

    /// Connects with explicit options.
    ///
    /// # Errors
    /// As [`Client::connect`].
    pub async fn connect_with(url: &str, options: &ClientOptions) -> Result<(Self, Events), Error> {
        let ws_url = socket_url(url)?;
        let (socket, open, sid) =
            tokio::time::timeout(options.connect_timeout, handshake(&ws_url, options))
                .await
                .map_err(|_| Error::Timeout {
                    what: "handshake",
                    after: options.connect_timeout,
                })??;
        let (sink, stream) = socket.split();
        let (tx, rx) = mpsc::channel(options.send_buffer.max(1));
        let (events_tx, events_rx) = mpsc::channel(options.event_buffer.max(1));
        let shared = Arc::new(Shared::new());
        let events_dropped = Arc::new(AtomicU64::new(0));
        let liveness =
            Duration::from_millis(open.ping_interval + open.ping_timeout) + Duration::from_secs(5);
        tokio::spawn(tasks::write(
            sink,
            rx,
            shared.clone(),
            options.fragment_bytes,
        ));
        tokio::spawn(tasks::read(
            stream,
            ReaderContext {
                shared: shared.clone(),
                events: events_tx,
                events_dropped: events_dropped.clone(),
                pong: tx.downgrade(),
                liveness,
            },
        ));
        let client = Self {
            tx,
            shared,
            ack_timeout: options.ack_timeout,
            sid: sid.into(),
        };
        Ok((client, Events::new(events_rx, events_dropped)))
    }

    /// The Socket.IO session id the server gave this connection.
    #[must_use]
    pub fn sid(&self) -> &str {
        &self.sid
    }

    /// Sends `event` with `data` serialized as its one argument.
    ///
    /// # Errors
    /// [`Error::Encode`] when `data` does not serialize; [`Error::Closed`] when the connection
    /// is closed.
    pub async fn emit<T: Serialize + ?Sized>(&self, event: &str, data: &T) -> Result<(), Error> {
        let packet = frame::event(event, data, None).map_err(Error::Encode)?;
        self.send(packet).await
    }

    /// Sends `event` with `data_json`, already JSON text, as its one argument. The text is sent
    /// as is: an invalid one is the server's to refuse.
    ///
    /// # Errors
    /// [`Error::Closed`] when the connection is closed.
    pub async fn emit_raw(&self, event: &str, data_json: &str) -> Result<(), Error> {
        self.send(frame::event_raw(event, data_json, None)).await
    }

    /// Sends `event` asking for an ack and waits for it: the ack's first argument.
    ///
    /// # Errors
    /// As [`Client::emit`], plus [`Error::Timeout`] when no ack comes in time.
    pub async fn emit_with_ack<T: Serialize + ?Sized>(
        &self,
        event: &str,
        data: &T,
    ) -> Result<serde_json::Value, Error> {
        let json = serde_json::to_string(data).map_err(Error::Encode)?;
        self.send_with_ack(event, &json).await?.wait().await
    }

    /// Sends `event` with `data_json` asking for an ack, and returns as soon as it is queued;
    /// the returned [`PendingAck`] resolves the ack. Lets a caller keep several in flight.
    ///
    /// # Errors
    /// [`Error::Closed`] when the connection is closed.
    pub async fn send_with_ack(&self, event: &str, data_json: &str) -> Result<PendingAck, Error> {
        let (id, rx) = self.shared.register_ack()?;
        let pending = PendingAck {
            id,
            rx,
            shared: self.shared.clone(),
            timeout: self.ack_timeout,
        };
        self.send(frame::event_raw(event, data_json, Some(id)))
            .await?;
        Ok(pending)
    }

    /// True once the connection is closed, by either side.
    #[must_use]
    pub fn is_closed(&self) -> bool {
        *self.shared.closed.borrow()
    }

    /// Resolves once the connection is closed, by either side (at once when it already is).
    pub async fn closed(&self) {
        let mut closed = self.shared.closed.subscribe();
        let _ = closed.wait_for(|closed| *closed).await;
    }

    /// Sends DISCONNECT and the WebSocket close frame, and waits until the writer has stopped.
    /// Closing a closed client does nothing.
    pub async fn close(&self) {
        if self.tx.send(Outgoing::Close).await.is_ok() {
            let mut closed = self.shared.closed.subscribe();
            let _ = closed.wait_for(|closed| *closed).await;
        }
    }

    async fn send(&self, packet: String) -> Result<(), Error> {
        self.tx
            .send(Outgoing::Packet(packet))
            .await
            .map_err(|_| Error::Closed)
    }
}

/// An ack not yet received. Dropping it forgets the ack.
pub struct PendingAck {
    id: u64,
    rx: oneshot::Receiver<AckReply>,
    shared: Arc<Shared>,
    timeout: Duration,
}

impl PendingAck {
    /// Waits for the ack and returns its first argument (`null` when it has none).
    ///
    /// # Errors
    /// [`Error::Timeout`] after the client's ack timeout, [`Error::Closed`] when the connection
    /// ends first, [`Error::Decode`] when the ack is not a JSON array.
    pub async fn wait(mut self) -> Result<serde_json::Value, Error> {
        let reply = match tokio::time::timeout(self.timeout, &mut self.rx).await {
            Ok(Ok(reply)) => reply,
            Ok(Err(_)) => return Err(Error::Closed),
            Err(_) => {
                return Err(Error::Timeout {
                    what: "ack",
                    after: self.timeout,
                });
            }
        };
        let args: Vec<serde_json::Value> =
            serde_json::from_str(&reply.frame[reply.array]).map_err(Error::Decode)?;
        Ok(args.into_iter().next().unwrap_or_default())
    }
}

impl Drop for PendingAck {
    fn drop(&mut self) {
        self.shared.forget_ack(self.id);
    }
}

impl std::fmt::Debug for PendingAck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingAck").field("id", &self.id).finish()
    }
}

/// The Engine.IO OPEN packet's fields this client uses (milliseconds).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct OpenPacket {
    ping_interval: u64,
    ping_timeout: u64,
}

#[derive(Debug, Deserialize)]
struct ConnectAnswer {
    sid: String,
}

#[derive(Debug, Deserialize)]
struct ConnectError {
    message: String,
}

/// The server's own message when it refused the WebSocket handshake itself with an HTTP error
/// carrying `{"error": {"message"}}` (an Idlewatch server that is busy answers 503 so).
fn http_refusal(error: &tokio_tungstenite::tungstenite::Error) -> Option<String> {
    #[derive(Deserialize)]
    struct Body {
        error: ConnectError,
    }
    let tokio_tungstenite::tungstenite::Error::Http(response) = error else {
        return None;
    };
    let body = response.body().as_deref()?;
    serde_json::from_slice::<Body>(body)
        .ok()
        .map(|b| b.error.message)
}

/// Opens the WebSocket, reads OPEN, sends CONNECT and waits for its answer.
async fn handshake(
    ws_url: &str,
    options: &ClientOptions,
) -> Result<(Socket, OpenPacket, String), Error> {
    let config = WebSocketConfig::default()
        .read_buffer_size(options.read_buffer_bytes)
        .max_message_size(Some(64 << 20));
    let ws_error = |e| Error::WebSocket {
        url: ws_url.to_owned(),
        cause: Box::new(e),
    };
    let connector = if ws_url.starts_with("wss://") {
        let tls = match &options.tls {
            Some(tls) => tls.clone(),
            None => tls::system_config().map_err(Error::Tls)?,
        };
        Some(tokio_tungstenite::Connector::Rustls(tls))
    } else {
        None
    };
    let (mut socket, _) =
        tokio_tungstenite::connect_async_tls_with_config(ws_url, Some(config), true, connector)
            .await
            .map_err(|e| match http_refusal(&e) {
                Some(message) => Error::Refused { message },
                None => ws_error(e),
            })?;
    let mut open = None;
    loop {
        let Some(message) = socket.next().await else {
            return Err(Error::Closed);
        };
        let text = match message.map_err(ws_error)? {
            Message::Text(text) => text,
            Message::Close(_) => return Err(Error::Closed),
            _ => continue,
        };
        match frame::decode(&text).map_err(|e| Error::Protocol(e.to_string()))? {
            Inbound::Open(json) if open.is_none() => {
                open = Some(serde_json::from_str::<OpenPacket>(json).map_err(Error::Decode)?);
                let connect = frame::connect(options.token.as_deref());
                socket
                    .send(Message::text(connect))
                    .await
                    .map_err(ws_error)?;
            }
            Inbound::Ping => socket
                .send(Message::text(frame::PONG))
                .await
                .map_err(ws_error)?,
            Inbound::Connect(json) => {
                let Some(open) = open else {
                    return Err(Error::Protocol("CONNECT answered before OPEN".into()));
                };
                let answer: ConnectAnswer = serde_json::from_str(json).map_err(Error::Decode)?;
                return Ok((socket, open, answer.sid));
            }
            Inbound::ConnectError(json) => {
                let message = serde_json::from_str::<ConnectError>(json)
                    .map_or_else(|_| json.to_owned(), |e| e.message);
                return Err(Error::Refused { message });
            }
            Inbound::Ignored => {}
            other => {
                return Err(Error::Protocol(format!(
                    "unexpected packet during the handshake: {other:?}"
                )));
            }
        }
    }
}

/// Turns a server URL into its Engine.IO WebSocket URL: `http` becomes `ws`, an empty path
/// becomes `/socket.io/`, and the Engine.IO query is appended.
///
/// # Errors
/// [`Error::Url`] for another scheme or a URL with no host.
pub fn socket_url(url: &str) -> Result<String, Error> {
    let bad = |reason| Error::Url {
        url: url.to_owned(),
        reason,
    };
    let (scheme, rest) = [
        ("http://", "ws"),
        ("ws://", "ws"),
        ("https://", "wss"),
        ("wss://", "wss"),
    ]
    .iter()
    .find_map(|(prefix, scheme)| Some((*scheme, url.strip_prefix(prefix)?)))
    .ok_or_else(|| bad("expected http://, https://, ws:// or wss:// and HOST:PORT"))?;
    let (authority, path) = rest.find('/').map_or((rest, ""), |i| rest.split_at(i));
    if authority.is_empty() {
        return Err(bad("no host"));
    }
    let (path, query) = path.split_once('?').unwrap_or((path, ""));
    let path = if path.is_empty() || path == "/" {
        "/socket.io/"
    } else {
        path
    };
    let query = if query.is_empty() {
        String::new()
    } else {
        format!("{query}&")
    };
    Ok(format!(
        "{scheme}://{authority}{path}?{query}EIO=4&transport=websocket"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_urls_become_engine_io_urls() -> Result<(), Error> {
        assert_eq!(
            socket_url("http://127.0.0.1:5000")?,
            "ws://127.0.0.1:5000/socket.io/?EIO=4&transport=websocket"
        );
        assert_eq!(
            socket_url("ws://h:1/")?,
            "ws://h:1/socket.io/?EIO=4&transport=websocket"
        );
        assert_eq!(
            socket_url("http://h/custom/?token=t")?,
            "ws://h/custom/?token=t&EIO=4&transport=websocket"
        );
        assert_eq!(
            socket_url("https://monitor:5000")?,
            "wss://monitor:5000/socket.io/?EIO=4&transport=websocket"
        );
        assert_eq!(
            socket_url("wss://h")?,
            "wss://h/socket.io/?EIO=4&transport=websocket"
        );
        assert!(socket_url("ftp://h").is_err());
        assert!(socket_url("http:///x").is_err());
        Ok(())
    }
}
