//! Series labels from a process's own environment (`--label-from-env`).
//!
//! A launcher that sets `APP_VERSION=1.5` for a service lets the agent tell
//! deployments sharing a host apart without any change to the service.

use crate::{Error, Result};

/// One `--label-from-env VAR[=LABEL]` rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvLabel {
    /// Environment variable to read.
    pub var: String,
    /// Series label to put its value in.
    pub label: String,
}

impl std::str::FromStr for EnvLabel {
    type Err = Error;

    /// `APP_VERSION` (label `app_version`) or `APP_VERSION=version`.
    fn from_str(s: &str) -> Result<Self> {
        let (var, label) = match s.split_once('=') {
            Some((var, label)) => (var, label.to_owned()),
            None => (s, s.to_ascii_lowercase()),
        };
        let valid_label = label
            .chars()
            .enumerate()
            .all(|(i, c)| c == '_' || c.is_ascii_alphabetic() || (i > 0 && c.is_ascii_digit()));
        if var.is_empty() || var.contains('\0') || label.is_empty() || !valid_label {
            return Err(Error::InvalidOption(format!(
                "--label-from-env {s:?}: expected VAR or VAR=LABEL, LABEL made of letters, digits and _"
            )));
        }
        Ok(Self {
            var: var.to_owned(),
            label,
        })
    }
}

/// The value of `var` in a NUL-separated environment block (`/proc/PID/environ`).
pub fn lookup<'a>(environ: &'a [u8], var: &str) -> Option<&'a str> {
    environ.split(|&b| b == 0).find_map(|entry| {
        let rest = entry.strip_prefix(var.as_bytes())?.strip_prefix(b"=")?;
        std::str::from_utf8(rest).ok()
    })
}

/// `(label, value)` for each rule whose variable is set in process `pid`.
/// A process that exited, or whose environment cannot be read, yields none.
pub fn labels(pid: u32, rules: &[EnvLabel]) -> Vec<(String, String)> {
    if rules.is_empty() {
        return Vec::new();
    }
    let Ok(environ) = std::fs::read(format!("/proc/{pid}/environ")) else {
        return Vec::new();
    };
    rules
        .iter()
        .filter_map(|rule| {
            let value = lookup(&environ, &rule.var)?;
            (!value.is_empty()).then(|| (rule.label.clone(), value.to_owned()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rules() {
        let rule: EnvLabel = "APP_VERSION".parse().unwrap();
        assert_eq!(rule.label, "app_version");
        let rule: EnvLabel = "APP_VERSION=version".parse().unwrap();
        assert_eq!(
            (rule.var.as_str(), rule.label.as_str()),
            ("APP_VERSION", "version")
        );
        for bad in ["", "=x", "A=", "A=1x", "A=a-b"] {
            assert!(bad.parse::<EnvLabel>().is_err(), "{bad}");
        }
    }

    #[test]
    fn looks_up_exact_names_only() {
        let environ = b"PATH=/bin\0APP_VERSION_OLD=1\0APP_VERSION=1.5\0EMPTY=\0";
        assert_eq!(lookup(environ, "APP_VERSION"), Some("1.5"));
        assert_eq!(lookup(environ, "APP"), None);
        assert_eq!(lookup(environ, "EMPTY"), Some(""));
    }

    #[test]
    fn reads_a_child_process_environment() {
        let mut child = std::process::Command::new("sleep")
            .arg("5")
            .env("BRASA_TEST_VERSION", "9.9")
            .spawn()
            .unwrap();
        let rules = [
            "BRASA_TEST_VERSION=version".parse().unwrap(),
            "UNSET_VAR".parse().unwrap(),
        ];
        // Until the child has exec'd, /proc shows the environment it forked with.
        let mut got = Vec::new();
        for _ in 0..200 {
            got = labels(child.id(), &rules);
            if !got.is_empty() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        child.kill().unwrap();
        child.wait().unwrap();
        assert_eq!(got, vec![("version".to_owned(), "9.9".to_owned())]);
        assert!(labels(u32::MAX, &rules).is_empty());
    }
}
