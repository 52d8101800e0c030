//! The records of a series' symbol table, each a struct with its encoding
//! next to it, and the chunk that persists a batch of them.
//!
//! A record other than a string is a sequence of zigzag varints
//! ([`crate::codec`]) in the order of its struct's fields; a string record
//! is its UTF-8 bytes. Records refer to each other by id within the
//! series: string id 0 is the empty string, and a mapping or function id 0
//! means none.
//!
//! ```text
//! chunk    = (kind tag (u8) · id · length · record bytes)...     (uvarints)
//! function = name · system name · file name · start line
//! mapping  = start · limit · file offset · file name · build id · flags
//! location = mapping · address · (function · line · column)...
//! stack    = location count · location... · (key · str · num · unit)...
//! meta     = type count · (type · unit)... · has period type (0/1) ·
//!            period type · period unit (0 without) · period · default type
//! ```

use crate::{
    codec::{put_int, put_uint, Reader},
    Error, Result,
};

/// Id of a string record; 0 is the empty string.
pub(crate) type StrId = u32;

/// A kind of record: how it is tagged in a chunk, and its encoding.
pub(crate) trait Record: Sized {
    /// The tag of this kind in a chunk.
    const KIND: u8;
    /// Appends the record's bytes.
    fn encode(&self, out: &mut Vec<u8>);
    /// Parses what [`Record::encode`] wrote.
    fn decode(bytes: &[u8]) -> Result<Self>;
}

impl Record for String {
    const KIND: u8 = b's';

    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.as_bytes());
    }

    fn decode(bytes: &[u8]) -> Result<Self> {
        std::str::from_utf8(bytes)
            .map(str::to_owned)
            .map_err(|_| Error::Corrupt("symbol string is not UTF-8".to_owned()))
    }
}

/// A function: pprof's `Function` with its strings interned.
#[derive(Debug, Default, Clone, PartialEq, Eq, Hash)]
pub(crate) struct FunctionRecord {
    pub(crate) name: StrId,
    pub(crate) system_name: StrId,
    pub(crate) filename: StrId,
    pub(crate) start_line: i64,
}

impl Record for FunctionRecord {
    const KIND: u8 = b'f';

    fn encode(&self, out: &mut Vec<u8>) {
        put_str(out, self.name);
        put_str(out, self.system_name);
        put_str(out, self.filename);
        put_int(out, self.start_line);
    }

    fn decode(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader::new(bytes, "function record");
        let record = Self {
            name: r.int_u32("name")?,
            system_name: r.int_u32("system name")?,
            filename: r.int_u32("file name")?,
            start_line: r.int()?,
        };
        r.finish()?;
        Ok(record)
    }
}

/// A mapping: pprof's `Mapping` with its strings interned.
#[derive(Debug, Default, Clone, PartialEq, Eq, Hash)]
pub(crate) struct MappingRecord {
    pub(crate) memory_start: u64,
    pub(crate) memory_limit: u64,
    pub(crate) file_offset: u64,
    pub(crate) filename: StrId,
    pub(crate) build_id: StrId,
    pub(crate) has_functions: bool,
    pub(crate) has_filenames: bool,
    pub(crate) has_line_numbers: bool,
    pub(crate) has_inline_frames: bool,
}

const FLAG_FUNCTIONS: i64 = 1;
const FLAG_FILENAMES: i64 = 2;
const FLAG_LINES: i64 = 4;
const FLAG_INLINES: i64 = 8;

impl Record for MappingRecord {
    const KIND: u8 = b'm';

    fn encode(&self, out: &mut Vec<u8>) {
        // Addresses are stored as the signed integers they cast to.
        put_int(out, self.memory_start as i64);
        put_int(out, self.memory_limit as i64);
        put_int(out, self.file_offset as i64);
        put_str(out, self.filename);
        put_str(out, self.build_id);
        let flags = [
            (self.has_functions, FLAG_FUNCTIONS),
            (self.has_filenames, FLAG_FILENAMES),
            (self.has_line_numbers, FLAG_LINES),
            (self.has_inline_frames, FLAG_INLINES),
        ];
        put_int(
            out,
            flags
                .into_iter()
                .filter(|(set, _)| *set)
                .fold(0, |flags, (_, bit)| flags | bit),
        );
    }

