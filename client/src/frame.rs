//! The text packets of Engine.IO v4 and Socket.IO v5 on namespace `/`, as they travel one per
//! WebSocket text frame: decoding what the server sends and encoding what a client sends.
//!
//! Pure string work, no I/O. Binary packets (`45`, `46`), other namespaces and the long-polling
//! payload format are out of scope: the server only needs them for clients this one is not.

use serde::Serialize;

/// Engine.IO pong, the answer to the server's ping `2`.
pub const PONG: &str = "3";
/// Socket.IO DISCONNECT of namespace `/`.
pub const DISCONNECT: &str = "41";

/// One decoded packet from the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inbound<'a> {
    /// Engine.IO OPEN with its JSON handshake object.
    Open(&'a str),
    /// Engine.IO CLOSE.
    Close,
    /// Engine.IO PING: must be answered with [`PONG`].
    Ping,
    /// Engine.IO PONG or NOOP: nothing to do.
    Ignored,
    /// Socket.IO CONNECT answered, with its JSON object (`{"sid": ...}`).
    Connect(&'a str),
    /// Socket.IO DISCONNECT: the server closed the namespace.
    Disconnect,
    /// Socket.IO EVENT: `array` is the JSON array `["name", args...]`.
    Event {
        /// Set when the server asks for an acknowledgement.
        ack: Option<u64>,
        /// The JSON array text.
        array: &'a str,
    },
    /// Socket.IO ACK of an event this client sent; `array` holds the ack arguments.
    Ack {
        /// The id the client put on its event.
        id: u64,
        /// The JSON array text of the ack arguments.
        array: &'a str,
    },
    /// Socket.IO CONNECT_ERROR with its JSON object (`{"message": ...}`).
    ConnectError(&'a str),
    /// A packet this client does not handle (binary, another namespace, upgrade probes); the
    /// text is kept for diagnostics.
    Unsupported(&'a str),
}

/// Why a frame could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed packet {excerpt:?}: {reason}")]
pub struct FrameError {
    excerpt: String,
    reason: &'static str,
}

impl FrameError {
    fn new(text: &str, reason: &'static str) -> Self {
        let excerpt = text.chars().take(60).collect();
        Self { excerpt, reason }
    }
}

/// Decodes one WebSocket text frame.
///
/// # Errors
/// An empty frame, an unknown packet type or a broken ack id.
pub fn decode(text: &str) -> Result<Inbound<'_>, FrameError> {
    let Some(&engine) = text.as_bytes().first() else {
        return Err(FrameError::new(text, "empty frame"));
    };
    if !engine.is_ascii_digit() {
        return Err(FrameError::new(text, "unknown Engine.IO packet type"));
    }
    // The type is one ASCII byte, so slicing after it stays on a char boundary.
    let rest = &text[1..];
    match engine {
        b'0' => Ok(Inbound::Open(rest)),
        b'1' => Ok(Inbound::Close),
        b'2' => Ok(Inbound::Ping),
        b'3' | b'6' => Ok(Inbound::Ignored),
        b'4' => decode_socket(text, rest),
        b'5' => Ok(Inbound::Unsupported(text)),
        _ => Err(FrameError::new(text, "unknown Engine.IO packet type")),
    }
}

fn decode_socket<'a>(text: &'a str, packet: &'a str) -> Result<Inbound<'a>, FrameError> {
    let Some(&kind) = packet.as_bytes().first() else {
        return Err(FrameError::new(text, "empty Socket.IO packet"));
    };
    if !kind.is_ascii_digit() {
        return Err(FrameError::new(text, "unknown Socket.IO packet type"));
    }
    let body = &packet[1..];
    if body.starts_with('/') {
        // Namespace `/` is written without a prefix; any prefix is another namespace.
        return Ok(Inbound::Unsupported(text));
    }
    match kind {
        b'0' => Ok(Inbound::Connect(body)),
        b'1' => Ok(Inbound::Disconnect),
        b'2' => {
            let (ack, array) = split_id(text, body)?;
            Ok(Inbound::Event { ack, array })
        }
        b'3' => match split_id(text, body)? {
            (Some(id), array) => Ok(Inbound::Ack { id, array }),
            (None, _) => Err(FrameError::new(text, "ack without an id")),
        },
        b'4' => Ok(Inbound::ConnectError(body)),
        b'5' | b'6' => Ok(Inbound::Unsupported(text)),
        _ => Err(FrameError::new(text, "unknown Socket.IO packet type")),
    }
}

/// Splits the optional decimal ack id off the front of `body`.
fn split_id<'a>(text: &str, body: &'a str) -> Result<(Option<u64>, &'a str), FrameError> {
    let digits = body.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return Ok((None, body));
    }
    let id = body[..digits]
        .parse()
        .map_err(|_| FrameError::new(text, "ack id out of range"))?;
    Ok((Some(id), &body[digits..]))
}

