//! The packages IT staff deploy, as `scripts/dist --profile dev --out target/dist-test` built
//! them (the test command runs it before the tests): the Debian package's files, modes,
//! conffiles and maintainer scripts, its systemd unit checked by `systemd-analyze verify`, its
//! autostart entry by `desktop-file-validate`, its binary run with its shipped configuration;
//! the MSI's tables (service, logon helper, secure public properties, upgrade code).
//! Installing and running the MSI is tests/windows.rs.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use idlewatch_tests::workspace_root;

fn dist() -> PathBuf {
    let dir = workspace_root().join("target/dist-test");
    assert!(
        dir.join("idlewatch-agent.exe").is_file(),
        "{} has no packages: run scripts/dist --profile dev --out target/dist-test (scripts/test does)",
        dir.display()
    );
    dir
}

fn version() -> String {
    env!("CARGO_PKG_VERSION").to_owned()
}

fn run(program: &str, args: &[&str]) -> Output {
    Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e} (scripts/install-test-deps installs it)"))
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn deb() -> PathBuf {
    dist().join(format!("idlewatch-agent_{}-1_amd64.deb", version()))
}

fn msi() -> PathBuf {
    dist().join(format!("idlewatch-agent-{}-x86_64.msi", version()))
}

/// The mode and path of each file `dpkg-deb -c` lists.
fn deb_files(deb: &Path) -> Vec<(String, String)> {
    let out = run("dpkg-deb", &["-c", deb.to_str().unwrap()]);
    assert!(out.status.success(), "dpkg-deb -c: {out:?}");
    stdout(&out)
        .lines()
        .filter(|l| l.starts_with('-'))
        .map(|l| {
            let fields: Vec<&str> = l.split_whitespace().collect();
            let path = fields.last().unwrap().trim_start_matches('.').to_owned();
            (fields[0].to_owned(), path)
        })
        .collect()
}

fn control_file(deb: &Path, name: &str) -> String {
    let out = run("dpkg-deb", &["-I", deb.to_str().unwrap(), name]);
    assert!(out.status.success(), "dpkg-deb -I {name}: {out:?}");
    stdout(&out)
}

#[test]
fn the_deb_holds_the_binary_unit_autostart_entry_and_configuration() {
    let files = deb_files(&deb());
    let mode_of = |path: &str| {
        files
            .iter()
            .find(|(_, p)| p == path)
            .map(|(m, _)| m.clone())
            .unwrap_or_else(|| panic!("{path} is not in the package: {files:?}"))
    };
    assert_eq!(mode_of("/usr/bin/idlewatch-agent"), "-rwxr-xr-x");
    assert_eq!(
        mode_of("/usr/lib/systemd/system/idlewatch-agent.service"),
        "-rw-r--r--"
    );
    assert_eq!(
        mode_of("/etc/xdg/autostart/idlewatch-session.desktop"),
        "-rw-r--r--"
    );
    // The configuration may come to hold a token: not readable by every user.
    assert_eq!(mode_of("/etc/idlewatch/agent.toml"), "-rw-r-----");
    let conffiles = control_file(&deb(), "conffiles");
    assert!(
        conffiles.lines().any(|l| l == "/etc/idlewatch/agent.toml"),
        "local edits survive upgrades: {conffiles}"
    );
    let control = control_file(&deb(), "control");
    assert!(control.contains("Package: idlewatch-agent"), "{control}");
    assert!(
        control.contains(&format!("Version: {}-1", version())),
        "{control}"
    );
    // Installed: the unit enabled and started (when systemd runs).
    let postinst = control_file(&deb(), "postinst");
    assert!(
        postinst.contains("deb-systemd-helper enable idlewatch-agent.service"),
        "{postinst}"
    );
    assert!(
        postinst.contains("deb-systemd-invoke $_dh_action idlewatch-agent.service"),
        "{postinst}"
    );
    // Purged: the spool and identity go; removed: they stay.
    let postrm = control_file(&deb(), "postrm");
    let (_, purge) = postrm
        .rsplit_once("if [ \"$1\" = \"purge\" ]")
        .unwrap_or_else(|| panic!("no purge branch: {postrm}"));
    assert!(
        purge.contains("rm -rf /var/lib/idlewatch-agent"),
        "{postrm}"
    );
}

