//! The one parser for times and durations in Brasa's interfaces.
//!
//! A time is RFC 3339 (`2026-11-26T10:00:00Z`), unix seconds (`1764151200`,
//! fractions allowed), or relative to now (`now`, `now-1h`, `now-15m`). A
//! duration is humantime syntax (`10s`, `15m`, `1h30m`, `14d`).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Why a time or duration was refused; the message names the accepted forms.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} {input:?}: {reason}")]
pub struct TimeError {
    what: &'static str,
    input: String,
    reason: String,
}

const TIME_FORMS: &str =
    "use RFC 3339 (2026-01-02T15:04:05Z), unix seconds (1767366245) or now-DURATION (now-1h)";

/// Parses a duration such as `10s`, `90m`, `1h30m` or `14d`.
pub fn parse_duration(input: &str) -> Result<Duration, TimeError> {
    humantime::parse_duration(input.trim()).map_err(|e| TimeError {
        what: "invalid duration",
        input: input.to_owned(),
        reason: format!("{e}; use forms like 10s, 15m, 1h30m, 14d"),
    })
}

/// Parses a time relative to `now`; returns unix nanoseconds.
pub fn parse_time(input: &str, now: SystemTime) -> Result<u64, TimeError> {
    let text = input.trim();
    let error = |reason: String| TimeError {
        what: "invalid time",
        input: input.to_owned(),
        reason,
    };
    if text.is_empty() {
        return Err(error(format!("empty; {TIME_FORMS}")));
    }
    if let Some(rest) = text.strip_prefix("now") {
        let now = nanos(now);
        let rest = rest.trim();
        if rest.is_empty() {
            return Ok(now);
        }
        // The sign may be any character: split after it, not after a byte.
        let sign_len = rest.chars().next().map_or(0, char::len_utf8);
        let (sign, duration) = rest.split_at(sign_len);
        let offset = u64::try_from(
            parse_duration(duration)
                .map_err(|e| error(e.reason))?
                .as_nanos(),
        )
        .unwrap_or(u64::MAX);
        return match sign {
            "-" => Ok(now.saturating_sub(offset)),
            "+" => Ok(now.saturating_add(offset)),
            _ => Err(error(format!(
                "expected now-DURATION or now+DURATION; {TIME_FORMS}"
            ))),
        };
    }
    if text.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        let seconds: f64 = text
            .parse()
            .map_err(|_| error(format!("not a number; {TIME_FORMS}")))?;
        return Ok((seconds * 1e9) as u64);
    }
    humantime::parse_rfc3339_weak(text)
        .map(nanos)
        .map_err(|e| error(format!("{e}; {TIME_FORMS}")))
}

/// Unix nanoseconds `nanos` in RFC 3339 (UTC, to the second when whole
/// seconds, else to the nanosecond): how answers and messages show times.
pub fn rfc3339(nanos: u64) -> String {
    let time = UNIX_EPOCH + Duration::from_nanos(nanos);
    if nanos % 1_000_000_000 == 0 {
        humantime::format_rfc3339_seconds(time).to_string()
    } else {
        humantime::format_rfc3339_nanos(time).to_string()
    }
}

/// Unix nanoseconds of `time` (0 before the epoch, saturating far after).
pub fn nanos(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW_S: u64 = 1_764_151_200; // 2025-11-26T10:00:00Z

    fn now() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(NOW_S)
    }

    #[test]
    fn a_multi_byte_character_after_now_is_an_error() {
        // Found by the `time` fuzz target: it used to split inside "µ".
        assert!(parse_time("nowµ", now()).is_err());
        assert!(parse_time("nowµ1s", now()).is_err());
        assert_eq!(parse_time("now+1s", now()), Ok((NOW_S + 1) * 1_000_000_000));
    }

    #[test]
    fn times_are_shown_in_rfc3339() {
        assert_eq!(rfc3339(NOW_S * 1_000_000_000), "2025-11-26T10:00:00Z");
        assert_eq!(rfc3339(1), "1970-01-01T00:00:00.000000001Z");
    }

    #[test]
    fn accepts_every_documented_form() {
        let s = 1_000_000_000;
        assert_eq!(parse_time("now", now()), Ok(NOW_S * s));
        assert_eq!(parse_time("now-1h", now()), Ok((NOW_S - 3600) * s));
        assert_eq!(parse_time("now+90s", now()), Ok((NOW_S + 90) * s));
        assert_eq!(parse_time("1764151200", now()), Ok(NOW_S * s));
        assert_eq!(parse_time("1764151200.5", now()), Ok(NOW_S * s + s / 2));
        assert_eq!(parse_time("2025-11-26T10:00:00Z", now()), Ok(NOW_S * s));
        assert_eq!(
            parse_time("2025-11-26T10:00:00.25Z", now()),
            Ok(NOW_S * s + s / 4)
        );
        assert_eq!(parse_duration("14d"), Ok(Duration::from_secs(14 * 86400)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
    }

    #[test]
    fn errors_say_what_is_accepted() {
        for bad in [
            "",
            "yesterday",
            "now*1h",
            "now-1x",
            "2025-13-01T00:00:00Z",
            "1.2.3",
        ] {
            let err = parse_time(bad, now()).unwrap_err().to_string();
            assert!(err.contains("invalid time"), "{bad}: {err}");
        }
        assert!(parse_time("soon", now())
            .unwrap_err()
            .to_string()
            .contains("RFC 3339"));
        assert!(parse_duration("ten")
            .unwrap_err()
            .to_string()
            .contains("15m"));
    }
}
