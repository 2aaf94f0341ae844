use std::time::Duration;

use idlewatch_protocol::Snapshot;

use super::*;

const MIN: i64 = 60_000;

fn rule(name: &str, kind: AlertKind, app: Option<&str>, hold_min: u64) -> AlertRule {
    AlertRule {
        name: name.to_owned(),
        kind,
        app: app.map(str::to_owned),
        group: None,
        hold: Duration::from_secs(hold_min * 60),
        threshold: None,
        open_hours_only: false,
        notify: vec!["it".to_owned()],
        repeat: None,
    }
}

fn evaluator(rules: Vec<AlertRule>) -> Evaluator {
    Evaluator::new(rules, OpenHours::always(), TimeZone::UTC)
}

/// The fields of a snapshot of `host` whose `ansys` is in `state`.
fn ansys(host: &str, state: &str) -> SnapshotFields {
    Snapshot::parse(&format!(
        r#"{{"host":"{host}","watched":{{"ansys":{{"running":true,"state":"{state}"}}}}}}"#
    ))
    .unwrap()
    .fields()
    .clone()
}

fn online<'a>(host: &'a str, group: Option<&'a str>, fields: &'a SnapshotFields) -> HostState<'a> {
    HostState {
        host,
        group,
        fields: Some(fields),
        online: true,
        last_seen_ms: 0,
        reconnecting: false,
    }
}

fn fired(rule: usize, subject: &str, since_ms: i64) -> Change {
    Change {
        rule,
        subject: subject.to_owned(),
        transition: Transition::Fired { since_ms },
    }
}

fn resolved(rule: usize, subject: &str, since_ms: i64) -> Change {
    Change {
        rule,
        subject: subject.to_owned(),
        transition: Transition::Resolved { since_ms },
    }
}

#[test]
fn an_idle_licence_fires_after_its_time_even_without_new_snapshots_and_resolves_when_used() {
    let mut e = evaluator(vec![rule(
        "ansys-idle",
        AlertKind::LicenceIdle,
        Some("ANSYS"),
        30,
    )]);
    let idle = ansys("pc-1", "idle");
    assert!(e.on_snapshot(&online("pc-1", None, &idle), 0).is_empty());
    assert!(
        e.on_tick(&[online("pc-1", None, &idle)], 29 * MIN)
            .is_empty()
    );
    assert_eq!(
        e.on_tick(&[online("pc-1", None, &idle)], 30 * MIN),
        [fired(0, "pc-1", 0)],
        "the timer fires it: the app name matches without case"
    );
    assert!(
        e.on_snapshot(&online("pc-1", None, &idle), 31 * MIN)
            .is_empty()
    );
    let used = ansys("pc-1", "interactive");
    assert_eq!(
        e.on_snapshot(&online("pc-1", None, &used), 32 * MIN),
        [resolved(0, "pc-1", 0)]
    );
    let computing = ansys("pc-1", "computing");
    assert!(
        e.on_snapshot(&online("pc-1", None, &computing), 33 * MIN)
            .is_empty(),
        "a solver running is not idle"
    );
}

#[test]
fn a_host_that_goes_offline_holds_no_idle_licence_and_a_forgotten_host_resolves() {
    let mut e = evaluator(vec![rule(
        "ansys-idle",
        AlertKind::LicenceIdle,
        Some("ansys"),
        0,
    )]);
    let idle = ansys("pc-1", "idle");
    assert_eq!(
        e.on_snapshot(&online("pc-1", None, &idle), 0),
        [fired(0, "pc-1", 0)]
    );
    let mut off = online("pc-1", None, &idle);
    off.online = false;
    assert_eq!(e.on_tick(&[off], MIN), [resolved(0, "pc-1", 0)]);
    assert_eq!(
        e.on_snapshot(&online("pc-1", None, &idle), 2 * MIN),
        [fired(0, "pc-1", 2 * MIN)]
    );
    assert_eq!(
        e.on_tick(&[], 3 * MIN),
        [resolved(0, "pc-1", 2 * MIN)],
        "a host deleted from the registry"
    );
}

