//! Reading records back: headers without decompression, and whole snapshots by following a
//! host's chain of deltas from its keyframe.

use redb::ReadableTable;

use super::KEYFRAME_INTERVAL;
use super::codec::{Decoder, FrameKind, RecordHeader, parse_header};
use crate::error::Error;

/// The header of an encoded record.
///
/// # Errors
/// [`Error::Corrupt`] for bytes that are not a record.
pub fn read_header(bytes: &[u8]) -> Result<RecordHeader, Error> {
    parse_header(bytes).map(|(h, _)| h)
}

/// Decodes records of one host, remembering the last one so that reading a host's records in
/// order costs one decompression each.
#[derive(Default)]
pub struct HostChain {
    decoder: Decoder,
    last: Option<(u32, u64, Vec<u8>)>,
}

impl HostChain {
    /// A fresh chain reader.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// The JSON of record `(host, n)` with its header.
    ///
    /// # Errors
    /// When the record or one it depends on is missing or corrupt.
    pub fn get<T>(
        &mut self,
        records: &T,
        host: u32,
        n: u64,
    ) -> Result<(RecordHeader, Vec<u8>), Error>
    where
        T: ReadableTable<(u32, u64), &'static [u8]>,
    {
        let fetch = |n: u64| -> Result<Vec<u8>, Error> {
            records
                .get((host, n))?
                .map(|v| v.value().to_vec())
                .ok_or_else(|| Error::Corrupt {
                    what: format!("host {host} record {n}"),
                    reason: "missing".to_owned(),
                })
        };
        let target = fetch(n)?;
        let header = read_header(&target)?;
        if header.kind == FrameKind::Key {
            let json = self.decoder.decode(&target, None)?;
            self.last = Some((host, n, json.clone()));
            return Ok((header, json));
        }
        if let Some((h, m, json)) = &self.last
            && *h == host
            && *m + 1 == n
        {
            let json = self.decoder.decode(&target, Some(json))?;
            self.last = Some((host, n, json.clone()));
            return Ok((header, json));
        }
        // Walk back to the keyframe, then decode forward.
        let mut chain = vec![target];
        let mut m = n;
        loop {
            if m == 0 || chain.len() as u64 > KEYFRAME_INTERVAL {
                return Err(Error::Corrupt {
                    what: format!("host {host} record {n}"),
                    reason: "no keyframe before it".to_owned(),
                });
            }
            m -= 1;
            let bytes = fetch(m)?;
            let kind = read_header(&bytes)?.kind;
            chain.push(bytes);
            if kind == FrameKind::Key {
                break;
            }
        }
        let mut json: Option<Vec<u8>> = None;
        for bytes in chain.iter().rev() {
            json = Some(self.decoder.decode(bytes, json.as_deref())?);
        }
        let json = json.unwrap_or_default();
        self.last = Some((host, n, json.clone()));
        Ok((header, json))
    }
}

/// The host's most recent snapshot by capture time, with its record number.
///
/// # Errors
/// When a needed record is missing or corrupt.
pub fn latest_of_host<R, B>(
    records: &R,
    by_time: &B,
    host: u32,
) -> Result<Option<(u64, RecordHeader, Vec<u8>)>, Error>
where
    R: ReadableTable<(u32, u64), &'static [u8]>,
    B: ReadableTable<(u32, i64, u64), ()>,
{
    let last = by_time
        .range((host, i64::MIN, 0)..=(host, i64::MAX, u64::MAX))?
        .next_back()
        .transpose()?;
    let Some((key, _)) = last else {
        return Ok(None);
    };
    let (_, _, n) = key.value();
    let (header, json) = HostChain::new().get(records, host, n)?;
    Ok(Some((n, header, json)))
}
