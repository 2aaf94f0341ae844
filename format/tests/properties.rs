//! Property tests of the record codec: any summary and any JSON text round-trip exactly, as
//! keyframes and as zstd or structural deltas against any base (sequences of snapshots with
//! process tables spelt every way JSON allows included); arbitrary bytes are refused, never a
//! panic.

use idlewatch_format::{
    Decoder, DeltaKind, Encoder, RecordHeader, SessionSummary, Summary, parse_header, read_summary,
};
use idlewatch_protocol::WatchedState;
use proptest::prelude::*;

fn state() -> impl Strategy<Value = WatchedState> {
    prop_oneof![
        Just(WatchedState::Interactive),
        Just(WatchedState::Computing),
        Just(WatchedState::Idle),
        Just(WatchedState::NotRunning),
    ]
}

fn number() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<f64>().prop_filter("finite", |v| v.is_finite()),
        (0u32..100_000, 0u32..4).prop_map(|(m, p)| f64::from(m) / 10f64.powi(p as i32)),
    ]
}

fn summary() -> impl Strategy<Value = Summary> {
    (
        proptest::option::of(number()),
        proptest::option::of(any::<bool>()),
        proptest::option::of(number()),
        proptest::option::of(number()),
        proptest::option::of(any::<u64>()),
        proptest::option::of(".{0,40}"),
        proptest::collection::vec((".{0,20}", state()), 0..6),
        proptest::option::of((".{0,20}", proptest::option::of(any::<i64>()))),
    )
        .prop_map(
            |(idle, active, cpu, mem, procs, fg, apps, session)| Summary {
                idle_seconds: idle,
                user_active: active,
                cpu_percent: cpu,
                memory_percent: mem,
                processes: procs,
                foreground_process: fg,
                apps,
                session: session.map(|(user, since_ms)| SessionSummary { user, since_ms }),
            },
        )
}

fn header(
    seq: u64,
    delta: bool,
    received_ms: i64,
    skew: i32,
    agent_seq: Option<u64>,
) -> RecordHeader {
    RecordHeader {
        seq,
        host: (seq % 1000) as u32,
        n: seq / 3,
        base: delta.then(|| seq - 1),
        received_ms,
        captured_ms: received_ms.wrapping_add(i64::from(skew)),
        agent_seq,
    }
}

/// A number as an agent might spell it, odd spellings included.
fn number_text() -> impl Strategy<Value = String> {
    prop_oneof![
        (0u64..5_000_000_000).prop_map(|n| (n * 4096).to_string()),
        (0u32..10_000, 0usize..4).prop_map(|(m, p)| format!("{:.*}", p, f64::from(m) / 10.0)),
        any::<i64>().prop_map(|n| n.to_string()),
        Just("-0".to_owned()),
        Just("1e5".to_owned()),
        Just("-0.0".to_owned()),
        Just("12345678901234567890".to_owned()),
    ]
}

