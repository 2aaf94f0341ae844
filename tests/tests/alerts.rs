//! Alerts against the real server binary: rules in its configuration, snapshots from a real
//! Socket.IO client, notifications to a real HTTP receiver (signatures checked, a failing first
//! attempt retried) and to a real SMTP server (aiosmtpd), the `alert` event on a dashboard
//! (python-socketio), `GET /api/v1/alerts`, and a restart that neither forgets a firing alert
//! nor notifies it again.

use std::path::Path;
use std::time::Duration;

use aws_lc_rs::hmac;
use idlewatch_protocol::api::{AlertKind, AlertState, AlertsAnswer};
use idlewatch_protocol::time::now_ms;
use idlewatch_tests::receiver::Receiver;
use idlewatch_tests::smtp::Smtp;
use idlewatch_tests::{Connect, Peer, PeerKind, Server, send_all, wait_until};
use serde_json::{Value, json};

const SECRET: &str = "shared-with-the-receiver";

fn snapshot(host: &str, ansys: &str) -> Value {
    json!({
        "host": host,
        "group": "Lab CTI",
        "captured_at": now_ms(),
        "idle_seconds": 600,
        "user_active": false,
        "watched": {"ansys": {"running": ansys != "not_running", "state": ansys}},
    })
}

fn write_config(dir: &Path, hook: &Receiver, smtp: &Smtp) -> std::path::PathBuf {
    let secret = dir.join("hook.secret");
    std::fs::write(&secret, format!("{SECRET}\n")).unwrap();
    let config = dir.join("server.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[report]
time_zone = "UTC"

[[alerts]]
name = "ansys-idle"
kind = "licence_idle"
app = "ansys"
group = "Lab CTI"
for = "2s"
notify = ["it-team", "mail"]

[[alerts]]
name = "pc-silent"
kind = "host_offline"
for = "2s"
notify = ["it-team"]

[notifiers.it-team]
webhook = "{url}"
secret_file = "{secret}"

[notifiers.mail]
email = ["it@college.example"]

[smtp]
host = "127.0.0.1"
port = {port}
tls = "none"
from = "idlewatch@college.example"
"#,
            url = hook.url(),
            secret = secret.display(),
            port = smtp.port(),
        ),
    )
    .unwrap();
    config
}

fn start(config: &Path, data: &Path) -> Server {
    Server::try_start(&["--config", config.to_str().unwrap()], &[], Some(data))
        .unwrap_or_else(|f| panic!("{}", f.stderr))
}

fn alerts(server: &Server, query: &str) -> AlertsAnswer {
    let answer = server.get(
        &format!("/api/v1/alerts{query}"),
        Some(&server.tokens().viewer),
    );
    assert_eq!(answer.status, 200, "{}", answer.body);
    answer.json_as()
}

/// The webhook deliveries of `alert` in `state`.
fn delivered(hook: &Receiver, alert: &str, state: &str) -> Vec<Value> {
    hook.delivered()
        .into_iter()
        .filter(|n| n["alert"] == alert && n["state"] == state)
        .collect()
}

fn wait_delivered(hook: &Receiver, alert: &str, state: &str) -> Value {
    wait_until(
        &format!("a {state} notification of {alert}"),
        Duration::from_secs(30),
        || !delivered(hook, alert, state).is_empty(),
    );
    delivered(hook, alert, state).remove(0)
}

