//! Quantities in the units people read: `1.23 s`, `450 µs`, `1.5 MiB`,
//! rather than the raw nanoseconds and bytes profiles count in.

/// Time units from the largest down, with their length in nanoseconds.
const TIME_UNITS: [(&str, f64); 6] = [
    ("h", 3.6e12),
    ("min", 6e10),
    ("s", 1e9),
    ("ms", 1e6),
    ("µs", 1e3),
    ("ns", 1.0),
];

/// Byte units from the largest down.
const BYTE_UNITS: [(&str, f64); 5] = [
    ("TiB", (1u64 << 40) as f64),
    ("GiB", (1u64 << 30) as f64),
    ("MiB", (1u64 << 20) as f64),
    ("KiB", 1024.0),
    ("B", 1.0),
];

/// `value` of a pprof `unit` (`nanoseconds`, `bytes`, `count`, …) for
/// people: times and sizes in the largest unit that keeps the number at
/// least 1, with three significant digits; other units as the plain
/// number followed by the unit, counts as the plain number.
pub fn quantity(value: i64, unit: &str) -> String {
    let scale = match unit {
        "nanoseconds" | "nanosecond" | "ns" => Some((&TIME_UNITS[..], 1.0)),
        "microseconds" | "microsecond" | "us" => Some((&TIME_UNITS[..], 1e3)),
        "milliseconds" | "millisecond" | "ms" => Some((&TIME_UNITS[..], 1e6)),
        "seconds" | "second" | "s" => Some((&TIME_UNITS[..], 1e9)),
        "bytes" | "byte" => Some((&BYTE_UNITS[..], 1.0)),
        _ => None,
    };
    let Some((units, base)) = scale else {
        return match unit {
            "count" | "" => value.to_string(),
            other => format!("{value} {other}"),
        };
    };
    let amount = value as f64 * base;
    let (name, size) = units
        .iter()
        .find(|(_, size)| amount.abs() >= *size)
        .unwrap_or(&units[units.len() - 1]);
    format!("{} {name}", three_digits(amount / size))
}

/// `x` with three significant digits, without a trailing `.0`.
fn three_digits(x: f64) -> String {
    let decimals = match x.abs() {
        a if a >= 100.0 || a == a.trunc() => 0,
        a if a >= 10.0 => 1,
        _ => 2,
    };
    let text = format!("{x:.decimals$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_sizes_and_counts() {
        let cases = [
            (1_234_567_890, "nanoseconds", "1.23 s"),
            (450_000, "nanoseconds", "450 µs"),
            (10_000_000, "nanoseconds", "10 ms"),
            (90_000_000_000, "nanoseconds", "1.5 min"),
            (0, "nanoseconds", "0 ns"),
            (-2_500_000, "nanoseconds", "-2.5 ms"),
            (1_572_864, "bytes", "1.5 MiB"),
            (512, "bytes", "512 B"),
            (7, "milliseconds", "7 ms"),
            (1234, "count", "1234"),
            (3, "widgets", "3 widgets"),
        ];
        for (value, unit, expected) in cases {
            assert_eq!(quantity(value, unit), expected, "{value} {unit}");
        }
    }
}
