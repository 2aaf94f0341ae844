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
    /// The WebSocket could not be opened, or failed while open (the cause is part of the
    /// message: an agent's log line must say why, e.g. an untrusted certificate).
    #[error("WebSocket to {url} failed: {cause}")]
    WebSocket {
        /// The WebSocket URL.
        url: String,
        /// The transport error.
        cause: Box<tungstenite::Error>,
    },
    /// No TLS configuration for a `https://` server.
    #[error(transparent)]
    Tls(crate::tls::TlsError),
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

impl Error {
    /// True when the server's TLS certificate was not accepted (unknown authority, wrong name,
    /// expired): trusting it is the user's fix (a CA file), not a retry.
    #[must_use]
    pub fn is_certificate_error(&self) -> bool {
        let Self::WebSocket { cause, .. } = self else {
            return false;
        };
        // The handshake's failure comes as an I/O error carrying rustls' error.
        let tls = match &**cause {
            tungstenite::Error::Io(io) => io.get_ref().and_then(|e| e.downcast_ref()),
            tungstenite::Error::Tls(tungstenite::error::TlsError::Rustls(tls)) => Some(&**tls),
            _ => None,
        };
        matches!(tls, Some(rustls::Error::InvalidCertificate(_)))
    }
}
