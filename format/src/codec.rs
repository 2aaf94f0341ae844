//! Encoding of one stored snapshot (the value under its sequence number): a small header (host,
//! the host's record ordinal, the base record, times, the agent's `seq`) followed by a zstd
//! frame of the snapshot's exact JSON text, compressed alone (a keyframe) or with the host's
//! previous snapshot as a raw-content dictionary (a delta: a process list barely changes in
//! 5 s, so ~30 KB of JSON shrinks to a few hundred bytes). Since schema version 3 the header is
//! followed by the record's [`Summary`] (length-prefixed), readable without decompressing.
//!
//! An encoder made for [`DeltaKind::Structural`] first tries a structural delta (kind 5: what
//! changed in the process table, see [`crate::structural`]) and stores a snapshot it cannot
//! describe exactly as a zstd delta (kind 4); every decoder reads both.
//!
//! Kind byte: 1 keyframe, 2 delta (schema 2, no summary); 3 keyframe, 4 delta (with summary);
//! 5 structural delta (with summary).

use zstd_safe::{CCtx, DCtx};

use super::structural::{DeltaCodec, RowIndex};
use super::summary::Summary;
use super::varint::{get_varint, put_varint, unzigzag, zigzag};

use crate::Error;

/// zstd level: 3 is zstd's default, a good ratio at a few hundred MB/s.
const LEVEL: i32 = 3;

/// How a record's payload is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameKind {
    /// Compressed alone.
    Key,
    /// Compressed with the previous record of the same host as dictionary.
    Delta,
}

/// Metadata stored in front of every record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordHeader {
    /// Server sequence number (the one acked to the agent): the record's key.
    pub seq: u64,
    /// The host's id.
    pub host: u32,
    /// The host's record ordinal (0, 1, 2, ... in arrival order).
    pub n: u64,
    /// For a delta, the sequence number of the host's previous record (its dictionary).
    pub base: Option<u64>,
    /// When the server received it, epoch ms.
    pub received_ms: i64,
    /// The agent's `captured_at`, or `received_ms` when it sent none, epoch ms.
    pub captured_ms: i64,
    /// The agent's own `seq`, when sent.
    pub agent_seq: Option<u64>,
}

impl RecordHeader {
    /// Keyframe or delta.
    #[must_use]
    pub fn kind(&self) -> FrameKind {
        if self.base.is_some() {
            FrameKind::Delta
        } else {
            FrameKind::Key
        }
    }
}

/// How deltas are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DeltaKind {
    /// zstd with the previous record as dictionary (kind 4): the store's own default, and
    /// what a server writes with `[retention] deltas = "zstd"`.
    #[default]
    Zstd,
    /// Structural deltas (kind 5) where they give the snapshot back exactly, else zstd: what a
    /// server writes by default (`[retention] deltas = "structural"`), ~40 % fewer bytes per
    /// snapshot for a little more CPU (docs/PERFORMANCE.md).
    Structural,
}

/// Compresses records; keep one per writer (it reuses its zstd context).
pub struct Encoder {
    cctx: CCtx<'static>,
    structural: Option<DeltaCodec>,
}

/// Decompresses records; keep one per reader.
pub struct Decoder {
    dctx: DCtx<'static>,
    structural: DeltaCodec,
}

impl Default for Encoder {
    fn default() -> Self {
        Self::new(DeltaKind::default())
    }
}

impl Default for Decoder {
    fn default() -> Self {
        Self {
            dctx: DCtx::create(),
            structural: DeltaCodec::default(),
        }
    }
}

impl Encoder {
    /// An encoder writing deltas of `kind`.
    #[must_use]
    pub fn new(kind: DeltaKind) -> Self {
        Self {
            cctx: CCtx::create(),
            structural: (kind == DeltaKind::Structural).then(DeltaCodec::default),
        }
    }

    /// Encodes `json` with `header`; a delta when `base` (the JSON of the record that
    /// `header.base` names) is given.
    ///
    /// # Errors
    /// Only if zstd fails, which it does not for valid input sizes; or when `base` and
    /// `header.base` disagree.
    pub fn encode(
        &mut self,
        header: &RecordHeader,
        summary: Option<&Summary>,
        json: &[u8],
        base: Option<&[u8]>,
    ) -> Result<Vec<u8>, Error> {
        self.encode_indexed(header, summary, json, base.map(|b| (b, None)))
            .map(|(bytes, _)| bytes)
    }