    fn decode(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader::new(bytes, "mapping record");
        let memory_start = r.int()? as u64;
        let memory_limit = r.int()? as u64;
        let file_offset = r.int()? as u64;
        let filename = r.int_u32("file name")?;
        let build_id = r.int_u32("build id")?;
        let flags = r.int()?;
        if flags & !(FLAG_FUNCTIONS | FLAG_FILENAMES | FLAG_LINES | FLAG_INLINES) != 0 {
            return Err(r.corrupt("unknown flags"));
        }
        r.finish()?;
        Ok(Self {
            memory_start,
            memory_limit,
            file_offset,
            filename,
            build_id,
            has_functions: flags & FLAG_FUNCTIONS != 0,
            has_filenames: flags & FLAG_FILENAMES != 0,
            has_line_numbers: flags & FLAG_LINES != 0,
            has_inline_frames: flags & FLAG_INLINES != 0,
        })
    }
}

/// A location: an address in a mapping and its source lines, innermost
/// first.
#[derive(Debug, Default, Clone, PartialEq, Eq, Hash)]
pub(crate) struct LocationRecord {
    /// Mapping id, 0 for none.
    pub(crate) mapping: u32,
    pub(crate) address: u64,
    pub(crate) lines: Vec<LineRecord>,
}

/// One source line of a [`LocationRecord`].
#[derive(Debug, Default, Clone, PartialEq, Eq, Hash)]
pub(crate) struct LineRecord {
    /// Function id.
    pub(crate) function: u32,
    pub(crate) line: i64,
    pub(crate) column: i64,
}

impl Record for LocationRecord {
    const KIND: u8 = b'l';

    fn encode(&self, out: &mut Vec<u8>) {
        put_int(out, i64::from(self.mapping));
        put_int(out, self.address as i64);
        for line in &self.lines {
            put_int(out, i64::from(line.function));
            put_int(out, line.line);
            put_int(out, line.column);
        }
    }

    fn decode(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader::new(bytes, "location record");
        let mapping = r.int_u32("mapping id")?;
        let address = r.int()? as u64;
        let mut lines = Vec::new();
        while !r.is_empty() {
            lines.push(LineRecord {
                function: r.int_u32("function id")?,
                line: r.int()?,
                column: r.int()?,
            });
        }
        Ok(Self {
            mapping,
            address,
            lines,
        })
    }
}

/// A sample's identity: its locations (leaf first) and its labels.
#[derive(Debug, Default, Clone, PartialEq, Eq, Hash)]
pub(crate) struct StackRecord {
    /// Location ids.
    pub(crate) locations: Vec<u32>,
    /// Sorted, so that the same labels in another order are the same stack.
    pub(crate) labels: Vec<LabelRecord>,
}

/// A sample label with its strings interned.
#[derive(Debug, Default, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct LabelRecord {
    pub(crate) key: StrId,
    pub(crate) str: StrId,
    pub(crate) num: i64,
    pub(crate) num_unit: StrId,
}

impl Record for StackRecord {
    const KIND: u8 = b'k';

    fn encode(&self, out: &mut Vec<u8>) {
        put_int(out, self.locations.len() as i64);
        for &location in &self.locations {
            put_int(out, i64::from(location));
        }
        for label in &self.labels {
            put_str(out, label.key);
            put_str(out, label.str);
            put_int(out, label.num);
            put_str(out, label.num_unit);
        }
    }

