//! Property tests of the record codec: any summary and any JSON text round-trip exactly, as
//! keyframes and as deltas against any base; arbitrary bytes are refused, never a panic.

use idlewatch_format::{
    Decoder, Encoder, RecordHeader, SessionSummary, Summary, parse_header, read_summary,
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
        let bytes = Encoder::default().encode(&h, s.as_ref(), json.as_bytes(), base_bytes).unwrap();
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
