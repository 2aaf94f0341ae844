use idlewatch_protocol::WatchedState;
use proptest::prelude::*;

use super::*;
use crate::minutes::MINUTE_MS;

/// 2026-11-23 00:00 UTC.
const DAY: i64 = 1_795_392_000_000;

fn minute(active_ms: u32, idle_ms: u32, cpu: (u16, u16), fg: &str) -> Minute {
    Minute {
        active_ms,
        idle_ms,
        apps: vec![("Ansys".into(), WatchedState::Interactive, active_ms)].into(),
        cpu: Some(Level {
            mean_tenths: cpu.0,
            max_tenths: cpu.1,
        }),
        memory: None,
        foreground: Some(fg.into()),
        users: vec!["ana".into()].into(),
        logons: 0,
    }
}

#[test]
fn an_hour_is_the_sum_of_its_minutes() {
    let mut b = minute(10_000, 50_000, (300, 900), "explorer.exe");
    b.users = vec!["bo".into()].into();
    b.logons = 1;
    b.apps.push(("Ansys".into(), WatchedState::Idle, 50_000));
    let block = HourBlock {
        cover_ms: 15_000,
        minutes: vec![
            (0, minute(60_000, 0, (100, 200), "ansys.exe")),
            (1, b),
            (2, minute(20_000, 0, (500, 600), "ansys.exe")),
        ],
    };
    let day = DayBlock::of(DAY, &[(DAY + 3 * HOUR_MS, block)]);
    assert_eq!(day.cover_ms, 15_000);
    assert_eq!(day.hours.len(), 1);
    let DayHour {
        hour,
        sum,
        active_quarters,
    } = &day.hours[0];
    assert_eq!(*hour, 3);
    assert_eq!(
        *active_quarters,
        [90_000, 0, 0, 0],
        "minutes 0-2: the first quarter"
    );
    assert_eq!((sum.active_ms, sum.idle_ms), (90_000, 50_000));
    assert_eq!(
        sum.apps.to_vec(),
        vec![
            ("Ansys".into(), WatchedState::Interactive, 90_000),
            ("Ansys".into(), WatchedState::Idle, 50_000)
        ]
    );
    // (100 × 60 + 300 × 60 + 500 × 20) / 140 s = 242.86 → 243 tenths; the peak 900.
    assert_eq!(
        sum.cpu,
        Some(Level {
            mean_tenths: 243,
            max_tenths: 900
        })
    );
    assert_eq!(sum.memory, None);
    // ansys.exe led 80 s of covered time, explorer.exe 60 s.
    assert_eq!(sum.foreground.as_deref(), Some("ansys.exe"));
    assert_eq!(sum.users.to_vec(), vec!["ana".into(), "bo".into()]);
    assert_eq!(sum.logons, 1);
}

#[test]
fn hours_outside_the_day_and_empty_hours_are_left_out() {
    let block = |m: u32| HourBlock {
        cover_ms: 15_000,
        minutes: vec![(0, minute(m, 0, (1, 1), "a"))],
    };
    let empty = HourBlock {
        cover_ms: 15_000,
        minutes: Vec::new(),
    };
    let day = DayBlock::of(
        DAY,
        &[
            (DAY - HOUR_MS, block(1)),
            (DAY, block(2)),
            (DAY + HOUR_MS, empty),
            (DAY + 23 * HOUR_MS, block(3)),
            (DAY + 24 * HOUR_MS, block(4)),
        ],
    );
    let hours: Vec<(u8, u32)> = day
        .hours
        .iter()
        .map(|h| (h.hour, h.sum.active_ms))
        .collect();
    assert_eq!(hours, vec![(0, 2), (23, 3)]);
    let kept = day.without(|h| h == 0);
    assert_eq!(kept.hours.len(), 1);
    assert_eq!(kept.hours[0].hour, 23);
}

