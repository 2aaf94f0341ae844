//! What can go wrong talking to a Socket.IO server.

use std::time::Duration;

use tokio_tungstenite::tungstenite;

/// A client failure. `Refused` is the server's own answer (a Socket.IO `connect_error`); the
/// others are transport or protocol trouble.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The server URL cannot be turned into a Socket.IO WebSocket URL.
    #[error("invalid server URL {url:?}: {reason}")]
    Url {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The WebSocket could not be opened, or failed while open.
    #[error("WebSocket to {url} failed")]
    WebSocket {
        /// The WebSocket URL.
        url: String,
        /// The transport error.
        #[source]
        source: Box<tungstenite::Error>,
    },
    /// The server answered CONNECT with a `connect_error` (a bad token, most often).
    #[error("the server refused the connection: {message}")]
    Refused {
        /// The `message` of the `connect_error` packet.
        message: String,
    },
    /// The server sent something this client cannot make sense of.
    #[error("Socket.IO protocol error: {0}")]
    Protocol(String),
    /// No answer in time.
    #[error("no {what} within {after:?}")]
    Timeout {
        /// What was awaited: "handshake", "ack".
        what: &'static str,
        /// How long it was awaited.
        after: Duration,
    },
    /// The connection is closed (by either side); nothing more can be sent or received.
    #[error("the connection is closed")]
    Closed,
    /// A payload could not be serialized to JSON.
    #[error("cannot encode the payload as JSON")]
    Encode(#[source] serde_json::Error),
    /// A payload from the server is not the JSON expected.
    #[error("cannot decode the server's payload")]
    Decode(#[source] serde_json::Error),
}
