//! Summary hours: one host's record summaries of one UTC hour gathered into one compressed
//! value, so that a day of summaries (the timeline, usage and the reports of recent days) is
//! 24 reads of one row each instead of 17,280 lookups of records spread among every other
//! host's. They are a cache of what the records say, built once an hour has settled and
//! removed wherever a record of that hour is added or deleted; the records stay the truth.
//!
//! A value is a version byte and a zstd frame of: the row count, then per row in capture-time
//! order the sequence number and capture time (zigzag varints, each from the row before), the
//! receive time (zigzag varint from the capture time), and the summary (its length, then
//! [`Summary::encode`]).

use std::cell::RefCell;

use zstd_safe::{CCtx, DCtx};

use super::summary::Summary;
use super::varint::{get_varint, put_varint, unzigzag, zigzag};

const VERSION: u8 = 1;
const LEVEL: i32 = 3;

thread_local! {
    static CCTX: RefCell<CCtx<'static>> = RefCell::new(CCtx::create());
    static DCTX: RefCell<DCtx<'static>> = RefCell::new(DCtx::create());
    static PLAIN: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// One record's summary as an hour keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct SummaryRow {
    /// The record's server sequence number.
    pub seq: u64,
    /// When the server received it, epoch ms.
    pub received_ms: i64,
    /// When the agent captured it, epoch ms.
    pub captured_ms: i64,
    /// Its summary.
    pub summary: Summary,
}

/// Encodes an hour's rows (in capture-time order, as `by_time` lists them).
///
/// # Errors
/// When zstd fails to compress.
pub fn encode_hour(rows: &[SummaryRow]) -> Result<Vec<u8>, &'static str> {
    let mut plain = Vec::with_capacity(rows.len() * 48 + 4);
    put_varint(&mut plain, rows.len() as u64);
    let (mut seq, mut captured) = (0u64, 0i64);
    let mut summary = Vec::new();
    for row in rows {
        put_varint(&mut plain, zigzag(row.seq.wrapping_sub(seq) as i64));
        put_varint(&mut plain, zigzag(row.captured_ms.wrapping_sub(captured)));
        put_varint(
            &mut plain,
            zigzag(row.received_ms.wrapping_sub(row.captured_ms)),
        );
        summary.clear();
        row.summary.encode(&mut summary);
        put_varint(&mut plain, summary.len() as u64);
        plain.extend_from_slice(&summary);
        (seq, captured) = (row.seq, row.captured_ms);
    }
    let mut frame = Vec::with_capacity(zstd_safe::compress_bound(plain.len()) + 1);
    CCTX.with(|c| c.borrow_mut().compress(&mut frame, &plain, LEVEL))
        .map_err(|_| "zstd compression failed")?;
    let mut out = Vec::with_capacity(frame.len() + 1);
    out.push(VERSION);
    out.extend_from_slice(&frame);
    Ok(out)
}

/// Decodes what [`encode_hour`] wrote, calling `each` with every row in order.
///
/// # Errors
/// What is malformed, or what `each` returns.
pub fn decode_hour<E: From<&'static str>>(
    bytes: &[u8],
    mut each: impl FnMut(SummaryRow) -> Result<(), E>,
) -> Result<(), E> {
    let (&version, frame) = bytes.split_first().ok_or("empty summary hour")?;
    if version != VERSION {
        return Err("unknown summary hour version".into());
    }
    let size = zstd_safe::get_frame_content_size(frame)
        .ok()
        .flatten()
        .ok_or("summary hour without its size")?;
    if size > 1 << 26 {
        return Err("summary hour too large".into());
    }
    // Read 24 to a host-day: one buffer and one context per thread.
    PLAIN.with(|buffer| {
        let mut plain = buffer.borrow_mut();
        plain.clear();
        plain.reserve(usize::try_from(size).unwrap_or(0));
        DCTX.with(|d| d.borrow_mut().decompress(&mut *plain, frame))
            .map_err(|_| "summary hour does not decompress")?;
        let plain = &plain[..];
        let mut pos = 0;
        let next = |pos: &mut usize| get_varint(plain, pos).ok_or("truncated summary hour");
        let count = next(&mut pos)?;
        let (mut seq, mut captured) = (0u64, 0i64);
        for _ in 0..count {
            seq = seq.wrapping_add(unzigzag(next(&mut pos)?) as u64);
            captured = captured.wrapping_add(unzigzag(next(&mut pos)?));
            let received = captured.wrapping_add(unzigzag(next(&mut pos)?));
            let len = usize::try_from(next(&mut pos)?).map_err(|_| "summary too long")?;
            let end = pos
                .checked_add(len)
                .filter(|&end| end <= plain.len())
                .ok_or("truncated summary hour")?;
            let summary = Summary::decode(&plain[pos..end])?;
            pos = end;
            each(SummaryRow {
                seq,
                received_ms: received,
                captured_ms: captured,
                summary,
            })?;
        }
        if pos == plain.len() {
            Ok(())
        } else {
            Err("trailing bytes in summary hour".into())
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SessionSummary;
    use idlewatch_protocol::WatchedState;

    fn row(seq: u64, captured_ms: i64, fg: Option<&str>) -> SummaryRow {
        SummaryRow {
            seq,
            received_ms: captured_ms + 40,
            captured_ms,
            summary: Summary {
                idle_seconds: Some(12.5),
                user_active: Some(true),
                cpu_percent: Some(3.25),
                memory_percent: None,
                processes: Some(300),
                foreground_process: fg.map(str::to_owned),
                apps: vec![("matlab".to_owned(), WatchedState::Idle)],
                session: Some(SessionSummary {
                    user: "ada".to_owned(),
                    since_ms: Some(captured_ms - 600_000),
                }),
            },
        }
    }

    #[test]
    fn rows_come_back_in_order_and_whole() {
        // Sequence numbers out of capture order (a replayed snapshot) and a received time
        // before the capture (an agent clock ahead) both round-trip.
        let rows = vec![
            row(900, 1_700_000_000_000, Some("code.exe")),
            row(17, 1_700_000_005_000, None),
            SummaryRow {
                received_ms: 1_700_000_000_000,
                ..row(u64::MAX, 1_700_000_010_000, Some("matlab.exe"))
            },
        ];
        let bytes = encode_hour(&rows).unwrap();
        let mut back = Vec::new();
        decode_hour::<&'static str>(&bytes, |r| {
            back.push(r);
            Ok(())
        })
        .unwrap();
        assert_eq!(back, rows);
    }

    #[test]
    fn damaged_values_are_refused() {
        let bytes = encode_hour(&[row(1, 5_000, None)]).unwrap();
        let none = |_: SummaryRow| Ok::<(), &'static str>(());
        assert!(decode_hour(&bytes[..bytes.len() - 1], none).is_err());
        let mut other = bytes.clone();
        other[0] = 9;
        assert_eq!(
            decode_hour(&other, none),
            Err("unknown summary hour version")
        );
        assert!(decode_hour(&[], none).is_err());
    }
}