#[test]
fn the_debs_unit_autostart_entry_and_configuration_are_valid() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let out = run(
        "dpkg-deb",
        &["-x", deb().to_str().unwrap(), root.to_str().unwrap()],
    );
    assert!(out.status.success(), "dpkg-deb -x: {out:?}");
    let binary = root.join("usr/bin/idlewatch-agent");

    // systemd checks that ExecStart exists: point it at the unpacked binary.
    let unit = std::fs::read_to_string(root.join("usr/lib/systemd/system/idlewatch-agent.service"))
        .unwrap();
    assert!(
        unit.lines()
            .any(|l| l == "ExecStart=/usr/bin/idlewatch-agent"),
        "{unit}"
    );
    let checked = root.join("idlewatch-agent.service");
    std::fs::write(
        &checked,
        unit.replace(
            "ExecStart=/usr/bin/",
            &format!("ExecStart={}/usr/bin/", root.display()),
        ),
    )
    .unwrap();
    let verify = run("systemd-analyze", &["verify", checked.to_str().unwrap()]);
    let said = String::from_utf8_lossy(&verify.stderr);
    assert!(verify.status.success(), "systemd-analyze verify: {said}");
    assert!(
        !said.contains("Unknown") && !said.contains("ignoring"),
        "systemd-analyze verify warned: {said}"
    );
    // The helper's socket lives in the unit's runtime directory, world-reachable.
    assert!(unit.contains("RuntimeDirectory=idlewatch-agent"), "{unit}");
    assert!(unit.contains("RuntimeDirectoryMode=0755"), "{unit}");

    let desktop = root.join("etc/xdg/autostart/idlewatch-session.desktop");
    let validate = run("desktop-file-validate", &[desktop.to_str().unwrap()]);
    assert!(
        validate.status.success() && validate.stdout.is_empty(),
        "desktop-file-validate: {validate:?}"
    );
    let entry = std::fs::read_to_string(&desktop).unwrap();
    assert!(
        entry
            .lines()
            .any(|l| l == "Exec=/usr/bin/idlewatch-agent session"),
        "{entry}"
    );

    // The packaged binary runs, knows the helper's subcommand, and accepts the shipped file.
    let help = run(binary.to_str().unwrap(), &["session", "--help"]);
    assert!(help.status.success(), "{help:?}");
    let config = root.join("etc/idlewatch/agent.toml");
    let once = run(
        binary.to_str().unwrap(),
        &["--config", config.to_str().unwrap(), "--once"],
    );
    assert!(once.status.success(), "{once:?}");
    let snapshot: serde_json::Value = serde_json::from_slice(&once.stdout).unwrap();
    assert!(
        snapshot["processes"]
            .as_array()
            .is_some_and(|p| !p.is_empty())
    );
}

/// One table of the MSI, as `msiinfo export` prints it (tab-separated rows after 3 headers).
fn msi_table(table: &str) -> Vec<Vec<String>> {
    let out = run("msiinfo", &["export", msi().to_str().unwrap(), table]);
    assert!(out.status.success(), "msiinfo export {table}: {out:?}");
    stdout(&out)
        .lines()
        .skip(3)
        .map(|l| l.split('\t').map(str::to_owned).collect())
        .collect()
}

