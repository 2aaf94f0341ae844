//! Processes, CPU and memory through sysinfo.
//!
//! Refreshes only what is sent: CPU and memory per process, the owner once per process, and no
//! threads (without `without_tasks()` Linux threads would be listed as processes). User names
//! are loaded once and looked up by uid; an unknown uid reloads them once. On Windows each
//! owner's SID is named once with `LookupAccountSidW` instead: sysinfo's user list crashes
//! under Wine and lacks the domain accounts a lab's students log on with.

use std::collections::HashMap;

use sysinfo::{
    CpuRefreshKind, MemoryRefreshKind, ProcessRefreshKind, ProcessesToUpdate, RefreshKind, System,
    UpdateKind, Users,
};

/// One process, as the snapshot carries it.
pub type ProcessInfo = idlewatch_protocol::ProcessEntry;

/// One sample of the machine.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SystemSample {
    /// Every process, by pid.
    pub processes: Vec<ProcessInfo>,
    /// Whole-machine CPU use, percent.
    pub cpu_percent: f64,
    /// Whole-machine memory use, percent.
    pub memory_percent: f64,
}

/// A source of system samples.
pub trait ProcessSource: Send {
    /// Samples the machine now. CPU figures cover the time since the previous sample.
    fn sample(&mut self) -> SystemSample;
}

/// sysinfo-backed sampling.
pub struct SysinfoProcesses {
    system: System,
    load: MachineLoad,
    /// The local user list (not on Windows: sysinfo's reading of it breaks under Wine, and
    /// domain accounts are not in it; names come from `LookupAccountSidW` there).
    users: Option<Users>,
    user_names: HashMap<String, String>,
}

impl SysinfoProcesses {
    /// Loads the user list and takes a first (baseline) sample.
    ///
    /// # Errors
    /// When the system cannot be read at all.
    pub fn new() -> Result<Self, String> {
        let load = MachineLoad::new()?;
        let users = if cfg!(windows) {
            None
        } else {
            Some(user_list()?)
        };
        let mut me = Self {
            system: System::new().map_err(|e| format!("cannot read the processes: {e}"))?,
            load,
            users,
            user_names: HashMap::new(),
        };
        me.refresh();
        Ok(me)
    }

    fn refresh(&mut self) {
        // Whole-machine CPU and memory are sampled by `MachineLoad`.
        self.system.refresh_processes_specifics(
            ProcessesToUpdate::All,
            true,
            ProcessRefreshKind::nothing()
                .with_cpu()
                .with_memory()
                .with_user(UpdateKind::OnlyIfNotSet)
                .without_tasks(),
        );
    }

    fn user_name(&mut self, uid: &sysinfo::Uid) -> Option<String> {
        let key = uid.to_string();
        if let Some(name) = self.user_names.get(&key) {
            return Some(name.clone());
        }
        let mut found = None;
        if let Some(users) = &mut self.users {
            found = users.get_user_by_id(uid).map(|u| u.name().to_owned());
            if found.is_none() {
                // A user created since start: reload the list once for this uid.
                users.refresh();
                found = users.get_user_by_id(uid).map(|u| u.name().to_owned());
            }
        }
        // Domain accounts (a lab's students) are not in the local user list.
        #[cfg(windows)]
        if found.is_none() {
            found = super::win32::account_of_sid_text(&key);
        }
        let name = found.unwrap_or_else(|| key.clone());
        self.user_names.insert(key, name.clone());
        Some(name)
    }
}

impl ProcessSource for SysinfoProcesses {
    fn sample(&mut self) -> SystemSample {
        self.refresh();
        let owners: Vec<(u32, Option<sysinfo::Uid>)> = self
            .system
            .processes()
            .iter()
            .map(|(pid, p)| (pid.as_u32(), p.user_id().cloned()))
            .collect();
        let mut names = HashMap::with_capacity(owners.len());
        for (pid, uid) in owners {
            if let Some(uid) = uid {
                names.insert(pid, self.user_name(&uid));
            }
        }
        let mut processes: Vec<ProcessInfo> = self
            .system
            .processes()
            .iter()
            .map(|(pid, p)| ProcessInfo {
                pid: pid.as_u32(),
                name: p.name().to_string_lossy().into_owned(),
                username: names.get(&pid.as_u32()).cloned().flatten(),
                cpu_percent: round1(f64::from(p.cpu_usage())),
                memory_bytes: p.memory(),
            })
            .collect();
        processes.sort_unstable_by_key(|p| p.pid);
        let (cpu_percent, memory_percent) = self.load.sample();
        SystemSample {
            processes,
            cpu_percent,
            memory_percent,
        }
    }
}

