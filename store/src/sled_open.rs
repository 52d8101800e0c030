//! Opening sled's files so that damage is an error naming the file, never
//! a panic and never a silent default.
//!
//! What sled 0.34 does with a damaged data directory, as measured on
//! stores of 60 to 6,000 profiles (`tests/damage.rs` keeps the cases):
//!
//! - `db`, its log, truncated or garbled: recovery replays the log up to
//!   the first record whose checksum fails and drops the rest without an
//!   error, zeroing it on disk (a store cut to a tenth opened empty); or,
//!   when the tear leaves its page table inconsistent, it panics ("tried
//!   to serialize Uninitialized") inside `Config::open` (seen on stores of
//!   several segments, depending on where their pages lie). Damage in a
//!   segment that later ones superseded is harmless. Brasa catches the
//!   panic (here) and tells a dropped end from a whole log by counting
//!   commits (`crate::commits`).
//! - `conf`, sled's parameters: a line that does not parse is an error, a
//!   failed checksum only a log warning. Brasa checks the checksum itself
//!   ([`check_conf`]) before sled reads the file. A missing or empty
//!   `conf` is rewritten by sled with the defaults, which are the
//!   parameters Brasa always uses, so that is not damage.
//! - `snap.*` (a snapshot of the page table) and `blobs/` (values too large
//!   for the log): sled checks both and fails with `Corruption`. Brasa's
//!   records are small, so neither is written by a store of ordinary size.
//!
//! sled's own errors do not say which file they are about: every one that
//! is not about `conf` (checked first) is reported as damage to `db`.

use std::{
    any::Any,
    cell::Cell,
    panic::{catch_unwind, AssertUnwindSafe},
    path::{Path, PathBuf},
    sync::Once,
};

use crate::{dir_lock, Db, Error, Result};

/// sled's file of parameters.
pub(crate) const CONF_FILE: &str = "conf";
/// sled's log, which holds the data.
pub(crate) const DB_FILE: &str = "db";

/// Opens the sled database in `dir`. Damage to `conf` or `db` is
/// [`Error::Damaged`].
pub(crate) fn open(dir: &Path, cache_bytes: u64) -> Result<Db> {
    check_conf(dir)?;
    let opened = catch_quietly(|| {
        sled::Config::new()
            .path(dir)
            .cache_capacity(cache_bytes)
            .open()
    });
    match opened {
        Ok(Ok(db)) => Ok(db),
        Ok(Err(error)) => Err(database_error(dir, error)),
        Err(panic) => Err(unrecoverable(dir, &panic)),
    }
}

/// The error for sled's failure to open or read `dir`: damage to `db` when
/// sled found its data inconsistent, else what [`dir_lock::open_error`]
/// makes of it.
pub(crate) fn database_error(dir: &Path, error: sled::Error) -> Error {
    match error {
        sled::Error::Corruption { .. } | sled::Error::Unsupported(_) => Error::Damaged {
            path: dir.join(DB_FILE),
            what: "the database's log fails its checksums where the data is needed".to_owned(),
        },
        sled::Error::ReportableBug(bug) => Error::Damaged {
            path: dir.join(DB_FILE),
            what: format!("the database's log is inconsistent ({bug})"),
        },
        error => dir_lock::open_error(dir, error),
    }
}

/// The error for a panic inside sled while it read `dir`.
pub(crate) fn unrecoverable(dir: &Path, panic: &str) -> Error {
    Error::Damaged {
        path: dir.join(DB_FILE),
        what: format!("the database's log cannot be recovered ({panic})"),
    }
}

/// [`Error::Damaged`] naming `db` and `tree` for a record of the tree that
/// does not decode or a page that sled cannot read; other errors as they
/// are.
pub(crate) fn in_tree(dir: &Path, tree: &str, error: Error) -> Error {
    match error {
        Error::Corrupt(what) => Error::Damaged {
            path: dir.join(DB_FILE),
            what: format!("tree {tree}: {what}"),
        },
        Error::Sled(error) => match database_error(dir, error) {
            Error::Damaged { path, what } => Error::Damaged {
                path,
                what: format!("tree {tree}: {what}"),
            },
            other => other,
        },
        other => other,
    }
}

/// Checks the checksum that sled writes after its parameters in `conf`.
pub(crate) fn check_conf(dir: &Path) -> Result<()> {
    let path = dir.join(CONF_FILE);
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::Io(e)),
    };
    conf_problem(&bytes).map_or(Ok(()), |what| Err(damaged(path, what)))
}

/// What is wrong with the bytes of a `conf` file, if anything. Eight bytes
/// or fewer is what sled takes for no file (and rewrites).
pub(crate) fn conf_problem(bytes: &[u8]) -> Option<&'static str> {
    if bytes.len() <= 8 {
        return None;
    }
    let (body, stored) = bytes.split_at(bytes.len() - 4);
    let stored = u32::from_le_bytes(stored.try_into().expect("4 bytes"));
    if crc32(body) != stored {
        return Some("sled's parameters fail their checksum");
    }
    if std::str::from_utf8(body).is_err() {
        return Some("sled's parameters are not text");
    }
    None
}

fn damaged(path: PathBuf, what: &str) -> Error {
    Error::Damaged {
        path,
        what: what.to_owned(),
    }
}

/// CRC-32 (IEEE), the checksum sled puts after `conf`; bitwise, for a file
/// of a few dozen bytes.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

thread_local! {
    /// Whether this thread is inside [`catch_quietly`].
    static QUIET: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f`, turning a panic into `Err` with its message. The panic is not
/// printed: the caller reports it as an error. Panics elsewhere go to the
/// hook that was installed before, as always.
pub(crate) fn catch_quietly<T>(f: impl FnOnce() -> T) -> std::result::Result<T, String> {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !QUIET.with(Cell::get) {
                previous(info);
            }
        }));
    });
    let was_quiet = QUIET.with(|quiet| quiet.replace(true));
    let result = catch_unwind(AssertUnwindSafe(f));
    QUIET.with(|quiet| quiet.set(was_quiet));
    result.map_err(|payload| panic_message(payload.as_ref()))
}

fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(message) = payload.downcast_ref::<&str>() {
        (*message).to_owned()
    } else if let Some(message) = payload.downcast_ref::<String>() {
        message.clone()
    } else {
        "a panic".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_is_ieee() {
        assert_eq!(crc32(b""), 0);
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }

    #[test]
    fn conf_checksums_are_checked() {
        let body = b"segment_size: 524288\nuse_compression: false\nversion: 0.34\n";
        let mut conf = body.to_vec();
        conf.extend_from_slice(&crc32(body).to_le_bytes());
        assert_eq!(conf_problem(&conf), None);
        assert_eq!(conf_problem(&[]), None);
        conf[15] ^= 1;
        assert!(conf_problem(&conf).is_some());
    }

    #[test]
    fn panics_become_errors() {
        assert_eq!(catch_quietly(|| 7), Ok(7));
        let caught = catch_quietly(|| -> u8 { panic!("tried to serialize Uninitialized") });
        assert_eq!(caught, Err("tried to serialize Uninitialized".to_owned()));
        assert!(!QUIET.with(Cell::get));
    }
}
