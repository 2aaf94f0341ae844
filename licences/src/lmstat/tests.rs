//! The parser on real-looking output, on every variation the format allows (rendered from
//! generated pools and read back), and on arbitrary text.

use jiff::ZonedDateTime;
use proptest::prelude::*;

use super::*;

/// Output in the form FlexNet 11 prints on Windows, composed for these tests (CRLF line ends
/// added by the test that wants them).
const SAMPLE: &str = r#"lmutil - Copyright (c) 1989-2023 Flexera. All Rights Reserved.
Flexible License Manager status on Wed 12/2/2026 10:15

[Detecting lmgrd processes...]
License server status: 1055@lic1
    License file(s) on lic1: C:\Program Files\ANSYS Inc\Shared Files\Licensing\license_files\ansyslmd.lic:

      lic1: license server UP (MASTER) v11.19.0

Vendor daemon status (on lic1):

  ansyslmd: UP v11.19.0

Feature usage info:

Users of aa_r:  (Total of 25 licenses issued;  Total of 4 licenses in use)

  "aa_r" v2024.0630, vendor: ansyslmd, expiry: 31-dec-2026
  vendor_string: customer:1234
  floating license

    jdoe LAB-PC07 LAB-PC07 (v2024.0630) (lic1/1055 4123), start Mon 11/30 9:05
    ana lab-pc12.college.example /dev/pts/1 (v2024.0630) (lic1/1055 2210), start Tue 12/1 14:30, 2 licenses
    Mary Ann LAB-PC03 LAB-PC03 (v2024.0630) (lic1/1055 310), start Wed 12/2 8:02 (linger: 1800 / 120)
    cy LAB-PC04 LAB-PC04 (v2024.0630) (lic1/1055 311) queued for 1 license

  2 RESERVATIONs for HOST LAB-PC01 (lic1/1055)

Users of aa_mcad:  (Total of 1 license issued;  Total of 0 licenses in use)

Users of old_feature:  (Total of 4 licenses available)

  "old_feature" v1.0, vendor: olddaemon
	tom pc1 pc1 (v1.0) (lic1/1055 9), start Sun 11/29 23:59

Users of nodelocked_feature:  (Uncounted, node-locked)
Users of bad_feature:  (Error: 2 licenses, unsupported by licensed server)
"#;

#[test]
fn reads_pools_checkouts_queues_and_reservations() {
    let crlf = SAMPLE.replace('\n', "\r\n");
    assert_eq!(
        parse(&crlf),
        parse(SAMPLE),
        "Windows line ends read the same"
    );
    let status = parse(&crlf);
    assert!(status.problems.is_empty(), "{:?}", status.problems);
    let names: Vec<&str> = status.pools.iter().map(|p| p.feature.as_str()).collect();
    assert_eq!(
        names,
        [
            "aa_r",
            "aa_mcad",
            "old_feature",
            "nodelocked_feature",
            "bad_feature"
        ]
    );
    let aa_r = &status.pools[0];
    assert_eq!((aa_r.issued, aa_r.in_use), (Some(25), Some(4)));
    assert_eq!(aa_r.vendor.as_deref(), Some("ansyslmd"));
    assert_eq!(aa_r.checkouts.len(), 3);
    assert_eq!(aa_r.checked_out(), 4);
    let jdoe = &aa_r.checkouts[0];
    assert_eq!(
        (
            jdoe.user.as_str(),
            jdoe.host.as_str(),
            jdoe.display.as_str()
        ),
        ("jdoe", "LAB-PC07", "LAB-PC07")
    );
    assert_eq!(jdoe.version.as_deref(), Some("2024.0630"));
    assert_eq!(
        (jdoe.server.as_deref(), jdoe.handle.as_deref()),
        (Some("lic1/1055"), Some("4123"))
    );
    assert_eq!(
        jdoe.start,
        Some(Start {
            weekday: Some(1),
            month: 11,
            day: 30,
            hour: 9,
            minute: 5
        })
    );
    assert_eq!(aa_r.checkouts[1].licences, 2);
    assert_eq!(aa_r.checkouts[1].display, "/dev/pts/1");
    let mary = &aa_r.checkouts[2];
    assert_eq!(mary.user, "Mary Ann", "a user name with a space");
    assert_eq!(mary.linger_seconds, Some(1800));
    assert_eq!(aa_r.queued.len(), 1);
    assert_eq!(aa_r.queued[0].user, "cy");
    assert_eq!(
        aa_r.reservations,
        [Reservation {
            count: 2,
            kind: "HOST".to_owned(),
            name: "LAB-PC01".to_owned()
        }]
    );
    let mcad = &status.pools[1];
    assert_eq!((mcad.issued, mcad.in_use), (Some(1), Some(0)), "singular");
    let old = &status.pools[2];
    assert_eq!(
        (old.issued, old.in_use),
        (Some(4), Some(1)),
        "in use counted from the checkouts when the server does not say"
    );
    assert_eq!(old.checkouts[0].user, "tom", "a tab-indented line");
    assert!(status.pools[3].uncounted);
    assert_eq!(status.pools[3].in_use, None);
    assert!(
        status.pools[4]
            .error
            .as_deref()
            .is_some_and(|e| e.contains("unsupported"))
    );
}

