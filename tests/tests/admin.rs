//! `idlewatch-admin` against the real server binary, with data sent by a real Socket.IO
//! client: every command's table, JSON and CSV output (golden files for the stable ones), exit
//! codes, the errors a user meets, the XLSX export's file, `--force`, completions, and the
//! offline `db` commands.

use std::process::Command;
use std::time::Duration;

use idlewatch_tests::admin::{DAY, Lab, MIN, admin_in, assert_golden, lab};
use idlewatch_tests::binary;
use serde_json::Value;

#[test]
fn every_command_reads_a_real_server() {
    let dir = tempfile::tempdir().unwrap();
    let lab = lab(&dir.path().join("data"));

    // status
    let text = lab.ok(&["status"]);
    assert!(text.contains("hosts online     1"), "{text}");
    assert!(text.contains("hosts offline    2"), "{text}");
    assert!(text.contains("sheets upload    not configured"), "{text}");
    assert!(
        text.contains("cluster          none: this server runs on its own"),
        "{text}"
    );
    // The default tiers.
    assert!(text.contains("snapshots whole  14 days"), "{text}");
    assert!(text.contains("minute rows      400 days"), "{text}");
    assert!(
        text.contains("retention        until deleted by hand"),
        "{text}"
    );
    let status: Value = serde_json::from_str(&lab.ok(&["status", "--format", "json"])).unwrap();
    assert_eq!(status["hosts"]["online"], 1);
    assert_eq!(status["store"]["snapshots"], 6);
    assert_eq!(status["retention_snapshots_seconds"], 14 * 86_400);
    assert_eq!(status["retention_minutes_seconds"], 400 * 86_400);
    assert_eq!(status["retention_days"], 0);
    assert_eq!(status["server"], lab.server.url());

    // hosts
    let text = lab.ok(&["hosts"]);
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[0].starts_with("HOST") && lines[0].contains("LAST SEEN"),
        "{text}"
    );
    assert_eq!(lines.len(), 4, "{text}");
    assert!(
        lines[1].starts_with("pc-1")
            && lines[1].contains("online")
            && lines[1].contains("helper missing")
            && lines[1].contains("LAB\\ana")
            && lines[1].contains("Ansys:interactive"),
        "{text}"
    );
    assert!(
        lines[3].starts_with("pc-3") && lines[3].contains("offline"),
        "{text}"
    );
    assert!(!text.contains('\u{1b}'), "no colour when not on a terminal");
    let online = lab.ok(&["hosts", "--online"]);
    assert_eq!(online.lines().count(), 2, "{online}");
    let lab_b = lab.ok(&["hosts", "--offline", "--group", "Lab B"]);
    assert_eq!(lab_b.lines().count(), 2, "{lab_b}");
    let hosts: Value = serde_json::from_str(&lab.ok(&["hosts", "--format", "json"])).unwrap();
    assert_eq!(hosts.as_array().unwrap().len(), 3);
    assert_eq!(hosts[0]["group"], "Lab A");
    let csv_text = lab.ok(&["hosts", "--format", "csv"]);
    let mut reader = csv::Reader::from_reader(csv_text.as_bytes());
    assert_eq!(reader.headers().unwrap().get(0), Some("HOST"));
    let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(records.len(), 3);
    assert_eq!(&records[0][2], "online");
    assert_eq!(&records[0][4], "helper_missing", "the raw value in CSV");
    assert_eq!(&records[0][5], "LAB\\ana");
    assert_eq!(&records[0][7], "20.5");
    assert_eq!(hosts[0]["idle_source"], "helper_missing");
    assert_eq!(hosts[0]["session"]["user"], "LAB\\ana");

    // history
    let args = [
        "history",
        "pc-1",
        "--from",
        "2026-11-20",
        "--to",
        "2026-11-21",
    ];
    let text = lab.ok(&args);
    assert_eq!(text.lines().count(), 4, "{text}");
    assert!(text.lines().nth(1).unwrap().contains("ansys.exe"), "{text}");
    let snaps: Value =
        serde_json::from_str(&lab.ok(&[&args[..], &["--format", "json"]].concat())).unwrap();
    assert_eq!(snaps.as_array().unwrap().len(), 3);
    assert_eq!(snaps[2]["user_active"], false);
    let csv_text = lab.ok(&[&args[..], &["--format", "csv", "--limit", "2"]].concat());
    let mut reader = csv::Reader::from_reader(csv_text.as_bytes());
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 2, "--limit 2: {csv_text}");
    assert_eq!(&rows[0][0], (DAY + 600 * MIN).to_string());
    assert_eq!(&rows[0][7], "2");

    // usage (stable: fixed days in the past)
    let args = ["usage", "--from", "2026-11-20", "--to", "2026-11-22"];
    assert_golden("usage.txt", &lab.ok(&args));
    assert_golden(
        "usage.json",
        &lab.ok(&[&args[..], &["--format", "json"]].concat()),
    );
    assert_golden(
        "usage.csv",
        &lab.ok(&[&args[..], &["--format", "csv"]].concat()),
    );

    // export --xlsx, --force
    let file = dir.path().join("report.xlsx");
    let f = file.to_str().unwrap();
    let text = lab.ok(&[
        "export",
        "--xlsx",
        f,
        "--from",
        "2026-11-20",
        "--to",
        "2026-11-22",
    ]);
    assert!(text.starts_with(&format!("wrote {f}")), "{text}");
    let mut book: calamine::Xlsx<_> = calamine::open_workbook(&file).unwrap();
    use calamine::Reader;
    let sheet = book.worksheet_range("Snapshots").unwrap();
    assert_eq!(sheet.height(), 1 + 5, "5 snapshots in the range");
    let again = lab.admin(&["export", "--xlsx", f]);
    assert_eq!(again.code, 1);
    assert!(
        again.stderr.contains("exists; pass --force"),
        "{}",
        again.stderr
    );
    let before = std::fs::metadata(&file).unwrap().len();
    lab.ok(&[
        "export",
        "--xlsx",
        f,
        "--force",
        "--host",
        "pc-2",
        "--from",
        "2026-11-20",
        "--to",
        "2026-11-22",
    ]);
    assert_ne!(std::fs::metadata(&file).unwrap().len(), before);
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().contains(".part"))
        .collect();
    assert!(leftovers.is_empty());

    // export --sheets on a server without [sheets]
    let run = lab.admin(&["export", "--sheets"]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("not configured"), "{}", run.stderr);

    // completions
    for shell in ["bash", "zsh", "fish"] {
        let text = lab.ok(&["completions", shell]);
        assert!(
            text.contains("idlewatch-admin") && text.contains("history"),
            "{shell}"
        );
    }
}

