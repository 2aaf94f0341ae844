//! The licence servers' view against the real server binary: a stand-in `lmutil` (a script
//! printing lmstat output, as FlexNet's would) polled by the server, its checkouts joined to
//! what real agents report, and the failures a licence manager meets (a missing program, a
//! hung one) said in one line.

use std::path::Path;
use std::time::Duration;

use idlewatch_protocol::api::{AlertKind, AlertsAnswer};
use idlewatch_protocol::api::{LicenceServersAnswer, PoolHistory, Seen};
use idlewatch_protocol::time::now_ms;
use idlewatch_tests::receiver::Receiver;
use idlewatch_tests::{
    Server, lmutil_printing, send_all, wait_until, wait_until_explained, write_script,
};
use serde_json::{Value, json};

const LMSTAT: &str = "lmutil - Copyright (c) 1989-2023 Flexera. All Rights Reserved.
License server status: 1055@lic1
      lic1: license server UP (MASTER) v11.19.0
Vendor daemon status (on lic1):
  ansyslmd: UP v11.19.0
Feature usage info:

Users of aa_r:  (Total of 10 licenses issued;  Total of 4 licenses in use)

  \"aa_r\" v2024.0630, vendor: ansyslmd, expiry: 31-dec-2026
  floating license

    ana LAB-PC01.college.example LAB-PC01 (v2024.0630) (lic1/1055 101), start Mon 11/30 9:05
    bo lab-pc02 lab-pc02 (v2024.0630) (lic1/1055 102), start Mon 11/30 9:06, 2 licenses
    cy LAB-PC09 LAB-PC09 (v2024.0630) (lic1/1055 103), start Mon 11/30 9:07
    dee LAB-PC03 LAB-PC03 (v2024.0630) (lic1/1055 104) queued for 1 license

Users of aa_mcad:  (Total of 5 licenses issued;  Total of 0 licenses in use)

Users of not_counted:  (Total of 99 licenses issued;  Total of 1 license in use)
    zed LAB-PC01 LAB-PC01 (v1.0) (lic1/1055 105), start Mon 11/30 9:08
";

fn snapshot(host: &str, state: &str, user: &str) -> Value {
    json!({
        "host": host,
        "captured_at": now_ms(),
        "idle_seconds": 5,
        "user_active": state == "interactive",
        "watched": {"Ansys": {"running": state != "not_running", "state": state}},
        "session": {"user": user, "source": "helper"},
    })
}

/// How long the hung stand-in would sleep: a number no other process here sleeps, to see it
/// was killed.
const HUNG_SECONDS: &str = "31.4159";

/// A server polling four licence servers: the stand-in lmutil, a program that does not exist,
/// one that hangs, and an lmutil that cannot reach its licence server.
fn start(dir: &Path, hook: &Receiver) -> Server {
    let script = lmutil_printing(dir, LMSTAT);
    let hang = dir.join("hang");
    write_script(&hang, &format!("exec sleep {HUNG_SECONDS}\n"));
    // lmutil's way when the licence server cannot be reached: its banner, the reason, exit 1.
    let down = dir.join("lmutil-down");
    write_script(
        &down,
        "echo 'lmutil - Copyright (c) 1989-2023 Flexera. All Rights Reserved.'\n\
         echo 'Flexible License Manager status on Wed 12/2/2026 10:15'\necho\n\
         echo 'Error getting status: Cannot connect to license server system. (-15,570:115 \"Operation now in progress\")'\n\
         exit 1\n",
    );
    let config = dir.join("server.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[report]
time_zone = "UTC"

[[licence_servers]]
name = "ansys"
command = ["{script}", "lmstat", "-a", "-c", "1055@lic1"]
interval = "10s"
app = "ansys"
features = ["aa_r", "aa_mcad"]

[[licence_servers]]
name = "missing"
command = ["{missing}"]
app = "matlab"

[[licence_servers]]
name = "hung"
command = ["{hang}"]
interval = "1h"
timeout = "1s"
app = "rocky"

[[licence_servers]]
name = "down"
command = ["{down}", "lmstat", "-a", "-c", "1055@lic2"]
app = "matlab"

[[alerts]]
name = "orphans"
kind = "licence_orphaned"
app = "ansys"
notify = ["hook"]

[[alerts]]
name = "idle-seats"
kind = "group_idle_licences"
app = "ansys"
threshold = 1
notify = ["hook"]

[notifiers.hook]
webhook = "{hook}"
format = "slack"
"#,
            hook = hook.url(),
            script = script.display(),
            missing = dir.join("no-such-lmutil").display(),
            hang = hang.display(),
            down = down.display(),
        ),
    )
    .unwrap();
    Server::try_start(&["--config", config.to_str().unwrap()], &[], None)
        .unwrap_or_else(|f| panic!("{}", f.stderr))
}

