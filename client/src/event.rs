//! Events the server sends, as handed to the user: the event name decoded eagerly (it is a few
//! bytes at the front), the arguments left as the received text until asked for, so a consumer
//! that only counts events or looks for one key never parses a 20 KB snapshot.

use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::de::DeserializeOwned;
use serde_json::value::RawValue;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Utf8Bytes;

use super::Error;

/// One Socket.IO event from the server.
#[derive(Debug, Clone)]
pub struct Event {
    frame: Utf8Bytes,
    /// The `["name", args...]` array inside `frame`.
    array: Range<usize>,
    /// The text after the name's comma, up to the array's closing bracket.
    args: Range<usize>,
    name: Box<str>,
}

impl Event {
    /// Wraps the array `frame[array]` of an EVENT packet, decoding its name.
    pub(super) fn new(frame: Utf8Bytes, array: Range<usize>) -> Result<Self, Error> {
        let text = &frame[array.clone()];
        let (name, after_name) = split_name(text)
            .ok_or_else(|| Error::Protocol(format!("event without a name: {}", excerpt(text))))?;
        let tail = text[after_name..].trim_start();
        let args_start = array.end - tail.len();
        let args = match tail.strip_prefix(',') {
            Some(rest) => {
                let inner = rest.trim_end().strip_suffix(']').ok_or_else(|| {
                    Error::Protocol(format!("event array not closed: {}", excerpt(text)))
                })?;
                let start = args_start + 1;
                start..start + inner.len()
            }
            None => args_start..args_start,
        };
        Ok(Self {
            frame,
            array,
            args,
            name,
        })
    }

    /// The event name (`telemetry`, `agent_list`, ...).
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The whole event as received: the JSON array `["name", args...]`.
    #[must_use]
    pub fn array(&self) -> &str {
        &self.frame[self.array.clone()]
    }

    /// The JSON text of the first argument, exactly as the server sent it.
    ///
    /// # Errors
    /// [`Error::Protocol`] when the event has no argument or it is not valid JSON.
    pub fn data(&self) -> Result<&str, Error> {
        let args = &self.frame[self.args.clone()];
        let mut values = serde_json::Deserializer::from_str(args).into_iter::<&RawValue>();
        match values.next() {
            Some(Ok(raw)) => Ok(raw.get()),
            Some(Err(e)) => Err(Error::Decode(e)),
            None => Err(Error::Protocol(format!(
                "event {:?} has no argument",
                self.name
            ))),
        }
    }

    /// The first argument, deserialized.
    ///
    /// # Errors
    /// When there is no argument or it does not have the shape of `T`.
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T, Error> {
        serde_json::from_str(self.data()?).map_err(Error::Decode)
    }
}

/// Splits the leading JSON string (after `[`) off an event array: its decoded value and the
/// byte offset just past its closing quote.
fn split_name(array: &str) -> Option<(Box<str>, usize)> {
    let open = array.find('[')?;
    let rest = &array[open + 1..];
    let quote = open + 1 + (rest.len() - rest.trim_start().len());
    let body = array.get(quote..)?.strip_prefix('"')?;
    let mut escaped = false;
    let mut bytes = body.bytes().enumerate();
    while let Some((i, b)) = bytes.next() {
        match b {
            b'\\' => {
                escaped = true;
                // The escaped character (a quote, maybe) is part of the string.
                bytes.next();
            }
            b'"' => {
                let end = quote + 1 + i + 1;
                let name = if escaped {
                    serde_json::from_str::<String>(&array[quote..end]).ok()?
                } else {
                    body[..i].to_owned()
                };
                return Some((name.into_boxed_str(), end));
            }
            _ => {}
        }
    }
    None
}

fn excerpt(text: &str) -> String {
    text.chars().take(60).collect()
}

/// The stream of events from the server, in arrival order; `None` once the connection is
/// closed.
///
/// The connection never waits for its reader: up to [`ClientOptions::event_buffer`] events are
/// held, and events arriving while the buffer is full are dropped and counted in
/// [`Events::dropped`]. Dropping `Events` discards every further event.
///
/// [`ClientOptions::event_buffer`]: super::ClientOptions::event_buffer
#[derive(Debug)]
pub struct Events {
    rx: mpsc::Receiver<Event>,
    dropped: Arc<AtomicU64>,
}

impl Events {
    pub(super) fn new(rx: mpsc::Receiver<Event>, dropped: Arc<AtomicU64>) -> Self {
        Self { rx, dropped }
    }

    /// Events dropped so far because the buffer was full.
    #[must_use]
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// The next event, or `None` when the connection has closed and every event was received.
    pub async fn recv(&mut self) -> Option<Event> {
        self.rx.recv().await
    }

    /// The next event if one is already waiting.
    pub fn try_recv(&mut self) -> Option<Event> {
        self.rx.try_recv().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(array: &str) -> Result<Event, Error> {
        let frame = format!("42{array}");
        let len = frame.len();
        Event::new(Utf8Bytes::from(frame), 2..len)
    }

    #[test]
    fn decodes_name_and_first_argument() -> Result<(), Error> {
        let e = event(r#"["telemetry", {"host":"pc-1","n":[1,2]} ]"#)?;
        assert_eq!(e.name(), "telemetry");
        assert_eq!(e.data()?, r#"{"host":"pc-1","n":[1,2]}"#);
        let v: serde_json::Value = e.parse()?;
        assert_eq!(v["host"], "pc-1");
        Ok(())
    }

    #[test]
    fn data_is_only_the_first_of_several_arguments() -> Result<(), Error> {
        let e = event(r#"["x",1,{"a":2}]"#)?;
        assert_eq!(e.data()?, "1");
        Ok(())
    }

    #[test]
    fn escaped_names_are_decoded() -> Result<(), Error> {
        let e = event(r#"["a\"b\\",null]"#)?;
        assert_eq!(e.name(), "a\"b\\");
        assert_eq!(e.data()?, "null");
        Ok(())
    }

    #[test]
    fn an_event_without_arguments_has_no_data() -> Result<(), Error> {
        let e = event(r#"["ping"]"#)?;
        assert_eq!(e.name(), "ping");
        assert!(e.data().is_err());
        Ok(())
    }

    #[test]
    fn malformed_arrays_are_refused() {
        assert!(event("[]").is_err());
        assert!(event(r#"["unterminated"#).is_err());
        assert!(event(r#"["x",1"#).is_err());
    }
}
