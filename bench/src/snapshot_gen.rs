//! Realistic agent snapshots, deterministic given a seed.
//!
//! One [`SnapshotGenerator`] plays one host: a Windows 11 or Ubuntu lab machine with about as
//! many processes as asked (system services, browsers, editors, and on some hosts Ansys or Rocky),
//! a logged-in user who works, goes away and comes back, and a foreground window. Each call to
//! [`SnapshotGenerator::next_snapshot`] moves the simulated clock one agent interval (5 s) on:
//! a few processes start and stop, CPU and memory figures drift, the user may switch windows.
//! Consecutive snapshots therefore share most of their process list, as real ones do, which is
//! what the server's compact storage relies on.
//!
//! Only the caller's `captured_at` comes from outside; everything else comes from the seed.

mod catalog;
mod shape;

use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};

use catalog::{Account, Platform, Program};
pub use shape::Snapshot;
use shape::{Process, Watched, WatchedApp};

/// The `agent_version` of generated snapshots.
pub const AGENT_VERSION: &str = concat!("idlewatch-bench/", env!("CARGO_PKG_VERSION"));

/// Simulated seconds between two snapshots (the agent's default interval).
const STEP_SECONDS: f64 = 5.0;
/// Idle seconds from which the user counts as away (the Python agent's later threshold).
const ACTIVE_THRESHOLD: f64 = 60.0;
/// CPU percent of a watched application's processes above which it is computing.
const COMPUTING_CPU: f64 = 20.0;

/// Plays one host, producing its successive snapshots.
#[derive(Debug, Clone)]
pub struct SnapshotGenerator {
    rng: Xoshiro256PlusPlus,
    host: String,
    platform: &'static Platform,
    user: &'static str,
    /// The agent runs as a service and can read every process's owner.
    elevated: bool,
    cores: u32,
    memory_total: u64,
    target: usize,
    processes: Vec<Process>,
    next_pid: u32,
    seq: u64,
    idle_seconds: f64,
    away: bool,
    foreground_pid: u32,
    /// Which watched applications this host's user works with.
    uses: [bool; 2],
    /// How many processes change their CPU and memory figures at every step, whatever their
    /// program (0: only as their programs do).
    always_changing: usize,
}

impl SnapshotGenerator {
    /// A host named `host` running about `processes` processes (at least its boot-time set,
    /// some 150 on Windows, cut down if fewer are asked), its behaviour drawn from `seed`.
    #[must_use]
    pub fn new(host: impl Into<String>, processes: usize, seed: u64) -> Self {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
        let platform = if rng.random_bool(0.85) {
            &catalog::WINDOWS
        } else {
            &catalog::LINUX
        };
        let user = platform.users[rng.random_range(0..platform.users.len())];
        let mut generator = Self {
            host: host.into(),
            platform,
            user,
            elevated: rng.random_bool(0.3),
            cores: [4, 8, 8, 12, 16][rng.random_range(0..5)],
            memory_total: [16u64, 32, 32, 32, 64][rng.random_range(0..5)] << 30,
            target: processes,
            processes: Vec::with_capacity(processes + 16),
            next_pid: rng.random_range(0..4) * platform.pid_step,
            seq: 0,
            idle_seconds: 0.0,
            away: false,
            foreground_pid: 0,
            uses: [rng.random_bool(0.4), rng.random_bool(0.25)],
            always_changing: 0,
            rng,
        };
        generator.boot();
        generator
    }

    /// Makes `n` processes (the first ones listed) change both their CPU and memory figures at
    /// every step: a busier churn than a lab PC's usual one, for measuring storage under it.
    #[must_use]
    pub fn always_changing(mut self, n: usize) -> Self {
        self.always_changing = n;
        self
    }

