//! Linux processes straight from `/proc`: one read of `/proc/<pid>/stat` (name, CPU ticks,
//! resident pages) and one `stat()` of `/proc/<pid>` (owner) per process.
//!
//! sysinfo, used on other systems, also reads `/proc/<pid>/status` for every process at every
//! refresh (to tell threads from processes), and the kernel's rendering of that file (signal
//! masks, CPU bitmaps) was most of the agent's CPU time. `/proc` itself lists processes only, not
//! threads, so nothing here can mistake a thread for a process.

use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;
use std::time::Instant;

use sysinfo::Users;

use super::processes::{MachineLoad, ProcessInfo, ProcessSource, SystemSample, round1};

/// Reads `/proc`, plus sysinfo for the whole machine's CPU and memory.
pub struct ProcFs {
    load: MachineLoad,
    users: Users,
    user_names: HashMap<u32, String>,
    /// Per pid at the previous sample: start time, CPU ticks, owner.
    previous: HashMap<u32, Seen>,
    previous_at: Option<Instant>,
    ticks_per_second: f64,
    page_size: u64,
    buffer: Vec<u8>,
}

/// What the previous sample saw of a process.
#[derive(Debug, Clone, Copy)]
struct Seen {
    start: u64,
    ticks: u64,
    uid: Option<u32>,
}

/// The fields of `/proc/<pid>/stat` the agent uses.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Stat {
    name: String,
    ticks: u64,
    start: u64,
    rss_pages: u64,
}

/// Parses `/proc/<pid>/stat`. The name is between the first `(` and the last `)` (it may
/// itself contain parentheses and spaces).
fn parse_stat(text: &str) -> Option<Stat> {
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    let name = text.get(open + 1..close)?.to_owned();
    let fields: Vec<&str> = text.get(close + 1..)?.split_ascii_whitespace().collect();
    let field = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok());
    Some(Stat {
        name,
        ticks: field(11)? + field(12)?,
        start: field(19)?,
        rss_pages: field(21)?,
    })
}

impl ProcFs {
    /// Loads the user list and takes a first (baseline) sample.
    ///
    /// # Errors
    /// When `/proc` or the system figures cannot be read.
    pub fn new() -> Result<Self, String> {
        std::fs::read_dir("/proc").map_err(|e| format!("cannot read /proc: {e}"))?;
        let load = MachineLoad::new()?;
        let users = super::processes::user_list()?;
        let mut me = Self {
            load,
            users,
            user_names: HashMap::new(),
            previous: HashMap::new(),
            previous_at: None,
            ticks_per_second: rustix::param::clock_ticks_per_second() as f64,
            page_size: rustix::param::page_size() as u64,
            buffer: Vec::with_capacity(512),
        };
        me.sample();
        Ok(me)
    }

    fn user_name(&mut self, uid: u32) -> String {
        if let Some(name) = self.user_names.get(&uid) {
            return name.clone();
        }
        let find = |users: &Users| {
            users
                .iter()
                .find(|u| **u.id() == uid)
                .map(|u| u.name().to_owned())
        };
        let mut found = find(&self.users);
        if found.is_none() {
            // A user created since start: reload the list once for this uid.
            self.users.refresh();
            found = find(&self.users);
        }
        let name = found.unwrap_or_else(|| uid.to_string());
        self.user_names.insert(uid, name.clone());
        name
    }

    fn read_stat(&mut self, pid: u32) -> Option<Stat> {
        use std::io::Read;
        self.buffer.clear();
        let mut file = std::fs::File::open(format!("/proc/{pid}/stat")).ok()?;
        file.read_to_end(&mut self.buffer).ok()?;
        parse_stat(std::str::from_utf8(&self.buffer).ok()?)
    }
}

impl ProcessSource for ProcFs {
    fn sample(&mut self) -> SystemSample {
        let now = Instant::now();
        let elapsed = self
            .previous_at
            .map(|t| now.duration_since(t).as_secs_f64());
        let mut current = HashMap::with_capacity(self.previous.len() + 16);
        let mut processes = Vec::with_capacity(self.previous.len() + 16);
        let pids: Vec<u32> = std::fs::read_dir("/proc")
            .map(|dir| {
                dir.flatten()
                    .filter_map(|e| e.file_name().to_str()?.parse().ok())
                    .collect()
            })
            .unwrap_or_default();
        for pid in pids {
            // A process may exit between the listing and the reads: skip it.
            let Some(stat) = self.read_stat(pid) else {
                continue;
            };
            let seen = self
                .previous
                .get(&pid)
                .filter(|s| s.start == stat.start)
                .copied();
            // The owner of a running process is looked up once (one stat() of /proc/<pid>).
            let uid = match seen {
                Some(s) => s.uid,
                None => std::fs::metadata(format!("/proc/{pid}"))
                    .ok()
                    .map(|m| m.uid()),
            };
            let cpu_percent = match (seen, elapsed) {
                (Some(s), Some(secs)) if secs > 0.0 => {
                    stat.ticks.saturating_sub(s.ticks) as f64 / self.ticks_per_second / secs * 100.0
                }
                _ => 0.0,
            };
            current.insert(
                pid,
                Seen {
                    start: stat.start,
                    ticks: stat.ticks,
                    uid,
                },
            );
            processes.push(ProcessInfo {
                pid,
                username: uid.map(|u| self.user_name(u)),
                name: stat.name,
                cpu_percent: round1(cpu_percent),
                memory_bytes: stat.rss_pages * self.page_size,
            });
        }
        processes.sort_unstable_by_key(|p| p.pid);
        self.previous = current;
        self.previous_at = Some(now);
        let (cpu_percent, memory_percent) = self.load.sample();
        SystemSample {
            processes,
            cpu_percent,
            memory_percent,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_lines_parse_even_with_odd_names() {
        let line = "1234 (my (odd) app) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 3 0 \
                    98765 123456789 2048 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0";
        let stat = parse_stat(line).unwrap();
        assert_eq!(stat.name, "my (odd) app");
        assert_eq!(stat.ticks, 300);
        assert_eq!(stat.start, 98765);
        assert_eq!(stat.rss_pages, 2048);
        assert!(parse_stat("garbage").is_none());
    }

    #[test]
    fn this_process_is_listed_with_its_owner_and_memory() {
        let mut procs = ProcFs::new().unwrap();
        let sample = procs.sample();
        let me = sample
            .processes
            .iter()
            .find(|p| p.pid == std::process::id())
            .expect("this process");
        assert!(me.memory_bytes > 0);
        assert!(me.username.is_some());
        assert!(sample.processes.windows(2).all(|w| w[0].pid < w[1].pid));
    }
}
