//! Helpers shared by the store's tests.

// Each test crate uses some of them.
#![allow(dead_code)]

use std::time::{Duration, Instant};

/// How long a test waits for a data directory it has just closed: sled's
/// background threads finish their last writes, and release the
/// directory's lock, a moment after the last handle is dropped.
const RELEASE_WAIT: Duration = Duration::from_secs(10);

/// Runs `open` until it no longer fails with an error that `locked`
/// recognises, for at most [`RELEASE_WAIT`], and returns what it opened.
pub fn once_released<T, E: std::fmt::Debug>(
    mut open: impl FnMut() -> Result<T, E>,
    locked: impl Fn(&E) -> bool,
) -> T {
    let deadline = Instant::now() + RELEASE_WAIT;
    loop {
        match open() {
            Err(e) if locked(&e) && Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(10));
            }
            result => return result.unwrap(),
        }
    }
}

/// Waits until no process holds `dir/db` locked (sled's background
/// threads let go a moment after the last handle is dropped), for at most
/// [`RELEASE_WAIT`], so that its files can be read or changed whole.
pub fn wait_released(dir: &std::path::Path) {
    use std::os::unix::io::AsRawFd;

    let file = std::fs::File::open(dir.join("db")).unwrap();
    let deadline = Instant::now() + RELEASE_WAIT;
    // SAFETY: flock on a descriptor owned here; closing it releases the lock.
    while unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
        assert!(Instant::now() < deadline, "{} stays locked", dir.display());
        std::thread::sleep(Duration::from_millis(10));
    }
}
