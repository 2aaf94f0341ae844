//! What runs on a lab PC: the process tables the generator draws from, one per platform.
//! Names, accounts and resource profiles follow what psutil reports on real Windows 11 and
//! Ubuntu workstations; only the data lives here, the behaviour is in the generator.

/// Which account a process runs under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Account {
    /// The OS itself (`NT AUTHORITY\SYSTEM`, `root`).
    System,
    /// A low-privilege service account (`LOCAL SERVICE`, `systemd-resolve`, ...).
    Service,
    /// The logged-in user.
    User,
}

/// One kind of process.
#[derive(Debug)]
pub struct Program {
    /// The executable name as psutil reports it.
    pub name: &'static str,
    /// Who runs it.
    pub account: Account,
    /// Relative chance of being picked when a process starts.
    pub weight: u32,
    /// Resident memory range, MiB.
    pub memory_mib: (u32, u32),
    /// Chance per snapshot that an idle instance starts using CPU, percent.
    pub busy_chance: u32,
    /// Highest CPU use of one instance, percent of one core.
    pub cpu_max: f64,
    /// A window the user may be looking at.
    pub foreground: bool,
    /// The watched application it belongs to, if any.
    pub watched: Option<&'static str>,
}

const fn p(
    name: &'static str,
    account: Account,
    weight: u32,
    memory_mib: (u32, u32),
    busy_chance: u32,
    cpu_max: f64,
) -> Program {
    Program {
        name,
        account,
        weight,
        memory_mib,
        busy_chance,
        cpu_max,
        foreground: false,
        watched: None,
    }
}

const fn window(mut program: Program) -> Program {
    program.foreground = true;
    program
}

const fn watched(app: &'static str, mut program: Program) -> Program {
    program.watched = Some(app);
    program.foreground = true;
    program
}

use Account::{Service, System, User};

/// A platform: its OS string, its accounts, what always runs and what comes and goes.
#[derive(Debug)]
pub struct Platform {
    /// The snapshot's `os` field.
    pub os: &'static str,
    /// Step between two consecutive pids.
    pub pid_step: u32,
    /// Account names for [`Account::System`].
    pub system_accounts: &'static [&'static str],
    /// Account names for [`Account::Service`].
    pub service_accounts: &'static [&'static str],
    /// The logged-in users one host may have.
    pub users: &'static [&'static str],
    /// Processes running from boot, with how many instances.
    pub base: &'static [(Program, u32)],
    /// Processes that start and stop while the user works, the watched ones included.
    pub apps: &'static [Program],
}