/// A process row: mostly the agents' shape, sometimes extra or odd fields.
fn row() -> impl Strategy<Value = String> {
    (
        0u32..64,
        prop::sample::select(vec!["chrome.exe", "code", r#"a\"b"#, "é", ""]),
        proptest::option::of(prop::sample::select(vec!["LAB\\\\ann", "root"])),
        number_text(),
        number_text(),
        proptest::option::of("[a-z ]{0,6}"),
    )
        .prop_map(|(pid, name, user, cpu, mem, extra)| {
            let user = user.map_or("null".to_owned(), |u| format!("\"{u}\""));
            let extra = extra.map_or(String::new(), |e| format!(r#","x":[{e:?}, 1.5]"#));
            format!(
                r#"{{"pid":{pid},"name":"{name}","username":{user},"cpu_percent":{cpu},"memory_bytes":{mem}{extra}}}"#
            )
        })
}

/// A snapshot's JSON with a process table, its separator and spacing drawn too.
fn snapshot_text() -> impl Strategy<Value = String> {
    (
        proptest::collection::vec(row(), 0..12),
        prop::sample::select(vec![",", ", ", ",\n  "]),
        number_text(),
        prop::sample::select(vec!["code", "chrome.exe"]),
        any::<bool>(),
    )
        .prop_map(|(rows, sep, cpu, fg, before)| {
            let table = format!("[{}]", rows.join(sep));
            if before {
                format!(r#"{{"processes":{table},"host":"pc","cpu_percent":{cpu}}}"#)
            } else {
                format!(r#"{{"host":"pc","cpu_percent":{cpu},"foreground_process":"{fg}","processes": {table}}}"#)
            }
        })
}

/// A sequence of snapshots of one host, each a small change of the one before.
fn snapshot_sequence() -> impl Strategy<Value = Vec<String>> {
    proptest::collection::vec(snapshot_text(), 2..6)
}

proptest! {
    #[test]
    fn structural_deltas_round_trip_any_sequence(
        sequence in snapshot_sequence(),
        s in summary(),
        received_ms in any::<i64>(),
    ) {
        let mut encoder = Encoder::new(DeltaKind::Structural);
        let mut decoder = Decoder::default();
        for (i, pair) in sequence.windows(2).enumerate() {
            let seq = i as u64 + 2;
            let h = header(seq, true, received_ms, 0, None);
            let bytes = encoder.encode(&h, Some(&s), pair[1].as_bytes(), Some(pair[0].as_bytes())).unwrap();
            prop_assert!(matches!(bytes[0], 4 | 5));
            prop_assert_eq!(parse_header(seq, &bytes).unwrap().0, h);
            prop_assert_eq!(read_summary(seq, &bytes).unwrap(), Some(s.clone()));
            let decoded = decoder.decode(seq, &bytes, Some(pair[0].as_bytes())).unwrap();
            prop_assert_eq!(String::from_utf8(decoded).unwrap(), pair[1].clone());
        }
    }

    #[test]
    fn damaged_structural_deltas_are_refused_not_panicking(
        sequence in snapshot_sequence(),
        cut in any::<prop::sample::Index>(),
        flip in any::<prop::sample::Index>(),
        value in any::<u8>(),
    ) {
        let mut encoder = Encoder::new(DeltaKind::Structural);
        let h = header(9, true, 1_795_680_000_000, 0, None);
        let base = sequence[0].as_bytes();
        let bytes = encoder.encode(&h, Some(&Summary::default()), sequence[1].as_bytes(), Some(base)).unwrap();
        let mut damaged = bytes.clone();
        let at = flip.index(damaged.len());
        damaged[at] = value;
        let _ = Decoder::default().decode(9, &damaged, Some(base));
        let _ = Decoder::default().decode(9, &bytes[..cut.index(bytes.len())], Some(base));
        let _ = Decoder::default().decode(9, &bytes, Some(b"{\"processes\":[]}"));
    }
}

proptest! {
    #[test]
    fn summaries_round_trip(s in summary()) {
        let mut bytes = Vec::new();
        s.encode(&mut bytes);
        prop_assert_eq!(Summary::decode(&bytes).unwrap(), s);
    }

    #[test]
    fn records_round_trip(
        seq in 2u64..u64::MAX / 2,
        received_ms in any::<i64>(),
        skew in any::<i32>(),
        agent_seq in proptest::option::of(0u64..u64::MAX - 1),
        s in proptest::option::of(summary()),
        json in ".{0,400}",
        base in ".{0,400}",
        delta in any::<bool>(),
    ) {
        let h = header(seq, delta, received_ms, skew, agent_seq);
        let base_bytes = delta.then_some(base.as_bytes());
        let kind = if seq % 2 == 0 { DeltaKind::Zstd } else { DeltaKind::Structural };
        let bytes = Encoder::new(kind).encode(&h, s.as_ref(), json.as_bytes(), base_bytes).unwrap();
        prop_assert_eq!(parse_header(seq, &bytes).unwrap().0, h);
        prop_assert_eq!(read_summary(seq, &bytes).unwrap(), s);
        let decoded = Decoder::default().decode(seq, &bytes, base_bytes).unwrap();
        prop_assert_eq!(decoded, json.as_bytes());
    }

    #[test]
    fn arbitrary_bytes_are_refused_not_panicking(seq in any::<u64>(), bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = parse_header(seq, &bytes);
        let _ = read_summary(seq, &bytes);
        let _ = Decoder::default().decode(seq, &bytes, None);
        let _ = Decoder::default().decode(seq, &bytes, Some(b"base"));
        let _ = Summary::decode(&bytes);
    }
}

/// The sequences above are mostly stored structurally: the round trip is of kind 5 records,
/// not only of fallbacks to zstd.
#[test]
fn most_generated_deltas_are_structural() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let mut encoder = Encoder::new(DeltaKind::Structural);
    let (mut structural, mut total) = (0, 0);
    for _ in 0..200 {
        let sequence = snapshot_sequence().new_tree(&mut runner).unwrap().current();
        for pair in sequence.windows(2) {
            let h = header(5, true, 0, 0, None);
            let bytes = encoder
                .encode(
                    &h,
                    Some(&Summary::default()),
                    pair[1].as_bytes(),
                    Some(pair[0].as_bytes()),
                )
                .unwrap();
            total += 1;
            structural += usize::from(bytes[0] == 5);
        }
    }
    assert!(structural * 2 > total, "{structural} of {total} structural");
}