#[test]
fn an_idle_licence_alert_is_notified_once_shown_kept_across_a_restart_and_resolved() {
    let dir = tempfile::tempdir().unwrap();
    // The receiver's first answer is a 500: the notification must be tried again.
    let hook = Receiver::start(&[500]);
    let smtp = Smtp::start(dir.path());
    let config = write_config(dir.path(), &hook, &smtp);
    let data = dir.path().join("data");
    let mut server = start(&config, &data);
    let mut dashboard = Peer::start(PeerKind::Python);
    dashboard.connect_ok(
        &server,
        &Connect::polling_then_upgrade().token(&server.tokens().viewer),
    );

    let first_agent = send_all(&server, &[snapshot("lab-pc07", "idle")], &["lab-pc07"]);
    let firing = wait_delivered(&hook, "ansys-idle", "firing");
    assert_eq!(firing["kind"], "licence_idle");
    assert_eq!(firing["host"], "lab-pc07");
    assert_eq!(firing["group"], "Lab CTI");
    assert_eq!(firing["app"], "ansys");
    assert!(
        firing["summary"]
            .as_str()
            .is_some_and(|s| s.contains("ansys is open but idle on lab-pc07 (Lab CTI)")),
        "{firing}"
    );
    let attempts: Vec<_> = hook
        .received()
        .into_iter()
        .filter(|r| r.json()["alert"] == "ansys-idle")
        .collect();
    assert_eq!(
        attempts.iter().map(|r| r.status).collect::<Vec<_>>(),
        [500, 200],
        "the failed attempt was retried once"
    );
    // The signature is HMAC-SHA256 of the exact body under the shared secret.
    let key = hmac::Key::new(hmac::HMAC_SHA256, SECRET.as_bytes());
    for attempt in &attempts {
        let header = attempt.header("x-idlewatch-signature").expect("signed");
        let hex = header.strip_prefix("sha256=").expect("sha256=");
        let tag: Vec<u8> = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
            .collect();
        hmac::verify(&key, &attempt.body, &tag).expect("a valid signature");
    }

    let event = dashboard.wait_event("alert", |a| a["alert"] == "ansys-idle");
    assert_eq!(event["state"], "firing");
    wait_until("the e-mail", Duration::from_secs(30), || {
        !smtp.messages().is_empty()
    });
    let mail = &smtp.messages()[0];
    assert!(
        mail.contains("Subject: [idlewatch] ansys-idle firing: lab-pc07"),
        "{mail}"
    );
    assert!(mail.contains("To: it@college.example"), "{mail}");
    assert!(
        mail.contains("FIRING ansys-idle: ansys is open but idle"),
        "{mail}"
    );

    let listed = alerts(&server, "?state=firing");
    assert_eq!(listed.alerts.len(), 1, "{listed:?}");
    let stored = &listed.alerts[0];
    assert_eq!(
        (stored.kind, stored.state, stored.host.as_deref()),
        (AlertKind::LicenceIdle, AlertState::Firing, Some("lab-pc07"))
    );
    assert_eq!(
        u64::try_from(firing["id"].as_i64().unwrap()).unwrap(),
        stored.id
    );
    assert!(alerts(&server, "?state=resolved").alerts.is_empty());
    let (code, out, err) = server.admin(&["alerts", "--firing", "--format", "csv"]);
    assert_eq!(code, 0, "{err}");
    let rows: Vec<&str> = out.lines().collect();
    assert_eq!(
        rows[0],
        "ID,ALERT,KIND,STATE,HOST,GROUP,SINCE,RESOLVED,SUMMARY"
    );
    assert_eq!(rows.len(), 2, "{out}");
    assert!(
        rows[1].starts_with(&format!(
            "{},ansys-idle,licence_idle,firing,lab-pc07,Lab CTI,",
            stored.id
        )),
        "{out}"
    );
    let (code, out, _) = server.admin(&["alerts", "--resolved"]);
    assert_eq!(
        (code, out.as_str()),
        (0, "no alerts resolved in that range\n")
    );

    // A restart: the alert is still firing, and the same condition is not notified again. (The
    // agent stays connected until the server stops: gone first, it would be offline.)
    server.signal_and_wait("TERM", Duration::from_secs(30));
    let server = start(&config, &data);
    let agent = send_all(&server, &[snapshot("lab-pc07", "idle")], &["lab-pc07"]);
    assert_eq!(alerts(&server, "?state=firing").alerts.len(), 1);
    // Three periods of the rule's timer, for a notification that must not come.
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(delivered(&hook, "ansys-idle", "firing").len(), 1);
    assert_eq!(smtp.messages().len(), 1);

    // Used again: resolved, once, by both notifiers.
    let _used = send_all(&server, &[snapshot("lab-pc07", "interactive")], &[]);
    let resolved = wait_delivered(&hook, "ansys-idle", "resolved");
    assert_eq!(resolved["id"], firing["id"]);
    assert!(
        resolved["summary"]
            .as_str()
            .is_some_and(|s| s.contains("is no longer idle")),
        "{resolved}"
    );
    wait_until("the second e-mail", Duration::from_secs(30), || {
        smtp.messages().len() == 2
    });
    assert!(smtp.messages()[1].contains("ansys-idle resolved"));
    let listed = alerts(&server, "?state=resolved");
    assert_eq!(listed.alerts.len(), 1);
    assert!(listed.alerts[0].resolved_at.is_some());
    assert!(alerts(&server, "?state=firing").alerts.is_empty());

    // The PC goes away: after `for`, it is offline.
    drop((agent, first_agent, _used));
    let offline = wait_delivered(&hook, "pc-silent", "firing");
    assert_eq!(offline["host"], "lab-pc07");
    assert_eq!(offline["kind"], "host_offline");
    assert_eq!(delivered(&hook, "ansys-idle", "resolved").len(), 1);

    let bad = server.get("/api/v1/alerts?state=angry", Some(&server.tokens().viewer));
    assert_eq!(bad.status, 400);
    assert!(
        bad.body.contains("`state` is `firing` or `resolved`"),
        "{}",
        bad.body
    );
    assert_eq!(server.get("/api/v1/alerts", None).status, 401);
    // Since the restart: the resolution by webhook and e-mail, and the offline PC by webhook.
    assert_eq!(
        server.metric("idlewatch_alert_notifications_total{outcome=\"sent\"}"),
        3
    );
    assert_eq!(
        server.metric("idlewatch_alert_notifications_total{outcome=\"failed\"}"),
        0
    );
    assert_eq!(server.metric("idlewatch_alerts_firing"), 1);
}