/// Windows 11 lab PC.
pub static WINDOWS: Platform = Platform {
    os: "Windows-11-10.0.22631-SP0",
    pid_step: 4,
    system_accounts: &["NT AUTHORITY\\SYSTEM"],
    service_accounts: &[
        "NT AUTHORITY\\LOCAL SERVICE",
        "NT AUTHORITY\\NETWORK SERVICE",
    ],
    users: &[
        "LAB\\amartin",
        "LAB\\jchen",
        "LAB\\pnguyen",
        "LAB\\sgarcia",
        "LAB\\kmueller",
        "LAB\\rsingh",
        "LAB\\lrossi",
        "LAB\\tkowalski",
        "LAB\\ebrown",
        "LAB\\ydubois",
    ],
    base: &[
        (p("System", System, 0, (0, 1), 30, 3.0), 1),
        (p("Registry", System, 0, (30, 90), 0, 0.0), 1),
        (p("smss.exe", System, 0, (1, 2), 0, 0.0), 1),
        (p("csrss.exe", System, 0, (4, 8), 5, 1.0), 2),
        (p("wininit.exe", System, 0, (6, 8), 0, 0.0), 1),
        (p("winlogon.exe", System, 0, (8, 14), 0, 0.0), 1),
        (p("services.exe", System, 0, (9, 14), 2, 0.5), 1),
        (p("lsass.exe", System, 0, (18, 30), 3, 1.0), 1),
        (p("svchost.exe", System, 0, (4, 40), 2, 1.5), 40),
        (p("svchost.exe", Service, 0, (3, 25), 2, 1.0), 34),
        (p("svchost.exe", User, 0, (5, 30), 2, 1.0), 12),
        (p("fontdrvhost.exe", User, 0, (3, 6), 0, 0.0), 2),
        (p("dwm.exe", User, 0, (60, 160), 30, 4.0), 1),
        (p("spoolsv.exe", System, 0, (10, 16), 0, 0.0), 1),
        (p("MsMpEng.exe", System, 0, (150, 350), 5, 12.0), 1),
        (p("NisSrv.exe", Service, 0, (8, 14), 0, 0.0), 1),
        (
            p("SecurityHealthService.exe", System, 0, (8, 14), 0, 0.0),
            1,
        ),
        (p("WmiPrvSE.exe", Service, 0, (10, 30), 5, 3.0), 3),
        (p("WUDFHost.exe", Service, 0, (4, 10), 0, 0.0), 3),
        (p("Memory Compression", System, 0, (50, 600), 2, 1.0), 1),
        (p("SearchIndexer.exe", System, 0, (25, 60), 5, 4.0), 1),
        (p("audiodg.exe", Service, 0, (10, 20), 10, 1.0), 1),
        (p("dllhost.exe", User, 0, (8, 16), 1, 0.5), 3),
        (p("conhost.exe", System, 0, (4, 10), 0, 0.0), 4),
        (p("RuntimeBroker.exe", User, 0, (8, 40), 2, 0.5), 8),
        (window(p("explorer.exe", User, 0, (90, 250), 10, 4.0)), 1),
        (p("sihost.exe", User, 0, (20, 30), 1, 0.3), 1),
        (p("taskhostw.exe", User, 0, (10, 20), 0, 0.0), 2),
        (p("ctfmon.exe", User, 0, (12, 20), 1, 0.3), 1),
        (p("SearchHost.exe", User, 0, (80, 200), 2, 1.0), 1),
        (
            p("StartMenuExperienceHost.exe", User, 0, (50, 90), 1, 0.5),
            1,
        ),
        (p("ShellExperienceHost.exe", User, 0, (40, 70), 0, 0.0), 1),
        (p("TextInputHost.exe", User, 0, (30, 60), 1, 0.2), 1),
        (p("SecurityHealthSystray.exe", User, 0, (6, 10), 0, 0.0), 1),
        (p("OneDrive.exe", User, 0, (60, 140), 5, 2.0), 1),
        (p("igfxEM.exe", User, 0, (8, 14), 0, 0.0), 1),
        (p("idlewatch-agent.exe", System, 0, (12, 20), 100, 0.6), 1),
    ],
    apps: &[
        window(p("chrome.exe", User, 20, (20, 150), 6, 12.0)),
        window(p("msedge.exe", User, 8, (20, 120), 5, 10.0)),
        p("msedgewebview2.exe", User, 6, (15, 80), 4, 3.0),
        window(p("Code.exe", User, 6, (30, 250), 6, 15.0)),
        window(p("ms-teams.exe", User, 3, (60, 300), 10, 8.0)),
        window(p("OUTLOOK.EXE", User, 1, (120, 300), 8, 5.0)),
        window(p("WINWORD.EXE", User, 1, (100, 250), 5, 4.0)),
        window(p("EXCEL.EXE", User, 1, (80, 220), 5, 6.0)),
        window(p("python.exe", User, 2, (20, 400), 15, 100.0)),
        window(p("cmd.exe", User, 2, (4, 6), 0, 0.0)),
        window(p("powershell.exe", User, 2, (50, 100), 3, 4.0)),
        p("svchost.exe", Service, 10, (3, 20), 2, 1.0),
        p("RuntimeBroker.exe", User, 6, (6, 30), 2, 0.5),
        p("conhost.exe", User, 6, (6, 12), 0, 0.0),
        p("dllhost.exe", User, 5, (8, 16), 1, 0.5),
        p("backgroundTaskHost.exe", User, 5, (15, 40), 5, 2.0),
        p("SearchProtocolHost.exe", System, 4, (8, 14), 5, 2.0),
        p("WmiPrvSE.exe", Service, 3, (10, 25), 5, 2.0),
        p("smartscreen.exe", User, 1, (15, 25), 3, 1.0),
        window(p("Acrobat.exe", User, 1, (120, 300), 5, 6.0)),
        p("AcroCEF.exe", User, 2, (30, 100), 4, 3.0),
        window(p("notepad.exe", User, 1, (12, 40), 0, 0.0)),
        window(p("Zoom.exe", User, 1, (120, 300), 20, 20.0)),
        window(p("matlab.exe", User, 1, (500, 1200), 10, 100.0)),
        watched("ansys", p("AnsysFWW.exe", User, 2, (200, 600), 5, 6.0)),
        watched("ansys", p("AnsysWBU.exe", User, 1, (150, 400), 3, 3.0)),
        watched("ansys", p("SpaceClaim.exe", User, 1, (300, 1200), 8, 25.0)),
        watched("ansys", p("fluent.exe", User, 1, (800, 4000), 50, 380.0)),
        watched("rocky", p("Rocky.exe", User, 2, (400, 2000), 15, 30.0)),
        watched(
            "rocky",
            p("RockySolver.exe", User, 1, (600, 4000), 60, 380.0),
        ),
    ],
};

