//! Series labels of a process: `comm`, `exe`, `container` or
//! `systemd_unit`, labels from its environment, and the agent's static ones.
//!
//! The pid is deliberately not here: a series per pid would make the
//! series count grow with every restart. It is a pprof sample label instead.

use std::collections::HashMap;

use super::{cgroup, environ::EnvLabel};

/// Labels every profile of this agent carries (`host` and `--label`s).
#[derive(Debug, Clone, Default)]
pub struct LabelRules {
    /// `(name, value)` pairs added to every series; they win over the
    /// per-process ones of the same name.
    pub static_labels: Vec<(String, String)>,
    /// `--label-from-env` rules.
    pub env_labels: Vec<EnvLabel>,
}

/// Per-process labels, read once per process (and again after exec).
#[derive(Debug, Default)]
pub struct ProcessLabels {
    rules: LabelRules,
    cache: HashMap<u32, Vec<(String, String)>>,
}

impl ProcessLabels {
    /// A cache applying `rules`.
    pub fn new(rules: LabelRules) -> Self {
        Self {
            rules,
            cache: HashMap::new(),
        }
    }

    /// The sorted series labels of `pid`; `comm` is the sampled thread's
    /// name, used when the process is already gone.
    pub fn of(&mut self, pid: u32, comm: &str) -> &[(String, String)] {
        let rules = &self.rules;
        self.cache
            .entry(pid)
            .or_insert_with(|| read_labels(pid, comm, rules))
    }

    /// Forgets `pid` (it exec'd a new program, or exited).
    pub fn forget(&mut self, pid: u32) {
        self.cache.remove(&pid);
    }

    /// Pids with cached labels.
    pub fn pids(&self) -> impl Iterator<Item = u32> + '_ {
        self.cache.keys().copied()
    }
}

fn read_labels(pid: u32, comm: &str, rules: &LabelRules) -> Vec<(String, String)> {
    let proc_comm = std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .map(|c| c.trim_end().to_owned())
        .unwrap_or_else(|_| comm.to_owned());
    let mut labels = vec![("comm".to_owned(), proc_comm)];
    if let Ok(exe) = std::fs::read_link(format!("/proc/{pid}/exe")) {
        let name = exe.file_name().map(|n| n.to_string_lossy().into_owned());
        // A replaced binary reads "name (deleted)": the series is the same.
        if let Some(name) = name {
            let name = name.trim_end_matches(" (deleted)").to_owned();
            labels.push(("exe".to_owned(), name));
        }
    }
    let cgroup = cgroup::read(pid);
    if let Some(container) = cgroup.container {
        labels.push(("container".to_owned(), container));
    }
    if let Some(unit) = cgroup.systemd_unit {
        labels.push(("systemd_unit".to_owned(), unit));
    }
    labels.extend(super::environ::labels(pid, &rules.env_labels));
    for (name, value) in &rules.static_labels {
        labels.retain(|(n, _)| n != name);
        labels.push((name.clone(), value.clone()));
    }
    labels.sort();
    labels
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_this_process_and_lets_static_labels_win() {
        let rules = LabelRules {
            static_labels: vec![
                ("host".into(), "h1".into()),
                ("comm".into(), "forced".into()),
            ],
            env_labels: vec![],
        };
        let mut labels = ProcessLabels::new(rules);
        let me = std::process::id();
        let got = labels.of(me, "thread").to_vec();
        assert!(got.contains(&("host".into(), "h1".into())), "{got:?}");
        assert!(got.contains(&("comm".into(), "forced".into())), "{got:?}");
        let exe = std::env::current_exe().unwrap();
        let exe = exe.file_name().unwrap().to_string_lossy().into_owned();
        assert!(got.contains(&("exe".into(), exe)), "{got:?}");
        assert!(got.windows(2).all(|w| w[0] <= w[1]), "sorted: {got:?}");
        assert!(
            !got.iter().any(|(n, _)| n == "pid"),
            "pid is never a series label"
        );
    }

    #[test]
    fn a_vanished_process_keeps_its_sampled_name() {
        let mut labels = ProcessLabels::new(LabelRules::default());
        assert_eq!(
            labels.of(u32::MAX, "gone"),
            &[("comm".to_owned(), "gone".to_owned())]
        );
        labels.forget(u32::MAX);
        assert_eq!(labels.pids().count(), 0);
    }
}
