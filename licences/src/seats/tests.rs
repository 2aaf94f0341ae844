use proptest::prelude::*;

use super::*;

const H: i64 = HOUR_MS;
const MIN: i64 = 60_000;

/// 2026-11-30 00:00 UTC, a Monday.
const MONDAY: i64 = 1_795_996_800_000;

fn span(start_ms: i64, end_ms: i64, state: WatchedState) -> StateSpan {
    StateSpan {
        start_ms,
        end_ms,
        state,
    }
}

#[test]
fn the_monday_constant_is_a_monday_at_midnight() {
    let at = Timestamp::from_millisecond(MONDAY)
        .unwrap()
        .to_zoned_datetime(TimeZone::UTC);
    assert_eq!(
        (at.weekday(), at.hour(), at.minute()),
        (jiff::civil::Weekday::Monday, 0, 0)
    );
}

#[test]
fn peaks_hours_and_the_week_grid_count_seats_held_at_once() {
    use WatchedState::{Computing, Idle, Interactive};
    let a = vec![
        span(MONDAY + 9 * H, MONDAY + 10 * H + 30 * MIN, Interactive),
        span(MONDAY + 10 * H + 30 * MIN, MONDAY + 18 * H, Idle),
    ];
    let b = vec![span(MONDAY + 10 * H, MONDAY + 12 * H, Computing)];
    let week = MONDAY + 7 * 24 * H;
    let s = seats(&[a, b], MONDAY, week, &TimeZone::UTC);
    assert_eq!(
        s.peak_running,
        Peak {
            seats: 2,
            at_ms: Some(MONDAY + 10 * H)
        }
    );
    assert_eq!(
        s.peak_in_use,
        Peak {
            seats: 2,
            at_ms: Some(MONDAY + 10 * H)
        },
        "10:00-10:30 both are in use"
    );
    assert_eq!(
        s.hours,
        StateHours {
            interactive: 1.5,
            computing: 2.0,
            idle: 7.5
        }
    );
    assert_eq!(s.week.mean(0, 9), Some(1.0));
    assert_eq!(
        s.week.mean(0, 10),
        Some(1.5),
        "two for half an hour, then one"
    );
    assert_eq!(s.week.peak(0, 10), 2);
    assert_eq!(s.week.mean(0, 12), Some(0.0), "idle is not in use");
    assert_eq!(s.week.mean(6, 23), Some(0.0), "covered, empty");
}

#[test]
fn the_grid_follows_the_report_time_zone_and_averages_over_weeks() {
    let tz = TimeZone::get("America/Sao_Paulo").unwrap(); // UTC-3, no DST since 2019
    // In use Monday 12:00-13:00 UTC, i.e. 09:00 local, in both weeks of the range.
    let spans = vec![
        span(MONDAY + 12 * H, MONDAY + 13 * H, WatchedState::Interactive),
        span(
            MONDAY + (7 * 24 + 12) * H,
            MONDAY + (7 * 24 + 12) * H + 30 * MIN,
            WatchedState::Interactive,
        ),
    ];
    let s = seats(&[spans], MONDAY + 3 * H, MONDAY + 3 * H + 14 * 24 * H, &tz);
    assert_eq!(
        s.week.mean(0, 9),
        Some(0.75),
        "a full hour, then half of one"
    );
    assert_eq!(s.week.peak(0, 9), 1);
    assert_eq!(s.week.mean(0, 12), Some(0.0));
}

#[test]
fn reclaiming_releases_a_seat_once_it_sat_idle_long_enough() {
    use WatchedState::{Idle, Interactive, NotRunning};
    let spans = [
        span(0, H, Interactive),
        span(H, 2 * H, Idle),
        span(2 * H, 3 * H, Idle),
        span(3 * H, 4 * H, Interactive),
        // A gap, then idle again: a new stretch.
        span(5 * H, 5 * H + 20 * MIN, Idle),
    ];
    assert_eq!(
        reclaim(&spans, 90 * MIN),
        [
            span(0, H, Interactive),
            span(H, 2 * H, Idle),
            span(2 * H, 2 * H + 30 * MIN, Idle),
            span(2 * H + 30 * MIN, 3 * H, NotRunning),
            span(3 * H, 4 * H, Interactive),
            span(5 * H, 5 * H + 20 * MIN, Idle),
        ]
    );
}

#[test]
fn a_simulation_reports_held_and_needed_peaks_week_by_week() {
    use WatchedState::{Idle, Interactive};
    // Week 1: two PCs sit idle all afternoon while a third is used from 15:00: 3 held then,
    // but with seats released after 30 idle minutes the most needed is the two idle ones in
    // their first half hour. Week 2: two used at once, needed either way.
    let week = 7 * 24 * H;
    let a = vec![
        span(MONDAY + 13 * H, MONDAY + 18 * H, Idle),
        span(MONDAY + week + 9 * H, MONDAY + week + 10 * H, Interactive),
    ];
    let b = vec![
        span(MONDAY + 13 * H, MONDAY + 18 * H, Idle),
        span(MONDAY + week + 9 * H, MONDAY + week + 11 * H, Interactive),
    ];
    let c = vec![span(MONDAY + 15 * H, MONDAY + 16 * H, Interactive)];
    let weeks = simulate(
        &[a, b, c],
        30 * MIN,
        MONDAY,
        MONDAY + 2 * week,
        &TimeZone::UTC,
    );
    assert_eq!(weeks.len(), 2);
    assert_eq!(weeks[0].start_ms, MONDAY);
    assert_eq!((weeks[0].held.seats, weeks[0].needed.seats), (3, 2));
    assert_eq!(weeks[0].held.at_ms, Some(MONDAY + 15 * H));
    assert_eq!(weeks[0].needed.at_ms, Some(MONDAY + 13 * H));
    assert_eq!(weeks[1].start_ms, MONDAY + week);
    assert_eq!((weeks[1].held.seats, weeks[1].needed.seats), (2, 2));
}

fn arbitrary_hosts() -> impl Strategy<Value = Vec<Vec<StateSpan>>> {
    let state = prop_oneof![
        Just(WatchedState::Interactive),
        Just(WatchedState::Computing),
        Just(WatchedState::Idle),
        Just(WatchedState::NotRunning),
    ];
    // Per host: consecutive spans of 1-180 minutes, with gaps of 0-60 minutes.
    let host = prop::collection::vec((0i64..60, 1i64..180, state), 0..20).prop_map(|parts| {
        let mut t = MONDAY;
        parts
            .into_iter()
            .map(|(gap, len, state)| {
                let start = t + gap * MIN;
                t = start + len * MIN;
                span(start, t, state)
            })
            .collect()
    });
    prop::collection::vec(host, 0..8)
}

proptest! {
    #[test]
    fn counts_agree_with_each_other(hosts in arbitrary_hosts(), after in 0i64..120) {
        let to = MONDAY + 8 * 24 * H;
        let s = seats(&hosts, MONDAY, to, &TimeZone::UTC);
        prop_assert!(s.peak_in_use.seats <= s.peak_running.seats);
        prop_assert!(s.peak_running.seats as usize <= hosts.len());
        // The grid's seat-hours in use are the hours interactive and computing.
        let in_use_ms: f64 = s.week.in_use_ms.iter().sum();
        let hours = (s.hours.interactive + s.hours.computing) * HOUR_MS as f64;
        prop_assert!((in_use_ms - hours).abs() < 1.0, "{in_use_ms} vs {hours}");
        for w in simulate(&hosts, after * MIN, MONDAY, to, &TimeZone::UTC) {
            prop_assert!(w.needed.seats <= w.held.seats, "{w:?}");
        }
    }
}
