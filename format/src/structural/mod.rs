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
mod parsed;
mod split;
mod template;

use zstd_safe::{CCtx, DCtx};

use parsed::Parsed;

/// Encodes and decodes structural deltas; keep one per writer or reader (it reuses its zstd
/// contexts).
pub struct DeltaCodec {
    cctx: CCtx<'static>,
    dctx: DCtx<'static>,
}

impl Default for DeltaCodec {
    fn default() -> Self {
        Self {
            cctx: CCtx::create(),
            dctx: DCtx::create(),
        }
    }
}

impl std::fmt::Debug for DeltaCodec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DeltaCodec")
    }
}

impl DeltaCodec {
    /// `next` as a delta against `prev`, appended to `out`; `None` (and `out` unchanged) when
    /// the delta would not give `next` back exactly.
    pub fn encode(&mut self, prev: &[u8], next: &[u8], out: &mut Vec<u8>) -> Option<()> {
        let before = out.len();
        let ok = self.try_encode(prev, next, out);
        if ok.is_none() {
            out.truncate(before);
        }
        ok
    }

    fn try_encode(&mut self, prev: &[u8], next: &[u8], out: &mut Vec<u8>) -> Option<()> {
        let before = out.len();
        let old = Parsed::of(prev)?;
        let new = Parsed::of(next)?;
        delta::encode(&mut self.cctx, &old, prev, &new, out)?;
        let back = delta::decode(&mut self.dctx, &old, &out[before..]).ok()?;
        (back == next).then_some(())
    }

    /// The JSON of a delta `body` written against `prev`.
    ///
    /// # Errors
    /// What is malformed, when `body` is not such a delta or `prev` is not its base.
    pub fn decode(&mut self, prev: &[u8], body: &[u8]) -> Result<Vec<u8>, &'static str> {
        let old = Parsed::of(prev).ok_or("the base record has no structure")?;
        delta::decode(&mut self.dctx, &old, body)
    }
}

#[cfg(test)]
mod tests;
