//! Times (`now-1h`, `2026-01-01T00:00:00Z`, unix seconds) and durations
//! (`1h30m`) as the query parameters `from`, `to` and `step` carry them:
//! parsing never panics, an absolute time does not depend on now, every
//! time reads back from the RFC 3339 form answers show it in, and
//! `now-DURATION` is now minus the duration.

#![no_main]

use std::time::{Duration, UNIX_EPOCH};

use brasa_web::time::{nanos, parse_duration, parse_time, rfc3339};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let now = UNIX_EPOCH + Duration::from_secs(1_767_225_600);
    if let Ok(t) = parse_time(text, now) {
        if !text.trim().starts_with("now") {
            let later = now + Duration::from_secs(3600);
            assert_eq!(
                parse_time(text, later),
                Ok(t),
                "absolute time moved with now"
            );
        }
        assert_eq!(
            parse_time(&rfc3339(t), now),
            Ok(t),
            "shown as {}",
            rfc3339(t)
        );
    }
    if let Ok(d) = parse_duration(text) {
        let offset = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        let ago = parse_time(&format!("now-{}", text.trim()), now);
        assert_eq!(ago, Ok(nanos(now).saturating_sub(offset)));
    }
});
