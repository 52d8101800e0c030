//! The integer encoding every stored record is made of: LEB128 varints,
//! signed values zigzag-encoded first so that small negative numbers stay
//! short, and a reader that turns a short or malformed record into
//! [`Error::Corrupt`] naming the record.

use prost::encoding::{decode_varint, encode_varint};

use crate::{Error, Result};

/// Zigzag encoding: small negative numbers stay small varints.
fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

/// Inverse of [`zigzag`].
fn unzigzag(z: u64) -> i64 {
    (z >> 1) as i64 ^ -((z & 1) as i64)
}

/// Appends an unsigned varint.
pub(crate) fn put_uint(out: &mut Vec<u8>, v: u64) {
    encode_varint(v, out);
}

/// Appends a signed value as a zigzag varint.
pub(crate) fn put_int(out: &mut Vec<u8>, v: i64) {
    encode_varint(zigzag(v), out);
}

/// Reads back what [`put_uint`] and [`put_int`] wrote.
pub(crate) struct Reader<'a> {
    bytes: &'a [u8],
    /// The kind of record being read, for error messages.
    what: &'static str,
}

impl<'a> Reader<'a> {
    /// A reader over `bytes`, a record of kind `what`.
    pub(crate) fn new(bytes: &'a [u8], what: &'static str) -> Self {
        Self { bytes, what }
    }

    /// An error about this record.
    pub(crate) fn corrupt(&self, detail: &str) -> Error {
        Error::Corrupt(format!("{}: {detail}", self.what))
    }

    /// The next unsigned varint.
    pub(crate) fn uint(&mut self) -> Result<u64> {
        decode_varint(&mut self.bytes).map_err(|_| self.corrupt("truncated varint"))
    }

    /// The next zigzag varint.
    pub(crate) fn int(&mut self) -> Result<i64> {
        self.uint().map(unzigzag)
    }

    /// The next unsigned varint, which must fit in a `u32`.
    pub(crate) fn uint_u32(&mut self, field: &str) -> Result<u32> {
        let v = self.uint()?;
        u32::try_from(v).map_err(|_| self.corrupt(&format!("{field} {v} out of range")))
    }

    /// The next zigzag varint, which must fit in a `u32` (symbol records
    /// store their ids as signed integers).
    pub(crate) fn int_u32(&mut self, field: &str) -> Result<u32> {
        let v = self.int()?;
        u32::try_from(v).map_err(|_| self.corrupt(&format!("{field} {v} out of range")))
    }

    /// The next `len` bytes.
    pub(crate) fn bytes(&mut self, len: u64) -> Result<&'a [u8]> {
        let len = usize::try_from(len)
            .ok()
            .filter(|&len| len <= self.bytes.len())
            .ok_or_else(|| self.corrupt("length past the end"))?;
        let (head, rest) = self.bytes.split_at(len);
        self.bytes = rest;
        Ok(head)
    }

    /// The next byte.
    pub(crate) fn byte(&mut self) -> Result<u8> {
        Ok(self.bytes(1)?[0])
    }

    /// Whether everything has been read.
    pub(crate) fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// How many bytes are left.
    pub(crate) fn remaining(&self) -> usize {
        self.bytes.len()
    }

    /// Everything not read yet.
    pub(crate) fn rest(self) -> &'a [u8] {
        self.bytes
    }

    /// Fails unless everything has been read: a record never has a tail.
    pub(crate) fn finish(self) -> Result<()> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(self.corrupt("trailing bytes"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zigzag_round_trips_the_extremes() {
        for v in [0, 1, -1, 63, -64, i64::MAX, i64::MIN] {
            assert_eq!(unzigzag(zigzag(v)), v);
        }
        assert_eq!(zigzag(-1), 1);
        assert_eq!(zigzag(1), 2);
    }

    #[test]
    fn a_short_record_is_corrupt() {
        let mut out = Vec::new();
        put_int(&mut out, -300);
        put_uint(&mut out, u64::from(u32::MAX) + 1);
        let mut r = Reader::new(&out, "test record");
        assert_eq!(r.int().unwrap(), -300);
        let err = r.uint_u32("id").unwrap_err().to_string();
        assert!(
            err.contains("test record: id 4294967296 out of range"),
            "{err}"
        );
        assert!(r.is_empty());
        assert!(r.uint().is_err());
        assert!(Reader::new(&[1, 2], "x").bytes(3).is_err());
        assert!(Reader::new(&[1], "x").finish().is_err());
    }
}
