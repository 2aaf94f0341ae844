//! Tests of the live host state.

use std::time::{Duration, SystemTime};

use idlewatch_protocol::Snapshot;

use super::*;

fn t(secs: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000 + secs)
}

fn snap(host: &str, captured_ms: Option<i64>) -> Snapshot {
    let text = match captured_ms {
        Some(ms) => format!(r#"{{"host":"{host}","captured_at":{ms}}}"#),
        None => format!(r#"{{"host":"{host}"}}"#),
    };
    Snapshot::parse(&text).unwrap()
}

#[test]
fn connected_hosts_follow_register_and_disconnect() {
    let r = HostRegistry::new(Duration::from_secs(600));
    assert!(r.agent_connected("b", t(0)));
    assert!(r.agent_connected("a", t(0)));
    assert!(
        !r.agent_connected("a", t(1)),
        "second socket for a is not the first"
    );
    assert_eq!(r.connected_hosts(), ["a", "b"]);
    assert!(!r.agent_disconnected("a"));
    assert_eq!(r.connected_hosts(), ["a", "b"]);
    assert!(r.agent_disconnected("a"));
    assert_eq!(r.connected_hosts(), ["b"]);
    assert!(!r.agent_disconnected("unknown"));
}

#[test]
fn a_host_goes_offline_after_three_silent_intervals() {
    let r = HostRegistry::new(Duration::from_secs(600));
    r.agent_connected("pc", t(0));
    r.record(&snap("pc", None), t(0));
    r.record(&snap("pc", None), t(10));
    let view = |now| r.views(now).pop().unwrap();
    assert_eq!(view(t(10)).interval, Duration::from_secs(10));
    assert!(view(t(40)).online);
    assert!(!view(t(41)).online);
}

#[test]
fn a_disconnected_host_is_offline_at_once() {
    let r = HostRegistry::new(Duration::from_secs(600));
    r.agent_connected("pc", t(0));
    r.record(&snap("pc", None), t(0));
    assert!(r.views(t(1))[0].online);
    r.agent_disconnected("pc");
    assert!(!r.views(t(1))[0].online);
    assert!(r.views(t(1))[0].latest.is_some(), "state is kept");
}

#[test]
fn replayed_older_snapshots_do_not_replace_the_latest() {
    let r = HostRegistry::new(Duration::from_secs(600));
    assert_eq!(r.record(&snap("pc", Some(20_000)), t(0)), Recorded::Latest);
    assert_eq!(r.record(&snap("pc", Some(10_000)), t(1)), Recorded::Older);
    let latest = r.views(t(1))[0].latest.clone().unwrap();
    assert_eq!(latest.fields().captured_at.unwrap().0, 20_000);
    assert_eq!(latest.json(), r#"{"host":"pc","captured_at":20000}"#);
}

#[test]
fn interval_uses_capture_times_for_bursts() {
    let r = HostRegistry::new(Duration::from_secs(600));
    for i in 0..5 {
        r.record(&snap("pc", Some(i * 5_000)), t(100));
    }
    assert_eq!(r.views(t(100))[0].interval, Duration::from_secs(5));
}

#[test]
fn snapshots_without_agents_make_a_known_but_offline_host() {
    let r = HostRegistry::new(Duration::from_secs(600));
    r.record(&snap("pc", None), t(0));
    let v = &r.views(t(0))[0];
    assert!(!v.online);
    assert_eq!(v.first_seen, t(0));
    assert!(r.connected_hosts().is_empty());
}

#[test]
fn a_latest_dated_beyond_the_clock_yields_to_the_next_arrival() {
    let r = HostRegistry::new(Duration::from_secs(600));
    let now_ms = |secs: u64| i64::try_from(1_800_000_000_000 + secs * 1000).unwrap();
    // Restored from a store written before captured_at was bounded: year 9999.
    r.record(&snap("pc", Some(253_402_300_799_000)), t(0));
    let genuine = snap("pc", Some(now_ms(5)));
    assert_eq!(r.record(&genuine, t(5)), Recorded::Latest);
    let latest = r.views(t(5)).pop().unwrap().latest.unwrap();
    assert_eq!(latest.fields().captured_at.unwrap().epoch_ms(), now_ms(5));
    // Within the horizon, capture order still wins over arrival.
    assert_eq!(
        r.record(&snap("pc", Some(now_ms(1))), t(6)),
        Recorded::Older
    );
    assert_eq!(r.agents_of("pc"), 0);
}

#[test]
fn agents_on_other_servers_count_as_connected_and_online_until_they_go() {
    let r = HostRegistry::new(Duration::from_secs(600));
    r.agent_connected("a", t(0));
    r.record(&snap("b", None), t(0));
    let remote = HashMap::from([("b".to_owned(), 1), ("c".to_owned(), 2)]);
    assert!(r.set_remote_agents(&remote, t(1)));
    assert_eq!(r.connected_hosts(), ["a", "b", "c"]);
    assert_eq!(r.local_hosts(), ["a"]);
    let views = r.views(t(2));
    let b = views.iter().find(|v| v.host == "b").unwrap();
    assert!(
        b.online,
        "a host reporting through another server is online"
    );
    assert_eq!(b.agents, 1);
    assert_eq!(views.iter().find(|v| v.host == "c").unwrap().agents, 2);
    assert!(
        !r.set_remote_agents(&remote, t(3)),
        "the same counts change nothing"
    );
    assert!(r.set_remote_agents(&HashMap::new(), t(4)));
    assert_eq!(r.connected_hosts(), ["a"]);
    assert!(!r.views(t(5)).iter().find(|v| v.host == "b").unwrap().online);
}
