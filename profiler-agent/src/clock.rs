//! Wall-clock time as profiles carry it.

use std::time::{SystemTime, UNIX_EPOCH};

/// Nanoseconds since the Unix epoch now; 0 on a clock set before 1970.
pub fn unix_nanos() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}
