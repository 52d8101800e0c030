//! Errors of the agent.

use std::path::PathBuf;

/// What went wrong, phrased so the user knows what to do.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The kernel refused to load or attach BPF, or to open perf events.
    #[error("{action} was not permitted: run as root, or grant CAP_BPF and CAP_PERFMON (e.g. `sudo setcap cap_bpf,cap_perfmon+ep $(which brasa)`)")]
    NotPermitted {
        /// What was attempted.
        action: String,
        /// The kernel's answer.
        #[source]
        source: std::io::Error,
    },
    /// A BPF operation failed for another reason.
    #[error("{action} failed")]
    Bpf {
        /// What was attempted.
        action: String,
        /// The libbpf error.
        #[source]
        source: libbpf_rs::Error,
    },
    /// A system call or file operation failed.
    #[error("{action} failed")]
    Io {
        /// What was attempted.
        action: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A file could not be read.
    #[error("cannot read {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// Recorded raw samples did not parse.
    #[error("raw samples, line {line}: {message}")]
    RawFormat {
        /// 1-based line number.
        line: usize,
        /// What is wrong with it.
        message: String,
    },
    /// An option is out of range.
    #[error("invalid option: {0}")]
    InvalidOption(String),
    /// The command to profile could not be started.
    #[error("cannot start {command:?} (is it installed and executable?)")]
    Spawn {
        /// The program.
        command: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    /// Wraps a libbpf error, telling a permission problem apart.
    pub(crate) fn bpf(action: impl Into<String>, source: libbpf_rs::Error) -> Self {
        let action = action.into();
        if matches!(source.kind(), libbpf_rs::ErrorKind::PermissionDenied) {
            return Self::NotPermitted {
                action,
                source: std::io::Error::from_raw_os_error(libc::EPERM),
            };
        }
        Self::Bpf { action, source }
    }

    /// Wraps an OS error, telling a permission problem apart.
    pub(crate) fn os(action: impl Into<String>, source: std::io::Error) -> Self {
        let action = action.into();
        match source.raw_os_error() {
            Some(libc::EPERM | libc::EACCES) => Self::NotPermitted { action, source },
            _ => Self::Io { action, source },
        }
    }
}

/// Result with the agent's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;
