use idlewatch_protocol::WatchedState;
use proptest::prelude::*;

use super::*;
use crate::SessionSummary;

/// 2026-11-23 10:00 UTC.
const HOUR: i64 = 1_795_392_000_000 + 10 * HOUR_MS;

fn summary(active: bool, cpu: f64, app: Option<WatchedState>, user: Option<&str>) -> Summary {
    Summary {
        user_active: Some(active),
        cpu_percent: Some(cpu),
        memory_percent: Some(50.0),
        foreground_process: Some(if active { "ansys.exe" } else { "explorer.exe" }.to_owned()),
        apps: app.map(|s| ("Ansys".to_owned(), s)).into_iter().collect(),
        session: user.map(|u| SessionSummary {
            user: u.to_owned(),
            since_ms: Some(HOUR - HOUR_MS),
        }),
        ..Summary::default()
    }
}

#[test]
fn coverage_is_split_into_minutes_and_capped() {
    let active = summary(true, 40.0, Some(WatchedState::Interactive), Some("ana"));
    let idle = summary(false, 2.0, Some(WatchedState::Idle), Some("ana"));
    // The snapshot before the hour covers its first 10 s; then one at 0:50 covering until
    // the next at 1:05; that one is capped at 15 s (the next comes at 1:40).
    let before = FoldPoint {
        at_ms: HOUR - 5_000,
        summary: &active,
    };
    let points = [
        FoldPoint {
            at_ms: HOUR + 50_000,
            summary: &idle,
        },
        FoldPoint {
            at_ms: HOUR + 65_000,
            summary: &active,
        },
    ];
    let block = HourBlock::fold(HOUR, 15_000, Some(before), &points, Some(HOUR + 100_000));
    assert_eq!(block.minutes.len(), 2);
    let (at0, m0) = &block.minutes[0];
    assert_eq!(*at0, 0);
    assert_eq!((m0.active_ms, m0.idle_ms), (10_000, 10_000));
    assert_eq!(m0.offline_ms(), 40_000);
    assert_eq!(
        m0.apps.to_vec(),
        vec![
            ("Ansys".into(), WatchedState::Interactive, 10_000),
            ("Ansys".into(), WatchedState::Idle, 10_000)
        ]
    );
    // Mean weighted by time: (40 × 10 + 2 × 10) / 20 = 21 %; peak 40 %.
    assert_eq!(
        m0.cpu,
        Some(Level {
            mean_tenths: 210,
            max_tenths: 400
        })
    );
    assert_eq!(m0.users.to_vec(), vec!["ana".into()]);
    assert_eq!(m0.logons, 0, "the same session as the snapshot before");
    let (at1, m1) = &block.minutes[1];
    assert_eq!(*at1, 1);
    assert_eq!((m1.active_ms, m1.idle_ms), (15_000, 5_000));
    assert_eq!(m1.foreground.as_deref(), Some("ansys.exe"));
}

#[test]
fn a_new_session_is_a_logon_in_its_minute() {
    let nobody = summary(false, 1.0, None, None);
    let ana = summary(true, 1.0, None, Some("ana"));
    let points = [
        FoldPoint {
            at_ms: HOUR + 1_000,
            summary: &nobody,
        },
        FoldPoint {
            at_ms: HOUR + 125_000,
            summary: &ana,
        },
    ];
    let block = HourBlock::fold(HOUR, 15_000, None, &points, None);
    let logons: Vec<(u8, u32)> = block
        .minutes
        .iter()
        .filter(|(_, m)| m.logons > 0)
        .map(|(at, m)| (*at, m.logons))
        .collect();
    assert_eq!(logons, vec![(2, 1)]);
    // No snapshot after: the last covers its 15 s and the hour's end is offline.
    assert_eq!(block.minutes.last().unwrap().1.active_ms, 15_000);
}

#[test]
fn a_minute_covered_for_more_than_a_minute_or_garbage_is_refused() {
    let mut block = HourBlock {
        cover_ms: 15_000,
        minutes: vec![(
            3,
            Minute {
                active_ms: 50_000,
                idle_ms: 20_000,
                ..Minute::default()
            },
        )],
    };
    let bytes = block.encode().unwrap();
    assert!(HourBlock::decode(&bytes).is_err());
    block.minutes[0].1.idle_ms = 10_000;
    let bytes = block.encode().unwrap();
    assert_eq!(HourBlock::decode(&bytes).unwrap(), block);
    assert!(HourBlock::decode(&bytes[..bytes.len() - 3]).is_err());
    assert!(HourBlock::decode(&[2, 0, 0]).is_err());
    assert!(HourBlock::decode(&[]).is_err());
}

fn any_summary() -> impl Strategy<Value = Summary> {
    let states = prop::sample::select(vec![
        WatchedState::Interactive,
        WatchedState::Computing,
        WatchedState::Idle,
        WatchedState::NotRunning,
    ]);
    (
        any::<bool>(),
        0.0f64..100.0,
        prop::option::of(states),
        prop::option::of(prop::sample::select(vec!["ana", "bo", ""])),
    )
        .prop_map(|(active, cpu, app, user)| summary(active, cpu, app, user))
}

proptest! {
    #[test]
    fn any_folded_hour_decodes_to_itself_and_accounts_for_every_covered_ms(
        steps in prop::collection::vec((0i64..200_000, any_summary()), 0..80),
        cover in 1_000i64..60_000,
    ) {
        let mut at = HOUR - 30_000;
        let timed: Vec<(i64, Summary)> = steps
            .into_iter()
            .map(|(gap, s)| {
                at += gap / 4;
                (at, s)
            })
            .collect();
        let before = timed.iter().rev().find(|(t, _)| *t < HOUR);
        let inside: Vec<FoldPoint<'_>> = timed
            .iter()
            .filter(|(t, _)| (HOUR..HOUR + HOUR_MS).contains(t))
            .map(|(t, s)| FoldPoint { at_ms: *t, summary: s })
            .collect();
        let next = timed.iter().find(|(t, _)| *t >= HOUR + HOUR_MS).map(|(t, _)| *t);
        let block = HourBlock::fold(
            HOUR,
            cover,
            before.map(|(t, s)| FoldPoint { at_ms: *t, summary: s }),
            &inside,
            next,
        );
        let bytes = block.encode().unwrap();
        prop_assert_eq!(HourBlock::decode(&bytes).unwrap(), block.clone());
        // The same coverage computed directly, span by span.
        let all: Vec<(i64, &Summary)> = before
            .map(|(t, s)| (*t, s))
            .into_iter()
            .chain(inside.iter().map(|p| (p.at_ms, p.summary)))
            .collect();
        let mut covered = 0i64;
        for (i, (t, _)) in all.iter().enumerate() {
            let end = all
                .get(i + 1)
                .map(|n| n.0)
                .or(next)
                .unwrap_or(i64::MAX)
                .min(t + cover)
                .min(HOUR + HOUR_MS);
            covered += (end - (*t).max(HOUR)).max(0);
        }
        let folded: i64 = block
            .minutes
            .iter()
            .map(|(_, m)| i64::from(m.active_ms) + i64::from(m.idle_ms))
            .sum();
        prop_assert_eq!(folded, covered);
    }
}
