//! A validated snapshot: the agent's exact JSON text plus its typed known fields.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::error::{ErrorCode, SnapshotError};
use crate::fields::{SnapshotFields, TOO_MANY_PROCESSES};
use crate::limits::{MAX_MESSAGE_BYTES, MAX_PROCESSES};
use crate::structure::check_structure;

/// A snapshot as an agent sent it.
///
/// `raw()` is the exact JSON text received — every key, in order, with numbers as written — so
/// relaying it to dashboards or `/data` changes nothing. `fields()` is the validated typed view.
#[derive(Debug, Clone)]
pub struct Snapshot {
    raw: Box<RawValue>,
    fields: SnapshotFields,
}

impl Snapshot {
    /// Parses and validates JSON text, keeping it verbatim.
    ///
    /// # Errors
    /// A [`SnapshotError`] naming the first rule the text breaks.
    pub fn parse(text: &str) -> Result<Self, SnapshotError> {
        check_size_and_shape(text, MAX_MESSAGE_BYTES)?;
        let fields = parse_fields(text)?;
        let value = text.trim_matches(|c| matches!(c, ' ' | '\t' | '\n' | '\r'));
        let raw = RawValue::from_string(value.to_owned())
            .map_err(|e| SnapshotError::new(ErrorCode::InvalidJson, e.to_string()))?;
        Ok(Self { raw, fields })
    }

    /// Validates an already-delimited JSON value without copying it.
    ///
    /// # Errors
    /// A [`SnapshotError`] naming the first rule the value breaks.
    pub fn from_raw(raw: Box<RawValue>) -> Result<Self, SnapshotError> {
        Self::from_raw_limited(raw, MAX_MESSAGE_BYTES)
    }

    /// As [`Snapshot::from_raw`], with a size limit other than the default
    /// [`MAX_MESSAGE_BYTES`] (a server configured for larger messages).
    ///
    /// # Errors
    /// A [`SnapshotError`] naming the first rule the value breaks.
    pub fn from_raw_limited(raw: Box<RawValue>, max_bytes: usize) -> Result<Self, SnapshotError> {
        check_size_and_shape(raw.get(), max_bytes)?;
        let fields = parse_fields(raw.get())?;
        Ok(Self { raw, fields })
    }

    /// Refuses a `captured_at` more than `max_ahead_ms` after `now_ms` (the receiver's clock):
    /// one snapshot dated in the far future would otherwise stay its host's latest and hide
    /// every genuine one after it. A snapshot without `captured_at` always passes.
    ///
    /// # Errors
    /// `invalid_field` naming `captured_at`, how far ahead it is and what to fix.
    pub fn check_clock(&self, now_ms: i64, max_ahead_ms: i64) -> Result<(), SnapshotError> {
        let Some(captured) = self.fields.captured_at else {
            return Ok(());
        };
        let ahead = captured.epoch_ms().saturating_sub(now_ms);
        if ahead > max_ahead_ms {
            return Err(SnapshotError::new(
                ErrorCode::InvalidField,
                format!(
                    "`captured_at` is {} s ahead of the server's clock (at most {} s are \
                     accepted); fix the agent machine's clock (NTP) and send it again",
                    ahead / 1000,
                    max_ahead_ms / 1000
                ),
            ));
        }
        Ok(())
    }

    /// The exact JSON text the agent sent.
    #[must_use]
    pub fn raw(&self) -> &RawValue {
        &self.raw
    }

    /// The typed, validated known fields.
    #[must_use]
    pub fn fields(&self) -> &SnapshotFields {
        &self.fields
    }

    /// The reporting host.
    #[must_use]
    pub fn host(&self) -> &str {
        &self.fields.host
    }

    /// Size of the JSON text in bytes.
    #[must_use]
    pub fn len(&self) -> usize {
        self.raw.get().len()
    }

    /// Always false: a valid snapshot holds at least `{"host": ...}`.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.raw.get().is_empty()
    }
}

fn check_size_and_shape(text: &str, max_bytes: usize) -> Result<(), SnapshotError> {
    if text.len() > max_bytes {
        return Err(SnapshotError::new(
            ErrorCode::TooLarge,
            format!(
                "snapshot is {} bytes; at most {max_bytes} are accepted",
                text.len()
            ),
        ));
    }
    check_structure(text)?;
    match text.trim_start().as_bytes().first() {
        Some(b'{') => Ok(()),
        Some(b'[') => Err(not_an_object("an array")),
        Some(b'"') => Err(not_an_object("a string")),
        Some(b'n') => Err(not_an_object("null")),
        Some(b't' | b'f') => Err(not_an_object("a boolean")),
        Some(_) => Err(not_an_object("a number")),
        None => Err(SnapshotError::new(
            ErrorCode::InvalidPayload,
            "snapshot is empty",
        )),
    }
}

fn not_an_object(what: &str) -> SnapshotError {
    SnapshotError::new(
        ErrorCode::InvalidPayload,
        format!("a snapshot must be a JSON object with at least `host`, got {what}"),
    )
}

impl SnapshotFields {
    /// The known fields of a snapshot's JSON text, validated, without keeping the text: for
    /// readers of stored snapshots (reports) that need the fields only.
    ///
    /// # Errors
    /// A [`SnapshotError`] naming the first rule the text breaks.
    pub fn parse(text: &str) -> Result<Self, SnapshotError> {
        parse_fields(text)
    }
}

fn parse_fields(text: &str) -> Result<SnapshotFields, SnapshotError> {
    // Valid snapshots (nearly all) take the fast path; only a failure is parsed again with
    // path tracking, to name the field at fault.
    let fields = match serde_json::from_str::<SnapshotFields>(text) {
        Ok(fields) => fields,
        Err(_) => explain_failure(text)?,
    };
    fields.check_ranges().map_err(|(field, why)| {
        SnapshotError::new(ErrorCode::InvalidField, format!("`{field}` {why}"))
    })?;
    Ok(fields)
}

/// Parses `text` again with path tracking to build the error naming the field at fault.
fn explain_failure(text: &str) -> Result<SnapshotFields, SnapshotError> {
    let de = &mut serde_json::Deserializer::from_str(text);
    let fields = serde_path_to_error::deserialize(&mut *de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            return SnapshotError::new(ErrorCode::InvalidJson, format!("not valid JSON: {inner}"));
        }
        let msg = inner.to_string();
        if msg.starts_with(TOO_MANY_PROCESSES) {
            return SnapshotError::new(
                ErrorCode::TooManyProcesses,
                format!("`processes` lists more than {MAX_PROCESSES} entries"),
            );
        }
        if path == "." || path.is_empty() {
            SnapshotError::new(ErrorCode::InvalidField, msg)
        } else {
            SnapshotError::new(ErrorCode::InvalidField, format!("`{path}`: {msg}"))
        }
    })?;
    // Anything after the value but JSON whitespace (found by fuzzing: a trailing vertical tab).
    de.end()
        .map_err(|e| SnapshotError::new(ErrorCode::InvalidJson, format!("not valid JSON: {e}")))?;
    Ok(fields)
}

impl Serialize for Snapshot {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.raw.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Snapshot {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = Box::<RawValue>::deserialize(deserializer)?;
        Self::from_raw(raw).map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for Snapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.raw.get())
    }
}
