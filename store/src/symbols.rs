//! Per-series symbol tables.
//!
//! Profiles of one series repeat the same strings, functions, mappings,
//! locations and stacks every 10 s. Each is stored once per series, with a
//! small id; a stored profile is then only a list of (stack id, values).
//! That is what makes a sample cost a few bytes on disk and makes merging
//! an hour of profiles a matter of adding integers.
//!
//! Every record is a list of integers (strings aside), persisted (by
//! `tables`) the first time it is seen.

use brasa_profile::{
    builder::{FunctionInfo, MappingInfo},
    pprof::{Label, Line},
    Profile, ProfileBuilder,
};
use prost::encoding::{decode_varint, encode_varint};
use rustc_hash::FxHashMap as HashMap;

use crate::{Error, Result};

/// Record kinds, as stored in keys.
pub(crate) mod kind {
    /// A string.
    pub const STRING: u8 = b's';
    /// `[name, system_name, filename, start_line]`.
    pub const FUNCTION: u8 = b'f';
    /// `[start, limit, offset, filename, build_id, flags]`.
    pub const MAPPING: u8 = b'm';
    /// `[mapping, address, (function, line, column)...]`.
    pub const LOCATION: u8 = b'l';
    /// A sample's identity: `[n, location..., (key, str, num, unit)...]`.
    pub const STACK: u8 = b'k';
    /// Profile-level facts: sample types, period type, period, default type.
    pub const META: u8 = b'p';
}

const FLAG_FUNCTIONS: i64 = 1;
const FLAG_FILENAMES: i64 = 2;
const FLAG_LINES: i64 = 4;
const FLAG_INLINES: i64 = 8;

/// Interns values of one kind; ids start at 1.
#[derive(Debug)]
struct Interner<T> {
    items: Vec<T>,
    ids: HashMap<T, u32>,
}

impl<T> Default for Interner<T> {
    fn default() -> Self {
        Self {
            items: Vec::new(),
            ids: HashMap::default(),
        }
    }
}

impl<T: std::hash::Hash + Eq + Clone + Default> Interner<T> {
    /// The id of `value`, and whether it is new.
    fn intern(&mut self, value: T) -> (u32, bool) {
        if let Some(&id) = self.ids.get(&value) {
            return (id, false);
        }
        self.items.push(value.clone());
        let id = self.items.len() as u32;
        self.ids.insert(value, id);
        (id, true)
    }

    /// Puts a stored record back at its id (loading); gaps stay default.
    fn restore(&mut self, id: u32, value: T) {
        let index = id as usize - 1;
        if self.items.len() <= index {
            self.items.resize(index + 1, T::default());
        }
        self.ids.insert(value.clone(), id);
        self.items[index] = value;
    }

    fn get(&self, id: u32) -> Option<&T> {
        self.items.get((id as usize).wrapping_sub(1))
    }

    fn len(&self) -> usize {
        self.items.len()
    }
}

/// A new record to persist: (kind, id).
pub(crate) type NewRecord = (u8, u32);

/// One series' symbols. See the module docs.
#[derive(Debug, Default)]
pub(crate) struct SymbolTable {
    strings: Interner<String>,
    functions: Interner<Vec<i64>>,
    mappings: Interner<Vec<i64>>,
    locations: Interner<Vec<i64>>,
    stacks: Interner<Vec<i64>>,
    metas: Interner<Vec<i64>>,
}

/// A profile reduced to ids: what a blob stores.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Reduced {
    /// Profile-level record id.
    pub meta: u32,
    /// Collection start, unix ns.
    pub time_nanos: i64,
    /// Collection length.
    pub duration_nanos: i64,
    /// (stack id, one value per sample type), stack ids ascending.
    pub samples: Vec<(u32, Vec<i64>)>,
}

