//! The lmstat parser on arbitrary input: never a panic; every pool is named and counted (or
//! says why not), every checkout has a user and a host, and every start time can be placed.
#![no_main]

use idlewatch_licences::lmstat;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let status = lmstat::parse(&text);
    let now = jiff::civil::date(2026, 12, 2)
        .at(10, 15, 0, 0)
        .to_zoned_datetime(jiff::tz::TimeZone::UTC)
        .expect("a valid instant");
    for pool in &status.pools {
        assert!(!pool.feature.is_empty() && !pool.feature.contains(char::is_whitespace));
        assert!(pool.in_use.is_some() || pool.uncounted || pool.error.is_some());
        for checkout in pool.checkouts.iter().chain(&pool.queued) {
            assert!(!checkout.user.is_empty() && !checkout.host.is_empty());
            if let Some(start) = checkout.start {
                let _ = start.at(&now);
            }
        }
    }
});