#[test]
fn a_group_rule_counts_idle_seats_in_its_group_only() {
    let mut r = rule("lab-idle", AlertKind::GroupIdleLicences, Some("ansys"), 0);
    r.threshold = Some(2);
    r.group = Some("Lab CTI".to_owned());
    let mut e = evaluator(vec![r]);
    let (a, b, c) = (
        ansys("pc-a", "idle"),
        ansys("pc-b", "idle"),
        ansys("pc-c", "idle"),
    );
    assert!(
        e.on_snapshot(&online("pc-a", Some("Lab CTI"), &a), 0)
            .is_empty()
    );
    assert!(
        e.on_snapshot(&online("pc-c", Some("Library"), &c), 0)
            .is_empty(),
        "another group does not count"
    );
    assert_eq!(
        e.on_snapshot(&online("pc-b", Some("Lab CTI"), &b), MIN),
        [fired(0, "Lab CTI", MIN)]
    );
    assert!(
        e.on_snapshot(&online("pc-b", Some("Lab CTI"), &b), 2 * MIN)
            .is_empty(),
        "the same host again changes nothing"
    );
    let used = ansys("pc-b", "interactive");
    assert_eq!(
        e.on_snapshot(&online("pc-b", Some("Lab CTI"), &used), 3 * MIN),
        [resolved(0, "Lab CTI", MIN)]
    );
    // The timer recounts from every host: two idle again, fired; one offline, resolved.
    let hosts = [
        online("pc-a", Some("Lab CTI"), &a),
        online("pc-b", Some("Lab CTI"), &b),
    ];
    assert_eq!(e.on_tick(&hosts, 4 * MIN), [fired(0, "Lab CTI", 4 * MIN)]);
    let mut gone = online("pc-b", Some("Lab CTI"), &b);
    gone.online = false;
    assert_eq!(
        e.on_tick(&[online("pc-a", Some("Lab CTI"), &a), gone], 5 * MIN),
        [resolved(0, "Lab CTI", 4 * MIN)]
    );
}

#[test]
fn a_silent_host_is_offline_since_it_was_last_heard_from() {
    let mut e = evaluator(vec![rule("offline", AlertKind::HostOffline, None, 10)]);
    let fields = ansys("pc-1", "idle");
    let silent = HostState {
        host: "pc-1",
        group: None,
        fields: Some(&fields),
        online: false,
        last_seen_ms: MIN,
        reconnecting: false,
    };
    assert!(e.on_tick(&[silent], 5 * MIN).is_empty());
    assert_eq!(
        e.on_tick(&[silent], 11 * MIN),
        [fired(0, "pc-1", MIN)],
        "ten minutes after it was last heard from"
    );
    assert_eq!(
        e.on_snapshot(&online("pc-1", None, &fields), 12 * MIN),
        [resolved(0, "pc-1", MIN)],
        "a snapshot resolves it at once"
    );
}

