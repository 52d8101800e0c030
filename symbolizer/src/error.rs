//! Errors of the symbolizer.

use std::path::PathBuf;

use crate::{addr::ElfAddr, Unknown};

/// What went wrong, phrased so the user knows what to do.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A `/proc` or binary file could not be read.
    #[error(
        "cannot read {path} (does the process still exist, and may this user read it? root can)"
    )]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A line of `/proc/PID/maps` or `/proc/kallsyms` did not parse.
    #[error("{path}: line {line} is malformed: {text:?}")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// The offending text.
        text: String,
    },
    /// `/proc/kallsyms` shows only zero addresses.
    #[error("/proc/kallsyms hides kernel addresses: run as root or set kernel.kptr_restrict=0 to symbolize kernel frames")]
    KernelAddressesHidden,
    /// A binary given for unwind tables is not a readable ELF file.
    #[error("{path}: not a readable ELF file; unwind tables are built from the executable or shared object as installed")]
    NotElf {
        /// The file.
        path: PathBuf,
        /// What the ELF parser reported.
        #[source]
        source: object::Error,
    },
    /// Unwind tables exist for x86-64 only so far.
    #[error("{path}: unwind tables support x86-64 binaries only, this one is {arch}; its stacks need frame pointers")]
    UnsupportedArch {
        /// The file.
        path: PathBuf,
        /// The architecture found.
        arch: String,
    },
    /// `.eh_frame` or `.debug_frame` does not parse.
    #[error("{path}: {section} is malformed ({reason}); the binary is truncated or corrupt: reinstall or rebuild it")]
    BadCfi {
        /// The file.
        path: PathBuf,
        /// `.eh_frame` or `.debug_frame`.
        section: &'static str,
        /// What gimli reported.
        reason: String,
    },
    /// Code lies beyond the 32-bit addresses of table rows.
    #[error("{path}: code at {address:#x} lies beyond the 4 GiB that unwind table rows address; its stacks need frame pointers")]
    AddressTooHigh {
        /// The file.
        path: PathBuf,
        /// The first address out of range.
        address: ElfAddr,
    },
}

impl Error {
    /// Why the addresses this error kept from being symbolized are unknown.
    pub fn unknown(&self) -> Unknown {
        match self {
            // Hidden addresses make the list as good as unreadable.
            Error::Io { .. } | Error::KernelAddressesHidden => Unknown::FileUnreadable,
            _ => Unknown::SymbolizationFailed,
        }
    }
}

/// Result with the symbolizer's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

#[cfg(test)]
mod tests {
    use super::*;

    /// Callers print the chain of causes: a message that quoted its source
    /// would show it twice.
    #[test]
    fn messages_do_not_repeat_their_source() {
        let io = || std::io::Error::new(std::io::ErrorKind::NotFound, "no such thing here");
        let not_elf = object::File::parse(&b"not an elf"[..]).unwrap_err();
        let errors = [
            Error::Io {
                path: "/proc/1/maps".into(),
                source: io(),
            },
            Error::NotElf {
                path: "/bin/x".into(),
                source: not_elf,
            },
        ];
        for error in errors {
            let source = std::error::Error::source(&error).expect("has a source");
            let message = error.to_string();
            assert!(
                !message.contains(&source.to_string()),
                "{message:?} repeats {source}"
            );
        }
    }
}