    /// The host name.
    #[must_use]
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The `os` its snapshots report.
    #[must_use]
    pub fn os(&self) -> &'static str {
        self.platform.os
    }

    /// The next snapshot, captured at `captured_at_ms` (milliseconds since the Unix epoch).
    /// The first call describes the host as booted; each later one moves 5 s on.
    pub fn next_snapshot(&mut self, captured_at_ms: u64) -> Snapshot<'_> {
        self.step(Some(captured_at_ms))
    }

    /// The next snapshot as JSON text (about 100 bytes per process).
    pub fn next_json(&mut self, captured_at_ms: u64) -> String {
        to_json(&self.next_snapshot(captured_at_ms))
    }

    /// The next snapshot as JSON without its `seq` and `captured_at`: the part that does not
    /// depend on when it is sent, for a caller that renders snapshots ahead of time and adds
    /// those two when sending.
    pub fn next_body(&mut self) -> String {
        to_json(&self.step(None))
    }

    fn step(&mut self, captured_at_ms: Option<u64>) -> Snapshot<'_> {
        if self.seq > 0 {
            self.advance();
        }
        self.seq += 1;
        let cpu: f64 = self.processes.iter().map(|p| p.cpu_percent).sum();
        let memory: u64 = self.processes.iter().map(|p| p.memory_bytes).sum();
        // Working sets count shared pages (DLLs, a browser's shared memory) once per process,
        // about a third of a desktop's total; the kernel and drivers hold 1.5 GiB no process
        // lists.
        let in_use = memory as f64 * 0.65 + f64::from(3u32 << 29);
        let memory_percent = in_use * 100.0 / self.memory_total as f64;
        let foreground = self.foreground();
        let user_active = self.idle_seconds < ACTIVE_THRESHOLD;
        let watched = |app: &str| self.watched(app, foreground, user_active);
        Snapshot {
            host: &self.host,
            seq: captured_at_ms.map(|_| self.seq),
            captured_at: captured_at_ms,
            agent_version: AGENT_VERSION,
            os: self.platform.os,
            idle_seconds: round1(self.idle_seconds),
            user_active,
            cpu_percent: round1((cpu / f64::from(self.cores)).min(100.0)),
            memory_percent: round1(memory_percent.min(99.0)),
            foreground_process: foreground.map_or("", |p| p.name),
            watched: Watched {
                ansys: watched("ansys"),
                rocky: watched("rocky"),
            },
            processes: &self.processes,
        }
    }

    fn boot(&mut self) {
        let base = self.platform.base;
        'base: for (program, count) in base {
            for _ in 0..*count {
                if self.processes.len() >= self.target {
                    break 'base;
                }
                self.spawn(program, true);
            }
        }
        while self.processes.len() < self.target {
            self.start_app();
        }
        self.switch_foreground();
    }

    fn advance(&mut self) {
        let excess = self.processes.len().saturating_sub(self.target + 5);
        let exits = self.rng.random_range(0..=2) + excess.min(3);
        for _ in 0..exits {
            self.stop_app();
        }
        let missing = (self.target.saturating_sub(5)).saturating_sub(self.processes.len());
        let starts = self.rng.random_range(0..=2) + missing.min(3);
        for _ in 0..starts {
            self.start_app();
        }
        for i in 0..self.processes.len() {
            if i < self.always_changing {
                self.churn(i);
            } else {
                self.drift(i);
            }
        }
        self.move_user();
        if self.foreground().is_none() || (!self.away && self.rng.random_bool(0.12)) {
            self.switch_foreground();
        }
    }

    fn spawn(&mut self, program: &'static Program, from_boot: bool) {
        let (lo, hi) = program.memory_mib;
        let mib = self.rng.random_range(f64::from(lo)..=f64::from(hi));
        let memory_bytes = (mib * 1_048_576.0) as u64 / 4096 * 4096;
        self.next_pid += self.platform.pid_step * self.rng.random_range(1..=6);
        let process = Process {
            pid: self.next_pid,
            name: program.name,
            username: self.account(program.account),
            cpu_percent: 0.0,
            memory_bytes,
            program,
            from_boot,
        };
        self.processes.push(process);
    }

    fn account(&mut self, account: Account) -> Option<&'static str> {
        let names = match account {
            Account::User => return Some(self.user),
            _ if !self.elevated => return None,
            Account::System => self.platform.system_accounts,
            Account::Service => self.platform.service_accounts,
        };
        Some(names[self.rng.random_range(0..names.len())])
    }

    /// Starts one application process, picked by weight among those this host runs.
    fn start_app(&mut self) {
        let uses = self.uses;
        let eligible = |p: &&Program| match p.watched {
            Some("ansys") => uses[0],
            Some("rocky") => uses[1],
            _ => true,
        };
        let apps = self.platform.apps;
        let total: u32 = apps.iter().filter(eligible).map(|p| p.weight).sum();
        let mut pick = self.rng.random_range(0..total.max(1));
        for program in apps.iter().filter(eligible) {
            if pick < program.weight {
                return self.spawn(program, false);
            }
            pick -= program.weight;
        }
    }

    /// Stops one application process; watched applications, long jobs, rarely stop.
    fn stop_app(&mut self) {
        let transient = self.processes.iter().filter(|p| !p.from_boot).count();
        if transient == 0 {
            return;
        }
        let nth = self.rng.random_range(0..transient);
        let Some(index) = self
            .processes
            .iter()
            .enumerate()
            .filter(|(_, p)| !p.from_boot)
            .nth(nth)
            .map(|(i, _)| i)
        else {
            return;
        };
        if self.processes[index].program.watched.is_some() && self.rng.random_bool(0.8) {
            return;
        }
        self.processes.remove(index);
    }

    fn drift(&mut self, i: usize) {
        let rng = &mut self.rng;
        let process = &mut self.processes[i];
        let program = process.program;
        let cpu = process.cpu_percent;
        process.cpu_percent = if cpu == 0.0 {
            if program.busy_chance > 0 && rng.random_range(0..100) < program.busy_chance {
                // Mostly light use, now and then a burst.
                let r: f64 = rng.random();
                round1((program.cpu_max * r * r).max(0.1))
            } else {
                0.0
            }
        } else if rng.random_bool(0.5) {
            0.0
        } else {
            round1((cpu * rng.random_range(0.6..1.5)).clamp(0.1, program.cpu_max.max(0.1)))
        };
        // Working sets move with activity: a process using CPU often changes its memory
        // within 5 s; an idle one (most of a desktop's ~300) rarely does.
        let drift_chance = if process.cpu_percent > 0.0 { 0.5 } else { 0.03 };
        if rng.random_bool(drift_chance) {
            // Drift within the program's usual range, so long runs do not creep upwards.
            let (lo, hi) = program.memory_mib;
            let (lo, hi) = (f64::from(lo) * 1_048_576.0, f64::from(hi) * 1_048_576.0);
            let drifted = process.memory_bytes as f64 * rng.random_range(0.97..1.03);
            process.memory_bytes = drifted.clamp(lo, hi) as u64 / 4096 * 4096;
        }
    }

    /// A new CPU figure and a new memory size, both different from the last.
    fn churn(&mut self, i: usize) {
        let rng = &mut self.rng;
        let process = &mut self.processes[i];
        let cpu_max = process.program.cpu_max.max(1.0);
        let cpu = process.cpu_percent;
        process.cpu_percent = round1(rng.random_range(0.1..=cpu_max));
        if process.cpu_percent == cpu {
            process.cpu_percent = round1(cpu + 0.1);
        }
        let (lo, hi) = process.program.memory_mib;
        let (lo, hi) = (f64::from(lo) * 1_048_576.0, f64::from(hi) * 1_048_576.0);
        let memory = process.memory_bytes;
        let drifted = (memory as f64 * rng.random_range(0.97..1.03)).clamp(lo, hi) as u64;
        process.memory_bytes = drifted / 4096 * 4096;
        if process.memory_bytes == memory {
            process.memory_bytes = memory + 4096;
        }
    }

    fn move_user(&mut self) {
        if self.away {
            self.idle_seconds += STEP_SECONDS;
            if self.rng.random_bool(0.03) {
                self.away = false;
                self.idle_seconds = self.rng.random_range(0.0..3.0);
            }
        } else if self.rng.random_bool(0.04) {
            self.away = true;
            self.idle_seconds += STEP_SECONDS;
        } else {
            self.idle_seconds = self.rng.random_range(0.0..STEP_SECONDS);
        }
    }

    /// Brings another window to the front, a watched application's half the time when one
    /// runs.
    fn switch_foreground(&mut self) {
        let prefer_watched = self.rng.random_bool(0.5);
        let candidates = |watched_only: bool| {
            self.processes
                .iter()
                .filter(move |p| {
                    p.program.foreground && (!watched_only || p.program.watched.is_some())
                })
                .map(|p| p.pid)
        };
        let mut pool: Vec<u32> = candidates(prefer_watched).collect();
        if pool.is_empty() {
            pool = candidates(false).collect();
        }
        if !pool.is_empty() {
            self.foreground_pid = pool[self.rng.random_range(0..pool.len())];
        }
    }

    fn foreground(&self) -> Option<&Process> {
        self.processes.iter().find(|p| p.pid == self.foreground_pid)
    }

    fn watched(&self, app: &str, foreground: Option<&Process>, user_active: bool) -> WatchedApp {
        let mut running = false;
        let mut cpu = 0.0;
        for p in self
            .processes
            .iter()
            .filter(|p| p.program.watched == Some(app))
        {
            running = true;
            cpu += p.cpu_percent;
        }
        let in_focus = foreground.is_some_and(|p| p.program.watched == Some(app));
        let state = match (running, in_focus && user_active) {
            (false, _) => "not_running",
            (true, true) => "interactive",
            (true, false) if cpu >= COMPUTING_CPU => "computing",
            (true, false) => "idle",
        };
        WatchedApp {
            running,
            in_focus,
            user_active: in_focus && user_active,
            cpu_percent: round1(cpu),
            state,
        }
    }
}

fn to_json(snapshot: &Snapshot<'_>) -> String {
    // Every field is a number, a bool or a string: serialization cannot fail.
    serde_json::to_string(snapshot).unwrap_or_default()
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

#[cfg(test)]
mod tests;