#[test]
fn helper_missing_fires_on_the_agents_word() {
    let mut e = evaluator(vec![rule("tamper", AlertKind::HelperMissing, None, 0)]);
    let missing = Snapshot::parse(r#"{"host":"pc-1","idle_source":"helper_missing"}"#)
        .unwrap()
        .fields()
        .clone();
    let fine = Snapshot::parse(r#"{"host":"pc-1","idle_source":"helper"}"#)
        .unwrap()
        .fields()
        .clone();
    assert_eq!(
        e.on_snapshot(&online("pc-1", None, &missing), 0),
        [fired(0, "pc-1", 0)]
    );
    assert_eq!(
        e.on_snapshot(&online("pc-1", None, &fine), MIN),
        [resolved(0, "pc-1", 0)]
    );
}

#[test]
fn outside_open_hours_a_rule_that_asks_for_them_holds_nothing() {
    let mut r = rule("ansys-idle", AlertKind::LicenceIdle, Some("ansys"), 0);
    r.open_hours_only = true;
    let plain = rule("always", AlertKind::LicenceIdle, Some("ansys"), 0);
    let mut e = Evaluator::new(
        vec![r, plain],
        OpenHours::parse("Mon-Fri 08:00-18:00").unwrap(),
        TimeZone::UTC,
    );
    // 2026-12-05 is a Saturday; 2026-12-07 a Monday.
    let saturday = parse_ms("2026-12-05T10:00:00Z");
    let monday = parse_ms("2026-12-07T10:00:00Z");
    let idle = ansys("pc-1", "idle");
    assert_eq!(
        e.on_snapshot(&online("pc-1", None, &idle), saturday),
        [fired(1, "pc-1", saturday)],
        "only the rule without open_hours_only"
    );
    assert_eq!(
        e.on_snapshot(&online("pc-1", None, &idle), monday),
        [fired(0, "pc-1", monday)]
    );
    let evening = parse_ms("2026-12-07T18:00:00Z");
    assert_eq!(
        e.on_tick(&[online("pc-1", None, &idle)], evening),
        [resolved(0, "pc-1", monday)],
        "closing time clears it"
    );
}

fn parse_ms(text: &str) -> i64 {
    idlewatch_protocol::time::parse_rfc3339_ms(text).unwrap()
}

#[test]
fn orphaned_checkouts_come_from_polls_and_a_failed_poll_changes_nothing() {
    let mut e = evaluator(vec![rule(
        "orphans",
        AlertKind::LicenceOrphaned,
        Some("ansys"),
        5,
    )]);
    let orphan = Orphan {
        app: "Ansys".to_owned(),
        host: "pc-9".to_owned(),
        group: None,
    };
    let polled = HashSet::from(["ansys".to_owned()]);
    assert!(
        e.on_licences(std::slice::from_ref(&orphan), &polled, &HashSet::new(), 0)
            .is_empty()
    );
    assert_eq!(
        e.on_tick(&[], 5 * MIN),
        [fired(0, "pc-9", 0)],
        "held between polls, it fires on the timer"
    );
    assert!(
        e.on_licences(&[], &HashSet::new(), &HashSet::new(), 6 * MIN)
            .is_empty(),
        "a poll that failed says nothing about the checkout"
    );
    assert!(
        e.on_licences(&[], &polled, &HashSet::from(["pc-9".to_owned()]), 7 * MIN)
            .is_empty(),
        "nothing is concluded about a PC whose agent may still reconnect"
    );
    assert_eq!(
        e.on_licences(&[], &polled, &HashSet::new(), 8 * MIN),
        [resolved(0, "pc-9", 0)]
    );
}

#[test]
fn a_restored_alert_does_not_fire_again_and_one_of_a_removed_rule_is_refused() {
    let mut e = evaluator(vec![rule(
        "ansys-idle",
        AlertKind::LicenceIdle,
        Some("ansys"),
        0,
    )]);
    assert!(e.restore("ansys-idle", "pc-1", 0, 0));
    assert!(!e.restore("gone", "pc-1", 0, 0));
    let idle = ansys("pc-1", "idle");
    assert!(e.on_snapshot(&online("pc-1", None, &idle), MIN).is_empty());
}

#[test]
fn after_a_restart_hosts_whose_agents_have_not_reconnected_keep_their_alerts() {
    let mut e = evaluator(vec![
        rule("ansys-idle", AlertKind::LicenceIdle, Some("ansys"), 0),
        rule("offline", AlertKind::HostOffline, None, 0),
        {
            let mut r = rule("lab", AlertKind::GroupIdleLicences, Some("ansys"), 0);
            r.threshold = Some(1);
            r
        },
    ]);
    assert!(e.restore("ansys-idle", "pc-1", 0, 0));
    assert!(e.restore("lab", NO_GROUP, 0, 0));
    let idle = ansys("pc-1", "idle");
    let waiting = HostState {
        host: "pc-1",
        group: None,
        fields: Some(&idle),
        online: false,
        last_seen_ms: 0,
        reconnecting: true,
    };
    assert!(
        e.on_tick(&[waiting], MIN).is_empty(),
        "neither resolved nor offline while its agent may still reconnect"
    );
    let gone = HostState {
        reconnecting: false,
        ..waiting
    };
    let mut changes = e.on_tick(&[gone], 2 * MIN);
    changes.sort_by_key(|c| c.rule);
    assert_eq!(
        changes,
        [
            resolved(0, "pc-1", 0),
            fired(1, "pc-1", 0),
            resolved(2, NO_GROUP, 0)
        ],
        "once the grace is over, a host still silent is offline"
    );
}
