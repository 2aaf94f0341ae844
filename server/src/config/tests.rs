//! Layering and rejection tests for [`super::Config`].

use std::collections::HashMap;
use std::time::Duration;

use super::*;

fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    move |k| map.get(k).cloned()
}

fn write_toml(text: &str) -> (std::path::PathBuf, impl Drop) {
    struct Cleanup(std::path::PathBuf);
    impl Drop for Cleanup {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }
    let path = std::env::temp_dir().join(format!(
        "idlewatch-config-{}-{}.toml",
        std::process::id(),
        text.len() ^ (text.as_ptr() as usize)
    ));
    std::fs::write(&path, text).unwrap();
    (path.clone(), Cleanup(path))
}

#[test]
fn defaults_match_the_design() {
    let c = Config::load(None, env_of(&[]), &Overrides::default()).unwrap();
    assert_eq!(c.listen.to_string(), "0.0.0.0:5000");
    assert_eq!(c.data_dir, std::path::PathBuf::from("./data"));
    assert!(!c.auth.open);
    assert_eq!(c.limits.max_message_bytes, 1 << 20);
}

#[test]
fn file_then_env_then_flags_win_in_order() {
    let (path, _guard) = write_toml(
        "listen = \"127.0.0.1:6000\"\ndata_dir = \"/file\"\n[limits]\nrequest_timeout = \"5s\"\n",
    );
    let env = env_of(&[
        ("IDLEWATCH_DATA_DIR", "/env"),
        ("IDLEWATCH_LISTEN", "127.0.0.1:7000"),
    ]);
    let flags = Overrides {
        listen: Some("127.0.0.1:8000".parse().unwrap()),
        ..Overrides::default()
    };
    let c = Config::load(Some(&path), env, &flags).unwrap();
    assert_eq!(
        c.listen.to_string(),
        "127.0.0.1:8000",
        "flag beats env and file"
    );
    assert_eq!(
        c.data_dir,
        std::path::PathBuf::from("/env"),
        "env beats file"
    );
    assert_eq!(
        c.limits.request_timeout,
        Duration::from_secs(5),
        "file beats default"
    );
}

#[test]
fn unknown_keys_are_rejected_by_name() {
    let err = Config::from_toml("lissten = \"0.0.0.0:1\"").unwrap_err();
    assert!(err.contains("lissten"), "{err}");
    let err = Config::from_toml("[auth]\nopen_mode = true").unwrap_err();
    assert!(err.contains("open_mode"), "{err}");
}

#[test]
fn a_missing_file_names_the_path() {
    let err = Config::load(
        Some(std::path::Path::new("/nonexistent/server.toml")),
        env_of(&[]),
        &Overrides::default(),
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("/nonexistent/server.toml"),
        "{err}"
    );
}

