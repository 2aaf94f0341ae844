use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use idlewatch_protocol::Snapshot;
use idlewatch_protocol::api::{SeatMap, SeatState};

use super::*;
use crate::config::{SeatMapConfig, SeatsConfig};

fn board(maps: Vec<SeatMapConfig>) -> SeatBoard {
    SeatBoard::new(&SeatsConfig {
        maps,
        ..SeatsConfig::default()
    })
}

/// A registry holding `snapshots`, each host with an agent connected unless listed in
/// `disconnected`.
fn registry(snapshots: &[&str], disconnected: &[&str]) -> Arc<HostRegistry> {
    let registry = Arc::new(HostRegistry::new(Duration::from_secs(600)));
    let now = SystemTime::now();
    for text in snapshots {
        let snapshot = Snapshot::parse(text).unwrap();
        if !disconnected.contains(&snapshot.host()) {
            registry.agent_connected(snapshot.host(), now);
        }
        registry.record(&snapshot, now);
    }
    registry
}

fn seat_of<'a>(seats: &'a [Seat], host: &str) -> &'a Seat {
    seats.iter().find(|s| s.host == host).unwrap()
}

#[test]
fn free_means_online_with_nobody_or_an_idle_user() {
    let registry = registry(
        &[
            r#"{"host":"away","idle_seconds":900}"#,
            r#"{"host":"busy","idle_seconds":899.5,"session":{"user":"ana"}}"#,
            r#"{"host":"empty","idle_source":"no_session"}"#,
            r#"{"host":"legacy","idle_time":3600,"user_active":false}"#,
            r#"{"host":"unknown","idle_source":"helper_missing"}"#,
            r#"{"host":"gone","idle_seconds":5000}"#,
        ],
        &["gone"],
    );
    let groups = HostGroups::new(BTreeMap::new(), registry.clone());
    let seats = board(vec![]).seats(&registry, &groups, &Default::default());
    let state = |h| seat_of(&seats, h).state;
    assert_eq!(state("away"), SeatState::Free);
    assert_eq!(state("busy"), SeatState::InUse);
    assert_eq!(state("empty"), SeatState::Free);
    assert_eq!(state("legacy"), SeatState::Free);
    assert_eq!(state("unknown"), SeatState::InUse);
    assert_eq!(state("gone"), SeatState::Offline);
}

#[test]
fn labs_count_their_pcs_and_keep_their_rooms() {
    let registry = registry(
        &[
            r#"{"host":"PC01","group":"Lab CTI","idle_seconds":0,"watched":{"MATLAB":{"running":true}}}"#,
            r#"{"host":"PC02","group":"Lab CTI","idle_seconds":4000}"#,
            r#"{"host":"B1","group":"Library","idle_seconds":4000}"#,
            r#"{"host":"loose","idle_seconds":4000}"#,
        ],
        &[],
    );
    let groups = HostGroups::new(BTreeMap::new(), registry.clone());
    let board = board(vec![
        SeatMapConfig {
            group: "lab cti".to_owned(),
            rows: vec!["PC01 . PC02".to_owned(), "PC03".to_owned()],
            svg: None,
        },
        SeatMapConfig {
            group: "Room 9".to_owned(),
            rows: vec!["R1 R2".to_owned()],
            svg: None,
        },
    ]);
    let view = board.view(&board.seats(&registry, &groups, &Default::default()), None);
    assert_eq!((view.free, view.in_use, view.offline), (3, 1, 0));
    assert_eq!(view.apps, ["MATLAB"]);
    let names: Vec<_> = view.groups.iter().map(|g| g.group.clone()).collect();
    // Labs by name without case (a room with no PC known yet too), the PCs in no group last.
    assert_eq!(
        names,
        [
            Some("Lab CTI".to_owned()),
            Some("Library".to_owned()),
            Some("Room 9".to_owned()),
            None
        ]
    );
    let cti = &view.groups[0];
    assert_eq!((cti.free, cti.in_use, cti.offline), (1, 1, 0));
    assert_eq!(cti.seats[0].installed, ["MATLAB"]);
    assert_eq!(
        cti.map,
        Some(SeatMap::Rows {
            rows: vec![
                vec![Some("PC01".to_owned()), None, Some("PC02".to_owned())],
                vec![Some("PC03".to_owned())]
            ]
        })
    );
    assert!(view.groups[2].seats.is_empty());
    // One lab asked for, without case.
    let only = vec!["library".to_owned()];
    let view = board.view(
        &board.seats(&registry, &groups, &Default::default()),
        Some(&only),
    );
    assert_eq!(view.groups.len(), 1);
    assert_eq!((view.free, view.in_use, view.offline), (1, 0, 0));
}

