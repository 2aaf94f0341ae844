//! The PCs that should report, against a real OpenLDAP (Debian's slapd on loopback, loaded
//! from an LDIF of OUs and PCs; like Active Directory it answers 1,000 entries per search, so
//! the 1,200 of one OU need paging) and a hosts file: never-seen PCs in `/api/v1/hosts`, in
//! `idlewatch-admin hosts --missing`, in the seat view and the usage report (offline all
//! along), a `host_offline` alert for one; names matched without case or domain; groups from
//! `[report.groups]`, then the directory, then the agent, each with its source; an unreachable
//! directory is one log line and the last good list stays.

use std::fmt::Write as _;
use std::time::Duration;

use idlewatch_protocol::api::{HostsAnswer, SeatsView, UsageAnswer};
use idlewatch_protocol::time::{now_ms, rfc3339_ms};
use idlewatch_tests::admin::admin_in;
use idlewatch_tests::ldap::{BIND_DN, Slapd};
use idlewatch_tests::receiver::Receiver;
use idlewatch_tests::{Server, send_all, wait_until};
use serde_json::json;

const HALL: usize = 1_200;

fn ldif() -> String {
    let mut ldif = String::new();
    let mut ou = |dn: &str, name: &str| {
        let _ = write!(
            ldif,
            "dn: {dn}\nobjectClass: organizationalUnit\nou: {name}\n\n"
        );
    };
    ou("ou=Labs,dc=college,dc=example", "Labs");
    ou("ou=Lab CTI,ou=Labs,dc=college,dc=example", "Lab CTI");
    ou("ou=Library,ou=Labs,dc=college,dc=example", "Library");
    ou("ou=Big Hall,ou=Labs,dc=college,dc=example", "Big Hall");
    ou("ou=Staff,dc=college,dc=example", "Staff");
    let mut pc = |name: &str, ou: &str| {
        let _ = write!(
            ldif,
            "dn: cn={name},{ou}dc=college,dc=example\nobjectClass: device\ncn: {name}\n\n"
        );
    };
    for i in 1..=4 {
        pc(&format!("CTI-0{i}"), "ou=Lab CTI,ou=Labs,");
    }
    pc("LIB-01", "ou=Library,ou=Labs,");
    pc("LIB-02", "ou=Library,ou=Labs,");
    for i in 1..=HALL {
        pc(&format!("HALL-{i:04}"), "ou=Big Hall,ou=Labs,");
    }
    pc("STAFF-01", "ou=Staff,");
    ldif
}

fn find<'a>(hosts: &'a HostsAnswer, host: &str) -> &'a idlewatch_protocol::api::HostSummary {
    hosts
        .hosts
        .iter()
        .find(|h| h.host.eq_ignore_ascii_case(host))
        .unwrap_or_else(|| panic!("{host} is not in /api/v1/hosts"))
}