#[test]
fn bad_env_values_name_the_variable() {
    let err = Config::load(
        None,
        env_of(&[("IDLEWATCH_LISTEN", "nowhere")]),
        &Overrides::default(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("IDLEWATCH_LISTEN"), "{err}");
    let err = Config::load(
        None,
        env_of(&[("IDLEWATCH_OPEN", "maybe")]),
        &Overrides::default(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("IDLEWATCH_OPEN"), "{err}");
}

#[test]
fn tokens_come_from_env_and_are_never_printed() {
    let env = env_of(&[("IDLEWATCH_VIEWER_TOKEN", "viewer-secret-0123456789")]);
    let c = Config::load(None, env, &Overrides::default()).unwrap();
    assert_eq!(
        c.auth.viewer_token.as_deref(),
        Some("viewer-secret-0123456789")
    );
    assert!(!format!("{c:?}").contains("viewer-secret"));
}

#[test]
fn short_tokens_are_refused() {
    let err = Config::load(
        None,
        env_of(&[("IDLEWATCH_ADMIN_TOKEN", "abc")]),
        &Overrides::default(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("admin_token"), "{err}");
}

#[test]
fn open_flag_and_env_enable_open_mode() {
    let c = Config::load(
        None,
        env_of(&[("IDLEWATCH_OPEN", "true")]),
        &Overrides::default(),
    )
    .unwrap();
    assert!(c.auth.open);
    let flags = Overrides {
        open: true,
        ..Overrides::default()
    };
    assert!(Config::load(None, env_of(&[]), &flags).unwrap().auth.open);
}

#[test]
fn the_documented_example_is_valid_and_shows_the_defaults() {
    let text = include_str!("../../../config/server.toml");
    let parsed = Config::from_toml(text).unwrap();
    assert_eq!(parsed, Config::default());
}

#[test]
fn the_report_interval_and_the_rollup_period_must_make_sense() {
    for (text, says) in [
        ("[report]\ninterval = \"0s\"\n", "report.interval"),
        ("[report]\ninterval = \"9h\"\n", "report.interval"),
        (
            "[retention]\nrollup_every = \"0s\"\n",
            "retention.rollup_every",
        ),
    ] {
        let mut config = Config::from_toml(text).unwrap();
        config.auth.open = true;
        let err = config.check().unwrap_err().to_string();
        assert!(err.contains(says), "{text}: {err}");
    }
    let mut config = Config::from_toml("[report]\ninterval = \"8h\"\n").unwrap();
    config.auth.open = true;
    config.check().unwrap();
}

#[test]
fn allowed_origins_must_be_origins() {
    for bad in [
        "intranet.example",
        "https://intranet.example/path",
        "ftp://x",
        "https://a b",
    ] {
        let text = format!("[auth]\nallowed_origins = [\"{bad}\"]\n");
        let mut config = Config::from_toml(&text).unwrap();
        config.auth.open = true;
        let err = config.check().unwrap_err().to_string();
        assert!(err.contains("is not an origin"), "{bad}: {err}");
    }
    for good in ["https://intranet.example", "http://10.0.0.5:8080", "*"] {
        let text = format!("[auth]\nallowed_origins = [\"{good}\"]\n");
        Config::from_toml(&text).unwrap().check().unwrap();
    }
}

#[test]
fn abuse_limits_come_from_the_environment_and_refuse_nonsense() {
    let env = |k: &str| match k {
        "IDLEWATCH_SNAPSHOT_RATE" => Some("0".to_owned()),
        "IDLEWATCH_MAX_CONNECTIONS" => Some("10".to_owned()),
        _ => None,
    };
    let config = Config::load(None, env, &Overrides::default()).unwrap();
    assert_eq!(config.limits.snapshot_rate, 0.0);
    assert_eq!(config.limits.max_connections, 10);
    let bad = |k: &str| (k == "IDLEWATCH_CONNECT_RATE").then(|| "fast".to_owned());
    let err = Config::load(None, bad, &Overrides::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("IDLEWATCH_CONNECT_RATE"), "{err}");
    let mut config = Config::default();
    config.limits.snapshot_rate = -1.0;
    assert!(
        config
            .check()
            .unwrap_err()
            .to_string()
            .contains("limits.snapshot_rate")
    );
}

#[test]
fn tls_files_come_from_file_env_and_flags_and_need_each_other() {
    let (path, _guard) =
        write_toml("[tls]\ncert_file = \"/file/cert.pem\"\nkey_file = \"/file/key.pem\"\n");
    let env = env_of(&[("IDLEWATCH_TLS_KEY", "/env/key.pem")]);
    let flags = Overrides {
        tls_cert: Some("/flag/cert.pem".into()),
        ..Overrides::default()
    };
    let c = Config::load(Some(&path), env, &flags).unwrap();
    assert_eq!(
        c.tls.files(),
        Some((
            std::path::Path::new("/flag/cert.pem"),
            std::path::Path::new("/env/key.pem")
        ))
    );
    assert_eq!(Config::default().tls.files(), None, "plain HTTP by default");

    let only_cert = Overrides {
        tls_cert: Some("/c.pem".into()),
        ..Overrides::default()
    };
    let e = Config::load(None, env_of(&[]), &only_cert)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("tls.key_file is not") && e.contains("--tls-key"),
        "{e}"
    );
    let e = Config::load(
        None,
        env_of(&[("IDLEWATCH_TLS_KEY", "/k.pem")]),
        &Overrides::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("tls.cert_file is not") && e.contains("--tls-cert"),
        "{e}"
    );
}

#[test]
fn reserved_connections_default_to_a_share_and_must_leave_agents_some() {
    let mut config = Config::default();
    assert_eq!(config.limits.reserved(), 64);
    assert_eq!(config.limits.agent_connections(), 20_000 - 64);
    config.limits.max_connections = 100;
    assert_eq!(config.limits.reserved(), 5);
    config.limits.reserved_connections = Some(100);
    let err = config.check().unwrap_err().to_string();
    assert!(err.contains("limits.reserved_connections = 100"), "{err}");
    let text = "[limits]\nhost_bytes_per_day = \"200 MiB\"\nmin_free_disk = \"2GiB\"\n";
    let config = Config::from_toml(text).unwrap();
    assert_eq!(config.limits.host_bytes_per_day.as_u64(), 200 << 20);
    assert_eq!(config.limits.min_free_disk.as_u64(), 2 << 30);
    let err = Config::from_toml("[limits]\nmin_free_disk = \"lots\"\n").unwrap_err();
    assert!(err.contains("min_free_disk"), "{err}");
}

/// `[[alerts]]` text that is valid, with `extra` lines added to the rule.
fn alerts_config(rule: &str) -> String {
    format!(
        "[auth]\nopen = true\n\n[[alerts]]\n{rule}\n\n[notifiers.it-team]\nwebhook = \
         \"https://chat.example/hooks/1\"\n\n[notifiers.mail]\nemail = [\"it@college.example\"]\n\n\
         [smtp]\nhost = \"127.0.0.1\"\nfrom = \"idlewatch@college.example\"\n"
    )
}

#[test]
fn alert_rules_are_read_and_checked_against_their_notifiers() {
    let ok = alerts_config(
        "name = \"ansys-idle\"\nkind = \"licence_idle\"\napp = \"ansys\"\ngroup = \"Lab CTI\"\n\
         for = \"30m\"\nopen_hours_only = true\nnotify = [\"it-team\", \"mail\"]\nrepeat = \"4h\"",
    );
    let config = Config::from_toml(&ok).unwrap();
    config.check().unwrap();
    let rule = &config.alerts[0];
    assert_eq!(rule.kind, AlertKind::LicenceIdle);
    assert_eq!(rule.hold, std::time::Duration::from_secs(1800));
    assert_eq!(rule.repeat, Some(std::time::Duration::from_secs(4 * 3600)));
    for (rule, says) in [
        (
            "name = \"a\"\nkind = \"licence_idle\"\nnotify = [\"it-team\"]",
            "`app` is missing",
        ),
        (
            "name = \"a\"\nkind = \"host_offline\"\napp = \"x\"\nnotify = [\"it-team\"]",
            "`app` is only for",
        ),
        (
            "name = \"a\"\nkind = \"group_idle_licences\"\napp = \"x\"\nnotify = [\"it-team\"]",
            "`threshold` is missing",
        ),
        (
            "name = \"a\"\nkind = \"host_offline\"\nthreshold = 3\nnotify = [\"it-team\"]",
            "only for group_idle_licences",
        ),
        (
            "name = \"a\"\nkind = \"host_offline\"\nnotify = [\"pager\"]",
            "[notifiers.pager]",
        ),
        ("name = \"a\"\nkind = \"host_offline\"", "`notify` is empty"),
        (
            "name = \"a\"\nkind = \"host_offline\"\nnotify = [\"it-team\"]\nrepeat = \"10s\"",
            "repeat at most once a minute",
        ),
    ] {
        let err = Config::from_toml(&alerts_config(rule))
            .unwrap()
            .check()
            .unwrap_err()
            .to_string();
        assert!(err.contains(says), "{rule}: {err}");
    }
    let err = Config::from_toml(&alerts_config("name = \"a\"\nkind = \"coffee\"")).unwrap_err();
    assert!(
        err.contains("coffee") && err.contains("licence_idle"),
        "{err}"
    );
}

#[test]
fn notifiers_need_somewhere_to_send_and_email_needs_a_mail_server() {
    let base = "[auth]\nopen = true\n";
    for (text, says) in [
        (
            "[notifiers.x]\nformat = \"slack\"\n",
            "give a `webhook` URL",
        ),
        (
            "[notifiers.x]\nwebhook = \"chat.example\"\n",
            "not an http(s) URL",
        ),
        (
            "[notifiers.x]\nemail = [\"it@college.example\"]\n",
            "add [smtp]",
        ),
        (
            "[notifiers.x]\nemail = [\"it\"]\n[smtp]\nhost = \"h\"\nfrom = \"a@b\"\n",
            "not an e-mail address",
        ),
        ("[smtp]\nhost = \"h\"\nfrom = \"me\"\n", "smtp.from"),
    ] {
        let err = Config::from_toml(&format!("{base}{text}"))
            .unwrap()
            .check()
            .unwrap_err()
            .to_string();
        assert!(err.contains(says), "{text}: {err}");
    }
}

#[test]
fn retention_deltas_choose_the_stored_form_and_refuse_other_names() {
    let config = Config::from_toml("[retention]\ndeltas = \"structural\"\n").unwrap();
    assert_eq!(config.retention.deltas, Deltas::Structural);
    assert_eq!(
        config.retention.deltas.kind(),
        idlewatch_store::DeltaKind::Structural
    );
    assert_eq!(Config::default().retention.deltas, Deltas::Structural);
    let err = Config::from_toml("[retention]\ndeltas = \"lz4\"\n")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("zstd") && err.contains("structural"),
        "the error names the accepted values: {err}"
    );
}

#[test]
fn retention_snapshots_must_be_at_least_two_days_and_shorter_than_days() {
    let config = Config::from_toml("[retention]\nsnapshots = \"15d\"\ndays = 400\n").unwrap();
    assert_eq!(
        config.retention.snapshots(),
        Some(Duration::from_secs(15 * 86_400))
    );
    let mut open = config.clone();
    open.auth.open = true;
    open.check().unwrap();
    for (text, says) in [
        ("[retention]\nsnapshots = \"36h\"\n", "at least \"2d\""),
        (
            "[retention]\nsnapshots = \"90d\"\ndays = 90\n",
            "not shorter than retention.days",
        ),
        (
            "[retention]\nminutes = \"400d\"\nsnapshots = \"0\"\n",
            "needs snapshots folded",
        ),
        (
            "[retention]\nminutes = \"400d\"\ndays = 10\n",
            "needs snapshots folded",
        ),
        (
            "[retention]\nsnapshots = \"14d\"\nminutes = \"15d\"\ndays = 0\n",
            "at least two days longer",
        ),
        (
            "[retention]\nsnapshots = \"14d\"\nminutes = \"400d\"\ndays = 90\n",
            "minute rows would be deleted",
        ),
    ] {
        let mut config = Config::from_toml(text).unwrap();
        config.auth.open = true;
        let err = config.check().unwrap_err().to_string();
        assert!(err.contains(says), "{text}: {err}");
    }
    // With nothing ever deleted, any length folds.
    let mut config = Config::from_toml("[retention]\nsnapshots = \"400d\"\ndays = 0\n").unwrap();
    config.auth.open = true;
    config.check().unwrap();
    let text = "[retention]\nsnapshots = \"14d\"\nminutes = \"400d\"\ndays = 0\n";
    let mut config = Config::from_toml(text).unwrap();
    config.auth.open = true;
    config.check().unwrap();
    assert_eq!(
        config.retention.minutes(),
        Some(Duration::from_secs(400 * 86_400))
    );
}

#[test]
fn retention_tiers_default_to_a_year_on_a_small_disk_and_step_aside_for_days() {
    let days = |n: u64| Some(Duration::from_secs(n * 86_400));
    // Nothing written: 14 days whole, 400 days of minutes, day rows kept.
    let config = Config::default();
    assert_eq!(config.retention.days, 0);
    assert_eq!(config.retention.snapshots(), days(14));
    assert_eq!(config.retention.minutes(), days(400));
    // A file of the one-tier retention reads as before, with snapshots folded after 14 days
    // and minute rows kept until days deletes them.
    for (text, snapshots, minutes) in [
        ("days = 90", days(14), None),
        ("days = 14", None, None),
        ("days = 10", None, None),
        ("days = 401", days(14), days(400)),
        ("days = 0", days(14), days(400)),
        // Zero turns a tier off.
        ("snapshots = \"0\"", None, None),
        ("minutes = \"0\"", days(14), None),
        // A long snapshots leaves no room for the default minutes.
        ("snapshots = \"399d\"", days(399), None),
        ("snapshots = \"30d\"\ndays = 365", days(30), None),
    ] {
        let mut config = Config::from_toml(&format!("[retention]\n{text}\n")).unwrap();
        config.auth.open = true;
        config.check().unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(config.retention.snapshots(), snapshots, "{text}");
        assert_eq!(config.retention.minutes(), minutes, "{text}");
    }
    // The environment's days count as written ones.
    let flags = Overrides {
        open: true,
        ..Overrides::default()
    };
    let env = env_of(&[("IDLEWATCH_RETENTION_DAYS", "7")]);
    let config = Config::load(None, env, &flags).unwrap();
    assert_eq!(
        (config.retention.days, config.retention.snapshots()),
        (7, None)
    );
}