/// The whole machine's CPU and memory use, sampled each interval: memory from sysinfo, CPU
/// from sysinfo on Linux and from `GetSystemTimes` on Windows, where sysinfo's counters (PDH)
/// crash under Wine and stop working for good on real Windows while an installer rewrites the
/// counter registry.
pub(super) struct MachineLoad {
    system: System,
    #[cfg(windows)]
    cpu: super::win32::SystemTimes,
}

impl MachineLoad {
    /// Takes the baseline sample.
    ///
    /// # Errors
    /// When the system figures cannot be read.
    pub(super) fn new() -> Result<Self, String> {
        let cpu = if cfg!(windows) {
            CpuRefreshKind::nothing()
        } else {
            CpuRefreshKind::nothing().with_usage()
        };
        let system = System::new_with_specifics(
            RefreshKind::nothing()
                .with_cpu(cpu)
                .with_memory(MemoryRefreshKind::nothing().with_ram()),
        )
        .map_err(|e| format!("cannot read the system figures: {e}"))?;
        Ok(Self {
            system,
            #[cfg(windows)]
            cpu: super::win32::SystemTimes::new(),
        })
    }

    /// Whole-machine CPU (since the previous call) and memory use now, percent.
    pub(super) fn sample(&mut self) -> (f64, f64) {
        self.system.refresh_memory();
        let total = self.system.total_memory();
        let memory = if total == 0 {
            0.0
        } else {
            round1(self.system.used_memory() as f64 * 100.0 / total as f64)
        };
        (round1(self.cpu_percent()), memory)
    }

    #[cfg(windows)]
    fn cpu_percent(&mut self) -> f64 {
        self.cpu.busy_percent()
    }

    #[cfg(not(windows))]
    fn cpu_percent(&mut self) -> f64 {
        self.system.refresh_cpu_usage();
        f64::from(self.system.global_cpu_usage())
    }
}

/// The local user list.
///
/// # Errors
/// When it cannot be read.
pub(super) fn user_list() -> Result<Users, String> {
    Users::new_with_refreshed_list().map_err(|e| format!("cannot read the user list: {e}"))
}

/// The user owning a process, by pid (`None` when it cannot be told).
pub type OwnerLookup = std::sync::Arc<dyn Fn(u32) -> Option<String> + Send + Sync>;

/// Finds the user owning a process: a session helper's peer, whose claimed user the service
/// does not take on trust.
#[must_use]
pub fn owner_lookup() -> OwnerLookup {
    #[cfg(windows)]
    {
        std::sync::Arc::new(super::win32::process_owner)
    }
    #[cfg(not(windows))]
    {
        let users = std::sync::Mutex::new(Users::new_with_refreshed_list().ok());
        std::sync::Arc::new(move |pid: u32| {
            let mut system = System::new().ok()?;
            let pid = sysinfo::Pid::from_u32(pid);
            system.refresh_processes_specifics(
                ProcessesToUpdate::Some(&[pid]),
                true,
                ProcessRefreshKind::nothing().with_user(UpdateKind::Always),
            );
            let uid = system.process(pid)?.user_id()?.clone();
            let mut guard = users
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let users = guard.as_mut()?;
            if users.get_user_by_id(&uid).is_none() {
                users.refresh();
            }
            users.get_user_by_id(&uid).map(|u| u.name().to_owned())
        })
    }
}

/// One decimal: what people read, and what keeps snapshots small and stable.
#[must_use]
pub fn round1(v: f64) -> f64 {
    // `+ 0.0` turns -0.0 (the sum of nothing) into 0.0.
    if v.is_finite() {
        (v * 10.0).round() / 10.0 + 0.0
    } else {
        0.0
    }
}
