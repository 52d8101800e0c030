//! Helpers shared by the store's tests.

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
