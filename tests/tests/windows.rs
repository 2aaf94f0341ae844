//! The Windows agent as IT staff deploy it, under Wine: its MSI installed silently with the
//! public properties, the service started by Wine's service manager reporting to the real
//! Linux server, the session helper started by a (simulated) logon, a real Windows program
//! (Wine's notepad) watched from `not_running` to `interactive` to `idle`, a killed helper
//! seen as `helper_missing`, a per-host token read at install from a file named for the PC, a
//! server outage replayed from the spool with nothing lost or doubled, a major upgrade keeping the agent's identity and configuration, and uninstall
//! removing the service (and the data only with PURGE=1).

use std::time::Duration;

use idlewatch_tests::wine::{Wine, build_msi};
use idlewatch_tests::{Server, assert_contiguous, free_address, wait_until};
use serde_json::Value;

/// The name Wine reports for this machine (the Linux host name).
fn machine_name() -> String {
    let out = std::process::Command::new("hostname").output().unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_lowercase()
}

/// Settings an administrator put there before installing: short interval and idle threshold
/// for the test (the installer keeps keys it is not given).
fn preconfigure(wine: &Wine) {
    std::fs::create_dir_all(wine.agent_data()).unwrap();
    std::fs::write(
        wine.agent_data().join("agent.toml"),
        "interval = \"1s\"\nidle_threshold = \"3s\"\n",
    )
    .unwrap();
}

fn install(wine: &Wine, msi: &std::path::Path, properties: &[String]) {
    msiexec(wine, "/i", msi, properties);
}

/// Runs msiexec quietly with a verbose log, shown when it fails.
fn msiexec(wine: &Wine, action: &str, msi: &std::path::Path, properties: &[String]) {
    let log = msi.with_extension(format!("{}.log", action.trim_start_matches('/')));
    let windows = |p: &std::path::Path| format!("Z:{}", p.display()).replace('/', "\\");
    let (msi_path, log_path) = (windows(msi), windows(&log));
    let mut args = vec![
        "msiexec",
        action,
        msi_path.as_str(),
        "/qn",
        "/l*v",
        log_path.as_str(),
    ];
    args.extend(properties.iter().map(String::as_str));
    let out = wine.wine(&args);
    if !out.status.success() {
        // The actions' outcomes and any errors are what explain a failed install.
        let said = String::from_utf8_lossy(&std::fs::read(&log).unwrap_or_default()).to_string();
        let outcome: Vec<&str> = said
            .lines()
            .filter(|l| l.contains("Return value") || l.to_lowercase().contains("error"))
            .collect();
        panic!(
            "msiexec {action} {}: {:?}\n{}",
            msi.display(),
            out.status,
            outcome.join("\n")
        );
    }
}

fn latest(server: &Server, host: &str) -> Value {
    server.get("/data", Some(&server.tokens().viewer)).json()[host].clone()
}

#[test]
fn the_installed_service_reports_sessions_and_watched_apps() {
    let server = Server::start();
    let wine = Wine::start();
    let dir = tempfile::tempdir().unwrap();
    let msi = build_msi(dir.path(), "0.1.0");
    preconfigure(&wine);
    install(
        &wine,
        &msi,
        &[
            format!("SERVER={}", server.url()),
            format!("TOKEN={}", server.tokens().agent),
            "GROUP=Lab Wine".to_owned(),
            "WATCH=notepad=notepad.exe".to_owned(),
        ],
    );
    let host = machine_name();
    let mut snapshot = Value::Null;
    wait_until(
        "the service's first snapshot",
        Duration::from_secs(60),
        || {
            snapshot = latest(&server, &host);
            snapshot.is_object()
        },
    );
    assert!(
        snapshot["os"].as_str().unwrap().contains("Windows"),
        "{snapshot}"
    );
    assert_eq!(snapshot["group"], "Lab Wine");
    let names: Vec<&str> = snapshot["processes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    assert!(
        names.contains(&"services.exe") && names.contains(&"explorer.exe"),
        "{names:?}"
    );
    // Logged on (Wine always is) but no helper yet: the tamper signal.
    wait_until(
        "helper_missing before the logon",
        Duration::from_secs(20),
        || latest(&server, &host)["idle_source"] == "helper_missing",
    );
    assert_eq!(
        latest(&server, &host)["watched"]["notepad"]["state"],
        "not_running"
    );
    // A logon starts the helper (HKLM Run): idle time from GetLastInputInfo.
    wine.log_on();
    wait_until("the helper's session", Duration::from_secs(30), || {
        let s = latest(&server, &host);
        s["session"]["source"] == "helper" && s["idle_source"] == "win32"
    });
    let session = latest(&server, &host)["session"].clone();
    assert!(
        session["user"].as_str().is_some_and(|u| !u.is_empty()),
        "{session}"
    );
    // A real Windows program, focused and used: interactive.
    let mut notepad = wine
        .command("wine")
        .arg("notepad")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    wait_until(
        "notepad in the foreground, in use",
        Duration::from_secs(30),
        || {
            wine.x.xdotool(&["mousemove", "200", "200"]);
            wine.x.xdotool(&["mousemove", "220", "220"]);
            let s = latest(&server, &host);
            s["foreground_process"] == "notepad.exe"
                && s["watched"]["notepad"]["state"] == "interactive"
        },
    );
    // Input stops: past the 3 s threshold the licence is held for nothing.
    wait_until("notepad idle", Duration::from_secs(20), || {
        let s = latest(&server, &host);
        s["user_active"] == false && s["watched"]["notepad"]["state"] == "idle"
    });
    let idle = latest(&server, &host)["idle_seconds"].as_f64().unwrap();
    assert!(idle >= 3.0, "{idle}");
    // A student kills the helper: within two intervals, the tamper signal again.
    for pid in wine.pids_of("idlewatch-agent.exe session") {
        let _ = std::process::Command::new("kill")
            .args(["-9", &pid.to_string()])
            .status();
    }
    wait_until(
        "helper_missing after the kill",
        Duration::from_secs(20),
        || latest(&server, &host)["idle_source"] == "helper_missing",
    );
    let _ = notepad.kill();
    let _ = notepad.wait();
}

