use super::split::{RowIndex, split};
use super::{DeltaCodec, delta};

fn round_trip(prev: &str, next: &str) -> usize {
    let mut codec = DeltaCodec::default();
    let mut out = Vec::new();
    let encoded = codec.encode(prev.as_bytes(), None, next.as_bytes(), &mut out);
    assert!(encoded.written, "no delta for {next}");
    let cut = split(next.as_bytes()).unwrap();
    assert_eq!(encoded.index, Some(RowIndex::of(&cut, next.as_bytes())));
    assert_eq!(
        String::from_utf8(codec.decode(prev.as_bytes(), &out).unwrap()).unwrap(),
        next
    );
    // The decoder's index of what it wrote is the one cutting the text gives, so the next
    // delta read against it sees the rows the writer saw.
    let (text, index) = delta::decode(
        &mut zstd_safe::DCtx::create(),
        &split(prev.as_bytes()).unwrap(),
        &out,
    )
    .unwrap();
    assert_eq!(index, RowIndex::of(&split(&text).unwrap(), &text));
    // Encoding again with the previous snapshot's index gives the same bytes.
    let prev_index = RowIndex::of(&split(prev.as_bytes()).unwrap(), prev.as_bytes());
    let mut again = Vec::new();
    codec.encode(
        prev.as_bytes(),
        Some(&prev_index),
        next.as_bytes(),
        &mut again,
    );
    assert_eq!(again, out);
    out.len()
}

fn table(rows: &[(u32, &str, f64, u64)]) -> String {
    let rows: Vec<String> = rows
        .iter()
        .map(|(pid, name, cpu, mem)| {
            format!(r#"{{"pid":{pid},"name":"{name}","username":"LAB\\ann","cpu_percent":{cpu:.1},"memory_bytes":{mem}}}"#)
        })
        .collect();
    format!(
        r#"{{"host":"pc1","seq":7,"cpu_percent":3.5,"processes":[{}],"watched":{{}}}}"#,
        rows.join(",")
    )
}

#[test]
fn kept_added_removed_and_moved_rows() {
    let a = table(&[
        (4, "a", 0.0, 4096),
        (8, "b", 1.5, 8192),
        (12, "c", 0.0, 4096),
    ]);
    let b = table(&[
        (4, "a", 2.5, 4096),
        (12, "c", 0.0, 12288),
        (16, "d", 0.0, 4096),
    ]);
    assert!(round_trip(&a, &b) < 80);
    // Reordered, emptied, refilled.
    let c = table(&[(16, "d", 0.0, 4096), (4, "a", 2.5, 4096)]);
    round_trip(&b, &c);
    let empty = table(&[]);
    round_trip(&c, &empty);
    round_trip(&empty, &a);
    // Same pid, another program: removed and added.
    let d = table(&[
        (4, "z", 0.0, 4096),
        (8, "b", 1.5, 8192),
        (12, "c", 0.0, 4096),
    ]);
    round_trip(&a, &d);
}

#[test]
fn an_unchanged_snapshot_costs_a_few_bytes() {
    let a = table(&[(4, "a", 0.0, 4096), (8, "b", 1.5, 8192)]);
    assert!(round_trip(&a, &a) < 12);
}

#[test]
fn anything_else_round_trips_or_is_refused() {
    let mut codec = DeltaCodec::default();
    let cases = [
        (r#"{"processes":[1,2]}"#, r#"{"processes":[1, 2]}"#),
        (r#"{"a":1}"#, r#"{"a":1e5,"processes":[{"pid":-0}]}"#),
        (r#"[1]"#, r#"{"a":1}"#),
        (
            r#"{"processes":[{"pid":1,"x":[1,2,3]}]}"#,
            r#"{"processes":[{"pid":1,"x":[1,2]}]}"#,
        ),
        (r#"{"host":"a"}"#, r#"{"host":"b","n":-0.0}"#),
    ];
    for (prev, next) in cases {
        let mut out = Vec::new();
        if codec
            .encode(prev.as_bytes(), None, next.as_bytes(), &mut out)
            .written
        {
            assert_eq!(
                codec.decode(prev.as_bytes(), &out).unwrap(),
                next.as_bytes()
            );
        } else {
            assert!(out.is_empty());
        }
    }
}

#[test]
fn garbage_is_an_error_not_a_panic() {
    let mut codec = DeltaCodec::default();
    let prev = table(&[(4, "a", 0.0, 4096), (8, "b", 1.5, 8192)]);
    for body in [&[][..], &[0], &[2], &[0, 0, 0, 0, 9, 9, 9], &[1, 200, 1, 2]] {
        assert!(codec.decode(prev.as_bytes(), body).is_err());
    }
}

proptest::proptest! {
    #[test]
    fn any_two_tables_round_trip_with_the_same_index(
        a in proptest::collection::vec((0u32..40, proptest::sample::select(vec!["a", "b", "chrome.exe"]), 0u32..500, 0u64..64), 0..40),
        b in proptest::collection::vec((0u32..40, proptest::sample::select(vec!["a", "b", "code"]), 0u32..500, 0u64..64), 0..40),
    ) {
        let rows = |v: &[(u32, &'static str, u32, u64)]| -> Vec<(u32, &'static str, f64, u64)> {
            v.iter().map(|(p, n, c, m)| (*p, *n, f64::from(*c) / 10.0, m * 4096)).collect()
        };
        round_trip(&table(&rows(&a)), &table(&rows(&b)));
    }
}