    fn decode(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader::new(bytes, "stack record");
        let count = r.int()?;
        if !(0..=r.remaining() as i64).contains(&count) {
            return Err(r.corrupt("location count"));
        }
        let locations = (0..count)
            .map(|_| r.int_u32("location id"))
            .collect::<Result<_>>()?;
        let mut labels = Vec::new();
        while !r.is_empty() {
            labels.push(LabelRecord {
                key: r.int_u32("label key")?,
                str: r.int_u32("label string")?,
                num: r.int()?,
                num_unit: r.int_u32("label unit")?,
            });
        }
        Ok(Self { locations, labels })
    }
}

/// What all samples of a profile share: its sample types and period.
#[derive(Debug, Default, Clone, PartialEq, Eq, Hash)]
pub(crate) struct MetaRecord {
    pub(crate) sample_types: Vec<ValueTypeRecord>,
    pub(crate) period_type: Option<ValueTypeRecord>,
    /// Kept as given, even without a period type.
    pub(crate) period: i64,
    pub(crate) default_sample_type: StrId,
}

/// pprof's `ValueType` with its strings interned.
#[derive(Debug, Default, Clone, PartialEq, Eq, Hash)]
pub(crate) struct ValueTypeRecord {
    pub(crate) r#type: StrId,
    pub(crate) unit: StrId,
}

impl Record for MetaRecord {
    const KIND: u8 = b'p';

    fn encode(&self, out: &mut Vec<u8>) {
        put_int(out, self.sample_types.len() as i64);
        for vt in &self.sample_types {
            put_str(out, vt.r#type);
            put_str(out, vt.unit);
        }
        let (has_period_type, period_type) = match &self.period_type {
            Some(pt) => (1, pt.clone()),
            None => (0, ValueTypeRecord::default()),
        };
        put_int(out, has_period_type);
        put_str(out, period_type.r#type);
        put_str(out, period_type.unit);
        put_int(out, self.period);
        put_str(out, self.default_sample_type);
    }

    fn decode(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader::new(bytes, "profile meta record");
        let count = r.int()?;
        if !(0..=r.remaining() as i64).contains(&count) {
            return Err(r.corrupt("sample type count"));
        }
        let value_type = |r: &mut Reader<'_>| -> Result<ValueTypeRecord> {
            Ok(ValueTypeRecord {
                r#type: r.int_u32("type")?,
                unit: r.int_u32("unit")?,
            })
        };
        let sample_types = (0..count)
            .map(|_| value_type(&mut r))
            .collect::<Result<_>>()?;
        let has_period_type = r.int()?;
        let period_type = value_type(&mut r)?;
        let period_type = match has_period_type {
            1 => Some(period_type),
            0 if period_type == ValueTypeRecord::default() => None,
            _ => return Err(r.corrupt("period type")),
        };
        let record = Self {
            sample_types,
            period_type,
            period: r.int()?,
            default_sample_type: r.int_u32("default sample type")?,
        };
        r.finish()?;
        Ok(record)
    }
}

/// Ids are stored as signed integers, like every other field.
fn put_str(out: &mut Vec<u8>, id: StrId) {
    put_int(out, i64::from(id));
}

/// One record of a chunk: its kind, its id, its encoded bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ChunkEntry<'a> {
    /// [`Record::KIND`] of the record.
    pub(crate) kind: u8,
    /// Its id in the series, from 1.
    pub(crate) id: u32,
    /// What [`Record::encode`] wrote.
    pub(crate) bytes: &'a [u8],
}

