//! Utilization on hand-made timelines, checked against figures computed by hand.

use super::*;

const MIN: i64 = 60_000;
const HOUR: i64 = 60 * MIN;
/// 2026-11-23T00:00:00Z, a Monday.
const MONDAY: i64 = 1_795_392_000_000;

fn point(at_ms: i64, active: bool) -> Point {
    Point {
        at_ms,
        user_active: active,
        apps: Vec::new(),
        session: None,
    }
}

/// A point with `user` logged on since `since_ms` (when known).
fn in_session(at_ms: i64, user: &str, since_ms: Option<i64>) -> Point {
    Point {
        session: Some(SessionSummary {
            user: user.to_owned(),
            since_ms,
        }),
        ..point(at_ms, true)
    }
}

fn utc(open: &str) -> Rules {
    Rules {
        interval_ms: 5_000,
        time_zone: TimeZone::UTC,
        open: OpenHours::parse(open).unwrap(),
    }
}

/// A point every 5 s from `start` for `count` points.
fn run(start: i64, count: i64, active: bool) -> Vec<Point> {
    (0..count)
        .map(|i| point(start + i * 5_000, active))
        .collect()
}

#[test]
fn a_steady_hour_is_all_active_and_the_rest_offline() {
    let points = run(MONDAY + 9 * HOUR, 720, true); // 09:00–10:00
    let days = host_days(&points, MONDAY, MONDAY + 24 * HOUR, &utc("")).unwrap();
    assert_eq!(days.len(), 1);
    let d = &days[0];
    // 719 points cover 5 s each up to the next; the last one covers 3 × 5 s.
    assert_eq!(d.active_ms, HOUR - 5_000 + 15_000);
    assert_eq!(d.idle_ms, 0);
    assert_eq!(d.offline_ms, 24 * HOUR - d.active_ms);
}

#[test]
fn silence_beyond_three_intervals_is_offline() {
    // 08:00 one point, next at 08:10: covers 15 s, then offline until 08:10.
    let points = vec![
        point(MONDAY + 8 * HOUR, false),
        point(MONDAY + 8 * HOUR + 10 * MIN, false),
    ];
    let days = host_days(&points, MONDAY + 8 * HOUR, MONDAY + 9 * HOUR, &utc("")).unwrap();
    let d = &days[0];
    assert_eq!(d.idle_ms, 15_000 + 15_000);
    assert_eq!(d.offline_ms, HOUR - 30_000);
    assert_eq!(d.active_ms, 0);
}

#[test]
fn utilization_counts_active_time_inside_opening_hours() {
    // Active 07:00–09:00 (1 h before opening at 08:00), idle 09:00–10:00.
    let mut points = run(MONDAY + 7 * HOUR, 1440, true);
    points.extend(run(MONDAY + 9 * HOUR, 720, false));
    let days = host_days(
        &points,
        MONDAY,
        MONDAY + 24 * HOUR,
        &utc("Mon-Fri 08:00-22:00"),
    )
    .unwrap();
    let d = &days[0];
    assert_eq!(d.open_ms, 14 * HOUR);
    assert_eq!(d.active_open_ms, HOUR);
    assert!((d.utilization().unwrap() - 1.0 / 14.0).abs() < 1e-9);
    assert_eq!(d.active_ms, 2 * HOUR);
    assert_eq!(d.idle_ms, HOUR - 5_000 + 15_000);
}

#[test]
fn closed_days_have_no_utilization() {
    let sunday = MONDAY - 24 * HOUR;
    let days = host_days(
        &run(sunday + HOUR, 10, true),
        sunday,
        MONDAY,
        &utc("Mon-Fri 08:00-22:00"),
    )
    .unwrap();
    assert_eq!(days[0].open_ms, 0);
    assert_eq!(days[0].utilization(), None);
}

