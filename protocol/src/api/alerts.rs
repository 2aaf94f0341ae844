//! Alerts as the API, the `alert` Socket.IO event and the webhooks show them: one record per
//! alert (a rule's condition on one host or group), from the moment it fired until it resolved.

use serde::{Deserialize, Serialize};

/// What an alert rule watches (`kind` in `[[alerts]]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    /// A host holds the app open while nobody uses it (`idle`).
    LicenceIdle,
    /// A host stopped reporting.
    HostOffline,
    /// At least `threshold` hosts of a group hold the app idle at once.
    GroupIdleLicences,
    /// A user is logged on but the session helper does not report.
    HelperMissing,
    /// The licence server lists a checkout on a PC where the app is idle, not running, or
    /// that no agent reports.
    LicenceOrphaned,
}

impl AlertKind {
    /// Every kind, in the order the documentation lists them.
    pub const ALL: [Self; 5] = [
        Self::LicenceIdle,
        Self::HostOffline,
        Self::GroupIdleLicences,
        Self::HelperMissing,
        Self::LicenceOrphaned,
    ];

    /// The kind as written in the configuration and on the wire.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::LicenceIdle => "licence_idle",
            Self::HostOffline => "host_offline",
            Self::GroupIdleLicences => "group_idle_licences",
            Self::HelperMissing => "helper_missing",
            Self::LicenceOrphaned => "licence_orphaned",
        }
    }

    /// Whether rules of this kind watch one app (and need `app`).
    #[must_use]
    pub fn is_about_an_app(self) -> bool {
        matches!(
            self,
            Self::LicenceIdle | Self::GroupIdleLicences | Self::LicenceOrphaned
        )
    }

    /// Whether an alert of this kind is about a group (its subject), not a host.
    #[must_use]
    pub fn is_about_a_group(self) -> bool {
        matches!(self, Self::GroupIdleLicences)
    }
}

/// Where an alert stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertState {
    /// Its condition has held for the rule's `for` and still holds.
    Firing,
    /// Its condition cleared (or its rule was removed from the configuration).
    Resolved,
}

impl AlertState {
    /// `firing` or `resolved`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Firing => "firing",
            Self::Resolved => "resolved",
        }
    }
}

/// One alert: what `GET /api/v1/alerts` lists, the `alert` event carries and the store keeps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alert {
    /// Its number, unique on this server.
    pub id: u64,
    /// The rule's name.
    pub alert: String,
    /// The rule's kind.
    pub kind: AlertKind,
    /// `firing` or `resolved`.
    pub state: AlertState,
    /// The host it is about (every kind but `group_idle_licences`).
    #[serde(default)]
    pub host: Option<String>,
    /// The host's group, or the group it is about.
    #[serde(default)]
    pub group: Option<String>,
    /// The watched app, for the licence kinds.
    #[serde(default)]
    pub app: Option<String>,
    /// When the condition began (RFC 3339).
    pub since: String,
    /// When it fired: the condition had held for the rule's `for` (RFC 3339).
    pub fired_at: String,
    /// When it was last notified: when it fired, or its latest `repeat` (RFC 3339).
    pub notified_at: String,
    /// When it resolved (RFC 3339); `None` while firing.
    #[serde(default)]
    pub resolved_at: Option<String>,
    /// One line a person reads: what holds, where, since when.
    pub summary: String,
}

/// The answer of `GET /api/v1/alerts`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertsAnswer {
    /// The alerts asked for, newest first.
    pub alerts: Vec<Alert>,
}

/// The JSON body a webhook of `format = "json"` receives, once when an alert fires (again every
/// `repeat`) and once when it resolves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertNotification {
    /// The rule's name.
    pub alert: String,
    /// The rule's kind.
    pub kind: AlertKind,
    /// `firing` or `resolved`.
    pub state: AlertState,
    /// The host it is about.
    pub host: Option<String>,
    /// The host's group, or the group it is about.
    pub group: Option<String>,
    /// The watched app, for the licence kinds.
    pub app: Option<String>,
    /// When the condition began (RFC 3339).
    pub since: String,
    /// One line a person reads.
    pub summary: String,
    /// The alert's number (as `GET /api/v1/alerts` lists it).
    pub id: u64,
    /// Whether this repeats a notification of an alert still firing (`repeat`).
    #[serde(default)]
    pub repeat: bool,
}

impl AlertNotification {
    /// The notification of `alert`.
    #[must_use]
    pub fn of(alert: &Alert, repeat: bool) -> Self {
        Self {
            alert: alert.alert.clone(),
            kind: alert.kind,
            state: alert.state,
            host: alert.host.clone(),
            group: alert.group.clone(),
            app: alert.app.clone(),
            since: alert.since.clone(),
            summary: alert.summary.clone(),
            id: alert.id,
            repeat,
        }
    }
}