impl SymbolTable {
    /// Restores one persisted record.
    pub(crate) fn restore(&mut self, kind: u8, id: u32, bytes: &[u8]) -> Result<()> {
        if id == 0 {
            return Err(Error::Corrupt("symbol id 0".to_owned()));
        }
        if kind == kind::STRING {
            let s = std::str::from_utf8(bytes)
                .map_err(|_| Error::Corrupt("symbol string is not UTF-8".to_owned()))?;
            self.strings.restore(id, s.to_owned());
            return Ok(());
        }
        let record = decode_ints(bytes)?;
        match kind {
            kind::FUNCTION => self.functions.restore(id, record),
            kind::MAPPING => self.mappings.restore(id, record),
            kind::LOCATION => self.locations.restore(id, record),
            kind::STACK => self.stacks.restore(id, record),
            kind::META => self.metas.restore(id, record),
            _ => return Err(Error::Corrupt(format!("symbol kind {kind}"))),
        }
        Ok(())
    }

    /// The bytes to persist for record (kind, id).
    pub(crate) fn encode(&self, (kind, id): NewRecord) -> Vec<u8> {
        let record = match kind {
            kind::STRING => {
                return self
                    .strings
                    .get(id)
                    .cloned()
                    .unwrap_or_default()
                    .into_bytes()
            }
            kind::FUNCTION => self.functions.get(id),
            kind::MAPPING => self.mappings.get(id),
            kind::LOCATION => self.locations.get(id),
            kind::STACK => self.stacks.get(id),
            _ => self.metas.get(id),
        };
        let mut out = Vec::new();
        for &v in record.map(Vec::as_slice).unwrap_or_default() {
            encode_varint(zigzag(v), &mut out);
        }
        out
    }

    fn string(&mut self, s: &str, new: &mut Vec<NewRecord>) -> i64 {
        if s.is_empty() {
            return 0;
        }
        if let Some(&id) = self.strings.ids.get(s) {
            return id as i64;
        }
        let (id, _) = self.strings.intern(s.to_owned());
        new.push((kind::STRING, id));
        id as i64
    }

    fn record(
        interner: &mut Interner<Vec<i64>>,
        kind: u8,
        record: Vec<i64>,
        new: &mut Vec<NewRecord>,
    ) -> i64 {
        let (id, fresh) = interner.intern(record);
        if fresh {
            new.push((kind, id));
        }
        id as i64
    }

