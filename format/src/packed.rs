//! JSON kept compressed in memory: the last snapshot of each host, which the record writer
//! needs as the next delta's dictionary and the server keeps as the host's latest state. A
//! 300-process snapshot is ~30 KB of JSON and ~4 KB packed, which matters with 10,000 hosts.

use std::cell::RefCell;

use zstd_safe::{CCtx, DCtx};

/// Fast level: packing is on the ingest path.
const LEVEL: i32 = 1;

thread_local! {
    static CCTX: RefCell<CCtx<'static>> = RefCell::new(CCtx::create());
    static DCTX: RefCell<DCtx<'static>> = RefCell::new(DCtx::create());
}

/// Compressed JSON text.
#[derive(Clone, PartialEq, Eq)]
pub struct PackedJson {
    bytes: Box<[u8]>,
    len: usize,
    compressed: bool,
}

impl std::fmt::Debug for PackedJson {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "PackedJson({} bytes, {} packed)",
            self.len,
            self.bytes.len()
        )
    }
}

impl PackedJson {
    /// Compresses `json`.
    #[must_use]
    pub fn pack(json: &[u8]) -> Self {
        let mut out = Vec::with_capacity(zstd_safe::compress_bound(json.len()));
        let packed = CCTX.with(|c| c.borrow_mut().compress(&mut out, json, LEVEL).is_ok());
        if !packed {
            // Compression into a buffer of `compress_bound` bytes cannot fail; should it ever,
            // keep the text as it is.
            return Self {
                bytes: json.into(),
                len: json.len(),
                compressed: false,
            };
        }
        Self {
            bytes: out.into_boxed_slice(),
            len: json.len(),
            compressed: true,
        }
    }

    /// The JSON text back.
    #[must_use]
    pub fn unpack(&self) -> Vec<u8> {
        if !self.compressed {
            return self.bytes.to_vec();
        }
        let mut out = Vec::with_capacity(self.len);
        let ok = DCTX.with(|d| d.borrow_mut().decompress(&mut out, &self.bytes).is_ok());
        if ok { out } else { Vec::new() }
    }

    /// Length of the JSON text.
    #[must_use]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the text is empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Bytes held in memory.
    #[must_use]
    pub fn packed_len(&self) -> usize {
        self.bytes.len()
    }

    /// The bytes as held, to hand to another process: whether they are a zstd frame (which
    /// records the text's length), and the frame (or, rarely, the text itself).
    #[must_use]
    pub fn as_wire(&self) -> (bool, &[u8]) {
        (self.compressed, &self.bytes)
    }

    /// Takes [`PackedJson::as_wire`]'s parts back, from another process. `None` when a frame
    /// does not say how long its text is, or says it is longer than `max_len`; a frame that
    /// is not valid zstd unpacks to nothing.
    #[must_use]
    pub fn from_wire(compressed: bool, bytes: &[u8], max_len: usize) -> Option<Self> {
        let len = if compressed {
            usize::try_from(zstd_safe::get_frame_content_size(bytes).ok()??).ok()?
        } else {
            bytes.len()
        };
        (len <= max_len).then(|| Self {
            bytes: bytes.into(),
            len,
            compressed,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packs_small_and_unpacks_exactly() {
        let json = br#"{"host":"pc","processes":[{"pid":1,"name":"chrome.exe"}]}"#.repeat(200);
        let packed = PackedJson::pack(&json);
        assert!(packed.packed_len() < json.len() / 10, "{packed:?}");
        assert_eq!(packed.unpack(), json);
        assert_eq!(packed.len(), json.len());
        assert_eq!(PackedJson::pack(b"").unpack(), b"");
    }

    #[test]
    fn what_goes_over_the_wire_comes_back_exactly_and_is_bounded() {
        let json = br#"{"host":"pc","processes":[{"pid":1,"name":"chrome.exe"}]}"#.repeat(200);
        let packed = PackedJson::pack(&json);
        let (compressed, bytes) = packed.as_wire();
        assert!(compressed);
        let back = PackedJson::from_wire(compressed, bytes, json.len()).unwrap();
        assert_eq!(back, packed);
        assert_eq!(back.unpack(), json);
        assert!(PackedJson::from_wire(true, bytes, json.len() - 1).is_none());
        assert!(PackedJson::from_wire(true, b"not zstd", 1 << 20).is_none());
        assert_eq!(
            PackedJson::from_wire(false, b"{}", 2).unwrap().unpack(),
            b"{}"
        );
    }
}