#[test]
fn the_msi_installs_the_service_and_helper_and_takes_secure_properties() {
    let services = msi_table("ServiceInstall");
    let service = services
        .iter()
        .find(|r| r[1] == "idlewatch-agent")
        .unwrap_or_else(|| panic!("no service: {services:?}"));
    // Own process (16), automatic start (2), LocalSystem, the `service` subcommand.
    assert_eq!(
        (service[3].as_str(), service[4].as_str()),
        ("16", "2"),
        "{service:?}"
    );
    assert!(service.contains(&"LocalSystem".to_owned()), "{service:?}");
    assert!(service.contains(&"service".to_owned()), "{service:?}");

    let registry = msi_table("Registry");
    assert!(
        registry
            .iter()
            .any(|r| r[2] == r"SOFTWARE\Microsoft\Windows\CurrentVersion\Run"
                && r[4] == "\"[INSTALLDIR]idlewatch-agent.exe\" session"),
        "the logon helper: {registry:?}"
    );

    let properties = msi_table("Property");
    let secure = properties
        .iter()
        .find(|r| r[0] == "SecureCustomProperties")
        .map(|r| r[1].clone())
        .unwrap_or_default();
    for p in ["SERVER", "TOKEN", "TOKEN_FILE", "GROUP", "WATCH", "PURGE"] {
        assert!(
            secure.split(';').any(|s| s == p),
            "{p} not secure: {secure}"
        );
    }
    let upgrade = properties
        .iter()
        .find(|r| r[0] == "UpgradeCode")
        .map(|r| r[1].clone());
    assert_eq!(
        upgrade.as_deref(),
        Some("{3A1F5C2E-7B4D-4E8A-9C61-2D0B8E7F4A15}"),
        "the upgrade code never changes: upgrades find the installed agent by it"
    );

    let launch = msi_table("LaunchCondition");
    assert!(
        launch
            .iter()
            .any(|r| r[0].contains("SERVER") && r[1].contains("SERVER=")),
        "a first install without SERVER is refused with the way to fix it: {launch:?}"
    );

    let listing = run("msiextract", &["-l", msi().to_str().unwrap()]);
    assert!(
        stdout(&listing)
            .lines()
            .any(|l| l.ends_with("idlewatch-agent.exe")),
        "{listing:?}"
    );
    let info = run("msiinfo", &["suminfo", msi().to_str().unwrap()]);
    assert!(
        stdout(&info).contains("x64"),
        "a 64-bit package: {}",
        stdout(&info)
    );
}

#[test]
fn a_sites_defaults_are_built_into_the_msi_but_never_a_token() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("site.msi");
    let build = |properties: &[&str]| {
        Command::new(workspace_root().join("packaging/windows/build-msi"))
            .arg(dist().join("idlewatch-agent.exe"))
            .args(["1.2.3", out.to_str().unwrap()])
            .args(properties)
            .output()
            .unwrap()
    };
    let built = build(&[
        "SERVER=https://idlewatch.lab:5000",
        r"TOKEN_FILE=\\fs01\idlewatch$\tokens\{host}.token",
        "GROUP=Lab 1",
    ]);
    assert!(built.status.success(), "{built:?}");
    let exported = run("msiinfo", &["export", out.to_str().unwrap(), "Property"]);
    let rows: Vec<Vec<String>> = stdout(&exported)
        .lines()
        .skip(3)
        .map(|l| l.split('\t').map(str::to_owned).collect())
        .collect();
    let value = |name: &str| rows.iter().find(|r| r[0] == name).map(|r| r[1].clone());
    assert_eq!(
        value("SERVER").as_deref(),
        Some("https://idlewatch.lab:5000")
    );
    assert_eq!(
        value("TOKEN_FILE").as_deref(),
        Some(r"\\fs01\idlewatch$\tokens\{host}.token")
    );
    assert_eq!(value("GROUP").as_deref(), Some("Lab 1"));
    assert_eq!(value("ProductVersion").as_deref(), Some("1.2.3"));
    assert_eq!(value("MsiHiddenProperties").as_deref(), Some("TOKEN"));

    let refused = build(&["TOKEN=iw_secret"]);
    assert!(!refused.status.success());
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(
        said.contains("TOKEN_FILE") && said.contains("local users"),
        "{said}"
    );
    let unknown = build(&["SEVER=https://x"]);
    assert!(
        String::from_utf8_lossy(&unknown.stderr).contains("SEVER is not a property"),
        "{unknown:?}"
    );
    let version = Command::new(workspace_root().join("packaging/windows/build-msi"))
        .arg(dist().join("idlewatch-agent.exe"))
        .args(["0.2.0-beta", out.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&version.stderr).contains("not numeric"));
}