#[test]
fn a_slot_covered_longer_than_an_hour_is_refused() {
    let mut sum = minute(0, 0, (1, 1), "a");
    sum.active_ms = u32::try_from(HOUR_MS).unwrap() + 1;
    let day = DayBlock {
        cover_ms: 15_000,
        hours: vec![DayHour {
            hour: 0,
            active_quarters: [sum.active_ms, 0, 0, 0],
            sum,
        }],
    };
    let bytes = day.encode().unwrap();
    assert_eq!(
        DayBlock::decode(&bytes),
        Err("a slot covered for longer than it lasts")
    );
    // Quarters that do not add up to the hour are not written.
    let mut wrong = day.clone();
    wrong.hours[0].sum.active_ms = 1_000;
    assert!(wrong.encode().is_err());
}

fn arb_minute() -> impl Strategy<Value = Minute> {
    (
        0u32..=60_000,
        0u32..=60_000,
        proptest::option::of((0u16..1000, 0u16..1000)),
        proptest::sample::select(vec!["a.exe", "b.exe", "c.exe"]),
        proptest::collection::vec(proptest::sample::select(vec!["ana", "bo"]), 0..2),
        0u32..3,
    )
        .prop_map(|(active, idle, cpu, fg, users, logons)| {
            let idle = idle.min(60_000 - active);
            let mut users: Vec<Arc<str>> = users.into_iter().map(Arc::from).collect();
            users.sort();
            users.dedup();
            Minute {
                active_ms: active,
                idle_ms: idle,
                apps: if active > 0 {
                    vec![("Rocky".into(), WatchedState::Interactive, active)].into()
                } else {
                    Default::default()
                },
                cpu: cpu.map(|(a, b)| Level {
                    mean_tenths: a.min(b),
                    max_tenths: a.max(b),
                }),
                memory: None,
                foreground: Some(fg.into()),
                users: users.into(),
                logons,
            }
        })
}

proptest! {
    /// Whatever the minutes, each hour of the day keeps their milliseconds, app time and
    /// logons, and the day round-trips through its encoding.
    #[test]
    fn days_keep_every_millisecond(
        hours in proptest::collection::btree_map(
            0u8..24,
            proptest::collection::btree_map(0u8..60, arb_minute(), 1..8),
            0..6,
        )
    ) {
        let blocks: Vec<(i64, HourBlock)> = hours
            .iter()
            .map(|(h, minutes)| {
                (
                    DAY + i64::from(*h) * HOUR_MS,
                    HourBlock {
                        cover_ms: 15_000,
                        minutes: minutes.iter().map(|(m, v)| (*m, v.clone())).collect(),
                    },
                )
            })
            .collect();
        let day = DayBlock::of(DAY, &blocks);
        prop_assert_eq!(day.hours.len(), hours.len());
        for ((h, minutes), DayHour { hour, sum, active_quarters }) in hours.iter().zip(&day.hours) {
            prop_assert_eq!(h, hour);
            for (q, active) in active_quarters.iter().enumerate() {
                let inside: u32 = minutes
                    .range(q as u8 * 15..(q as u8 + 1) * 15)
                    .map(|(_, m)| m.active_ms)
                    .sum();
                prop_assert_eq!(*active, inside);
            }
            let active: u32 = minutes.values().map(|m| m.active_ms).sum();
            let idle: u32 = minutes.values().map(|m| m.idle_ms).sum();
            let logons: u32 = minutes.values().map(|m| m.logons).sum();
            prop_assert_eq!((sum.active_ms, sum.idle_ms, sum.logons), (active, idle, logons));
            let app: u32 = sum.apps.iter().map(|a| a.2).sum();
            prop_assert_eq!(app, active);
            prop_assert!(i64::from(sum.active_ms + sum.idle_ms) <= 60 * MINUTE_MS);
            if let Some(cpu) = sum.cpu {
                prop_assert!(cpu.mean_tenths <= cpu.max_tenths);
            }
        }
        let back = DayBlock::decode(&day.encode().unwrap()).unwrap();
        prop_assert_eq!(back, day);
    }
}
