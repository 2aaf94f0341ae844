//! Snapshot parsing and validation against the Python original's payloads and bad input.

use idlewatch_protocol::{ErrorCode, Snapshot, WatchedState};

fn seed_fixtures() -> serde_json::Value {
    let text = include_str!("../../tests/fixtures/seed_payloads.json");
    serde_json::from_str(text).expect("fixture parses")
}

#[test]
fn every_seed_shape_is_accepted_and_kept_byte_for_byte() {
    let fixtures = seed_fixtures();
    for (name, payload) in fixtures.as_object().unwrap() {
        if name == "about" {
            continue;
        }
        let text = serde_json::to_string(payload).unwrap();
        let snap = Snapshot::parse(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(snap.raw().get(), text, "{name}");
        assert_eq!(serde_json::to_string(&snap).unwrap(), text, "{name}");
    }
}

#[test]
fn readme_shape_maps_idle_time_to_idle() {
    let snap = Snapshot::parse(
        r#"{"host":"h","idle_time":12.34,"processes":[{"pid":1,"name":"a","username":"u"}]}"#,
    )
    .unwrap();
    assert_eq!(snap.fields().idle(), Some(12.34));
    assert_eq!(snap.fields().processes(), Some(1));
}

#[test]
fn key_order_whitespace_and_number_spelling_survive() {
    let text = r#"{"zeta": 1.50, "host": "h", "alpha": {"b": 1, "a": 2}, "big": 123456789012345678901234567890}"#;
    let snap = Snapshot::parse(text).unwrap();
    assert_eq!(snap.raw().get(), text);
}

#[test]
fn legacy_flags_come_from_watched_when_not_flat() {
    let snap = Snapshot::parse(
        r#"{"host":"h","watched":{"ansys":{"running":true,"in_focus":false,"user_active":false,"state":"computing"}}}"#,
    )
    .unwrap();
    let f = snap.fields();
    assert_eq!(f.legacy_flag("ansys", "running"), Some(true));
    assert_eq!(f.legacy_flag("rocky", "running"), None);
    assert_eq!(
        f.watched.as_ref().unwrap()["ansys"].state,
        Some(WatchedState::Computing)
    );
}

#[test]
fn flat_legacy_fields_win_over_watched() {
    let snap = Snapshot::parse(
        r#"{"host":"h","rocky_running":false,"watched":{"rocky":{"running":true}}}"#,
    )
    .unwrap();
    assert_eq!(snap.fields().legacy_flag("rocky", "running"), Some(false));
}

fn code_of(text: &str) -> ErrorCode {
    Snapshot::parse(text).expect_err(text).code
}

#[test]
fn non_objects_are_invalid_payloads() {
    for text in ["[1,2]", "\"pc\"", "null", "42", "true", ""] {
        assert_eq!(code_of(text), ErrorCode::InvalidPayload, "{text}");
    }
}

#[test]
fn broken_json_is_invalid_json() {
    assert_eq!(code_of(r#"{"host": "a""#), ErrorCode::InvalidJson);
    assert_eq!(code_of(r#"{"host": NaN}"#), ErrorCode::InvalidJson);
}

#[test]
fn wrong_types_name_the_field() {
    let err = Snapshot::parse(r#"{"host":"h","cpu_percent":"high"}"#).unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidField);
    assert!(err.message.contains("cpu_percent"), "{}", err.message);

    let err = Snapshot::parse(r#"{"host":"h","processes":[{"pid":"x"}]}"#).unwrap_err();
    assert!(err.message.contains("processes"), "{}", err.message);

    let err = Snapshot::parse(r#"{"host":"h","user_active":"yes"}"#).unwrap_err();
    assert!(err.message.contains("user_active"), "{}", err.message);
}

#[test]
fn host_rules_are_enforced() {
    assert_eq!(code_of(r#"{"idle_seconds": 1}"#), ErrorCode::InvalidField);
    assert_eq!(code_of(r#"{"host": ""}"#), ErrorCode::InvalidField);
    assert_eq!(code_of(r#"{"host": "a\u0007b"}"#), ErrorCode::InvalidField);
    let long = format!(r#"{{"host": "{}"}}"#, "x".repeat(254));
    assert_eq!(code_of(&long), ErrorCode::InvalidField);
    let ok = format!(r#"{{"host": "{}"}}"#, "é".repeat(253));
    assert!(Snapshot::parse(&ok).is_ok());
}

#[test]
fn negative_idle_is_refused_but_null_is_unknown() {
    assert_eq!(
        code_of(r#"{"host":"h","idle_seconds":-1}"#),
        ErrorCode::InvalidField
    );
    let snap = Snapshot::parse(r#"{"host":"h","idle_seconds":null}"#).unwrap();
    assert_eq!(snap.fields().idle(), None);
}

#[test]
fn out_of_range_numbers_are_refused() {
    assert_eq!(
        code_of(r#"{"host":"h","cpu_percent":1e400}"#),
        ErrorCode::InvalidJson
    );
}

#[test]
fn process_limit_is_enforced() {
    let list = |n: usize| {
        let procs: Vec<String> = (0..n)
            .map(|i| format!(r#"{{"pid":{i},"name":"p"}}"#))
            .collect();
        format!(r#"{{"host":"h","processes":[{}]}}"#, procs.join(","))
    };
    assert_eq!(
        Snapshot::parse(&list(10_000)).unwrap().fields().processes(),
        Some(10_000)
    );
    assert_eq!(code_of(&list(10_001)), ErrorCode::TooManyProcesses);
}

#[test]
fn oversized_messages_are_refused() {
    let text = format!(r#"{{"host":"h","pad":"{}"}}"#, "x".repeat(1 << 20));
    assert_eq!(code_of(&text), ErrorCode::TooLarge);
}

#[test]
fn captured_at_must_be_a_time() {
    assert_eq!(
        code_of(r#"{"host":"h","captured_at":"soon"}"#),
        ErrorCode::InvalidField
    );
    let snap = Snapshot::parse(r#"{"host":"h","captured_at":1795680000250,"seq":3}"#).unwrap();
    assert_eq!(
        snap.fields().captured_at.unwrap().epoch_ms(),
        1_795_680_000_250
    );
    assert_eq!(snap.fields().seq, Some(3));
}

#[test]
fn deserializing_validates() {
    let err = serde_json::from_str::<Snapshot>(r#"{"host": 3}"#).unwrap_err();
    assert!(err.to_string().contains("host"));
}

#[test]
fn seed_flat_fields_become_watched_apps_with_a_state() {
    let snap = Snapshot::parse(
        r#"{"host":"h","user_active":false,"rocky_running":false,"ansys_running":true,"rocky_in_focus":false,"ansys_in_focus":true,"rocky_user_active":false,"ansys_user_active":false}"#,
    )
    .unwrap();
    let apps = snap.fields().watched_apps();
    let names: Vec<&str> = apps.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["rocky", "ansys"]);
    assert_eq!(apps[0].1.state, Some(WatchedState::NotRunning));
    assert_eq!(
        apps[1].1.state,
        Some(WatchedState::Idle),
        "open, in focus, user away: idle licence"
    );
}

#[test]
fn agent_states_are_kept_and_missing_ones_derived() {
    let snap = Snapshot::parse(
        r#"{"host":"h","watched":{"solver":{"running":true,"state":"computing"},"cad":{"running":true,"in_focus":true,"user_active":true}}}"#,
    )
    .unwrap();
    let apps = snap.fields().watched_apps();
    assert_eq!(apps[0].1.state, Some(WatchedState::Computing));
    assert_eq!(apps[1].1.state, Some(WatchedState::Interactive));
    assert!(
        Snapshot::parse(r#"{"host":"h"}"#)
            .unwrap()
            .fields()
            .watched_apps()
            .is_empty()
    );
}

#[test]
fn only_json_whitespace_may_surround_a_snapshot() {
    // Found by fuzzing: a trailing vertical tab (not JSON whitespace) was accepted.
    let err = Snapshot::parse("{\"host\":\"l01\",\"cs\":null}\t\t\u{b}").unwrap_err();
    assert_eq!(
        err.body().code,
        idlewatch_protocol::ErrorCode::InvalidJson,
        "{err}"
    );
    let ok = Snapshot::parse("\n {\"host\":\"l01\"}\r\n").unwrap();
    assert_eq!(ok.raw().get(), "{\"host\":\"l01\"}");
}

#[test]
fn deep_nesting_anywhere_is_invalid_json() {
    let deep = format!(
        "{{\"host\":\"h\",\"extra\":{}1{}}}",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    assert_eq!(code_of(&deep), ErrorCode::InvalidJson);
    let fine = format!(
        "{{\"host\":\"h\",\"extra\":{}1{}}}",
        "[".repeat(20),
        "]".repeat(20)
    );
    assert!(Snapshot::parse(&fine).is_ok());
}

#[test]
fn a_lone_surrogate_in_an_unknown_field_is_invalid_json() {
    assert_eq!(
        code_of(r#"{"host":"h","note":"\ud800"}"#),
        ErrorCode::InvalidJson
    );
    // A proper pair is a character like any other.
    assert!(Snapshot::parse(r#"{"host":"h","note":"\ud83d\ude00"}"#).is_ok());
}

#[test]
fn a_capture_time_far_ahead_of_the_clock_is_refused() {
    let now = 1_795_680_000_000i64;
    let ten_minutes = 600_000;
    let at = |ms: i64| Snapshot::parse(&format!(r#"{{"host":"h","captured_at":{ms}}}"#)).unwrap();
    assert!(at(now + ten_minutes).check_clock(now, ten_minutes).is_ok());
    assert!(at(now - 86_400_000).check_clock(now, ten_minutes).is_ok());
    let err = at(now + ten_minutes + 1000)
        .check_clock(now, ten_minutes)
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidField);
    assert!(
        err.message.contains("`captured_at` is 601 s ahead"),
        "{}",
        err.message
    );
    let far = Snapshot::parse(&format!(r#"{{"host":"h","captured_at":{}}}"#, i64::MAX)).unwrap();
    assert!(far.check_clock(now, ten_minutes).is_err());
    let year_9999 =
        Snapshot::parse(r#"{"host":"h","captured_at":"9999-12-31T23:59:59Z"}"#).unwrap();
    assert!(year_9999.check_clock(now, ten_minutes).is_err());
    assert!(
        Snapshot::parse(r#"{"host":"h"}"#)
            .unwrap()
            .check_clock(now, 0)
            .is_ok()
    );
}