    /// As [`Encoder::encode`], given where the parts of `base` are (the index this returned
    /// when `base` was encoded, if kept); also returns the index of `json` when structural
    /// deltas are written.
    ///
    /// # Errors
    /// As [`Encoder::encode`].
    pub fn encode_indexed(
        &mut self,
        header: &RecordHeader,
        summary: Option<&Summary>,
        json: &[u8],
        base: Option<(&[u8], Option<&RowIndex>)>,
    ) -> Result<(Vec<u8>, Option<RowIndex>), Error> {
        let base_index = base.and_then(|(_, index)| index);
        let base = base.map(|(b, _)| b);
        if base.is_some() != header.base.is_some() {
            return Err(Error::Corrupt {
                what: format!("seq {}", header.seq),
                reason: "a delta needs its base record and only a delta has one".to_owned(),
            });
        }
        let mut out = Vec::with_capacity(256);
        out.push(match (base, summary) {
            (None, None) => 1,
            (Some(_), None) => 2,
            (None, Some(_)) => 3,
            (Some(_), Some(_)) => 4,
        });
        put_varint(&mut out, u64::from(header.host));
        put_varint(&mut out, header.n);
        put_varint(
            &mut out,
            header.base.map_or(0, |b| header.seq.saturating_sub(b)),
        );
        put_varint(&mut out, zigzag(header.received_ms));
        put_varint(
            &mut out,
            zigzag(header.captured_ms.wrapping_sub(header.received_ms)),
        );
        put_varint(
            &mut out,
            header.agent_seq.map_or(0, |s| s.saturating_add(1)),
        );
        if let Some(summary) = summary {
            let mut encoded = Vec::with_capacity(64);
            summary.encode(&mut encoded);
            put_varint(&mut out, encoded.len() as u64);
            out.extend_from_slice(&encoded);
        }
        let mut index = None;
        if let (Some(codec), Some(base), Some(_)) = (&mut self.structural, base, summary) {
            let encoded = codec.encode(base, base_index, json, &mut out);
            if encoded.written {
                out[0] = 5;
                return Ok((out, encoded.index));
            }
            index = encoded.index;
        }
        let mut frame = Vec::with_capacity(zstd_safe::compress_bound(json.len()));
        let result = match base {
            Some(dict) => self.cctx.compress_using_dict(&mut frame, json, dict, LEVEL),
            None => self.cctx.compress(&mut frame, json, LEVEL),
        };
        result.map_err(|code| Error::Corrupt {
            what: format!("seq {}", header.seq),
            reason: format!(
                "zstd compression failed: {}",
                zstd_safe::get_error_name(code)
            ),
        })?;
        out.extend_from_slice(&frame);
        Ok((out, index))
    }
}

impl Decoder {
    /// Decodes the JSON of record `seq`; `base` must be its base record's JSON for a delta.
    ///
    /// # Errors
    /// [`Error::Corrupt`] when the bytes are not a record, or a delta comes without its base.
    pub fn decode(
        &mut self,
        seq: u64,
        bytes: &[u8],
        base: Option<&[u8]>,
    ) -> Result<Vec<u8>, Error> {
        let (header, offset) = parse_header(seq, bytes)?;
        let frame = &bytes[offset..];
        let corrupt = |reason: String| Error::Corrupt {
            what: format!("seq {}", header.seq),
            reason,
        };
        if bytes[0] == 5 {
            let base = base.ok_or_else(|| corrupt("delta record without its base".into()))?;
            return self
                .structural
                .decode(base, frame)
                .map_err(|reason| corrupt(format!("structural delta: {reason}")));
        }
        let size = match zstd_safe::get_frame_content_size(frame) {
            Ok(Some(n)) => usize::try_from(n).map_err(|_| corrupt("frame too large".into()))?,
            _ => return Err(corrupt("zstd frame without content size".into())),
        };
        let mut out = Vec::with_capacity(size);
        let result = match (header.kind(), base) {
            (FrameKind::Key, _) => self.dctx.decompress(&mut out, frame),
            (FrameKind::Delta, Some(dict)) => {
                self.dctx.decompress_using_dict(&mut out, frame, dict)
            }
            (FrameKind::Delta, None) => {
                return Err(corrupt("delta record without its base".into()));
            }
        };
        result.map_err(|code| corrupt(format!("zstd: {}", zstd_safe::get_error_name(code))))?;
        Ok(out)
    }
}

/// Reads the header of record `seq` without decompressing it.
///
/// # Errors
/// [`Error::Corrupt`] when the bytes are not a record.
pub fn parse_header(seq: u64, bytes: &[u8]) -> Result<(RecordHeader, usize), Error> {
    parse_parts(seq, bytes).map(|(header, _, frame)| (header, frame))
}

/// The summary stored with record `seq` (`None` for a record written before schema 3).
///
/// # Errors
/// [`Error::Corrupt`] when the bytes are not a record or the summary is malformed.
pub fn read_summary(seq: u64, bytes: &[u8]) -> Result<Option<Summary>, Error> {
    let (_, summary, _) = parse_parts(seq, bytes)?;
    summary
        .map(|range| {
            Summary::decode(&bytes[range]).map_err(|reason| Error::Corrupt {
                what: format!("summary of record {seq}"),
                reason: reason.to_owned(),
            })
        })
        .transpose()
}