#[test]
fn collects_what_says_the_server_is_down() {
    let text = "License server status: 1055@lic1\n\
                lmgrd is not running: License server machine is down or not responding.\n\
                Error getting status: Cannot connect to license server system. (-15,570:115 \"Operation now in progress\")\n\
                   ansyslmd: The desired vendor daemon is down. (-97,121)\n";
    let status = parse(text);
    assert_eq!(status.problems.len(), 3, "{:?}", status.problems);
    assert!(status.pools.is_empty());
}

#[test]
fn start_times_get_the_latest_year_that_fits() {
    let tz = jiff::tz::TimeZone::UTC;
    let now: ZonedDateTime = jiff::civil::date(2026, 12, 2)
        .at(10, 15, 0, 0)
        .to_zoned_datetime(tz)
        .unwrap();
    let start = |weekday, month, day| Start {
        weekday,
        month,
        day,
        hour: 9,
        minute: 5,
    };
    let at = |s: Start| s.at(&now).map(|t| t.to_string());
    // Monday 30 November 2026.
    assert_eq!(
        at(start(Some(1), 11, 30)).as_deref(),
        Some("2026-11-30T09:05:00Z")
    );
    // 31 December is not yet this year: last year's.
    assert_eq!(
        at(start(None, 12, 31)).as_deref(),
        Some("2025-12-31T09:05:00Z")
    );
    // Tomorrow morning (clocks differ by minutes to hours): still this year.
    assert_eq!(
        at(start(None, 12, 3)).as_deref(),
        Some("2026-12-03T09:05:00Z")
    );
    // A weekday that fits an earlier year (Wednesday 30 November 2022) wins over the latest.
    assert_eq!(
        at(start(Some(3), 11, 30)).as_deref(),
        Some("2022-11-30T09:05:00Z")
    );
    // 29 February: the latest leap year.
    assert_eq!(
        at(start(None, 2, 29)).as_deref(),
        Some("2024-02-29T09:05:00Z")
    );
    assert_eq!(at(start(None, 2, 30)), None);
    // Just before New Year, a licence server ahead of this clock prints the new year's first
    // minutes (Friday 1 January 2027), not a Friday 1 January years back.
    let new_year: ZonedDateTime = jiff::civil::date(2026, 12, 31)
        .at(23, 30, 0, 0)
        .to_zoned_datetime(jiff::tz::TimeZone::UTC)
        .unwrap();
    let early = Start {
        weekday: Some(5),
        month: 1,
        day: 1,
        hour: 0,
        minute: 10,
    };
    assert_eq!(
        early.at(&new_year).map(|t| t.to_string()).as_deref(),
        Some("2027-01-01T00:10:00Z")
    );
}

#[test]
fn seat_counts_from_the_licence_server_cannot_overflow() {
    let status = parse(
        "Users of f:  (Total of 4 licenses available)\n\
         \x20 a h h (v1) (s/1 1), start Mon 1/5 9:00, 4294967295 licenses\n\
         \x20 b h h (v1) (s/1 2), start Mon 1/5 9:00, 2 licenses\n",
    );
    assert_eq!(status.pools[0].in_use, Some(u32::MAX));
}

#[test]
fn text_that_is_not_lmstat_output_has_no_pools() {
    for text in [
        "",
        "Users of",
        "Users of :",
        "hello, start Mon 1/1 1:00",
        "\u{feff}\0\0",
    ] {
        let status = parse(text);
        assert!(status.pools.is_empty(), "{text:?}: {status:?}");
    }
}

/// How one generated checkout is written.
#[derive(Debug, Clone)]
struct Written {
    checkout: Checkout,
    queued: bool,
}

fn word() -> impl Strategy<Value = String> {
    "[A-Za-z][A-Za-z0-9_.-]{0,11}"
}

