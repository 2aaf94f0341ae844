//! An alert as it is stored, listed and sent: built when it fires, rewritten when it repeats or
//! resolves, with one line of text a person reads in a chat or an e-mail.

use idlewatch_protocol::api::{Alert, AlertKind, AlertState};
use idlewatch_protocol::time::rfc3339_ms;
use jiff::Timestamp;
use jiff::tz::TimeZone;

use crate::config::AlertRule;

/// What a summary may say beyond the rule and subject.
#[derive(Debug, Clone, Copy, Default)]
pub struct Detail {
    /// `group_idle_licences`: the idle seats counted when it fired.
    pub idle_seats: Option<u32>,
}

/// `2026-12-02 14:05 -03` in `tz`.
fn local(ms: i64, tz: &TimeZone) -> String {
    Timestamp::from_millisecond(ms).map_or_else(
        |_| String::new(),
        |t| {
            t.to_zoned_datetime(tz.clone())
                .strftime("%Y-%m-%d %H:%M %Z")
                .to_string()
        },
    )
}

/// `2 h 05 min`, `12 min`, `40 s`.
#[must_use]
pub fn span(ms: i64) -> String {
    let secs = ms.max(0) / 1000;
    match secs {
        0..60 => format!("{secs} s"),
        60..3600 => format!("{} min", secs / 60),
        _ => format!("{} h {:02} min", secs / 3600, secs % 3600 / 60),
    }
}

fn place(host: Option<&str>, group: Option<&str>) -> String {
    match (host, group) {
        (Some(h), Some(g)) => format!("{h} ({g})"),
        (Some(h), None) => h.to_owned(),
        (None, Some(g)) => g.to_owned(),
        (None, None) => String::new(),
    }
}

/// The summary of a firing alert.
#[must_use]
pub fn firing_summary(
    alert: &Alert,
    rule: &AlertRule,
    since_ms: i64,
    tz: &TimeZone,
    detail: Detail,
) -> String {
    let app = alert.app.as_deref().unwrap_or_default();
    let at = place(alert.host.as_deref(), alert.group.as_deref());
    let since = local(since_ms, tz);
    match alert.kind {
        AlertKind::LicenceIdle => format!("{app} is open but idle on {at} since {since}"),
        AlertKind::HostOffline => format!("{at} has not reported since {since}"),
        AlertKind::GroupIdleLicences => format!(
            "{} {app} seats idle in {at} (threshold {}) since {since}",
            detail
                .idle_seats
                .map_or_else(|| "at least".to_owned(), |n| n.to_string()),
            rule.threshold.unwrap_or(1)
        ),
        AlertKind::HelperMissing => format!(
            "a user is logged on at {at} but the session helper does not report, since {since}"
        ),
        AlertKind::LicenceOrphaned => format!(
            "the licence server lists a checkout of {app} on {at}, where no agent shows {app} \
             in use, since {since}"
        ),
    }
}

/// The summary of an alert that resolved after `lasted_ms`.
#[must_use]
pub fn resolved_summary(alert: &Alert, lasted_ms: i64) -> String {
    let app = alert.app.as_deref().unwrap_or_default();
    let at = place(alert.host.as_deref(), alert.group.as_deref());
    let lasted = span(lasted_ms);
    match alert.kind {
        AlertKind::LicenceIdle => format!("{app} on {at} is no longer idle (idle for {lasted})"),
        AlertKind::HostOffline => format!("{at} reports again (silent for {lasted})"),
        AlertKind::GroupIdleLicences => {
            format!("idle {app} seats in {at} are below the threshold again (after {lasted})")
        }
        AlertKind::HelperMissing => {
            format!("the session helper on {at} reports again (missing for {lasted})")
        }
        AlertKind::LicenceOrphaned => {
            format!("the checkout of {app} on {at} is released or in use again (after {lasted})")
        }
    }
}

/// A new firing alert of `rule` about `subject` (a host, or a group for group rules).
#[must_use]
pub fn fired(
    rule: &AlertRule,
    subject: &str,
    group_of_host: Option<String>,
    since_ms: i64,
    now_ms: i64,
    tz: &TimeZone,
    detail: Detail,
) -> Alert {
    let (host, group) = if rule.kind.is_about_a_group() {
        (None, Some(subject.to_owned()))
    } else {
        (Some(subject.to_owned()), group_of_host)
    };
    let mut alert = Alert {
        id: 0,
        alert: rule.name.clone(),
        kind: rule.kind,
        state: AlertState::Firing,
        host,
        group,
        app: rule.app.clone(),
        since: rfc3339_ms(since_ms),
        fired_at: rfc3339_ms(now_ms),
        notified_at: rfc3339_ms(now_ms),
        resolved_at: None,
        summary: String::new(),
    };
    alert.summary = firing_summary(&alert, rule, since_ms, tz, detail);
    alert
}

/// `alert` resolved at `now_ms`, its condition having begun at `since_ms`.
pub fn resolve(alert: &mut Alert, since_ms: i64, now_ms: i64) {
    alert.state = AlertState::Resolved;
    alert.resolved_at = Some(rfc3339_ms(now_ms));
    alert.summary = resolved_summary(alert, now_ms.saturating_sub(since_ms));
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn summaries_say_what_where_and_since_when_in_the_reports_time_zone() {
        let rule = AlertRule {
            name: "ansys-idle".to_owned(),
            kind: AlertKind::LicenceIdle,
            app: Some("ansys".to_owned()),
            group: None,
            hold: Duration::from_secs(1800),
            threshold: None,
            open_hours_only: false,
            notify: vec!["it".to_owned()],
            repeat: None,
        };
        let tz = TimeZone::get("America/Sao_Paulo").unwrap();
        let since = idlewatch_protocol::time::parse_rfc3339_ms("2026-12-02T17:00:00Z").unwrap();
        let mut alert = fired(
            &rule,
            "lab1-pc07",
            Some("Lab CTI".to_owned()),
            since,
            since + 1_800_000,
            &tz,
            Detail::default(),
        );
        assert_eq!(
            alert.summary,
            "ansys is open but idle on lab1-pc07 (Lab CTI) since 2026-12-02 14:00 -03"
        );
        assert_eq!(alert.since, "2026-12-02T17:00:00.000Z");
        resolve(&mut alert, since, since + 4_500_000);
        assert_eq!(
            alert.summary,
            "ansys on lab1-pc07 (Lab CTI) is no longer idle (idle for 1 h 15 min)"
        );
        assert_eq!(alert.state, AlertState::Resolved);
        assert_eq!(span(59_999), "59 s");
    }
}
