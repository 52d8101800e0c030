//! Telling a data directory that another process holds from other
//! failures to open it.
//!
//! sled locks its `db` file with `flock` and, when the lock is taken,
//! fails with an I/O error whose kind is `Other` and whose message embeds
//! the `WouldBlock` it got: there is nothing typed to match, so the
//! message is recognised here, in one place (a test opens a directory
//! twice and fails if sled's wording changes). The holder's pid comes
//! from `/proc/locks`, where Linux lists every `flock` with the device and
//! inode it is on.

use std::path::Path;

use crate::Error;

/// How sled 0.34 starts the message of a failed lock.
const SLED_LOCK_FAILED: &str = "could not acquire lock on";
/// The name of sled's data file, the one it locks.
const SLED_DB_FILE: &str = "db";

/// The store error for sled's failure to open the directory at `path`:
/// [`Error::Locked`] when another process holds it.
pub(crate) fn open_error(path: &Path, error: sled::Error) -> Error {
    match &error {
        sled::Error::Io(io) if is_lock_failure(io) => Error::Locked {
            path: path.to_owned(),
            pid: holder_pid(&path.join(SLED_DB_FILE)),
        },
        _ => Error::Sled(error),
    }
}

fn is_lock_failure(io: &std::io::Error) -> bool {
    let message = io.to_string();
    io.kind() == std::io::ErrorKind::Other
        && message.starts_with(SLED_LOCK_FAILED)
        && message.contains("WouldBlock")
}

/// The pid holding a `flock` on `file`, when `/proc/locks` names exactly
/// one.
#[cfg(target_os = "linux")]
pub(crate) fn holder_pid(file: &Path) -> Option<u32> {
    use std::os::unix::fs::MetadataExt;

    let metadata = std::fs::metadata(file).ok()?;
    let (major, minor) = device_numbers(metadata.dev());
    // The kernel prints the device as `%02x:%02x` and the inode in decimal.
    let id = format!("{major:02x}:{minor:02x}:{}", metadata.ino());
    let locks = std::fs::read_to_string("/proc/locks").ok()?;
    let mut holders = locks.lines().filter_map(|line| {
        // `1: FLOCK  ADVISORY  WRITE 1234 fe:00:10010785 0 EOF`; a process
        // waiting for the lock has `->` before `FLOCK` and is skipped.
        match line.split_whitespace().collect::<Vec<_>>()[..] {
            [_, "FLOCK", _, _, pid, lock_id, ..] if lock_id == id => pid.parse().ok(),
            _ => None,
        }
    });
    let pid = holders.next()?;
    holders.next().is_none().then_some(pid)
}

#[cfg(not(target_os = "linux"))]
pub(crate) fn holder_pid(_file: &Path) -> Option<u32> {
    None
}

/// (major, minor) of a Linux `dev_t`, as glibc's `major` and `minor` split it.
#[cfg(target_os = "linux")]
fn device_numbers(dev: u64) -> (u64, u64) {
    let major = ((dev >> 32) & 0xffff_f000) | ((dev >> 8) & 0x0000_0fff);
    let minor = ((dev >> 12) & 0xffff_ff00) | (dev & 0x0000_00ff);
    (major, minor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_sleds_lock_failure_is_a_locked_directory() {
        let path = Path::new("/data");
        let locked = sled::Error::Io(std::io::Error::other(
            "could not acquire lock on \"/data/db\": Os { code: 11, kind: WouldBlock, \
             message: \"Resource temporarily unavailable\" }",
        ));
        assert!(matches!(open_error(path, locked), Error::Locked { .. }));
        let denied = sled::Error::Io(std::io::Error::from(std::io::ErrorKind::PermissionDenied));
        assert!(matches!(open_error(path, denied), Error::Sled(_)));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn device_numbers_split_like_glibc() {
        // makedev(254, 0) and makedev(259, 65537).
        assert_eq!(device_numbers(0xfe00), (254, 0));
        assert_eq!(device_numbers(0x1001_0301), (259, 65537));
    }
}