#[test]
fn only_changes_are_sent_again() {
    let registry = registry(&[r#"{"host":"a","idle_seconds":0}"#], &[]);
    let groups = HostGroups::new(BTreeMap::new(), registry.clone());
    let board = board(vec![]);
    let first = board.changes(&board.seats(&registry, &groups, &Default::default()));
    assert_eq!(first.len(), 1);
    assert!(
        board
            .changes(&board.seats(&registry, &groups, &Default::default()))
            .is_empty()
    );
    let snapshot = Snapshot::parse(r#"{"host":"a","idle_seconds":5000}"#).unwrap();
    registry.record(&snapshot, SystemTime::now());
    let changed = board.changes(&board.seats(&registry, &groups, &Default::default()));
    assert_eq!(changed.len(), 1);
    assert_eq!(changed[0].seat.state, SeatState::Free);
    assert_eq!(changed[0].left, None);
    // Moving to another lab says which it left.
    let snapshot =
        Snapshot::parse(r#"{"host":"a","idle_seconds":5000,"group":"Library"}"#).unwrap();
    registry.record(&snapshot, SystemTime::now());
    let changed = board.changes(&board.seats(&registry, &groups, &Default::default()));
    assert_eq!(changed[0].seat.group.as_deref(), Some("Library"));
    assert_eq!(changed[0].left, Some(None));
}

#[test]
fn a_floor_plan_that_is_not_svg_is_a_setup_error_naming_the_map() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cti.svg");
    std::fs::write(&path, r#"<html><svg/></html>"#).unwrap();
    let board = board(vec![SeatMapConfig {
        group: "Lab CTI".to_owned(),
        rows: vec![],
        svg: Some(path.clone()),
    }]);
    let why = board.setup_error().unwrap();
    assert!(
        why.contains("seats.maps[0]") && why.contains("cti.svg") && why.contains("not <svg>"),
        "{why}"
    );
    // A plan with a handler is served without it.
    std::fs::write(&path, r#"<svg onload="x()"><rect id="PC01"/></svg>"#).unwrap();
    let board = super::tests::board(vec![SeatMapConfig {
        group: "Lab CTI".to_owned(),
        rows: vec![],
        svg: Some(path),
    }]);
    assert!(board.setup_error().is_none());
    let plan = board.plan("lab cti").unwrap();
    assert!(plan.contains("PC01") && !plan.contains("onload"), "{plan}");
    let view = board.view(&[], None);
    assert_eq!(
        view.groups[0].map,
        Some(SeatMap::Svg {
            url: "/api/v1/seats/maps/Lab%20CTI".to_owned()
        })
    );
}

#[test]
fn what_is_kept_for_a_host_no_longer_known_is_forgotten_within_a_minute_of_rounds() {
    let registry = registry(
        &[r#"{"host":"pc1","watched":{"MATLAB":{"running":true}}}"#],
        &[],
    );
    let groups = HostGroups::new(BTreeMap::new(), registry.clone());
    let board = board(vec![]);
    // A PC deleted since: its apps were learnt from history, its seat sent.
    board.installed.seen("Deleted-PC", "Ansys", now_ms());
    board.sent.lock().unwrap().insert(
        "Deleted-PC".to_owned(),
        Seat {
            host: "Deleted-PC".to_owned(),
            group: None,
            state: SeatState::Free,
            installed: Vec::new(),
        },
    );
    let seats = board.seats(&registry, &groups, &Default::default());
    let _ = board.changes(&seats);
    assert_eq!(board.installed.hosts(), 2);
    for _ in 1..FORGET_EVERY {
        let _ = board.seats(&registry, &groups, &Default::default());
    }
    assert_eq!(board.installed.hosts(), 1);
    assert_eq!(board.installed.on("pc1", 0), ["MATLAB"]);
    assert_eq!(
        board.sent.lock().unwrap().keys().collect::<Vec<_>>(),
        ["pc1"]
    );
    assert_eq!(board.observed.lock().unwrap().len(), 1);
}

#[test]
fn seats_no_longer_shown_are_told_once_as_gone() {
    let registry = registry(
        &[
            r#"{"host":"pc1","idle_seconds":1}"#,
            r#"{"host":"pc2","idle_seconds":1}"#,
        ],
        &[],
    );
    let groups = HostGroups::new(BTreeMap::new(), registry.clone());
    let board = board(vec![]);
    let seats = board.seats(&registry, &groups, &Default::default());
    assert_eq!(board.changes(&seats).len(), 2);
    assert!(board.gone(&seats).is_empty());
    // pc2 is no longer among the seats (deleted, unlisted, moved out of the labs shown).
    let fewer: Vec<Seat> = seats.iter().filter(|s| s.host == "pc1").cloned().collect();
    assert!(board.changes(&fewer).is_empty());
    let gone = board.gone(&fewer);
    assert_eq!(
        gone.iter().map(|s| s.host.as_str()).collect::<Vec<_>>(),
        ["pc2"]
    );
    assert!(board.gone(&fewer).is_empty(), "told once");
    // Back again: a change like any new PC.
    assert_eq!(board.changes(&seats).len(), 1);
}