#[test]
fn watched_apps_accumulate_time_per_state() {
    let mut points = Vec::new();
    for i in 0..120 {
        let state = if i < 60 {
            WatchedState::Interactive
        } else {
            WatchedState::Idle
        };
        points.push(Point {
            at_ms: MONDAY + 10 * HOUR + i * 5_000,
            user_active: i < 60,
            apps: vec![
                ("ansys".to_owned(), state),
                ("rocky".to_owned(), WatchedState::NotRunning),
            ],
            session: None,
        });
    }
    let days = host_days(&points, MONDAY, MONDAY + 24 * HOUR, &utc("")).unwrap();
    let ansys = days[0].apps["ansys"];
    assert_eq!(ansys.interactive_ms, 300_000);
    assert_eq!(ansys.idle_ms, 59 * 5_000 + 15_000);
    assert_eq!(
        days[0].apps["rocky"].not_running_ms,
        600_000 - 5_000 + 15_000
    );
}

#[test]
fn a_span_across_midnight_is_split_between_the_days_of_the_time_zone() {
    // São Paulo is UTC-3: local midnight is 03:00 UTC.
    let tz = TimeZone::get("America/Sao_Paulo").unwrap();
    let rules = Rules {
        interval_ms: HOUR,
        time_zone: tz,
        open: OpenHours::always(),
    };
    let local_midnight = MONDAY + 3 * HOUR; // Monday 00:00 in São Paulo
    let points = vec![
        point(local_midnight - HOUR, true),
        point(local_midnight, true),
    ];
    let days = host_days(
        &points,
        local_midnight - 2 * HOUR,
        local_midnight + 2 * HOUR,
        &rules,
    )
    .unwrap();
    assert_eq!(days.len(), 2);
    assert_eq!(days[0].date.to_string(), "2026-11-22");
    assert_eq!(days[0].active_ms, HOUR);
    assert_eq!(days[0].offline_ms, HOUR);
    assert_eq!(days[1].date.to_string(), "2026-11-23");
    assert_eq!(
        days[1].active_ms,
        2 * HOUR,
        "covered until the end of the range"
    );
}

#[test]
fn groups_total_their_hosts_day_by_day() {
    let rules = utc("Mon-Fri 08:00-22:00");
    let a = host_days(
        &run(MONDAY + 9 * HOUR, 720, true),
        MONDAY,
        MONDAY + 24 * HOUR,
        &rules,
    )
    .unwrap();
    let b = host_days(
        &run(MONDAY + 9 * HOUR, 720, false),
        MONDAY,
        MONDAY + 24 * HOUR,
        &rules,
    )
    .unwrap();
    let c = host_days(
        &run(MONDAY + 12 * HOUR, 720, true),
        MONDAY,
        MONDAY + 24 * HOUR,
        &rules,
    )
    .unwrap();
    let totals = group_totals([
        (Some("lab"), a.as_slice()),
        (Some("lab"), b.as_slice()),
        (None, c.as_slice()),
    ]);
    let lab = &totals[&("lab".to_owned(), a[0].date)];
    assert_eq!(lab.active_ms, a[0].active_ms);
    assert_eq!(lab.idle_ms, b[0].idle_ms);
    assert_eq!(lab.open_ms, 28 * HOUR, "two hosts' opening hours");
    assert!(
        (lab.utilization().unwrap() - a[0].active_open_ms as f64 / (28 * HOUR) as f64).abs()
            < 1e-12
    );
    assert_eq!(
        totals[&(String::new(), c[0].date)].active_ms,
        c[0].active_ms
    );
}

#[test]
fn a_timeline_merges_equal_bands_and_shows_gaps() {
    let p = |at_ms: i64, active: bool, app: Option<WatchedState>| Point {
        at_ms,
        user_active: active,
        apps: app
            .map(|s| vec![("Ansys".to_owned(), s)])
            .unwrap_or_default(),
        session: None,
    };
    let points = [
        p(1_000, true, Some(WatchedState::Interactive)),
        p(2_000, true, Some(WatchedState::Interactive)),
        p(3_000, false, Some(WatchedState::Idle)),
        p(20_000, false, None),
    ];
    let (bands, apps) = timeline(&points, 0, 25_000, 1_000);
    let got: Vec<(i64, i64, &str)> = bands
        .iter()
        .map(|b| (b.start, b.end, b.state.as_ref()))
        .collect();
    assert_eq!(
        got,
        [
            (0, 1_000, "offline"),
            (1_000, 3_000, "active"),
            (3_000, 6_000, "idle"),
            (6_000, 20_000, "offline"),
            (20_000, 23_000, "idle"),
            (23_000, 25_000, "offline"),
        ]
    );
    let ansys: Vec<(i64, i64, &str)> = apps["Ansys"]
        .iter()
        .map(|b| (b.start, b.end, b.state.as_ref()))
        .collect();
    assert_eq!(
        ansys,
        [(1_000, 3_000, "interactive"), (3_000, 6_000, "idle")]
    );
}

