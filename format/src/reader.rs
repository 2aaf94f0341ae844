//! Reading records back: headers without decompression, and whole snapshots by following a
//! host's chain of deltas back to its keyframe.

use redb::ReadableTable;

use super::KEYFRAME_INTERVAL;
use super::codec::{Decoder, RecordHeader, parse_header};
use crate::Error;

/// The header of record `seq`.
///
/// # Errors
/// [`Error::Corrupt`] for bytes that are not a record.
pub fn read_header(seq: u64, bytes: &[u8]) -> Result<RecordHeader, Error> {
    parse_header(seq, bytes).map(|(h, _)| h)
}

/// Decodes records, remembering the last one, so that reading one host's records in order
/// costs one decompression each.
#[derive(Default)]
pub struct HostChain {
    decoder: Decoder,
    last: Option<(u64, Vec<u8>)>,
}

/// Where a chain's records are read from, by sequence number: a redb table of records, or
/// another store holding the same record bytes.
pub trait RecordSource {
    /// The bytes of record `seq`, `None` when there is none.
    ///
    /// # Errors
    /// When the store cannot be read.
    fn record(&self, seq: u64) -> Result<Option<Vec<u8>>, Error>;
}

impl<T> RecordSource for T
where
    T: ReadableTable<u64, &'static [u8]>,
{
    fn record(&self, seq: u64) -> Result<Option<Vec<u8>>, Error> {
        Ok(self.get(seq)?.map(|v| v.value().to_vec()))
    }
}

fn fetch<T: RecordSource + ?Sized>(records: &T, seq: u64) -> Result<Vec<u8>, Error> {
    records.record(seq)?.ok_or_else(|| Error::Corrupt {
        what: format!("record {seq}"),
        reason: "missing".to_owned(),
    })
}

impl HostChain {
    /// A fresh chain reader.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// The header and JSON of record `seq`.
    ///
    /// # Errors
    /// When the record or one it depends on is missing or corrupt.
    pub fn get<T>(&mut self, records: &T, seq: u64) -> Result<(RecordHeader, Vec<u8>), Error>
    where
        T: RecordSource + ?Sized,
    {
        let target = fetch(records, seq)?;
        let header = read_header(seq, &target)?;
        let json = match header.base {
            None => self.decoder.decode(seq, &target, None)?,
            Some(base) => match &self.last {
                Some((last, json)) if *last == base => {
                    self.decoder.decode(seq, &target, Some(json))?
                }
                _ => self.decode_from_keyframe(records, seq, target, base)?,
            },
        };
        self.last = Some((seq, json.clone()));
        Ok((header, json))
    }

    fn decode_from_keyframe<T>(
        &mut self,
        records: &T,
        seq: u64,
        target: Vec<u8>,
        first_base: u64,
    ) -> Result<Vec<u8>, Error>
    where
        T: RecordSource + ?Sized,
    {
        let mut chain = vec![(seq, target)];
        let mut next = Some(first_base);
        while let Some(base) = next {
            if chain.len() as u64 > KEYFRAME_INTERVAL {
                return Err(Error::Corrupt {
                    what: format!("record {seq}"),
                    reason: "no keyframe within the interval".to_owned(),
                });
            }
            let bytes = fetch(records, base)?;
            next = read_header(base, &bytes)?.base;
            chain.push((base, bytes));
        }
        let mut json: Option<Vec<u8>> = None;
        for (s, bytes) in chain.iter().rev() {
            json = Some(self.decoder.decode(*s, bytes, json.as_deref())?);
        }
        Ok(json.unwrap_or_default())
    }
}

/// The host's most recent snapshot by capture time, among those captured at or before
/// `not_after_ms` (later ones carry a capture time that cannot be trusted).
///
/// # Errors
/// When a needed record is missing or corrupt.
pub fn latest_of_host<R, B>(
    records: &R,
    by_time: &B,
    host: u32,
    not_after_ms: i64,
) -> Result<Option<(RecordHeader, Vec<u8>)>, Error>
where
    R: ReadableTable<u64, &'static [u8]>,
    B: ReadableTable<(u32, i64, u64), ()>,
{
    let last = by_time
        .range((host, i64::MIN, 0)..=(host, not_after_ms, u64::MAX))?
        .next_back()
        .transpose()?;
    let Some((key, _)) = last else {
        return Ok(None);
    };
    let (_, _, seq) = key.value();
    HostChain::new().get(records, seq).map(Some)
}