/// The view once every licence server has been polled.
fn polled(server: &Server) -> LicenceServersAnswer {
    wait_until(
        "every licence server polled",
        Duration::from_secs(20),
        || {
            servers(server)
                .servers
                .iter()
                .all(|s| s.polled_at.is_some())
        },
    );
    servers(server)
}

fn servers(server: &Server) -> LicenceServersAnswer {
    let answer = server.get("/api/v1/licences/servers", Some(&server.tokens().viewer));
    assert_eq!(answer.status, 200, "{}", answer.body);
    answer.json_as()
}

#[test]
fn checkouts_are_joined_to_the_agents_and_orphans_counted() {
    let dir = tempfile::tempdir().unwrap();
    let hook = Receiver::start(&[]);
    let server = start(dir.path(), &hook);
    let snapshots = [
        snapshot("lab-pc01", "interactive", "COLLEGE\\ana"),
        snapshot("LAB-PC02", "idle", "ana"),
    ];
    let _agents = send_all(&server, &snapshots, &["lab-pc01", "LAB-PC02"]);
    let answer = polled(&server);
    let ansys = &answer.servers[0];
    assert_eq!(ansys.error, None);
    assert_eq!(
        ansys
            .pools
            .iter()
            .map(|p| p.feature.as_str())
            .collect::<Vec<_>>(),
        ["aa_r", "aa_mcad"],
        "only the configured features count"
    );
    assert_eq!((ansys.issued, ansys.in_use), (15, 4));
    let aa_r = &ansys.pools[0];
    assert_eq!(aa_r.queued, 1);
    let seen: Vec<(&str, Seen, bool, Option<bool>, u32)> = aa_r
        .checkouts
        .iter()
        .map(|c| (c.user.as_str(), c.seen, c.orphaned, c.same_user, c.licences))
        .collect();
    assert_eq!(
        seen,
        [
            // In use on its PC, by the user logged on there (domain and case aside).
            ("ana", Seen::InUse, false, Some(true), 1),
            // Open and idle, someone else logged on: two seats held for nothing.
            ("bo", Seen::Idle, true, Some(false), 2),
            // A PC no agent reports.
            ("cy", Seen::NoAgent, true, None, 1),
        ]
    );
    assert_eq!((ansys.seen_in_use, ansys.orphaned), (1, 3));
    // Each successful poll's seats are kept: the pool's history.
    let history: PoolHistory = {
        let answer = server.get(
            "/api/v1/licences/servers/ansys/history",
            Some(&server.tokens().viewer),
        );
        assert_eq!(answer.status, 200, "{}", answer.body);
        answer.json_as()
    };
    assert_eq!(
        (history.server.as_str(), history.app.as_str()),
        ("ansys", "ansys")
    );
    assert!(!history.points.is_empty());
    assert_eq!(
        (history.points[0].issued, history.points[0].in_use),
        (15, 4)
    );
    assert_eq!(history.peak_in_use.seats, 4);
    let failing = server.get(
        "/api/v1/licences/servers/missing/history",
        Some(&server.tokens().viewer),
    );
    assert_eq!(failing.status, 200);
    assert!(
        failing.json_as::<PoolHistory>().points.is_empty(),
        "a failed poll keeps nothing"
    );
    let unknown = server.get(
        "/api/v1/licences/servers/nosuch/history",
        Some(&server.tokens().viewer),
    );
    assert_eq!(unknown.status, 404);
    assert!(
        unknown.body.contains("no licence server named"),
        "{}",
        unknown.body
    );
    assert!(
        aa_r.checkouts[0]
            .since
            .as_deref()
            .is_some_and(|s| s.contains("-11-30T09:05:00")),
        "{:?}",
        aa_r.checkouts[0].since
    );

    let missing = &answer.servers[1];
    let error = missing.error.as_deref().unwrap_or_default();
    assert!(
        error.contains("cannot run") && error.contains("PATH"),
        "{error}"
    );
    let hung = &answer.servers[2];
    let error = hung.error.as_deref().unwrap_or_default();
    assert!(error.contains("did not finish within 1s"), "{error}");
    let sleeping = std::process::Command::new("pgrep")
        .args(["-f", &format!("sleep {HUNG_SECONDS}")])
        .output()
        .unwrap();
    assert!(
        sleeping.stdout.is_empty(),
        "the hung command was not killed: pids {}",
        String::from_utf8_lossy(&sleeping.stdout)
    );
    let down = &answer.servers[3];
    let error = down.error.as_deref().unwrap_or_default();
    assert!(
        error.contains(
            "failed (exit status: 1): Error getting status: Cannot connect to license server"
        ),
        "the licence server's own words, not lmutil's banner: {error}"
    );
    assert!(
        server.log().contains("licence server poll failed"),
        "{}",
        server.log()
    );
    // The orphaned checkouts raise their alert (the seat in use does not), and one idle seat
    // among the hosts without a group raises the group rule's.
    // (The poll at start may run before the agents have reported: then lab-pc01's seat, too,
    // is orphaned until the next poll. That alert comes and goes; these three must come.)
    let firing = |text: &str| {
        hook.delivered()
            .iter()
            .any(|n| n["text"].as_str().is_some_and(|t| t.starts_with(text)))
    };
    let expected = [
        "FIRING orphans: the licence server lists a checkout of ansys on LAB-PC09",
        "FIRING orphans: the licence server lists a checkout of ansys on lab-pc02",
        "FIRING idle-seats: 1 ansys seats idle in (no group) (threshold 1)",
    ];
    wait_until_explained(
        "the alerts",
        Duration::from_secs(30),
        || expected.iter().all(|t| firing(t)),
        || format!("{:?}", hook.delivered()),
    );
    let answer = server.get("/api/v1/alerts", Some(&server.tokens().viewer));
    let raised: std::collections::BTreeSet<(AlertKind, String)> = answer
        .json_as::<AlertsAnswer>()
        .alerts
        .into_iter()
        .map(|a| (a.kind, a.host.or(a.group).unwrap_or_default()))
        .collect();
    for alert in [
        (AlertKind::GroupIdleLicences, "(no group)".to_owned()),
        (AlertKind::LicenceOrphaned, "LAB-PC09".to_owned()),
        (AlertKind::LicenceOrphaned, "lab-pc02".to_owned()),
    ] {
        assert!(raised.contains(&alert), "{alert:?} in {raised:?}");
    }
    if firing("FIRING orphans: the licence server lists a checkout of ansys on LAB-PC01") {
        // A seat in use is not orphaned once its agent reports.
        wait_until_explained(
            "lab-pc01's alert resolved",
            Duration::from_secs(30),
            || firing("RESOLVED orphans: the checkout of ansys on LAB-PC01"),
            || format!("{:?}", hook.delivered()),
        );
    }
}