/// Runs `idlewatch-admin` on a pseudo-terminal (util-linux `script`), so it sees a terminal.
fn admin_on_a_terminal(lab: &Lab, args: &str, no_color: Option<&str>) -> String {
    let command = format!("{} {args}", binary("idlewatch-admin").display());
    let mut script = Command::new("script");
    script
        .args(["-qec", &command, "/dev/null"])
        .env("HOME", lab.home.path())
        .env("IDLEWATCH_SERVER", lab.server.url())
        .env("IDLEWATCH_ADMIN_TOKEN", &lab.server.tokens().admin)
        .env_remove("NO_COLOR");
    if let Some(v) = no_color {
        script.env("NO_COLOR", v);
    }
    let out = script.output().expect("run script(1)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn colour_only_on_a_terminal_and_never_with_no_color() {
    let dir = tempfile::tempdir().unwrap();
    let lab = lab(&dir.path().join("data"));
    let coloured = admin_on_a_terminal(&lab, "hosts", None);
    assert!(
        coloured.contains("\u{1b}["),
        "a terminal gets colour: {coloured:?}"
    );
    assert!(coloured.contains("online") && coloured.contains("pc-3"));
    let plain = admin_on_a_terminal(&lab, "hosts", Some("1"));
    assert!(!plain.contains('\u{1b}'), "NO_COLOR: {plain:?}");
    // An empty NO_COLOR does not count (no-color.org).
    assert!(admin_on_a_terminal(&lab, "hosts", Some("")).contains("\u{1b}["));
    let json = admin_on_a_terminal(&lab, "hosts --format json", None);
    assert!(!json.contains('\u{1b}'), "JSON is never coloured");
    // Piped (not a terminal): no colour either (every other test reads piped output).
    assert!(!lab.ok(&["hosts"]).contains('\u{1b}'));
}

#[test]
fn errors_a_user_meets_are_one_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    let lab = lab(&dir.path().join("data"));
    let home = lab.home.path();
    let url = lab.server.url();

    // Nothing listening.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let nowhere = format!("http://127.0.0.1:{port}");
    let run = admin_in(home, &["--server", &nowhere, "hosts"], &[]);
    assert_eq!(run.code, 1);
    assert_eq!(
        run.stderr.trim(),
        format!(
            "idlewatch-admin: cannot reach idlewatch-server at {nowhere}: connection refused — is it running? set --server"
        )
    );

    // No token, a wrong one, a viewer's for an admin route.
    let run = admin_in(home, &["--server", &url, "status"], &[]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("needs an admin token: pass --token"),
        "{}",
        run.stderr
    );
    assert_eq!(run.stderr.lines().count(), 1);
    let run = admin_in(
        home,
        &["--server", &url, "--token", "not-the-token-at-all", "hosts"],
        &[],
    );
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("rejected the token"), "{}", run.stderr);
    // A token starting with '-' (as older generated ones could) is a value, not an option.
    let run = admin_in(
        home,
        &[
            "--server",
            &url,
            "--token",
            "-0-not-the-token-at-all",
            "hosts",
        ],
        &[],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("rejected the token"), "{}", run.stderr);
    let viewer = lab.server.tokens().viewer.clone();
    let run = admin_in(
        home,
        &["--server", &url, "--token", &viewer, "export", "--sheets"],
        &[],
    );
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("not an admin token"), "{}", run.stderr);

    // The token from ~/.config/idlewatch/admin.toml.
    let config = home.join(".config/idlewatch");
    std::fs::create_dir_all(&config).unwrap();
    std::fs::write(
        config.join("admin.toml"),
        format!(
            "server = \"{url}\"\ntoken = \"{}\"\n",
            lab.server.tokens().admin
        ),
    )
    .unwrap();
    assert_eq!(admin_in(home, &["status"], &[]).code, 0);

    // Unknown host, with the closest names.
    let run = lab.admin(&["history", "pc1"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr
            .contains("no host named \"pc1\" is known; closest: pc-1"),
        "{}",
        run.stderr
    );
    let run = lab.admin(&["usage", "--host", "pc-9"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr
            .contains("no host named \"pc-9\" is known; closest:"),
        "{}",
        run.stderr
    );

    // Bad time, bad usage: exit 2.
    let run = lab.admin(&["history", "pc-1", "--from", "yesterday"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("RFC 3339"), "{}", run.stderr);
    assert_eq!(lab.admin(&["export"]).code, 2);
    assert_eq!(lab.admin(&["frobnicate"]).code, 2);

    // A full disk while writing: no report and no partial file left.
    let out_dir = dir.path().join("reports");
    std::fs::create_dir_all(&out_dir).unwrap();
    let target = out_dir.join("r.xlsx");
    let script =
        "trap '' XFSZ; ulimit -f 4; exec \"$0\" export --xlsx \"$1\" --from 2026-11-19 --to now";
    let output = Command::new("sh")
        .args(["-c", script])
        .arg(binary("idlewatch-admin"))
        .arg(&target)
        .env("HOME", home)
        .env("IDLEWATCH_SERVER", &url)
        .env("IDLEWATCH_ADMIN_TOKEN", &lab.server.tokens().admin)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("cannot write {}", target.display())),
        "{stderr}"
    );
    assert!(stderr.contains("nothing was written"), "{stderr}");
    assert_eq!(
        std::fs::read_dir(&out_dir).unwrap().count(),
        0,
        "no file left behind"
    );
}

