//! CPython 3.11's location table (`co_linetable`, described in CPython's
//! `Objects/locations.md`): the source line of an instruction.
//!
//! Each entry starts with a byte `1CCCCLLL`: code `C` says how the rest
//! is stored, `L + 1` is the number of code units it covers. Codes 0–9
//! keep the line (one byte of columns follows), 10–12 add `C - 10` to it
//! (two column bytes follow), 13 adds a signed varint (no columns), 14
//! adds a signed varint then three varints (end line, columns), and 15
//! has no location. Varints are 6-bit chunks, least significant first,
//! with bit 6 set on every chunk but the last.

/// Code units each entry may cover at most (`L` is three bits).
const MAX_ENTRY_UNITS: u32 = 8;

/// The line of the instruction at `unit` (in 16-bit code units from the
/// first instruction), starting from `first_line` (`co_firstlineno`).
/// `None` when the table has no location for it or is malformed.
pub fn line_of(table: &[u8], first_line: i32, unit: u32) -> Option<i32> {
    let mut reader = Reader {
        bytes: table,
        at: 0,
    };
    let mut line = first_line;
    let mut start = 0u32;
    while let Some(first) = reader.byte() {
        if first & 0x80 == 0 {
            return None;
        }
        let code = (first >> 3) & 0x0f;
        let units = u32::from(first & 7) + 1;
        debug_assert!(units <= MAX_ENTRY_UNITS);
        let located = match code {
            0..=9 => reader.skip(1),
            10..=12 => {
                line += i32::from(code - 10);
                reader.skip(2)
            }
            13 => {
                line = line.checked_add(reader.signed()?)?;
                Some(())
            }
            14 => {
                line = line.checked_add(reader.signed()?)?;
                for _ in 0..3 {
                    reader.unsigned()?;
                }
                Some(())
            }
            _ => None,
        };
        if unit < start + units {
            return located.map(|()| line);
        }
        if code != 15 {
            located?;
        }
        start += units;
    }
    None
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn byte(&mut self) -> Option<u8> {
        let byte = *self.bytes.get(self.at)?;
        self.at += 1;
        Some(byte)
    }

    fn skip(&mut self, count: usize) -> Option<()> {
        (self.at + count <= self.bytes.len()).then(|| self.at += count)
    }

    fn unsigned(&mut self) -> Option<u32> {
        let mut value = 0u32;
        for shift in (0..32).step_by(6) {
            let byte = self.byte()?;
            value |= u32::from(byte & 0x3f) << shift;
            if byte & 0x40 == 0 {
                return Some(value);
            }
        }
        None
    }

    fn signed(&mut self) -> Option<i32> {
        let value = self.unsigned()?;
        let magnitude = i32::try_from(value >> 1).ok()?;
        Some(if value & 1 == 1 {
            -magnitude
        } else {
            magnitude
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Entry byte for `code` covering `units` code units.
    fn entry(code: u8, units: u8) -> u8 {
        0x80 | (code << 3) | (units - 1)
    }

    #[test]
    fn each_entry_form_moves_the_line_as_documented() {
        let table = [
            entry(13, 1),
            2, // no columns: +1 (svarint 2) -> 11
            entry(0, 2),
            5, // short form: line kept -> 11
            entry(11, 1),
            3,
            4, // one-line form: +1 -> 12
            entry(14, 3),
            0x41,
            0x01,
            0,
            1,
            2,            // long form: svarint 0x41 = 65 -> -32 -> -20
            entry(15, 1), // no location
            entry(13, 1),
            0x64,
            0x01, // svarint 100 (chunks 36, then 1 << 6) = +50 -> 30
        ];
        let lines: Vec<_> = (0..10).map(|unit| line_of(&table, 10, unit)).collect();
        assert_eq!(
            lines,
            [
                Some(11),
                Some(11),
                Some(11),
                Some(12),
                Some(-20),
                Some(-20),
                Some(-20),
                None,
                Some(30),
                None
            ]
        );
    }

    #[test]
    fn a_table_without_the_entry_bit_is_malformed() {
        assert_eq!(line_of(&[0x05, 0x00], 1, 0), None);
    }
}