#[test]
fn a_notifier_that_cannot_work_stops_the_server_with_what_to_fix() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("server.toml");
    std::fs::write(
        &config,
        r#"
[[alerts]]
name = "ansys-idle"
kind = "licence_idle"
app = "ansys"
notify = ["it-team"]

[notifiers.it-team]
webhook = "http://127.0.0.1:9/hook"
secret_file = "/nonexistent/hook.secret"
"#,
    )
    .unwrap();
    let failure = Server::try_start(&["--config", config.to_str().unwrap()], &[], None)
        .err()
        .expect("the server refuses to start");
    assert!(
        failure
            .stderr
            .contains("cannot read secret_file /nonexistent/hook.secret"),
        "{}",
        failure.stderr
    );
    std::fs::write(
        &config,
        "[[alerts]]\nname = \"x\"\nkind = \"licence_idle\"\nnotify = [\"it-team\"]\n\n\
         [notifiers.it-team]\nwebhook = \"http://127.0.0.1:9/hook\"\n",
    )
    .unwrap();
    let failure = Server::try_start(&["--config", config.to_str().unwrap()], &[], None)
        .err()
        .expect("the server refuses to start");
    assert!(
        failure.stderr.contains("alert \"x\": `app` is missing"),
        "{}",
        failure.stderr
    );
}

#[test]
fn a_firing_alert_is_repeated_every_repeat_to_a_teams_webhook_then_resolved_once() {
    let hook = Receiver::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("server.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[[alerts]]
name = "rocky-idle"
kind = "licence_idle"
app = "rocky"
for = "1s"
repeat = "1m"
notify = ["teams"]

[notifiers.teams]
webhook = "{}"
format = "teams"
"#,
            hook.url()
        ),
    )
    .unwrap();
    let server = start(&config, &dir.path().join("data"));
    let idle = |state: &str| {
        json!({
            "host": "lab-pc09",
            "captured_at": now_ms(),
            "idle_seconds": 600,
            "watched": {"rocky": {"running": state != "not_running", "state": state}},
        })
    };
    let texts = || -> Vec<String> {
        hook.delivered()
            .iter()
            .map(|body| {
                assert_eq!(
                    body.as_object().map(|o| o.len()),
                    Some(1),
                    "Teams takes {{\"text\"}} only: {body}"
                );
                body["text"].as_str().unwrap().to_owned()
            })
            .collect()
    };
    // The PC keeps reporting the licence idle, as an agent does every few seconds.
    let mut agent = send_all(&server, &[idle("idle")], &[]);
    wait_until("the first notification", Duration::from_secs(30), || {
        !texts().is_empty()
    });
    let first = std::time::Instant::now();
    let texts_now = texts();
    assert_eq!(texts_now.len(), 1, "{texts_now:?}");
    assert!(
        texts_now[0].starts_with("FIRING rocky-idle: ") && texts_now[0].contains("lab-pc09"),
        "{texts_now:?}"
    );
    while texts().len() < 2 {
        assert!(
            first.elapsed() < Duration::from_secs(80),
            "no repeat a minute on: {:?}",
            texts()
        );
        std::thread::sleep(Duration::from_secs(5));
        agent = send_all(&server, &[idle("idle")], &[]);
    }
    let repeated = first.elapsed();
    assert!(
        repeated >= Duration::from_secs(55),
        "repeated after {repeated:?}, not a minute"
    );
    assert!(
        texts()[1].starts_with("STILL FIRING rocky-idle: "),
        "{:?}",
        texts()
    );

    drop(agent);
    let _used = send_all(&server, &[idle("interactive")], &[]);
    wait_until("the resolution", Duration::from_secs(30), || {
        texts().len() >= 3
    });
    std::thread::sleep(Duration::from_secs(2));
    let all = texts();
    assert_eq!(all.len(), 3, "one resolution, no more repeats: {all:?}");
    assert!(all[2].starts_with("RESOLVED rocky-idle: "), "{all:?}");
}
