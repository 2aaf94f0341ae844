//! The store's record codec: arbitrary bytes are refused without a panic, and any payload
//! round-trips exactly as a keyframe and as a delta against any base.
#![no_main]

use idlewatch_format::{Decoder, Encoder, RecordHeader, parse_header, read_summary};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // As a stored record: refused or decoded, never a panic.
    let _ = parse_header(7, data);
    let _ = read_summary(7, data);
    let _ = Decoder::default().decode(7, data, None);
    let _ = Decoder::default().decode(7, data, Some(b"{\"host\":\"base\"}"));

    // As a payload: split into a base and a snapshot, both round-trip.
    let cut = data.first().map_or(0, |b| usize::from(*b)).min(data.len());
    let (base, json) = data.split_at(cut);
    let seq = 1000 + data.len() as u64;
    for delta in [false, true] {
        let header = RecordHeader {
            seq,
            host: 3,
            n: 9,
            base: delta.then(|| seq - 1),
            received_ms: 1_795_680_000_000,
            captured_ms: 1_795_679_999_000,
            agent_seq: Some(cut as u64),
        };
        let dict = delta.then_some(base);
        let bytes = Encoder::default()
            .encode(&header, None, json, dict)
            .unwrap();
        assert_eq!(parse_header(seq, &bytes).unwrap().0, header);
        assert_eq!(Decoder::default().decode(seq, &bytes, dict).unwrap(), json);
    }
});