#[test]
fn a_logon_is_a_session_that_differs_from_the_one_before() {
    let nine = MONDAY + 9 * HOUR;
    let points = vec![
        point(nine, false),                                  // nobody
        in_session(nine + 5_000, "ana", Some(nine + 1_000)), // ana logs on
        in_session(nine + 10_000, "ana", Some(nine + 1_000)),
        point(nine + 15_000, false),                           // logs off
        in_session(nine + 20_000, "ana", Some(nine + 18_000)), // and on again
        in_session(nine + 25_000, "bo", None),                 // switch user (logon time unknown)
        in_session(nine + 30_000, "bo", None),
        // The agent restarts after an hour: the same session is not a new logon.
        in_session(nine + HOUR, "bo", None),
        in_session(nine + HOUR + 5_000, "", None), // a session whose user is unknown
    ];
    let days = host_days(&points, MONDAY, MONDAY + 24 * HOUR, &utc("")).unwrap();
    assert_eq!(days[0].logons, 4);
    assert_eq!(
        days[0].users.iter().map(String::as_str).collect::<Vec<_>>(),
        ["ana", "bo"],
        "unknown users are not counted as users"
    );
}

#[test]
fn a_session_is_a_logon_of_the_day_it_began() {
    let nine = MONDAY + 9 * HOUR;
    let rules = utc("");
    let before_the_range = [in_session(nine, "ana", Some(nine - 2 * HOUR))];
    let days = host_days(&before_the_range, nine - HOUR, MONDAY + 24 * HOUR, &rules).unwrap();
    assert_eq!(days[0].logons, 0, "before the counted range");
    assert_eq!(days[0].users.len(), 1, "but ana was there");
    let same_day = [in_session(nine, "ana", Some(nine - 2 * HOUR))];
    let days = host_days(&same_day, MONDAY, MONDAY + 24 * HOUR, &rules).unwrap();
    assert_eq!(
        days[0].logons, 1,
        "the agent started after a logon that morning"
    );
    let yesterday = [in_session(nine, "ana", Some(MONDAY - HOUR))];
    let days = host_days(&yesterday, MONDAY, MONDAY + 24 * HOUR, &rules).unwrap();
    assert_eq!(days[0].logons, 0, "that logon was the day before's");
    let unknown = [in_session(nine, "ana", None)];
    let days = host_days(&unknown, MONDAY, MONDAY + 24 * HOUR, &rules).unwrap();
    assert_eq!(days[0].logons, 1, "first seen");
}

#[test]
fn a_session_across_midnight_has_its_user_on_both_days_and_one_logon() {
    let late = MONDAY + 24 * HOUR - 7_000;
    let points = [
        in_session(late, "ana", Some(late - 1_000)),
        in_session(late + 5_000, "ana", Some(late - 1_000)),
        in_session(late + 10_000, "ana", Some(late - 1_000)),
    ];
    let days = host_days(&points, MONDAY, MONDAY + 48 * HOUR, &utc("")).unwrap();
    assert_eq!((days[0].logons, days[1].logons), (1, 0));
    assert!(days[0].users.contains("ana") && days[1].users.contains("ana"));
}

#[test]
fn groups_count_logons_and_distinct_users() {
    let nine = MONDAY + 9 * HOUR;
    let rules = utc("");
    let a = host_days(
        &[
            in_session(nine, "ana", None),
            in_session(nine + 5_000, "bo", None),
        ],
        MONDAY,
        MONDAY + 24 * HOUR,
        &rules,
    )
    .unwrap();
    let b = host_days(
        &[in_session(nine, "ana", None)],
        MONDAY,
        MONDAY + 24 * HOUR,
        &rules,
    )
    .unwrap();
    let totals = group_totals([(Some("lab"), a.as_slice()), (Some("lab"), b.as_slice())]);
    let lab = &totals[&("lab".to_owned(), a[0].date)];
    assert_eq!(lab.logons, 3);
    assert_eq!(lab.users.len(), 2, "ana on both hosts counts once");
}
