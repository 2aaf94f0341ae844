//! A full disk under the real server binary: its data dir on a small tmpfs (mounted by the test;
//! it needs root, as the test command runs in CI). Snapshots are acked until the disk is full,
//! then answered `storage` with one clear log line while dashboards still get them live; when
//! space comes back the store writes again by itself; after a clean stop `db check` finds every
//! acked snapshot and no damage.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use idlewatch_client::Client;
use idlewatch_tests::{Server, binary};
use serde_json::{Value, json};

/// A tmpfs mounted for the test's lifetime.
struct Tmpfs(std::path::PathBuf);

impl Tmpfs {
    fn mount(dir: &Path, size: &str) -> Result<Self, String> {
        std::fs::create_dir_all(dir).unwrap();
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .output()
            .map_err(|e| e.to_string())?;
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).into_owned());
        }
        Ok(Self(dir.to_owned()))
    }

    fn resize(&self, size: &str) {
        let ok = Command::new("mount")
            .args(["-o", &format!("remount,size={size}")])
            .arg(&self.0)
            .status()
            .unwrap()
            .success();
        assert!(ok, "remount {size}");
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// ~27 KB of JSON that zstd cannot shrink (a different blob every time).
fn snapshot(k: u64, state: &mut u64) -> Value {
    let mut blob = String::with_capacity(27_000);
    for _ in 0..1700 {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        blob.push_str(&format!("{:016x}", *state));
    }
    json!({"host": "pc-full", "captured_at": idlewatch_tests::recent_base_ms() + i64::try_from(k).unwrap() * 5000, "seq": k, "blob": blob})
}

#[test]
fn a_full_disk_refuses_snapshots_clearly_keeps_the_live_relay_and_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let mount_point = dir.path().join("small");
    let tmpfs = match Tmpfs::mount(&mount_point, "6m") {
        Ok(t) => t,
        Err(e) => {
            // Only where the machine forbids mounting (no root, or a container without
            // CAP_SYS_ADMIN): said loudly, as this test then checks nothing.
            eprintln!(
                "SKIPPED: cannot mount a tmpfs for the full-disk test ({}); run the test \
                 command as root on a machine that allows mounts",
                e.trim()
            );
            return;
        }
    };
    let data = mount_point.join("data");
    // No storage floor: this test fills the disk for real (tests/tests/hostile_agent.rs has the
    // floor's own test).
    let mut server = Server::try_start(
        &["--open"],
        &[("IDLEWATCH_MIN_FREE_DISK", "0")],
        Some(&data),
    )
    .unwrap_or_else(|f| panic!("{}", f.stderr));
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mut rng = 0x9e37_79b9_7f4a_7c15_u64;
    let (acked, refused, live_after_full) = runtime.block_on(async {
        let (dashboard, mut events) = Client::connect(&server.url(), None).await.unwrap();
        let (agent, _agent_events) = Client::connect(&server.url(), None).await.unwrap();
        agent
            .emit("agent_register", &json!({"host": "pc-full"}))
            .await
            .unwrap();
        let mut acked = Vec::new();
        let mut refused = Vec::new();
        let mut k = 0u64;
        // Fill the disk: 6 MB holds ~200 of these.
        while refused.is_empty() && k < 2000 {
            let ack = idlewatch_tests::acked(&agent, &snapshot(k, &mut rng)).await;
            if ack["ok"] == true {
                acked.push(k);
            } else {
                refused.push(ack);
            }
            k += 1;
        }
        // While the disk is full, snapshots still reach dashboards live.
        let marker = k;
        let ack = idlewatch_tests::acked(&agent, &snapshot(marker, &mut rng)).await;
        assert_eq!(ack["ok"], false, "still full: {ack}");
        let live = tokio::time::timeout(Duration::from_secs(10), async {
            while let Some(event) = events.recv().await {
                if event.name() == "telemetry"
                    && serde_json::from_str::<Value>(event.data().unwrap()).unwrap()["seq"]
                        == marker
                {
                    return true;
                }
            }
            false
        })
        .await
        .unwrap_or(false);
        drop(dashboard);
        // Space comes back: within a few seconds snapshots are stored again.
        tmpfs.resize("64m");
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut k = marker + 1;
        loop {
            let ack = idlewatch_tests::acked(&agent, &snapshot(k, &mut rng)).await;
            if ack["ok"] == true {
                acked.push(k);
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the store did not recover: {ack}"
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
            k += 1;
        }
        for extra in k + 1..k + 20 {
            let ack = idlewatch_tests::acked(&agent, &snapshot(extra, &mut rng)).await;
            assert_eq!(ack["ok"], true, "{ack}");
            acked.push(extra);
        }
        (acked, refused, live)
    });
    assert!(
        acked.len() > 100,
        "{} acked before the disk filled",
        acked.len()
    );
    let first = &refused[0];
    assert_eq!(first["error"]["code"], "storage", "{first}");
    let message = first["error"]["message"].as_str().unwrap();
    assert!(message.contains("No space left on device"), "{message}");
    assert!(live_after_full, "telemetry went on while the disk was full");
    let log = server.log();
    let errors: Vec<&str> = log.lines().filter(|l| l.contains("ERROR")).collect();
    assert_eq!(
        errors.len(),
        1,
        "one error line, not one per snapshot:\n{log}"
    );
    assert!(
        errors[0].contains("free disk space in the data dir"),
        "{}",
        errors[0]
    );
    assert!(log.contains("the store writes again"), "{log}");

    server.signal_and_wait("TERM", Duration::from_secs(20));
    let check = Command::new(binary("idlewatch-admin"))
        .args(["db", "check", "--format", "json", "--data-dir"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    let report: Value = serde_json::from_slice(&check.stdout).unwrap();
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(report["records_checked"], acked.len());
    drop(tmpfs);
}

/// Bytes free on the file system holding `path`, as `df` reports them.
fn free_bytes(path: &Path) -> u64 {
    let out = Command::new("df")
        .args(["-B1", "--output=avail"])
        .arg(path)
        .output()
        .unwrap();
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .last()
        .and_then(|l| l.trim().parse().ok())
        .expect("df output")
}

#[test]
fn the_storage_floor_refuses_snapshots_before_the_disk_fills() {
    let dir = tempfile::tempdir().unwrap();
    let mount_point = dir.path().join("floor");
    let tmpfs = match Tmpfs::mount(&mount_point, "32m") {
        Ok(t) => t,
        Err(e) => {
            eprintln!(
                "SKIPPED: cannot mount a tmpfs for the storage floor test ({}); run the test \
                 command as root on a machine that allows mounts",
                e.trim()
            );
            return;
        }
    };
    let data = mount_point.join("data");
    let server = Server::try_start(
        &["--open"],
        &[("IDLEWATCH_MIN_FREE_DISK", "16MiB")],
        Some(&data),
    )
    .unwrap_or_else(|f| panic!("{}", f.stderr));
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mut rng = 0x2545_f491_4f6c_dd1d_u64;
    runtime.block_on(async {
        let (agent, _events) = Client::connect(&server.url(), None).await.unwrap();
        let mut k = 0u64;
        let refused = loop {
            let ack = idlewatch_tests::acked(&agent, &snapshot(k, &mut rng)).await;
            k += 1;
            if ack["ok"] != true {
                break ack;
            }
            assert!(k < 3000, "never refused");
        };
        assert_eq!(refused["error"]["code"], "storage", "{refused}");
        let message = refused["error"]["message"].as_str().unwrap();
        assert!(message.contains("limits.min_free_disk"), "{message}");
        assert!(k > 50, "{k} stored before the floor");
        // Refused well before the disk is full: the floor, not ENOSPC.
        let free = free_bytes(&mount_point);
        assert!(free > 12 << 20, "{free} bytes free at the floor");
        for extra in 0..5 {
            let ack = idlewatch_tests::acked(&agent, &snapshot(k + extra, &mut rng)).await;
            assert_eq!(ack["error"]["code"], "storage", "{ack}");
        }
        // Space comes back: snapshots are stored again within a few seconds.
        tmpfs.resize("64m");
        let deadline = Instant::now() + Duration::from_secs(15);
        let mut next = k + 10;
        loop {
            let ack = idlewatch_tests::acked(&agent, &snapshot(next, &mut rng)).await;
            if ack["ok"] == true {
                break;
            }
            assert!(Instant::now() < deadline, "still refused: {ack}");
            tokio::time::sleep(Duration::from_millis(200)).await;
            next += 1;
        }
    });
    let log = server.log();
    let low: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("below limits.min_free_disk"))
        .collect();
    assert_eq!(low.len(), 1, "logged once:\n{log}");
    assert!(log.contains("free again"), "{log}");
    assert!(
        !log.contains("No space left"),
        "the disk never filled:\n{log}"
    );
}