#[test]
fn the_pcs_that_should_report_come_from_ldap_and_a_hosts_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut slapd = Slapd::start(&dir.path().join("ldap"), &ldif());
    let hosts_file = dir.path().join("hosts.txt");
    std::fs::write(
        &hosts_file,
        "# PCs not in the directory yet\nSPARE-01  Lab CTI\nLIB-02, Reading room\n",
    )
    .unwrap();
    let receiver = Receiver::start(&[]);
    let config = dir.path().join("server.toml");
    std::fs::write(
        &config,
        format!(
            "[report.groups]\n\"Front desk\" = [\"CTI-04\"]\n\n\
             [directory]\nurl = \"{url}\"\nbind_dn = \"{BIND_DN}\"\npassword_file = \"{pw}\"\n\
             base_dn = \"ou=Labs,dc=college,dc=example\"\nfilter = \"(objectClass=device)\"\n\
             hosts_file = \"{hosts}\"\ninterval = \"10s\"\n\n\
             [[alerts]]\nname = \"pc-missing\"\nkind = \"host_offline\"\ngroup = \"Library\"\n\
             for = \"1s\"\nnotify = [\"it\"]\n\n[notifiers.it]\nwebhook = \"{hook}\"\n",
            url = slapd.url(),
            pw = slapd.password_file().display(),
            hosts = hosts_file.display(),
            hook = receiver.url(),
        ),
    )
    .unwrap();
    let server = Server::try_start(
        &["--config", config.to_str().unwrap()],
        &[],
        Some(&dir.path().join("data")),
    )
    .unwrap_or_else(|f| panic!("{}", f.stderr));
    let viewer = server.tokens().viewer.clone();

    // cti-01 reports under its full DNS name in lower case, saying it is in another group;
    // CTI-04 too (configured in "Front desk"). Both reported three hours ago and now.
    let now = now_ms();
    let snap = |host: &str, at: i64| {
        json!({"host": host, "group": "Agent says", "captured_at": rfc3339_ms(at),
               "idle_seconds": 1, "user_active": true})
    };
    let _agents = send_all(
        &server,
        &[
            snap("cti-01.college.example", now - 3 * 3_600_000),
            snap("CTI-04", now - 3 * 3_600_000),
            snap("cti-01.college.example", now),
            snap("CTI-04", now),
        ],
        &["cti-01.college.example", "CTI-04"],
    );

    let mut answer = HostsAnswer {
        online: 0,
        offline: 0,
        never_seen: 0,
        hosts: vec![],
    };
    // 4 + 2 + 1,200 listed by LDAP, SPARE-01 by the file; two of them report.
    wait_until("the directory's PCs", Duration::from_secs(30), || {
        answer = server
            .get("/api/v1/hosts", Some(&viewer))
            .json_as::<HostsAnswer>();
        answer.never_seen == 4 + 2 + HALL + 1 - 2
    });
    assert_eq!(answer.online, 2);
    let cti01 = find(&answer, "cti-01.college.example");
    assert!(cti01.online && !cti01.never_seen);
    assert_eq!(cti01.listed_by.as_deref(), Some("ldap"));
    assert_eq!(
        (cti01.group.as_deref(), cti01.group_source.as_deref()),
        (Some("Lab CTI"), Some("directory")),
        "the directory's OU wins over what the agent says"
    );
    let cti04 = find(&answer, "CTI-04");
    assert_eq!(
        (cti04.group.as_deref(), cti04.group_source.as_deref()),
        (Some("Front desk"), Some("config"))
    );
    let cti02 = find(&answer, "CTI-02");
    assert!(cti02.never_seen && !cti02.online && cti02.last_seen.is_none());
    assert_eq!(cti02.group.as_deref(), Some("Lab CTI"));
    let spare = find(&answer, "SPARE-01");
    assert_eq!(
        (spare.listed_by.as_deref(), spare.group.as_deref()),
        (Some("hosts_file"), Some("Lab CTI"))
    );
    let lib02 = find(&answer, "LIB-02");
    assert_eq!(
        lib02.group.as_deref(),
        Some("Reading room"),
        "the hosts file's group wins over the OU"
    );
    assert!(find(&answer, "HALL-1200").never_seen, "paged past 1,000");
    assert!(
        !answer.hosts.iter().any(|h| h.host == "STAFF-01"),
        "outside base_dn"
    );

    // The CLI lists what is missing.
    let home = dir.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let env = [
        ("IDLEWATCH_SERVER", server.url()),
        ("IDLEWATCH_ADMIN_TOKEN", server.tokens().admin.clone()),
    ];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let run = admin_in(&home, &["hosts", "--missing", "--group", "Lab CTI"], &env);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains("CTI-02") && run.stdout.contains("never seen"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("SPARE-01"), "{}", run.stdout);
    assert!(
        !run.stdout.contains("cti-01"),
        "a reporting PC is not missing: {}",
        run.stdout
    );

    // The seat view counts them offline.
    // (The view is recomputed every second.)
    let mut seats: Option<SeatsView> = None;
    wait_until("the seat view of Lab CTI", Duration::from_secs(10), || {
        let view: SeatsView = server
            .get("/api/v1/seats?group=Lab%20CTI", Some(&viewer))
            .json_as();
        let done = view.groups.first().is_some_and(|g| g.seats.len() == 4);
        seats = Some(view);
        done
    });
    let lab = &seats.unwrap().groups[0];
    assert_eq!((lab.in_use, lab.offline), (1, 3), "{lab:?}");

    // The usage report counts them offline all along, against their lab.
    let usage: UsageAnswer = server
        .get("/api/v1/usage?group=Lab%20CTI&from=-2h", Some(&viewer))
        .json_as();
    let of = |host: &str| usage.hosts.iter().find(|h| h.host == host).unwrap();
    let missing: f64 = of("CTI-02").days.iter().map(|d| d.offline_hours).sum();
    assert!(
        (missing - 2.0).abs() < 0.02,
        "CTI-02 offline {missing} h of 2"
    );
    assert_eq!(
        of("CTI-02")
            .days
            .iter()
            .map(|d| d.active_hours)
            .sum::<f64>(),
        0.0
    );
    let lab_offline: f64 = usage.groups.iter().map(|g| g.day.offline_hours).sum();
    assert!(
        lab_offline >= 3.0 * 2.0 - 0.1,
        "three PCs offline 2 h: {lab_offline}"
    );
    // A lab none of whose PCs ever reported is offline all along too.
    let hall: UsageAnswer = server
        .get("/api/v1/usage?group=Big%20Hall&from=-2h", Some(&viewer))
        .json_as();
    assert_eq!(hall.hosts.len(), HALL);
    let missing: f64 = hall.hosts[0].days.iter().map(|d| d.offline_hours).sum();
    assert!(
        (missing - 2.0).abs() < 0.02,
        "HALL-0001 offline {missing} h of 2"
    );

    // The Library's never-seen PC fires the offline alert.
    wait_until(
        "the offline alert of LIB-01",
        Duration::from_secs(30),
        || {
            receiver
                .delivered()
                .iter()
                .any(|a| a["host"] == "LIB-01" && a["state"] == "firing")
        },
    );

    // The directory goes away: one clear line, and the list stays.
    slapd.stop();
    wait_until("the failure logged", Duration::from_secs(30), || {
        server
            .log()
            .contains("directory: cannot connect to the LDAP server")
    });
    let after: HostsAnswer = server.get("/api/v1/hosts", Some(&viewer)).json_as();
    assert_eq!(
        after.never_seen, answer.never_seen,
        "the last good list is kept"
    );
}

#[test]
fn a_directory_setting_that_cannot_work_stops_the_server_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("server.toml");
    for (text, expected) in [
        ("[directory]\nurl = \"ldaps://dc1\"\n", "base_dn is empty"),
        (
            "[directory]\nurl = \"http://dc1\"\nbase_dn = \"dc=x\"\n",
            "not an LDAP address",
        ),
        (
            "[directory]\nurl = \"ldap://dc1\"\nbase_dn = \"dc=x\"\nbind_dn = \"cn=a\"\n",
            "go together",
        ),
        ("[directory]\nbase_dn = \"dc=x\"\n", "url is unset"),
    ] {
        std::fs::write(&config, text).unwrap();
        let failure = Server::try_start(&["--config", config.to_str().unwrap()], &[], None)
            .err()
            .expect("refused");
        assert!(
            failure.stderr.contains(expected),
            "{text}: {}",
            failure.stderr
        );
    }
}
