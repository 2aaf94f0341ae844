//! `[[alerts]]`, `[notifiers.NAME]` and `[smtp]`: the alert rules, where their notifications
//! go, and the mail server that carries the e-mails; each checked at start with a line that
//! names the rule and what to fix.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

pub use idlewatch_protocol::api::AlertKind;
use idlewatch_protocol::time::duration;

use super::Error;

/// One alert rule.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertRule {
    /// Its name, unique (`ansys-idle`).
    pub name: String,
    /// What it watches.
    pub kind: AlertKind,
    /// The watched app, for the licence kinds (any case).
    #[serde(default)]
    pub app: Option<String>,
    /// Only hosts of this group.
    #[serde(default)]
    pub group: Option<String>,
    /// How long the condition must hold before the alert fires.
    #[serde(rename = "for", default, with = "duration")]
    pub hold: Duration,
    /// `group_idle_licences`: at least this many idle seats.
    #[serde(default)]
    pub threshold: Option<u32>,
    /// Evaluate only inside `[report] open_hours`.
    #[serde(default)]
    pub open_hours_only: bool,
    /// The notifiers told when it fires and when it resolves.
    #[serde(default)]
    pub notify: Vec<String>,
    /// Tell again this often while it keeps firing (never, unset).
    #[serde(default, with = "duration::optional")]
    pub repeat: Option<Duration>,
}

/// How a webhook's body is shaped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WebhookFormat {
    /// `{"alert","kind","state","host","group","app","since","summary"}`.
    #[default]
    Json,
    /// A Slack incoming webhook's `{"text"}`.
    Slack,
    /// A Microsoft Teams incoming webhook's `{"text"}`.
    Teams,
}

/// Where one notifier sends: a webhook, e-mail addresses, or both.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NotifierConfig {
    /// The URL posted to (http or https).
    pub webhook: Option<String>,
    /// The body's shape.
    pub format: WebhookFormat,
    /// A file holding the secret that signs each body (`X-Idlewatch-Signature`, HMAC-SHA256).
    pub secret_file: Option<PathBuf>,
    /// Addresses e-mailed over `[smtp]`.
    pub email: Vec<String>,
}

/// How the connection to the mail server is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SmtpTls {
    /// Plain, then STARTTLS (port 587).
    #[default]
    Starttls,
    /// TLS from the start (port 465).
    Tls,
    /// No encryption (a relay on the same network only).
    None,
}

/// `[smtp]`: the mail server.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SmtpConfig {
    /// Its host name.
    pub host: String,
    /// Its port (default by `tls`: 587, 465 or 25).
    pub port: Option<u16>,
    /// STARTTLS, TLS or none.
    pub tls: SmtpTls,
    /// The sender address.
    pub from: String,
    /// The login, when the server wants one.
    pub username: Option<String>,
    /// A file holding the password.
    pub password_file: Option<PathBuf>,
}

/// Checks the rules against the notifiers, and the notifiers against `[smtp]`.
///
/// # Errors
/// The first rule or notifier that cannot be used, naming it and what to fix.
pub fn check(
    rules: &[AlertRule],
    notifiers: &BTreeMap<String, NotifierConfig>,
    smtp: Option<&SmtpConfig>,
) -> Result<(), Error> {
    let mut names = std::collections::HashSet::new();
    for (i, rule) in rules.iter().enumerate() {
        let which = if rule.name.trim().is_empty() {
            format!("alerts[{i}]")
        } else {
            format!("alert {:?}", rule.name)
        };
        let bad = |what: String| Err(Error::Invalid(format!("{which}: {what}")));
        if rule.name.trim().is_empty() {
            return bad("`name` is empty; give each alert a name".to_owned());
        }
        if !names.insert(rule.name.clone()) {
            return bad("the name is used twice; give each alert its own".to_owned());
        }
        match (rule.kind.is_about_an_app(), &rule.app) {
            (true, None) => {
                return bad("`app` is missing; name the watched app (as agents name it)".to_owned());
            }
            (false, Some(_)) => {
                return bad(
                    "`app` is only for licence_idle, group_idle_licences and licence_orphaned"
                        .to_owned(),
                );
            }
            _ => {}
        }
        match (rule.kind, rule.threshold) {
            (AlertKind::GroupIdleLicences, None | Some(0)) => {
                return bad(
                    "`threshold` is missing; say how many idle seats make the alert (1 or more)"
                        .to_owned(),
                );
            }
            (AlertKind::GroupIdleLicences, Some(_)) | (_, None) => {}
            (_, Some(_)) => return bad("`threshold` is only for group_idle_licences".to_owned()),
        }
        if rule.notify.is_empty() {
            return bad("`notify` is empty; name at least one [notifiers.NAME]".to_owned());
        }
        for name in &rule.notify {
            if !notifiers.contains_key(name) {
                return bad(format!(
                    "notifier {name:?} is not defined; add a [notifiers.{name}] section"
                ));
            }
        }
        if rule.repeat.is_some_and(|r| r < Duration::from_secs(60)) {
            return bad("`repeat` is under a minute; repeat at most once a minute".to_owned());
        }
    }
    for (name, n) in notifiers {
        let bad = |what: String| Err(Error::Invalid(format!("notifier {name:?}: {what}")));
        if n.webhook.is_none() && n.email.is_empty() {
            return bad("give a `webhook` URL, `email` addresses, or both".to_owned());
        }
        if let Some(url) = &n.webhook
            && !(url.starts_with("https://") || url.starts_with("http://"))
        {
            return bad(format!("webhook {url:?} is not an http(s) URL"));
        }
        if n.secret_file.is_some() && n.webhook.is_none() {
            return bad("`secret_file` signs webhooks; this notifier has none".to_owned());
        }
        if !n.email.is_empty() && smtp.is_none_or(|s| s.host.trim().is_empty()) {
            return bad("`email` needs a mail server: add [smtp] with host and from".to_owned());
        }
        if let Some(Err(e)) = n
            .email
            .iter()
            .map(|a| a.parse::<lettre::message::Mailbox>().map_err(|e| (a, e)))
            .find(Result::is_err)
        {
            let (address, e) = e;
            return bad(format!("{address:?} is not an e-mail address ({e})"));
        }
    }
    if let Some(s) = smtp
        && !s.host.trim().is_empty()
        && s.from.parse::<lettre::message::Mailbox>().is_err()
    {
        return Err(Error::Invalid(format!(
            "smtp.from {:?} is not an e-mail address; give the sender, e.g. \"idlewatch@college.example\"",
            s.from
        )));
    }
    Ok(())
}