/// The Socket.IO CONNECT packet for namespace `/`, carrying `{"token": token}` as its auth
/// object when a token is given.
#[must_use]
pub fn connect(token: Option<&str>) -> String {
    match token {
        None => "40".to_owned(),
        Some(token) => format!("40{}", serde_json::json!({ "token": token })),
    }
}

/// An EVENT packet whose single argument is already JSON text.
///
/// `data_json` is trusted to be one valid JSON value: the server rejects the packet otherwise.
#[must_use]
pub fn event_raw(event: &str, data_json: &str, ack: Option<u64>) -> String {
    let mut out = String::with_capacity(event.len() + data_json.len() + 32);
    out.push_str("42");
    if let Some(id) = ack {
        out.push_str(&id.to_string());
    }
    out.push('[');
    push_json_string(&mut out, event);
    out.push(',');
    out.push_str(data_json);
    out.push(']');
    out
}

/// An EVENT packet whose single argument is `data` serialized.
///
/// # Errors
/// When `data` cannot be serialized to JSON (a map with non-string keys, a failing
/// `Serialize` impl).
pub fn event<T: Serialize + ?Sized>(
    event: &str,
    data: &T,
    ack: Option<u64>,
) -> Result<String, serde_json::Error> {
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(b"42");
    if let Some(id) = ack {
        out.extend_from_slice(id.to_string().as_bytes());
    }
    out.push(b'[');
    serde_json::to_writer(&mut out, event)?;
    out.push(b',');
    serde_json::to_writer(&mut out, data)?;
    out.push(b']');
    // serde_json writes UTF-8 only; this check cannot fail but costs one fast pass.
    String::from_utf8(out).map_err(|e| serde::ser::Error::custom(e.utf8_error()))
}

fn push_json_string(out: &mut String, s: &str) {
    if s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        out.push('"');
        out.push_str(s);
        out.push('"');
    } else {
        out.push_str(&serde_json::Value::from(s).to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_engine_packets() {
        assert_eq!(
            decode(r#"0{"sid":"a"}"#),
            Ok(Inbound::Open(r#"{"sid":"a"}"#))
        );
        assert_eq!(decode("2"), Ok(Inbound::Ping));
        assert_eq!(decode("6"), Ok(Inbound::Ignored));
        assert_eq!(decode("1"), Ok(Inbound::Close));
        assert!(decode("").is_err());
        assert!(decode("9").is_err());
        assert!(decode("é").is_err());
        assert!(decode("4é").is_err());
    }

    #[test]
    fn decodes_socket_packets() {
        assert_eq!(
            decode(r#"40{"sid":"x"}"#),
            Ok(Inbound::Connect(r#"{"sid":"x"}"#))
        );
        assert_eq!(
            decode(r#"44{"message":"no"}"#),
            Ok(Inbound::ConnectError(r#"{"message":"no"}"#))
        );
        assert_eq!(decode("41"), Ok(Inbound::Disconnect));
        assert_eq!(
            decode(r#"42["hello",{"msg":"connected"}]"#),
            Ok(Inbound::Event {
                ack: None,
                array: r#"["hello",{"msg":"connected"}]"#
            })
        );
        assert_eq!(
            decode(r#"4312[{"ok":true}]"#),
            Ok(Inbound::Ack {
                id: 12,
                array: r#"[{"ok":true}]"#
            })
        );
        assert!(decode("43[]").is_err());
    }

    #[test]
    fn other_namespaces_and_binary_are_unsupported() {
        assert!(matches!(
            decode(r#"42/admin,["x"]"#),
            Ok(Inbound::Unsupported(_))
        ));
        assert!(matches!(decode("451-[]"), Ok(Inbound::Unsupported(_))));
    }

    #[test]
    fn encodes_connect_with_and_without_token() {
        assert_eq!(connect(None), "40");
        assert_eq!(connect(Some("t\"k")), r#"40{"token":"t\"k"}"#);
    }

    #[test]
    fn encodes_events() {
        assert_eq!(event_raw("a", "{}", None), r#"42["a",{}]"#);
        assert_eq!(event_raw("a\"b", "1", Some(7)), r#"427["a\"b",1]"#);
        let packet = event("snap", &serde_json::json!({"host": "h"}), Some(3));
        assert_eq!(packet.ok().as_deref(), Some(r#"423["snap",{"host":"h"}]"#));
    }
}