fn checkout() -> impl Strategy<Value = Written> {
    (
        (word(), proptest::option::of(word())),
        word(),
        proptest::option::of(word()),
        "[0-9]{1,4}\\.[0-9]{1,4}",
        (word(), 1u32..65_535, 1u32..99_999),
        (1u8..=7, 1u8..=12, 1u8..=28, 0u8..24, 0u8..60, any::<bool>()),
        (1u32..5, proptest::option::of(0u32..100_000)),
        any::<bool>(),
    )
        .prop_map(
            |(
                (user, surname),
                host,
                display,
                version,
                (server, port, handle),
                t,
                (n, linger),
                queued,
            )| {
                let (weekday, month, day, hour, minute, with_weekday) = t;
                let user = surname.map_or(user.clone(), |s| format!("{user} {s}"));
                Written {
                    checkout: Checkout {
                        user,
                        display: display.unwrap_or_else(|| host.clone()),
                        host,
                        version: Some(version),
                        server: Some(format!("{server}/{port}")),
                        handle: Some(handle.to_string()),
                        start: (!queued).then_some(Start {
                            weekday: with_weekday.then_some(weekday),
                            month,
                            day,
                            hour,
                            minute,
                        }),
                        licences: n,
                        linger_seconds: if queued { None } else { linger },
                    },
                    queued,
                }
            },
        )
}

const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

fn plural(n: u32) -> &'static str {
    if n == 1 { "license" } else { "licenses" }
}

fn render_checkout(w: &Written, crlf: bool) -> String {
    let c = &w.checkout;
    let mut line = format!(
        "    {} {} {} (v{}) ({} {})",
        c.user,
        c.host,
        c.display,
        c.version.as_deref().unwrap_or_default(),
        c.server.as_deref().unwrap_or_default(),
        c.handle.as_deref().unwrap_or_default()
    );
    if w.queued {
        line.push_str(&format!(
            " queued for {} {}",
            c.licences,
            plural(c.licences)
        ));
    } else if let Some(s) = c.start {
        line.push_str(", start ");
        if let Some(w) = s.weekday {
            line.push_str(DAYS[usize::from(w - 1)]);
            line.push(' ');
        }
        line.push_str(&format!("{}/{} {}:{:02}", s.month, s.day, s.hour, s.minute));
        if c.licences != 1 {
            line.push_str(&format!(", {} licenses", c.licences));
        }
        if let Some(l) = c.linger_seconds {
            line.push_str(&format!(" (linger: {l})"));
        }
    }
    line.push_str(if crlf { "\r\n" } else { "\n" });
    line
}

proptest! {
    #[test]
    fn every_rendered_variation_reads_back(
        pools in proptest::collection::vec(
            (word(), 0u32..500, proptest::collection::vec(checkout(), 0..6), word()),
            0..6,
        ),
        crlf in any::<bool>(),
    ) {
        let mut text = String::from("License server status: 1055@lic1\n\nFeature usage info:\n\n");
        let mut expected = Vec::new();
        for (feature, issued, written, vendor) in &pools {
            let mut pool = Pool {
                feature: feature.clone(),
                issued: Some(*issued),
                vendor: Some(vendor.clone()),
                ..Pool::default()
            };
            for w in written {
                if w.queued {
                    pool.queued.push(w.checkout.clone());
                } else {
                    pool.checkouts.push(w.checkout.clone());
                }
            }
            let in_use = pool.checked_out();
            pool.in_use = Some(in_use);
            text.push_str(&format!(
                "Users of {feature}:  (Total of {issued} {} issued;  Total of {in_use} {} in use)\n\n",
                plural(*issued),
                plural(in_use)
            ));
            text.push_str(&format!("  \"{feature}\" v1.0, vendor: {vendor}, expiry: permanent\n  floating license\n\n"));
            for w in written {
                text.push_str(&render_checkout(w, crlf));
            }
            text.push('\n');
            expected.push(pool);
        }
        let status = parse(&text);
        prop_assert_eq!(status.pools, expected);
        prop_assert!(status.problems.is_empty());
    }

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,400}") {
        let status = parse(&text);
        for pool in &status.pools {
            prop_assert!(!pool.feature.is_empty());
        }
    }

    #[test]
    fn arbitrary_lines_after_a_pool_never_panic(lines in proptest::collection::vec("[ -~]{0,80}", 0..20)) {
        let text = format!("Users of f:  (Total of 2 licenses issued;  Total of 1 license in use)\n{}", lines.join("\n"));
        let status = parse(&text);
        prop_assert_eq!(status.pools.len().min(1), 1);
    }
}
