//! The generator's promises: same seed same snapshots, realistic size and shape, small churn,
//! and snapshots the server's own validation accepts.

use std::collections::HashSet;

use super::SnapshotGenerator;

const T0: u64 = 1_767_225_600_000;

fn pids(json: &str) -> HashSet<u64> {
    let value: serde_json::Value = serde_json::from_str(json).unwrap_or_default();
    value["processes"]
        .as_array()
        .map(|list| list.iter().filter_map(|p| p["pid"].as_u64()).collect())
        .unwrap_or_default()
}

#[test]
fn the_same_seed_gives_the_same_snapshots() {
    let mut a = SnapshotGenerator::new("pc-1", 300, 7);
    let mut b = SnapshotGenerator::new("pc-1", 300, 7);
    for i in 0..20 {
        assert_eq!(a.next_json(T0 + i), b.next_json(T0 + i));
    }
    let mut c = SnapshotGenerator::new("pc-1", 300, 8);
    assert_ne!(a.next_json(T0), c.next_json(T0));
}

#[test]
fn a_snapshot_lists_about_the_processes_asked_for_in_about_20_kb() {
    for seed in 0..20 {
        let mut g = SnapshotGenerator::new(format!("pc-{seed}"), 300, seed);
        for _ in 0..50 {
            let snapshot = g.next_snapshot(T0);
            assert!((290..=310).contains(&snapshot.process_count()));
        }
        let json = g.next_json(T0);
        assert!(
            (15_000..40_000).contains(&json.len()),
            "{} bytes",
            json.len()
        );
    }
}

#[test]
fn consecutive_snapshots_share_most_processes() {
    let mut g = SnapshotGenerator::new("pc-1", 300, 3);
    let mut previous = pids(&g.next_json(T0));
    let mut changed_total = 0;
    for i in 1..100 {
        let current = pids(&g.next_json(T0 + i * 5000));
        let changed = previous.symmetric_difference(&current).count();
        assert!(changed <= 12, "{changed} processes changed in one step");
        changed_total += changed;
        previous = current;
    }
    assert!(
        changed_total > 50,
        "only {changed_total} changes in 100 steps"
    );
}

#[test]
fn snapshots_pass_the_servers_validation() {
    for seed in 0..10 {
        let mut g = SnapshotGenerator::new(format!("lab-{seed}"), 300, seed);
        for i in 0..10 {
            let json = g.next_json(T0 + i);
            let parsed = idlewatch_protocol::Snapshot::parse(&json);
            assert!(parsed.is_ok(), "{parsed:?}");
        }
    }
}

#[test]
fn snapshots_carry_every_documented_field() {
    let mut g = SnapshotGenerator::new("pc-1", 300, 1);
    let value: serde_json::Value = serde_json::from_str(&g.next_json(T0)).unwrap_or_default();
    for key in [
        "host",
        "seq",
        "captured_at",
        "agent_version",
        "os",
        "idle_seconds",
        "user_active",
        "cpu_percent",
        "memory_percent",
        "foreground_process",
        "watched",
        "processes",
    ] {
        assert!(value.get(key).is_some(), "{key} missing");
    }
    for app in ["ansys", "rocky"] {
        for key in ["running", "in_focus", "user_active", "cpu_percent", "state"] {
            assert!(
                value["watched"][app].get(key).is_some(),
                "{app}.{key} missing"
            );
        }
    }
    let first = &value["processes"][0];
    for key in ["pid", "name", "username", "cpu_percent", "memory_bytes"] {
        assert!(first.get(key).is_some(), "process {key} missing");
    }
    assert_eq!(value["seq"], 1);
    assert_eq!(value["captured_at"], T0);
}

#[test]
fn the_user_comes_and_goes_and_watched_apps_change_state() {
    let mut states = HashSet::new();
    let mut activity = HashSet::new();
    for seed in 0..10 {
        let mut g = SnapshotGenerator::new("pc", 300, seed);
        for _ in 0..200 {
            let value: serde_json::Value =
                serde_json::from_str(&g.next_json(T0)).unwrap_or_default();
            activity.insert(value["user_active"].as_bool());
            states.insert(value["watched"]["ansys"]["state"].to_string());
        }
    }
    assert!(activity.contains(&Some(true)) && activity.contains(&Some(false)));
    assert!(states.len() >= 3, "{states:?}");
}

#[test]
fn a_body_is_the_snapshot_without_seq_and_captured_at() {
    let mut a = SnapshotGenerator::new("pc-1", 300, 5);
    let mut b = SnapshotGenerator::new("pc-1", 300, 5);
    for i in 0..3 {
        let mut full: serde_json::Value =
            serde_json::from_str(&a.next_json(T0 + i)).unwrap_or_default();
        let body: serde_json::Value = serde_json::from_str(&b.next_body()).unwrap_or_default();
        assert_eq!(full["seq"], i + 1);
        if let Some(map) = full.as_object_mut() {
            map.remove("seq");
            map.remove("captured_at");
        }
        assert_eq!(full, body);
    }
}

#[test]
fn always_changing_processes_change_both_figures_at_every_step() {
    let mut generator = SnapshotGenerator::new("lab-001", 120, 5).always_changing(40);
    let figures = |json: &str| -> Vec<(u64, f64, u64)> {
        let value: serde_json::Value = serde_json::from_str(json).unwrap();
        value["processes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p["pid"].as_u64().unwrap(),
                    p["cpu_percent"].as_f64().unwrap(),
                    p["memory_bytes"].as_u64().unwrap(),
                )
            })
            .collect()
    };
    let mut before = figures(&generator.next_json(1_000));
    for step in 1..50u64 {
        let after = figures(&generator.next_json(1_000 + step * 5_000));
        for (a, b) in before.iter().zip(&after).take(40) {
            if a.0 == b.0 {
                assert_ne!(a.1, b.1, "cpu of pid {} unchanged at step {step}", a.0);
                assert_ne!(a.2, b.2, "memory of pid {} unchanged at step {step}", a.0);
            }
        }
        before = after;
    }
}
