//! Series labels of a process: `comm` (the process's name, never a
//! thread's), `exe`, `container` or `systemd_unit`, labels from its
//! environment, and the agent's static ones.
//!
//! The pid and the thread's name are deliberately not here: a series per
//! pid would make the series count grow with every restart, one per thread
//! name would split a process (a JVM into `java`, `C1 CompilerThre`, …).
//! They are pprof sample labels instead.

use std::collections::HashMap;

use super::{cgroup, environ::EnvLabel};
use crate::processes::ProcessName;

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

    /// The sorted series labels of `pid`, named `name` (as read with its
    /// snapshot; read now when `None`). `thread` is the sampled thread's
    /// name, the process's `comm` only when the process is gone unnamed.
    pub fn of(
        &mut self,
        pid: u32,
        name: Option<&ProcessName>,
        thread: &str,
    ) -> &[(String, String)] {
        let rules = &self.rules;
        self.cache.entry(pid).or_insert_with(|| {
            let name = name.cloned().or_else(|| ProcessName::read(pid));
            let name = name.unwrap_or_else(|| ProcessName {
                comm: thread.to_owned(),
                exe: None,
            });
            read_labels(pid, name, rules)
        })
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

fn read_labels(pid: u32, name: ProcessName, rules: &LabelRules) -> Vec<(String, String)> {
    let mut labels = vec![("comm".to_owned(), name.comm)];
    if let Some(exe) = name.exe {
        labels.push(("exe".to_owned(), exe));
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
        let got = labels.of(me, None, "thread").to_vec();
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
    fn a_vanished_process_keeps_the_name_read_with_its_snapshot() {
        let mut labels = ProcessLabels::new(LabelRules::default());
        let name = ProcessName {
            comm: "java".into(),
            exe: Some("java".into()),
        };
        assert_eq!(
            labels.of(u32::MAX, Some(&name), "C1 CompilerThre"),
            &[
                ("comm".to_owned(), "java".to_owned()),
                ("exe".to_owned(), "java".to_owned())
            ]
        );
        labels.forget(u32::MAX);
        // Without a snapshot, the sampled thread's name is all there is.
        assert_eq!(
            labels.of(u32::MAX, None, "gone"),
            &[("comm".to_owned(), "gone".to_owned())]
        );
        labels.forget(u32::MAX);
        assert_eq!(labels.pids().count(), 0);
    }
}
