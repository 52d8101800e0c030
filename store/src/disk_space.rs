//! Free space on the data directory's filesystem, checked before every
//! write: below a floor, writes are refused with [`Error::DiskFull`]
//! while the store stays healthy, so queries keep answering everything
//! acknowledged and writes resume by themselves once space comes back.
//! The database is never let to run out of space in the middle of a
//! write, which it does not recover from without a restart.

use std::{
    path::PathBuf,
    sync::Mutex,
    time::{Duration, Instant},
};

use crate::{Error, Result};

/// Default free space below which writes are refused.
pub const DEFAULT_MIN_FREE_BYTES: u64 = 64 << 20;
/// How long one reading of the free space is trusted.
const RECHECK: Duration = Duration::from_secs(1);

/// Bytes available to unprivileged writers on the filesystem of `path`.
fn available_bytes(path: &std::path::Path) -> std::io::Result<u64> {
    use std::os::unix::ffi::OsStrExt;
    let mut c_path = path.as_os_str().as_bytes().to_vec();
    c_path.push(0);
    let mut stat = std::mem::MaybeUninit::<libc::statvfs>::uninit();
    // SAFETY: `c_path` is NUL-terminated and `stat` is a valid out pointer.
    let rc = unsafe { libc::statvfs(c_path.as_ptr().cast(), stat.as_mut_ptr()) };
    if rc != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: statvfs succeeded, so it filled `stat`.
    let stat = unsafe { stat.assume_init() };
    Ok(stat.f_bavail.saturating_mul(stat.f_frsize))
}

/// The floor and the last reading.
#[derive(Debug)]
pub(crate) struct FreeSpace {
    path: PathBuf,
    min_free: u64,
    last: Mutex<Option<(Instant, u64)>>,
}

impl FreeSpace {
    pub(crate) fn new(path: PathBuf, min_free: u64) -> Self {
        Self {
            path,
            min_free,
            last: Mutex::new(None),
        }
    }

    /// `Ok` when a write may go ahead.
    pub(crate) fn check(&self) -> Result<()> {
        if self.min_free == 0 {
            return Ok(());
        }
        let now = Instant::now();
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        let available = match *last {
            Some((at, available)) if now.duration_since(at) < RECHECK => available,
            _ => {
                let available = available_bytes(&self.path)?;
                *last = Some((now, available));
                available
            }
        };
        if available < self.min_free {
            return Err(Error::DiskFull {
                available,
                min_free: self.min_free,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_floor_above_the_free_space_refuses_and_zero_disables() {
        let dir = tempfile::tempdir().unwrap();
        let free = available_bytes(dir.path()).unwrap();
        assert!(free > 0);
        let refused = FreeSpace::new(dir.path().to_owned(), u64::MAX).check();
        let message = refused.unwrap_err().to_string();
        assert!(message.contains("free up space"), "{message}");
        assert!(FreeSpace::new(dir.path().to_owned(), 0).check().is_ok());
        assert!(FreeSpace::new(dir.path().to_owned(), 1).check().is_ok());
    }
}
