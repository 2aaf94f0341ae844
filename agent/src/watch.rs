//! Watched applications (licensed software such as Ansys or Rocky): which processes are theirs,
//! and what each is doing — `interactive` (in focus, user active), `computing` (not interactive
//! but its processes use at least the busy-CPU threshold), `idle` (running, neither: a licence
//! held for nothing), or `not_running`.

use std::collections::BTreeMap;

use idlewatch_protocol::{WatchedApp, WatchedState};

use crate::collect::ProcessInfo;

/// One watched application and the executable names that are its processes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchRule {
    /// The name it is reported under.
    pub name: String,
    /// Executable names, lower-case, without `.exe`.
    exes: Vec<String>,
}

/// Lower-case, without a trailing `.exe`: `Ansys.EXE` and `ansys` are the same program.
fn normalise(exe: &str) -> String {
    let lower = exe.trim().to_ascii_lowercase();
    lower
        .strip_suffix(".exe")
        .map(str::to_owned)
        .unwrap_or(lower)
}

impl WatchRule {
    /// A rule for `name` matching `exes`.
    #[must_use]
    pub fn new(name: &str, exes: &[String]) -> Self {
        Self {
            name: name.to_ascii_lowercase(),
            exes: exes.iter().map(|e| normalise(e)).collect(),
        }
    }

    /// Whether a process of this executable name belongs to the app.
    #[must_use]
    pub fn matches(&self, process_name: &str) -> bool {
        let name = normalise(process_name);
        self.exes.contains(&name)
    }
}

/// Rules from the configuration's `watch` map.
#[must_use]
pub fn rules(watch: &BTreeMap<String, Vec<String>>) -> Vec<WatchRule> {
    watch
        .iter()
        .map(|(name, exes)| WatchRule::new(name, exes))
        .collect()
}

/// What every watched app is doing.
#[must_use]
pub fn evaluate(
    rules: &[WatchRule],
    processes: &[ProcessInfo],
    foreground_pid: Option<u32>,
    user_active: bool,
    busy_cpu: f64,
) -> Vec<(String, WatchedApp)> {
    rules
        .iter()
        .map(|rule| {
            let mine: Vec<&ProcessInfo> =
                processes.iter().filter(|p| rule.matches(&p.name)).collect();
            let running = !mine.is_empty();
            let in_focus = foreground_pid.is_some_and(|pid| mine.iter().any(|p| p.pid == pid));
            let cpu: f64 = mine.iter().map(|p| p.cpu_percent).sum();
            let cpu = crate::collect::round1(cpu);
            let interactive = in_focus && user_active;
            let state = if !running {
                WatchedState::NotRunning
            } else if interactive {
                WatchedState::Interactive
            } else if cpu >= busy_cpu {
                WatchedState::Computing
            } else {
                WatchedState::Idle
            };
            (
                rule.name.clone(),
                WatchedApp {
                    running: Some(running),
                    in_focus: Some(in_focus),
                    user_active: Some(interactive),
                    cpu_percent: Some(cpu),
                    state: Some(state),
                },
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(pid: u32, name: &str, cpu: f64) -> ProcessInfo {
        ProcessInfo {
            pid,
            name: name.to_owned(),
            username: None,
            cpu_percent: cpu,
            memory_bytes: 0,
        }
    }

    fn state(apps: &[(String, WatchedApp)], name: &str) -> WatchedState {
        apps.iter()
            .find(|(n, _)| n == name)
            .unwrap()
            .1
            .state
            .unwrap()
    }

    #[test]
    fn names_match_case_insensitively_with_or_without_exe() {
        let rule = WatchRule::new("Ansys", &["ANSYSEDT.exe".to_owned(), "runwb2".to_owned()]);
        assert_eq!(rule.name, "ansys");
        assert!(rule.matches("ansysedt.exe"));
        assert!(rule.matches("AnsysEdt"));
        assert!(rule.matches("runwb2.EXE"));
        assert!(!rule.matches("ansys"));
    }

    #[test]
    fn the_four_states() {
        let rules = vec![
            WatchRule::new("cad", &["cad".to_owned()]),
            WatchRule::new("solver", &["solver".to_owned()]),
            WatchRule::new("licence", &["lic".to_owned()]),
            WatchRule::new("absent", &["nope".to_owned()]),
        ];
        let procs = vec![
            p(10, "cad.exe", 1.0),
            p(20, "solver", 30.0),
            p(21, "solver", 20.0),
            p(30, "lic", 0.5),
        ];
        let apps = evaluate(&rules, &procs, Some(10), true, 5.0);
        assert_eq!(state(&apps, "cad"), WatchedState::Interactive);
        assert_eq!(state(&apps, "solver"), WatchedState::Computing);
        assert_eq!(state(&apps, "licence"), WatchedState::Idle);
        assert_eq!(state(&apps, "absent"), WatchedState::NotRunning);
        let solver = &apps.iter().find(|(n, _)| n == "solver").unwrap().1;
        assert_eq!(solver.cpu_percent, Some(50.0));
        assert_eq!(solver.in_focus, Some(false));
    }

    #[test]
    fn in_focus_but_user_away_is_not_interactive() {
        let rules = vec![WatchRule::new("cad", &["cad".to_owned()])];
        let apps = evaluate(&rules, &[p(10, "cad", 0.0)], Some(10), false, 5.0);
        assert_eq!(state(&apps, "cad"), WatchedState::Idle);
        assert_eq!(apps[0].1.in_focus, Some(true));
        assert_eq!(apps[0].1.user_active, Some(false));
    }
}