#[test]
fn outages_upgrades_and_uninstall_keep_what_they_must() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let listen = free_address();
    let start = || {
        Server::try_start(&["--listen", &listen], &[], Some(&data))
            .unwrap_or_else(|f| panic!("{}", f.stderr))
    };
    let server = start();
    let url = server.url();
    let host = machine_name();
    // As a GPO deployment does: one token per PC, in a file named for it on a share (here a
    // local directory; the name in capitals as Windows shows it), found through {host}.
    let tokens = dir.path().join("tokens");
    std::fs::create_dir_all(&tokens).unwrap();
    let (_, token) = server.issue_host_token(&host.to_uppercase());
    std::fs::write(
        tokens.join(format!("{}.token", host.to_uppercase())),
        format!("{token}\r\n"),
    )
    .unwrap();
    let token_file = format!("Z:{}/{{host}}.token", tokens.display()).replace('/', "\\");
    let wine = Wine::start();
    preconfigure(&wine);
    install(
        &wine,
        &build_msi(dir.path(), "0.1.0"),
        &[format!("SERVER={url}"), format!("TOKEN_FILE={token_file}")],
    );
    wait_until(
        "the service's first snapshot",
        Duration::from_secs(60),
        || latest(&server, &host).is_object(),
    );
    wait_until("a few snapshots", Duration::from_secs(30), || {
        server.history(&host).len() >= 3
    });
    let agent_id = latest(&server, &host)["agent_id"].clone();
    // The server goes away for a few seconds; the spool keeps what is taken meanwhile.
    drop(server);
    std::thread::sleep(Duration::from_secs(5));
    let server = start();
    let before = server.history(&host).len();
    // Snapshots taken live may be stored before the spool's last ones are replayed: wait until
    // nothing is missing (a lost snapshot never comes, and fails the wait).
    wait_until(
        "the outage replayed, none missing",
        Duration::from_secs(60),
        || {
            let seqs = server.seqs(&host);
            seqs.len() >= before + 8 && contiguous(&seqs)
        },
    );
    assert_contiguous(&server.seqs(&host));
    // A major upgrade without properties keeps configuration, spool and identity.
    install(&wine, &build_msi(dir.path(), "0.1.1"), &[]);
    let upgraded = server.history(&host).len();
    // The old agent's last snapshot, taken but not acked when the upgrade stopped it, comes
    // from the spool once the new one runs, possibly after its first live snapshots.
    wait_until(
        "snapshots after the upgrade, none missing",
        Duration::from_secs(60),
        || {
            let seqs = server.seqs(&host);
            seqs.len() >= upgraded + 3 && contiguous(&seqs)
        },
    );
    assert_eq!(latest(&server, &host)["agent_id"], agent_id);
    assert_contiguous(&server.seqs(&host));
    let installed = wine
        .drive_c()
        .join("Program Files/Idlewatch/idlewatch-agent.exe");
    assert!(installed.is_file());
    // Uninstall: service, helper entry and program gone; the data stays.
    let last = dir.path().join("idlewatch-agent-0.1.1.msi");
    let uninstall = |properties: &[String]| msiexec(&wine, "/x", &last, properties);
    uninstall(&[]);
    let query = wine.wine(&["sc", "query", "idlewatch-agent"]);
    let said = String::from_utf8_lossy(&query.stdout).to_string();
    assert!(!said.contains("RUNNING"), "the service is gone: {said}");
    let run = wine.wine(&[
        "reg",
        "query",
        r"HKLM\Software\Microsoft\Windows\CurrentVersion\Run",
        "/v",
        "IdlewatchSession",
    ]);
    assert!(!run.status.success(), "the helper's Run entry is gone");
    assert!(!installed.exists());
    assert!(wine.agent_data().join("agent.toml").is_file(), "data kept");
    // With PURGE=1 the data goes too. (Reinstalling after an uninstall needs SERVER again.)
    install(&wine, &last, &[format!("SERVER={url}")]);
    uninstall(&["PURGE=1".to_owned()]);
    assert!(!wine.agent_data().exists(), "data purged");
}

/// Whether `seqs` run without a gap or a duplicate.
fn contiguous(seqs: &[u64]) -> bool {
    seqs.windows(2).all(|p| p[1] == p[0] + 1)
}
