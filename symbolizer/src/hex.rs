//! Hexadecimal text: the addresses of `/proc/PID/maps` and
//! `/proc/kallsyms`, and build ids. One parser and one formatter, so every
//! file that reads or writes hex agrees on what it accepts.

use std::fmt::Write as _;

/// Parses hexadecimal digits (no `0x` prefix, no sign, either case) into a
/// `u64`; `None` when the text is empty, holds anything but hex digits, or
/// does not fit 64 bits.
pub fn parse_hex_u64(text: &str) -> Option<u64> {
    // `from_str_radix` alone would also take a leading `+`.
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u64::from_str_radix(text, 16).ok()
}

/// Lower-case hex of `bytes`, two digits each, as build ids are written.
pub fn hex_bytes(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        // Writing to a String cannot fail.
        let _ = write!(out, "{byte:02x}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_hex_digits_only() {
        assert_eq!(
            parse_hex_u64("ffffffff81000000"),
            Some(0xffff_ffff_8100_0000)
        );
        assert_eq!(parse_hex_u64("0000000000000000"), Some(0));
        assert_eq!(parse_hex_u64("AbC"), Some(0xabc));
        for bad in ["", "+1", "-1", "0x10", "zz", "1 ", "10000000000000000"] {
            assert_eq!(parse_hex_u64(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn formats_two_lower_case_digits_per_byte() {
        assert_eq!(hex_bytes(&[0xab, 0x01, 0x00, 0xff]), "ab0100ff");
        assert_eq!(hex_bytes(&[]), "");
    }
}