/// The header, where the summary is (if any), and where the zstd frame starts.
fn parse_parts(
    seq: u64,
    bytes: &[u8],
) -> Result<(RecordHeader, Option<std::ops::Range<usize>>, usize), Error> {
    let corrupt = |reason: &str| Error::Corrupt {
        what: "record header".to_owned(),
        reason: reason.to_owned(),
    };
    let (delta, summarized) = match bytes.first() {
        Some(1) => (false, false),
        Some(2) => (true, false),
        Some(3) => (false, true),
        Some(4 | 5) => (true, true),
        Some(_) => return Err(corrupt("unknown record kind")),
        None => return Err(corrupt("empty record")),
    };
    let mut pos = 1;
    let mut next = || get_varint(bytes, &mut pos).ok_or_else(|| corrupt("truncated header"));
    let host = u32::try_from(next()?).map_err(|_| corrupt("host id out of range"))?;
    let n = next()?;
    let gap = next()?;
    let base = match (delta, gap) {
        (false, 0) => None,
        (true, g) if g > 0 && g <= seq => Some(seq - g),
        _ => return Err(corrupt("inconsistent base record")),
    };
    let received_ms = unzigzag(next()?);
    let captured_ms = received_ms.wrapping_add(unzigzag(next()?));
    let agent_seq = next()?.checked_sub(1);
    let mut summary = None;
    if summarized {
        let len = usize::try_from(next()?).map_err(|_| corrupt("summary too long"))?;
        let end = pos
            .checked_add(len)
            .filter(|end| *end <= bytes.len())
            .ok_or_else(|| corrupt("truncated summary"))?;
        summary = Some(pos..end);
        pos = end;
    }
    Ok((
        RecordHeader {
            seq,
            host,
            n,
            base,
            received_ms,
            captured_ms,
            agent_seq,
        },
        summary,
        pos,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEQ: u64 = 123_456;

    fn header(kind: FrameKind) -> RecordHeader {
        RecordHeader {
            seq: SEQ,
            host: 7,
            n: 65,
            base: (kind == FrameKind::Delta).then_some(SEQ - 3),
            received_ms: 1_795_680_000_250,
            captured_ms: 1_795_679_999_000,
            agent_seq: Some(0),
        }
    }

    #[test]
    fn keyframes_round_trip_with_their_header() {
        let json = br#"{"host":"a","processes":[1,2,3]}"#;
        let bytes = Encoder::default()
            .encode(&header(FrameKind::Key), None, json, None)
            .unwrap();
        assert_eq!(parse_header(SEQ, &bytes).unwrap().0, header(FrameKind::Key));
        assert_eq!(Decoder::default().decode(SEQ, &bytes, None).unwrap(), json);
    }

    #[test]
    fn deltas_need_and_use_their_base() {
        let base = br#"{"host":"a","processes":["chrome","code","python","bash"]}"#.repeat(20);
        let mut next = base.clone();
        next.extend_from_slice(b" ");
        let bytes = Encoder::default()
            .encode(&header(FrameKind::Delta), None, &next, Some(&base))
            .unwrap();
        assert!(
            bytes.len() < 60,
            "a near-copy compresses to almost nothing: {}",
            bytes.len()
        );
        assert_eq!(
            parse_header(SEQ, &bytes).unwrap().0,
            header(FrameKind::Delta)
        );
        let mut decoder = Decoder::default();
        assert_eq!(decoder.decode(SEQ, &bytes, Some(&base)).unwrap(), next);
        assert!(decoder.decode(SEQ, &bytes, None).is_err());
    }

    #[test]
    fn a_summary_is_read_without_decompressing_and_skipped_by_the_decoder() {
        let json = br#"{"host":"a","cpu_percent":12.5}"#;
        let summary = Summary {
            cpu_percent: Some(12.5),
            foreground_process: Some("code".to_owned()),
            ..Summary::default()
        };
        let bytes = Encoder::default()
            .encode(&header(FrameKind::Key), Some(&summary), json, None)
            .unwrap();
        assert_eq!(bytes[0], 3);
        assert_eq!(read_summary(SEQ, &bytes).unwrap(), Some(summary));
        assert_eq!(parse_header(SEQ, &bytes).unwrap().0, header(FrameKind::Key));
        assert_eq!(Decoder::default().decode(SEQ, &bytes, None).unwrap(), json);
        let plain = Encoder::default()
            .encode(&header(FrameKind::Key), None, json, None)
            .unwrap();
        assert_eq!(read_summary(SEQ, &plain).unwrap(), None);
        // A summary length past the end is refused.
        let mut cut = bytes.clone();
        cut.truncate(12);
        assert!(read_summary(SEQ, &cut).is_err());
    }

    #[test]
    fn garbage_is_reported_not_panicking() {
        let mut d = Decoder::default();
        assert!(d.decode(1, &[9, 1, 2], None).is_err());
        assert!(d.decode(1, &[1, 0x80], None).is_err());
        assert!(
            d.decode(1, &[1, 1, 2, 0, 0, 0, 0, 0xff, 0xfe], None)
                .is_err()
        );
        assert!(
            d.decode(1, &[2, 1, 2, 5, 0, 0, 0], None).is_err(),
            "base after itself"
        );
    }

    #[test]
    fn varints_and_zigzag_cover_extremes() {
        for v in [0i64, -1, 1, i64::MIN, i64::MAX, 1_795_680_000_250] {
            let mut out = Vec::new();
            put_varint(&mut out, zigzag(v));
            let mut pos = 0;
            assert_eq!(unzigzag(get_varint(&out, &mut pos).unwrap()), v);
        }
    }
}
