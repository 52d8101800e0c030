//! Ctrl-C (SIGINT) and SIGTERM as a flag, so a recording stops early and
//! still writes what it has.

use std::sync::atomic::{AtomicBool, Ordering};

use crate::{Error, Result};

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    // Only an atomic store: async-signal-safe.
    INTERRUPTED.store(true, Ordering::SeqCst);
}

/// Installs handlers for SIGINT and SIGTERM and returns the flag they set.
pub fn stop_on_interrupt() -> Result<&'static AtomicBool> {
    for signal in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: `on_signal` is async-signal-safe and lives for the whole
        // program; a zeroed sigaction with a handler is a valid argument.
        let rc = unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(signal, &action, std::ptr::null_mut())
        };
        if rc != 0 {
            return Err(Error::os(
                "installing a signal handler",
                std::io::Error::last_os_error(),
            ));
        }
    }
    Ok(&INTERRUPTED)
}
