//! Snapshot decoding and validation on arbitrary input: never a panic; an accepted snapshot
//! keeps the exact text of its JSON value (JSON whitespace around it is not part of it), and
//! its summary round-trips.
#![no_main]

use idlewatch_format::Summary;
use idlewatch_protocol::{Snapshot, SnapshotFields};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(snapshot) = Snapshot::parse(text) {
        let value = text.trim_matches(|c| matches!(c, ' ' | '\t' | '\n' | '\r'));
        assert_eq!(snapshot.raw().get(), value);
        let _ = Summary::of(snapshot.fields());
    }
    if let Ok(fields) = SnapshotFields::parse(text) {
        let mut bytes = Vec::new();
        let summary = Summary::of(&fields);
        summary.encode(&mut bytes);
        assert_eq!(Summary::decode(&bytes).unwrap(), summary);
    }
});