    /// Interns everything `p` (validated) refers to; returns the reduced
    /// profile and appends the records seen for the first time to `new`.
    pub(crate) fn reduce(&mut self, p: &Profile, new: &mut Vec<NewRecord>) -> Reduced {
        let strings: Vec<i64> = p.string_table.iter().map(|s| self.string(s, new)).collect();
        let s = |i: i64| strings.get(i as usize).copied().unwrap_or(0);
        let mut functions = HashMap::default();
        for f in &p.function {
            let record = vec![s(f.name), s(f.system_name), s(f.filename), f.start_line];
            let id = Self::record(&mut self.functions, kind::FUNCTION, record, new);
            functions.insert(f.id, id);
        }
        let mut mappings = HashMap::default();
        for m in &p.mapping {
            let flags = [
                (m.has_functions, FLAG_FUNCTIONS),
                (m.has_filenames, FLAG_FILENAMES),
                (m.has_line_numbers, FLAG_LINES),
                (m.has_inline_frames, FLAG_INLINES),
            ]
            .into_iter()
            .filter(|(set, _)| *set)
            .fold(0, |flags, (_, bit)| flags | bit);
            let record = vec![
                m.memory_start as i64,
                m.memory_limit as i64,
                m.file_offset as i64,
                s(m.filename),
                s(m.build_id),
                flags,
            ];
            let id = Self::record(&mut self.mappings, kind::MAPPING, record, new);
            mappings.insert(m.id, id);
        }
        let mut locations = HashMap::default();
        for l in &p.location {
            let mut record = Vec::with_capacity(2 + 3 * l.line.len());
            record.push(mappings.get(&l.mapping_id).copied().unwrap_or(0));
            record.push(l.address as i64);
            for line in &l.line {
                record.push(functions.get(&line.function_id).copied().unwrap_or(0));
                record.push(line.line);
                record.push(line.column);
            }
            let id = Self::record(&mut self.locations, kind::LOCATION, record, new);
            locations.insert(l.id, id);
        }
        let mut samples: Vec<(u32, Vec<i64>)> = Vec::with_capacity(p.sample.len());
        for sample in &p.sample {
            let mut record =
                Vec::with_capacity(1 + sample.location_id.len() + 4 * sample.label.len());
            record.push(sample.location_id.len() as i64);
            record.extend(
                sample
                    .location_id
                    .iter()
                    .map(|id| locations.get(id).copied().unwrap_or(0)),
            );
            let mut labels: Vec<[i64; 4]> = sample
                .label
                .iter()
                .map(|l| [s(l.key), s(l.str), l.num, s(l.num_unit)])
                .collect();
            labels.sort_unstable();
            record.extend(labels.into_iter().flatten());
            let id = Self::record(&mut self.stacks, kind::STACK, record, new) as u32;
            samples.push((id, sample.value.clone()));
        }
        samples.sort_unstable_by_key(|(id, _)| *id);
        // The same stack twice in one profile: sum, so ids stay unique.
        samples.dedup_by(|later, kept| {
            if later.0 != kept.0 {
                return false;
            }
            for (k, v) in kept.1.iter_mut().zip(&later.1) {
                *k = k.saturating_add(*v);
            }
            true
        });
        let mut meta = vec![p.sample_type.len() as i64];
        for vt in &p.sample_type {
            meta.extend([s(vt.r#type), s(vt.unit)]);
        }
        match &p.period_type {
            Some(pt) => meta.extend([1, s(pt.r#type), s(pt.unit)]),
            None => meta.extend([0, 0, 0]),
        }
        meta.extend([p.period, s(p.default_sample_type)]);
        let meta = Self::record(&mut self.metas, kind::META, meta, new) as u32;
        Reduced {
            meta,
            time_nanos: p.time_nanos,
            duration_nanos: p.duration_nanos,
            samples,
        }
    }

    /// Number of sample types of profiles with `meta`.
    pub(crate) fn sample_type_count(&self, meta: u32) -> usize {
        self.metas
            .get(meta)
            .and_then(|m| m.first())
            .map_or(0, |&n| n.max(0) as usize)
    }

    /// Number of stacks so far (the largest stack id).
    pub(crate) fn stack_count(&self) -> usize {
        self.stacks.len()
    }

    fn str(&self, id: i64) -> &str {
        u32::try_from(id)
            .ok()
            .and_then(|id| self.strings.get(id))
            .map_or("", String::as_str)
    }

    /// Rebuilds a pprof profile: `sums[(stack - 1) * types + t]` is the value
    /// of sample type `t` for stack id `stack`; zero rows are left out.
    pub(crate) fn build(
        &self,
        meta: u32,
        sums: &[i64],
        time_nanos: i64,
        duration_nanos: i64,
    ) -> Profile {
        let record = self.metas.get(meta).cloned().unwrap_or_default();
        let types = record.first().map_or(0, |&n| n.max(0) as usize);
        let field = |i: usize| record.get(i).copied().unwrap_or(0);
        let pairs: Vec<(&str, &str)> = (0..types)
            .map(|t| (self.str(field(1 + 2 * t)), self.str(field(2 + 2 * t))))
            .collect();
        let mut builder = ProfileBuilder::new(&pairs);
        let rest = 1 + 2 * types;
        if field(rest) == 1 {
            builder.set_period(
                self.str(field(rest + 1)),
                self.str(field(rest + 2)),
                field(rest + 3),
            );
        }
        let default = self.str(field(rest + 4));
        if !default.is_empty() {
            builder.set_default_sample_type(default);
        }
        builder.set_time(time_nanos, duration_nanos);
        let mut rebuilt = Rebuilt::default();
        let mut locations = Vec::new();
        let mut labels = Vec::new();
        for (index, values) in sums.chunks(types.max(1)).enumerate() {
            if types == 0 || values.iter().all(|&v| v == 0) {
                continue;
            }
            let Some(stack) = self.stacks.get(index as u32 + 1) else {
                continue;
            };
            let n = stack
                .first()
                .map_or(0, |&n| n.max(0) as usize)
                .min(stack.len() - 1);
            locations.clear();
            for &loc in &stack[1..1 + n] {
                locations.push(rebuilt.location(self, &mut builder, loc));
            }
            labels.clear();
            for l in stack[1 + n..].chunks_exact(4) {
                labels.push(Label {
                    key: builder.string(self.str(l[0])),
                    str: builder.string(self.str(l[1])),
                    num: l[2],
                    num_unit: builder.string(self.str(l[3])),
                });
            }
            builder.add_sample(&locations, values, &labels);
        }
        builder.build()
    }
}

/// Ids in a profile being rebuilt, by series id.
#[derive(Default)]
struct Rebuilt {
    locations: HashMap<i64, u64>,
    functions: HashMap<i64, u64>,
    mappings: HashMap<i64, u64>,
}

impl Rebuilt {
    fn location(&mut self, table: &SymbolTable, builder: &mut ProfileBuilder, id: i64) -> u64 {
        if let Some(&built) = self.locations.get(&id) {
            return built;
        }
        let record = table.locations.get(id as u32).cloned().unwrap_or_default();
        let mapping = match record.first().copied().unwrap_or(0) {
            0 => 0,
            m => self.mapping(table, builder, m),
        };
        let address = record.get(1).copied().unwrap_or(0) as u64;
        let lines: Vec<Line> = record
            .get(2..)
            .unwrap_or_default()
            .chunks_exact(3)
            .map(|l| Line {
                function_id: self.function(table, builder, l[0]),
                line: l[1],
                column: l[2],
            })
            .collect();
        let built = builder.location(mapping, address, &lines);
        self.locations.insert(id, built);
        built
    }

    fn function(&mut self, table: &SymbolTable, builder: &mut ProfileBuilder, id: i64) -> u64 {
        if let Some(&built) = self.functions.get(&id) {
            return built;
        }
        let r = table.functions.get(id as u32).cloned().unwrap_or_default();
        let f = |i: usize| r.get(i).copied().unwrap_or(0);
        let built = builder.function(FunctionInfo {
            name: table.str(f(0)),
            system_name: table.str(f(1)),
            filename: table.str(f(2)),
            start_line: f(3),
        });
        self.functions.insert(id, built);
        built
    }

    fn mapping(&mut self, table: &SymbolTable, builder: &mut ProfileBuilder, id: i64) -> u64 {
        if let Some(&built) = self.mappings.get(&id) {
            return built;
        }
        let r = table.mappings.get(id as u32).cloned().unwrap_or_default();
        let f = |i: usize| r.get(i).copied().unwrap_or(0);
        let built = builder.mapping(MappingInfo {
            memory_start: f(0) as u64,
            memory_limit: f(1) as u64,
            file_offset: f(2) as u64,
            filename: table.str(f(3)),
            build_id: table.str(f(4)),
            has_functions: f(5) & FLAG_FUNCTIONS != 0,
            has_filenames: f(5) & FLAG_FILENAMES != 0,
            has_line_numbers: f(5) & FLAG_LINES != 0,
            has_inline_frames: f(5) & FLAG_INLINES != 0,
        });
        self.mappings.insert(id, built);
        built
    }
}

/// Zigzag encoding: small negative numbers stay small varints.
pub(crate) fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

/// Inverse of [`zigzag`].
pub(crate) fn unzigzag(z: u64) -> i64 {
    (z >> 1) as i64 ^ -((z & 1) as i64)
}

fn decode_ints(mut bytes: &[u8]) -> Result<Vec<i64>> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let z =
            decode_varint(&mut bytes).map_err(|_| Error::Corrupt("symbol record".to_owned()))?;
        out.push(unzigzag(z));
    }
    Ok(out)
}
