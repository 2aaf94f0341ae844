//! Processes, CPU and memory through sysinfo.
//!
//! Refreshes only what is sent: CPU and memory per process, the owner once per process, and no
//! threads (without `without_tasks()` Linux threads would be listed as processes). User names
//! are loaded once and looked up by uid; an unknown uid reloads them once.

use std::collections::HashMap;

use sysinfo::{
    CpuRefreshKind, MemoryRefreshKind, ProcessRefreshKind, ProcessesToUpdate, RefreshKind, System,
    UpdateKind, Users,
};

/// One process.
#[derive(Debug, Clone, PartialEq)]
pub struct ProcessInfo {
    /// Its id.
    pub pid: u32,
    /// Its executable name.
    pub name: String,
    /// Its owner, when readable.
    pub username: Option<String>,
    /// CPU use since the previous sample, percent of one core.
    pub cpu_percent: f64,
    /// Resident memory.
    pub memory_bytes: u64,
}

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
    users: Users,
    user_names: HashMap<String, String>,
}

impl SysinfoProcesses {
    /// Loads the user list and takes a first (baseline) sample.
    ///
    /// # Errors
    /// When the system cannot be read at all.
    pub fn new() -> Result<Self, String> {
        let (system, users) = machine()?;
        let mut me = Self {
            system,
            users,
            user_names: HashMap::new(),
        };
        me.refresh();
        Ok(me)
    }

    fn refresh(&mut self) {
        // Whole-machine CPU and memory are refreshed by `machine_load`.
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
        let mut found = self.users.get_user_by_id(uid).map(|u| u.name().to_owned());
        if found.is_none() {
            // A user created since start: reload the list once for this uid.
            self.users.refresh();
            found = self.users.get_user_by_id(uid).map(|u| u.name().to_owned());
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
        let (cpu_percent, memory_percent) = machine_load(&mut self.system);
        SystemSample {
            processes,
            cpu_percent,
            memory_percent,
        }
    }
}

/// sysinfo's view of the whole machine (CPU and memory only) and its user list.
///
/// # Errors
/// When either cannot be read.
pub(super) fn machine() -> Result<(System, Users), String> {
    let system = System::new_with_specifics(
        RefreshKind::nothing()
            .with_cpu(CpuRefreshKind::nothing().with_usage())
            .with_memory(MemoryRefreshKind::nothing().with_ram()),
    )
    .map_err(|e| format!("cannot read the system figures: {e}"))?;
    let users =
        Users::new_with_refreshed_list().map_err(|e| format!("cannot read the user list: {e}"))?;
    Ok((system, users))
}

/// Whole-machine CPU and memory use now, percent.
pub(super) fn machine_load(system: &mut System) -> (f64, f64) {
    system.refresh_cpu_usage();
    system.refresh_memory();
    let total = system.total_memory();
    let memory = if total == 0 {
        0.0
    } else {
        round1(system.used_memory() as f64 * 100.0 / total as f64)
    };
    (round1(f64::from(system.global_cpu_usage())), memory)
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