#[test]
fn unusable_licence_server_entries_stop_the_server_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    for (entry, says) in [
        (
            "name = \"a\"\ncommand = []\napp = \"x\"",
            "`command` is empty",
        ),
        (
            "name = \"a\"\ncommand = [\"lmutil\"]\napp = \"x\"\ninterval = \"1s\"",
            "poll at most every 10s",
        ),
        (
            "name = \"a\"\ncommand = [\"lmutil\"]\napp = \"x\"\ntimeout = \"10m\"",
            "below `interval`",
        ),
        (
            "name = \"a\"\ncommand = [\"lmutil\"]",
            "missing field `app`",
        ),
    ] {
        let config = dir.path().join("bad.toml");
        std::fs::write(&config, format!("[[licence_servers]]\n{entry}\n")).unwrap();
        let failure = Server::try_start(&["--config", config.to_str().unwrap()], &[], None)
            .err()
            .expect("the server must refuse the entry");
        assert!(failure.stderr.contains(says), "{says}: {}", failure.stderr);
    }
}

#[test]
fn idlewatch_admin_lists_the_seats_and_the_orphans() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), &Receiver::start(&[]));
    let _agents = send_all(
        &server,
        &[snapshot("lab-pc01", "interactive", "ana")],
        &["lab-pc01"],
    );
    let _ = polled(&server);
    let (code, out, err) = server.admin(&["licences", "servers"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("ansys (ansys): 15 issued, 4 in use, 1 seen in use on the PCs, 3 orphaned"),
        "{out}"
    );
    assert!(
        out.contains("missing (matlab): poll failed: cannot run"),
        "{out}"
    );
    let (code, out, err) = server.admin(&["licences", "servers", "--orphaned", "--format", "csv"]);
    assert_eq!(code, 0, "{err}");
    let rows: Vec<&str> = out.lines().collect();
    assert_eq!(
        rows,
        [
            "SERVER,FEATURE,USER,HOST,SEATS,SINCE,ON THE PC,ORPHANED",
            &*format!(
                "ansys,aa_r,bo,lab-pc02,2,{},no_agent,true",
                since(&server, "bo")
            ),
            &*format!(
                "ansys,aa_r,cy,LAB-PC09,1,{},no_agent,true",
                since(&server, "cy")
            ),
        ]
    );
    let (code, out, _) = server.admin(&["licences", "servers", "--format", "json"]);
    assert_eq!(code, 0);
    let answer: LicenceServersAnswer = serde_json::from_str(&out).unwrap();
    assert_eq!(answer.servers.len(), 4);
}

/// The `since` the server gave `user`'s checkout.
fn since(server: &Server, user: &str) -> String {
    servers(server).servers[0].pools[0]
        .checkouts
        .iter()
        .find(|c| c.user == user)
        .and_then(|c| c.since.clone())
        .unwrap_or_default()
}
