//! A fresh Wine prefix (Debian's Wine 8, 64-bit) on a virtual X display, for testing the
//! Windows build of the agent: its MSI installed with msiexec, its service run by Wine's
//! service manager, its session helper started by a simulated logon.
//!
//! Wine 8.0 has no `bcryptprimitives.dll`, whose `ProcessPrng` Rust's standard library needs
//! before `main`: a test-only shim (`tests/windows/prng_shim.c`, built here with mingw) goes
//! into the prefix's system32. Windows 10 and later, and Wine from 8.13, have their own; the
//! shim is never shipped.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use crate::{Xvfb, wait_until, workspace_root};

/// A Wine prefix with its virtual desktop; wineserver is killed when dropped.
pub struct Wine {
    dir: tempfile::TempDir,
    /// The X display it draws on.
    pub x: Xvfb,
    desktop: Option<Child>,
    /// One prefix at a time per test process (two would compete for the cores); released
    /// last, after the display is gone.
    _turn: std::sync::MutexGuard<'static, ()>,
}

/// The Windows agent built for the tests (`cargo build --target x86_64-pc-windows-gnu -p
/// idlewatch-agent`, which the test command runs).
///
/// # Panics
/// When it was not built.
#[must_use]
pub fn windows_agent() -> PathBuf {
    let exe = workspace_root().join("target/x86_64-pc-windows-gnu/debug/idlewatch-agent.exe");
    assert!(
        exe.is_file(),
        "{} is missing: build it with `cargo build --target x86_64-pc-windows-gnu -p \
         idlewatch-agent` (scripts/test does)",
        exe.display()
    );
    exe
}

/// Builds the agent's MSI at `version` from the test build of the agent, into `dir`, with the
/// script `scripts/dist` uses (packaging/windows/build-msi: wixl, then msibuild).
///
/// # Panics
/// When the build fails.
#[must_use]
pub fn build_msi(dir: &Path, version: &str) -> PathBuf {
    let out = dir.join(format!("idlewatch-agent-{version}.msi"));
    let run = Command::new(workspace_root().join("packaging/windows/build-msi"))
        .arg(windows_agent())
        .arg(version)
        .arg(&out)
        .output()
        .expect("run packaging/windows/build-msi");
    assert!(
        run.status.success(),
        "build-msi: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    out
}

impl Wine {
    /// A new prefix, booted, with the shim and a running virtual desktop.
    ///
    /// # Panics
    /// When Wine or mingw is missing or the prefix does not boot.
    #[must_use]
    pub fn start() -> Self {
        static TURN: std::sync::Mutex<()> = std::sync::Mutex::new(());
        let turn = TURN
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let dir = tempfile::tempdir().expect("temp dir");
        let x = Xvfb::start_at(500 + std::process::id() % 400);
        let mut wine = Self {
            dir,
            x,
            desktop: None,
            _turn: turn,
        };
        let boot = wine
            .command("wineboot")
            .arg("--init")
            .env("WINEDLLOVERRIDES", "mscoree,mshtml=")
            .output()
            .expect("wine is missing: run scripts/install-test-deps");
        assert!(
            boot.status.success(),
            "wineboot: {}",
            String::from_utf8_lossy(&boot.stderr)
        );
        let _ = wine.command("wineserver").arg("-w").status();
        let shim = wine.drive_c().join("windows/system32/bcryptprimitives.dll");
        let built = Command::new("x86_64-w64-mingw32-gcc")
            .args(["-shared", "-O2", "-s", "-o"])
            .arg(&shim)
            .arg(workspace_root().join("tests/windows/prng_shim.c"))
            .arg(workspace_root().join("tests/windows/bcryptprimitives.def"))
            .arg("-ladvapi32")
            .output()
            .expect("x86_64-w64-mingw32-gcc is missing: run scripts/install-test-deps");
        assert!(
            built.status.success(),
            "shim: {}",
            String::from_utf8_lossy(&built.stderr)
        );
        // A virtual desktop: a Wine-owned X window that takes input (xdotool), and a process
        // that keeps wineserver, and so the services, running.
        wine.desktop = Some(
            wine.command("wine")
                .args(["explorer", "/desktop=idlewatch,1024x768"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start the virtual desktop"),
        );
        std::thread::sleep(Duration::from_secs(2));
        wine
    }

    /// `program` (wine, wineboot, wineserver, msiexec via wine) with this prefix's environment.
    #[must_use]
    pub fn command(&self, program: &str) -> Command {
        let mut c = Command::new(program);
        c.env("WINEPREFIX", self.dir.path())
            .env("WINEARCH", "win64")
            .env("WINEDEBUG", "-all")
            .env("DISPLAY", &self.x.display)
            .stdin(Stdio::null());
        c
    }

    /// Runs `wine args...` to completion.
    ///
    /// # Panics
    /// When wine cannot be run.
    pub fn wine(&self, args: &[&str]) -> Output {
        self.command("wine").args(args).output().expect("run wine")
    }

    /// The prefix's `C:` drive.
    #[must_use]
    pub fn drive_c(&self) -> PathBuf {
        self.dir.path().join("drive_c")
    }

    /// `C:\ProgramData\Idlewatch`, as seen from Linux.
    #[must_use]
    pub fn agent_data(&self) -> PathBuf {
        self.drive_c().join("ProgramData/Idlewatch")
    }

    /// The Unix pids of this prefix's Wine processes whose command line contains `text`.
    #[must_use]
    pub fn pids_of(&self, text: &str) -> Vec<u32> {
        let prefix = format!("WINEPREFIX={}", self.dir.path().display());
        let out = Command::new("ps")
            .args(["-eo", "pid=,args="])
            .output()
            .expect("ps");
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| l.contains(text))
            .filter_map(|l| l.split_whitespace().next()?.parse().ok())
            .filter(|pid: &u32| {
                std::fs::read(format!("/proc/{pid}/environ"))
                    .is_ok_and(|env| env.split(|b| *b == 0).any(|v| v == prefix.as_bytes()))
            })
            .collect()
    }

    /// A simulated logon: `wineboot` without flags runs the HKLM `Run` entries, which the
    /// installer set to start the session helper.
    pub fn log_on(&self) {
        let _ = self.command("wineboot").status();
        wait_until(
            "the session helper to start",
            Duration::from_secs(30),
            || !self.pids_of("idlewatch-agent.exe session").is_empty(),
        );
    }
}

impl Drop for Wine {
    fn drop(&mut self) {
        let _ = self.command("wineserver").arg("-k").status();
        if let Some(mut desktop) = self.desktop.take() {
            let _ = desktop.kill();
            let _ = desktop.wait();
        }
    }
}