/// Ubuntu 22.04 lab workstation.
pub static LINUX: Platform = Platform {
    os: "Linux-6.5.0-35-generic-x86_64-with-glibc2.35",
    pid_step: 1,
    system_accounts: &["root"],
    service_accounts: &["systemd-resolve", "messagebus", "avahi", "syslog", "gdm"],
    users: &[
        "amartin", "jchen", "pnguyen", "sgarcia", "kmueller", "rsingh",
    ],
    base: &[
        (p("systemd", System, 0, (10, 14), 1, 0.5), 1),
        (p("kthreadd", System, 0, (0, 1), 0, 0.0), 1),
        (
            p("kworker/u16:2-events_unbound", System, 0, (0, 1), 5, 1.0),
            40,
        ),
        (p("ksoftirqd/0", System, 0, (0, 1), 5, 0.5), 8),
        (p("migration/0", System, 0, (0, 1), 0, 0.0), 8),
        (p("rcu_preempt", System, 0, (0, 1), 10, 0.5), 1),
        (p("systemd-journald", System, 0, (20, 60), 5, 0.5), 1),
        (p("systemd-udevd", System, 0, (6, 10), 0, 0.0), 1),
        (p("systemd-resolved", Service, 0, (10, 14), 1, 0.2), 1),
        (p("dbus-daemon", Service, 0, (4, 8), 3, 0.3), 2),
        (p("NetworkManager", System, 0, (14, 20), 1, 0.2), 1),
        (p("sshd", System, 0, (6, 10), 0, 0.0), 1),
        (p("cron", System, 0, (2, 4), 0, 0.0), 1),
        (p("rsyslogd", Service, 0, (4, 8), 0, 0.0), 1),
        (p("gdm3", System, 0, (8, 12), 0, 0.0), 1),
        (window(p("gnome-shell", User, 0, (200, 450), 40, 8.0)), 1),
        (p("Xwayland", User, 0, (60, 120), 20, 3.0), 1),
        (p("pipewire", User, 0, (10, 20), 5, 0.5), 2),
        (p("gnome-terminal-server", User, 0, (40, 60), 2, 0.5), 1),
        (p("bash", User, 0, (4, 6), 0, 0.0), 3),
        (p("idlewatch-agent", System, 0, (8, 14), 100, 0.4), 1),
    ],
    apps: &[
        window(p("firefox", User, 4, (250, 600), 8, 20.0)),
        p("Isolated Web Co", User, 12, (40, 180), 5, 10.0),
        window(p("chrome", User, 10, (20, 150), 6, 12.0)),
        window(p("code", User, 6, (30, 250), 6, 15.0)),
        window(p("python3", User, 3, (20, 600), 15, 100.0)),
        window(p("jupyter-lab", User, 1, (60, 150), 5, 5.0)),
        p("tracker-miner-fs-3", User, 2, (30, 80), 5, 10.0),
        p("kworker/3:1-events", System, 30, (0, 1), 5, 1.0),
        p("gvfsd", User, 6, (6, 12), 1, 0.2),
        p("evolution-source-registry", User, 2, (20, 30), 0, 0.0),
        window(p("bash", User, 4, (4, 6), 0, 0.0)),
        watched("ansys", p("fluent", User, 1, (800, 4000), 50, 380.0)),
        watched("ansys", p("cfx5solve", User, 1, (500, 3000), 50, 300.0)),
        watched("ansys", p("ansysedt", User, 1, (300, 1200), 8, 20.0)),
        watched("rocky", p("Rocky", User, 2, (400, 2000), 15, 30.0)),
    ],
};
