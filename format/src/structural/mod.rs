//! Structural deltas: a snapshot stored as what changed in its process table since the host's
//! previous one — rows added (a template id and their numbers), rows gone, and the numbers
//! that moved — rather than as zstd over the JSON text with the previous text as dictionary.
//! A 300-process snapshot where a process starts, one exits and some forty figures move
//! becomes ~140 bytes instead of ~320 (`idlewatch-record-bench`).
//!
//! Exact by construction and by check: [`DeltaCodec::encode`] decodes what it wrote and
//! answers `None` unless the text comes back byte for byte, so the caller stores that record
//! the older way (a zstd delta) instead; any JSON, however spelt, round-trips.

mod delta;
mod split;
mod surround;
mod template;
mod tokens;

use zstd_safe::{CCtx, DCtx};

pub use split::RowIndex;

/// Encodes and decodes structural deltas; keep one per writer or reader (it reuses its zstd
/// contexts, and a reader's remembers where the parts of the snapshot it last decoded are, so a
/// host's history decodes without cutting each snapshot again).
pub struct DeltaCodec {
    cctx: CCtx<'static>,
    dctx: DCtx<'static>,
    last: Option<(Vec<u8>, RowIndex)>,
}

impl Default for DeltaCodec {
    fn default() -> Self {
        Self {
            cctx: CCtx::create(),
            dctx: DCtx::create(),
            last: None,
        }
    }
}

impl std::fmt::Debug for DeltaCodec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DeltaCodec")
    }
}

/// Whether `json` is cut cleanly: no byte of it may be taken for a template's markers (JSON
/// text never holds these control bytes).
fn plain_text(json: &[u8]) -> bool {
    memchr::memchr2(template::NUMBER, 1, json).is_none()
}

/// What [`DeltaCodec::encode`] did.
#[derive(Debug)]
pub struct Encoded {
    /// The delta was appended (else the snapshot needs another encoding).
    pub written: bool,
    /// Where the parts of `next` are, to pass as `prev_index` when encoding the host's next
    /// snapshot against it.
    pub index: Option<RowIndex>,
}

impl DeltaCodec {
    /// `next` as a delta against `prev`, appended to `out` when it gives `next` back exactly
    /// (else `out` is left unchanged). `prev_index`, when given, must be the index returned
    /// when `prev` was encoded.
    pub fn encode(
        &mut self,
        prev: &[u8],
        prev_index: Option<&RowIndex>,
        next: &[u8],
        out: &mut Vec<u8>,
    ) -> Encoded {
        let before = out.len();
        if !plain_text(prev) || !plain_text(next) {
            return Encoded {
                written: false,
                index: None,
            };
        }
        let new = split::split(next);
        let index = new.as_ref().map(|s| RowIndex::of(s, next));
        let old = match prev_index.and_then(|i| i.view(prev)) {
            Some(old) => Some(old),
            None => split::split(prev),
        };
        let written = match (old, new) {
            (Some(old), Some(new)) => {
                delta::encode(&mut self.cctx, &old, &new, out).is_some()
                    && delta::decode(&mut self.dctx, &old, &out[before..])
                        .is_ok_and(|(back, _)| back == next)
            }
            _ => false,
        };
        if !written {
            out.truncate(before);
        }
        Encoded { written, index }
    }

    /// The JSON of a delta `body` written against `prev`.
    ///
    /// # Errors
    /// What is malformed, when `body` is not such a delta or `prev` is not its base.
    pub fn decode(&mut self, prev: &[u8], body: &[u8]) -> Result<Vec<u8>, &'static str> {
        let cached = self.last.take().filter(|(text, _)| text.as_slice() == prev);
        let old = match cached.as_ref().and_then(|(_, index)| index.view(prev)) {
            Some(old) => old,
            None => split::split(prev).ok_or("the base record has no structure")?,
        };
        let (text, index) = delta::decode(&mut self.dctx, &old, body)?;
        self.last = Some((text.clone(), index));
        Ok(text)
    }
}

#[cfg(test)]
mod tests;