impl ChunkEntry<'_> {
    /// Appends `record` with `id` to `chunk`.
    pub(crate) fn append<R: Record>(chunk: &mut Vec<u8>, id: u32, record: &R) {
        let mut bytes = Vec::new();
        record.encode(&mut bytes);
        chunk.push(R::KIND);
        put_uint(chunk, u64::from(id));
        put_uint(chunk, bytes.len() as u64);
        chunk.extend_from_slice(&bytes);
    }

    /// Every entry of a chunk that [`Self::append`] wrote, in order.
    pub(crate) fn parse_all(chunk: &[u8]) -> Result<Vec<ChunkEntry<'_>>> {
        let mut r = Reader::new(chunk, "symbol chunk");
        let mut entries = Vec::new();
        while !r.is_empty() {
            let kind = r.byte()?;
            let id = r.uint_u32("symbol id")?;
            let len = r.uint()?;
            let bytes = r.bytes(len)?;
            entries.push(ChunkEntry { kind, id, bytes });
        }
        Ok(entries)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn round_trip<R: Record + PartialEq + std::fmt::Debug>(record: &R) {
        let mut chunk = Vec::new();
        ChunkEntry::append(&mut chunk, 7, record);
        let entries = ChunkEntry::parse_all(&chunk).unwrap();
        assert_eq!(entries.len(), 1);
        assert_eq!((entries[0].kind, entries[0].id), (R::KIND, 7));
        assert_eq!(&R::decode(entries[0].bytes).unwrap(), record);
    }

    fn value_type() -> impl Strategy<Value = ValueTypeRecord> {
        (any::<u32>(), any::<u32>()).prop_map(|(r#type, unit)| ValueTypeRecord { r#type, unit })
    }

    proptest! {
        #[test]
        fn strings_round_trip(s in ".*") {
            round_trip(&s);
        }

        #[test]
        fn functions_round_trip(name: u32, system_name: u32, filename: u32, start_line: i64) {
            round_trip(&FunctionRecord { name, system_name, filename, start_line });
        }

        #[test]
        fn mappings_round_trip(
            range: (u64, u64, u64),
            names: (u32, u32),
            flags: (bool, bool, bool, bool),
        ) {
            round_trip(&MappingRecord {
                memory_start: range.0,
                memory_limit: range.1,
                file_offset: range.2,
                filename: names.0,
                build_id: names.1,
                has_functions: flags.0,
                has_filenames: flags.1,
                has_line_numbers: flags.2,
                has_inline_frames: flags.3,
            });
        }

        #[test]
        fn locations_round_trip(
            mapping: u32,
            address: u64,
            lines in prop::collection::vec(any::<(u32, i64, i64)>(), 0..5),
        ) {
            let lines = lines
                .into_iter()
                .map(|(function, line, column)| LineRecord { function, line, column })
                .collect();
            round_trip(&LocationRecord { mapping, address, lines });
        }

        #[test]
        fn stacks_round_trip(
            locations in prop::collection::vec(any::<u32>(), 0..8),
            labels in prop::collection::vec(any::<(u32, u32, i64, u32)>(), 0..4),
        ) {
            let labels = labels
                .into_iter()
                .map(|(key, str, num, num_unit)| LabelRecord { key, str, num, num_unit })
                .collect();
            round_trip(&StackRecord { locations, labels });
        }

        #[test]
        fn metas_round_trip(
            sample_types in prop::collection::vec(value_type(), 0..4),
            period_type in prop::option::of(value_type()),
            period: i64,
            default_sample_type: u32,
        ) {
            round_trip(&MetaRecord { sample_types, period_type, period, default_sample_type });
        }
    }

    #[test]
    fn malformed_records_are_corrupt() {
        // A function with a negative string id, one field short, one too many.
        assert!(FunctionRecord::decode(&[1, 0, 0, 0]).is_err());
        assert!(FunctionRecord::decode(&[2, 0, 0]).is_err());
        assert!(FunctionRecord::decode(&[2, 0, 0, 0, 0]).is_err());
        // A stack claiming more locations than it holds.
        assert!(StackRecord::decode(&[10, 2]).is_err());
        // A stack whose labels are cut short.
        assert!(StackRecord::decode(&[2, 2, 4, 6]).is_err());
        // Unknown mapping flags; a period type flag of 2.
        assert!(MappingRecord::decode(&[0, 0, 0, 0, 0, 32]).is_err());
        assert!(MetaRecord::decode(&[0, 4, 0, 0, 0, 0]).is_err());
        assert!(String::decode(&[0xff]).is_err());
        assert!(ChunkEntry::parse_all(&[b's', 1, 5, b'a']).is_err());
    }
}