#[test]
fn db_commands_inspect_a_stopped_servers_store() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut lab = lab(&data);
    let d = data.to_str().unwrap();
    let run = lab.admin(&["db", "stats", "--data-dir", d]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("in use by a running idlewatch-server"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("use the server commands instead"),
        "{}",
        run.stderr
    );
    // --shared is for a cluster's database: a server on its own says what to run instead.
    let run = lab.admin(&["db", "stats", "--shared"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("keeps its snapshots in its own file")
            && run.stderr.contains("db stats --data-dir"),
        "{}",
        run.stderr
    );

    lab.server.signal_and_wait("TERM", Duration::from_secs(20));
    let text = lab.ok(&["db", "stats", "--data-dir", d]);
    let pair = |key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(key))
            .map(str::trim)
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(pair("snapshots "), "6", "{text}");
    assert!(pair("host-day rollups ").ends_with(" B)"), "{text}");
    assert!(pair("minute rows ").starts_with("0 host-hours"), "{text}");
    assert!(
        text.lines()
            .any(|l| l.starts_with("pc-1") && l.contains(" 4 ")),
        "{text}"
    );
    let stats: Value =
        serde_json::from_str(&lab.ok(&["db", "stats", "--data-dir", d, "--format", "json"]))
            .unwrap();
    assert_eq!(stats["hosts"].as_array().unwrap().len(), 3);
    assert_eq!(stats["schema_version"], 13);
    assert!(
        stats["host_days"].is_u64()
            && stats["host_day_bytes"].is_u64()
            && stats["minute_hours"] == 0
            && stats["hosts"][0]["detail_from"].is_null(),
        "{stats}"
    );
    let check = lab.ok(&["db", "check", "--data-dir", d]);
    assert!(
        check.contains("result            ok") || check.contains("ok"),
        "{check}"
    );
    let check: Value =
        serde_json::from_str(&lab.ok(&["db", "check", "--data-dir", d, "--format", "json"]))
            .unwrap();
    assert_eq!(check["ok"], true);
    assert_eq!(check["records_checked"], 6);

    let run = lab.admin(&[
        "db",
        "check",
        "--data-dir",
        dir.path().join("nothing").to_str().unwrap(),
    ]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("there is no store here"),
        "{}",
        run.stderr
    );
}
