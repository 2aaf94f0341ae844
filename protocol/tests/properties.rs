//! Property tests of snapshot decoding and validation: any input is accepted or refused with
//! an error body, never a panic; a valid snapshot keeps its exact text.

use idlewatch_protocol::Snapshot;
use proptest::prelude::*;

fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<f64>()
            .prop_filter("finite", |v| v.is_finite())
            .prop_map(serde_json::Value::from),
        ".{0,12}".prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::from),
            proptest::collection::btree_map(
                prop_oneof![
                    Just("host".to_owned()),
                    Just("idle_seconds".to_owned()),
                    Just("user_active".to_owned()),
                    Just("processes".to_owned()),
                    Just("watched".to_owned()),
                    Just("captured_at".to_owned()),
                    Just("cpu_percent".to_owned()),
                    Just("seq".to_owned()),
                    ".{0,8}",
                ],
                inner,
                0..8,
            )
            .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #[test]
    fn any_text_is_parsed_or_refused(text in ".{0,300}") {
        let _ = Snapshot::parse(&text);
    }

    #[test]
    fn any_json_is_parsed_or_refused_and_kept_exactly(value in json_value(), host in "[a-zA-Z0-9 ._-]{1,20}") {
        let text = value.to_string();
        let _ = Snapshot::parse(&text);
        let mut object = match value {
            serde_json::Value::Object(m) => m,
            _ => serde_json::Map::new(),
        };
        object.insert("host".to_owned(), serde_json::Value::from(host.clone()));
        let text = serde_json::Value::Object(object).to_string();
        if let Ok(snapshot) = Snapshot::parse(&text) {
            prop_assert_eq!(snapshot.raw().get(), text.as_str());
            prop_assert_eq!(snapshot.host(), host.as_str());
        }
    }
}

/// The structure rules written the plain way: one byte at a time, depth counted outside strings,
/// each `\u` escape decoded and checked for surrogates.
fn structure_reference(text: &str) -> bool {
    let b = text.as_bytes();
    let hex = |at: usize| {
        b.get(at + 2..at + 6)
            .and_then(|d| std::str::from_utf8(d).ok())
            .and_then(|d| u16::from_str_radix(d, 16).ok())
    };
    let (mut depth, mut i, mut in_string) = (0usize, 0usize, false);
    while i < b.len() {
        let c = b[i];
        if in_string {
            match c {
                b'"' => in_string = false,
                b'\\' if b.get(i + 1) == Some(&b'u') => {
                    match hex(i) {
                        Some(0xD800..=0xDBFF) => {
                            let next = i + 6;
                            let low = (b.get(next) == Some(&b'\\')
                                && b.get(next + 1) == Some(&b'u'))
                            .then(|| hex(next))
                            .flatten();
                            if !matches!(low, Some(0xDC00..=0xDFFF)) {
                                return false;
                            }
                            i = next + 6;
                        }
                        Some(0xDC00..=0xDFFF) | None => return false,
                        Some(_) => i += 6,
                    }
                    continue;
                }
                b'\\' => i += 1,
                _ => {}
            }
        } else {
            match c {
                b'"' => in_string = true,
                b'[' | b'{' => {
                    depth += 1;
                    if depth > idlewatch_protocol::MAX_DEPTH {
                        return false;
                    }
                }
                b']' | b'}' => depth = depth.saturating_sub(1),
                _ => {}
            }
        }
        i += 1;
    }
    true
}

proptest! {
    #[test]
    fn the_structure_check_agrees_with_the_plain_reading(
        text in r#"([\[\]{}"\\u]|d8|DC|00|41|[0-9a-f]|x){0,400}"#
    ) {
        prop_assert_eq!(
            idlewatch_protocol::check_structure(&text).is_ok(),
            structure_reference(&text),
            "{:?}", text
        );
    }
}
