//! Per-series symbol tables.
//!
//! Profiles of one series repeat the same strings, functions, mappings,
//! locations and stacks every 10 s. Each is stored once per series, with a
//! small id; a stored profile is then only a list of (stack id, values).
//! That is what makes a sample cost a few bytes on disk and makes merging
//! an hour of profiles a matter of adding integers.
//!
//! The records and their encoding are [`crate::records`]'; this module
//! turns profiles into records ([`SymbolTable::reduce`]) and back
//! ([`SymbolTable::build`]). New records are persisted by `tables` the
//! first time they are seen.

use brasa_profile::{
    builder::{FunctionInfo, MappingInfo},
    pprof::{Label, Line, Mapping, ValueType},
    Profile, ProfileBuilder,
};
use rustc_hash::FxHashMap as HashMap;

use crate::{
    blob::{Reduced, ReducedSample},
    matcher::Matcher,
    records::{
        ChunkEntry, FunctionRecord, LabelRecord, LineRecord, LocationRecord, MappingRecord,
        MetaRecord, Record, StackRecord, StrId, ValueTypeRecord,
    },
    sample_labels::label_value,
    Error, Result,
};

/// Interns records of one kind; ids start at 1.
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

impl<T: Record + std::hash::Hash + Eq + Clone + Default> Interner<T> {
    /// The id of `value`, recording it in `new` when it is seen for the
    /// first time.
    fn intern(&mut self, value: T, new: &mut Vec<NewRecord>) -> u32 {
        if let Some(&id) = self.ids.get(&value) {
            return id;
        }
        self.items.push(value.clone());
        let id = self.items.len() as u32;
        self.ids.insert(value, id);
        new.push(NewRecord { kind: T::KIND, id });
        id
    }

    /// Puts a stored record back at its id (loading); gaps stay default.
    fn restore(&mut self, id: u32, bytes: &[u8]) -> Result<()> {
        let value = T::decode(bytes)?;
        let index = id as usize - 1;
        if self.items.len() <= index {
            self.items.resize(index + 1, T::default());
        }
        self.ids.insert(value.clone(), id);
        self.items[index] = value;
        Ok(())
    }

    fn get(&self, id: u32) -> Option<&T> {
        self.items.get((id as usize).wrapping_sub(1))
    }

    fn append(&self, chunk: &mut Vec<u8>, id: u32) {
        let default = T::default();
        ChunkEntry::append(chunk, id, self.get(id).unwrap_or(&default));
    }

    fn len(&self) -> usize {
        self.items.len()
    }
}

/// A record that [`SymbolTable::reduce`] saw for the first time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct NewRecord {
    /// [`Record::KIND`] of its kind.
    kind: u8,
    /// Its id.
    id: u32,
}

/// One series' symbols. See the module docs.
#[derive(Debug, Default)]
pub(crate) struct SymbolTable {
    strings: Interner<String>,
    functions: Interner<FunctionRecord>,
    mappings: Interner<MappingRecord>,
    locations: Interner<LocationRecord>,
    stacks: Interner<StackRecord>,
    metas: Interner<MetaRecord>,
}

impl SymbolTable {
    /// Restores the records of a chunk that [`Self::chunk`] wrote.
    pub(crate) fn restore_chunk(&mut self, chunk: &[u8]) -> Result<()> {
        for entry in ChunkEntry::parse_all(chunk)? {
            let ChunkEntry { kind, id, bytes } = entry;
            if id == 0 {
                return Err(Error::Corrupt("symbol id 0".to_owned()));
            }
            match kind {
                String::KIND => self.strings.restore(id, bytes)?,
                FunctionRecord::KIND => self.functions.restore(id, bytes)?,
                MappingRecord::KIND => self.mappings.restore(id, bytes)?,
                LocationRecord::KIND => self.locations.restore(id, bytes)?,
                StackRecord::KIND => self.stacks.restore(id, bytes)?,
                MetaRecord::KIND => self.metas.restore(id, bytes)?,
                _ => return Err(Error::Corrupt(format!("symbol kind {kind}"))),
            }
        }
        Ok(())
    }

    /// The chunk that persists `new` records, in order.
    pub(crate) fn chunk(&self, new: &[NewRecord]) -> Vec<u8> {
        let mut chunk = Vec::new();
        for &NewRecord { kind, id } in new {
            match kind {
                String::KIND => self.strings.append(&mut chunk, id),
                FunctionRecord::KIND => self.functions.append(&mut chunk, id),
                MappingRecord::KIND => self.mappings.append(&mut chunk, id),
                LocationRecord::KIND => self.locations.append(&mut chunk, id),
                StackRecord::KIND => self.stacks.append(&mut chunk, id),
                _ => self.metas.append(&mut chunk, id),
            }
        }
        chunk
    }

    fn string(&mut self, s: &str, new: &mut Vec<NewRecord>) -> StrId {
        if s.is_empty() {
            return 0;
        }
        if let Some(&id) = self.strings.ids.get(s) {
            return id;
        }
        self.strings.intern(s.to_owned(), new)
    }

    /// Interns everything `p` (validated) refers to; returns the reduced
    /// profile and appends the records seen for the first time to `new`.
    pub(crate) fn reduce(&mut self, p: &Profile, new: &mut Vec<NewRecord>) -> Reduced {
        let strings: Vec<StrId> = p.string_table.iter().map(|s| self.string(s, new)).collect();
        let s = |i: i64| strings.get(i as usize).copied().unwrap_or(0);
        let mut functions = HashMap::default();
        for f in &p.function {
            let record = FunctionRecord {
                name: s(f.name),
                system_name: s(f.system_name),
                filename: s(f.filename),
                start_line: f.start_line,
            };
            functions.insert(f.id, self.functions.intern(record, new));
        }
        let mut mappings = HashMap::default();
        for m in &p.mapping {
            let record = mapping_record(m, s);
            mappings.insert(m.id, self.mappings.intern(record, new));
        }
        let mut locations = HashMap::default();
        for l in &p.location {
            let record = LocationRecord {
                mapping: mappings.get(&l.mapping_id).copied().unwrap_or(0),
                address: l.address,
                lines: l
                    .line
                    .iter()
                    .map(|line| LineRecord {
                        function: functions.get(&line.function_id).copied().unwrap_or(0),
                        line: line.line,
                        column: line.column,
                    })
                    .collect(),
            };
            locations.insert(l.id, self.locations.intern(record, new));
        }
        let mut samples: Vec<ReducedSample> = Vec::with_capacity(p.sample.len());
        for sample in &p.sample {
            let mut labels: Vec<LabelRecord> = sample
                .label
                .iter()
                .map(|l| LabelRecord {
                    key: s(l.key),
                    str: s(l.str),
                    num: l.num,
                    num_unit: s(l.num_unit),
                })
                .collect();
            labels.sort_unstable();
            let record = StackRecord {
                locations: sample
                    .location_id
                    .iter()
                    .map(|id| locations.get(id).copied().unwrap_or(0))
                    .collect(),
                labels,
            };
            samples.push(ReducedSample {
                stack: self.stacks.intern(record, new),
                values: sample.value.clone(),
            });
        }
        samples.sort_unstable_by_key(|s| s.stack);
        // The same stack twice in one profile: sum, so ids stay unique.
        samples.dedup_by(|later, kept| {
            if later.stack != kept.stack {
                return false;
            }
            for (k, v) in kept.values.iter_mut().zip(&later.values) {
                *k = k.saturating_add(*v);
            }
            true
        });
        let value_type = |vt: &ValueType| ValueTypeRecord {
            r#type: s(vt.r#type),
            unit: s(vt.unit),
        };
        let meta = MetaRecord {
            sample_types: p.sample_type.iter().map(value_type).collect(),
            period_type: p.period_type.as_ref().map(value_type),
            period: p.period,
            default_sample_type: s(p.default_sample_type),
        };
        Reduced {
            meta: self.metas.intern(meta, new),
            time_nanos: p.time_nanos,
            duration_nanos: p.duration_nanos,
            samples,
        }
    }

    /// Number of sample types of profiles with `meta`.
    pub(crate) fn sample_type_count(&self, meta: u32) -> usize {
        self.metas.get(meta).map_or(0, |m| m.sample_types.len())
    }

    /// Which stacks `matchers` accept, by stack id - 1: each matcher
    /// compares the value of the stack's sample label of its name (`""`
    /// when the stack has none).
    pub(crate) fn stack_filter(&self, matchers: &[Matcher]) -> Vec<bool> {
        self.stacks
            .items
            .iter()
            .map(|stack| {
                matchers
                    .iter()
                    .all(|m| m.matches_value(&self.stack_label(stack, &m.name)))
            })
            .collect()
    }

    /// The value of sample label `name` on every stack, by stack id - 1.
    pub(crate) fn stack_labels(&self, name: &str) -> Vec<String> {
        self.stacks
            .items
            .iter()
            .map(|stack| self.stack_label(stack, name))
            .collect()
    }

    /// The value of sample label `name` on `stack`, `""` without one.
    fn stack_label(&self, stack: &StackRecord, name: &str) -> String {
        stack
            .labels
            .iter()
            .find(|l| self.str(l.key) == name)
            .map(|l| label_value(self.str(l.str), l.num))
            .unwrap_or_default()
    }

    /// Number of stacks so far (the largest stack id).
    pub(crate) fn stack_count(&self) -> usize {
        self.stacks.len()
    }

    fn str(&self, id: StrId) -> &str {
        self.strings.get(id).map_or("", String::as_str)
    }

    /// Rebuilds the profile that `reduced` (reduced in this table) stands
    /// for.
    pub(crate) fn build_reduced(&self, reduced: &Reduced) -> Profile {
        let types = self.sample_type_count(reduced.meta);
        let mut sums = vec![0i64; self.stack_count() * types];
        for sample in &reduced.samples {
            let start = (sample.stack as usize)
                .wrapping_sub(1)
                .saturating_mul(types);
            if let Some(row) = sums.get_mut(start..start + types) {
                for (sum, v) in row.iter_mut().zip(&sample.values) {
                    *sum = *v;
                }
            }
        }
        self.build(
            reduced.meta,
            &sums,
            reduced.time_nanos,
            reduced.duration_nanos,
        )
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
        let meta = self.metas.get(meta).cloned().unwrap_or_default();
        let default = self.str(meta.default_sample_type).to_owned();
        self.rebuild(
            &meta,
            &meta.sample_types,
            &default,
            sums,
            (time_nanos, duration_nanos),
        )
    }

    /// Rebuilds a pprof profile with the one sample type at `column` of
    /// `meta`: `sums[stack - 1]` is the value for stack id `stack`.
    pub(crate) fn build_column(
        &self,
        meta: u32,
        column: usize,
        sums: &[i64],
        time_nanos: i64,
        duration_nanos: i64,
    ) -> Profile {
        let meta = self.metas.get(meta).cloned().unwrap_or_default();
        let one: Vec<ValueTypeRecord> =
            meta.sample_types.get(column).cloned().into_iter().collect();
        self.rebuild(&meta, &one, "", sums, (time_nanos, duration_nanos))
    }

    /// The profile of `sample_types` (each row of `sums` holds one value
    /// per type) with `meta`'s period.
    fn rebuild(
        &self,
        meta: &MetaRecord,
        sample_types: &[ValueTypeRecord],
        default: &str,
        sums: &[i64],
        (time_nanos, duration_nanos): (i64, i64),
    ) -> Profile {
        let types = sample_types.len();
        let pairs: Vec<(&str, &str)> = sample_types
            .iter()
            .map(|vt| (self.str(vt.r#type), self.str(vt.unit)))
            .collect();
        let mut builder = ProfileBuilder::new(&pairs);
        if let Some(pt) = &meta.period_type {
            builder.set_period(self.str(pt.r#type), self.str(pt.unit), meta.period);
        }
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
            locations.clear();
            for &loc in &stack.locations {
                locations.push(rebuilt.location(self, &mut builder, loc));
            }
            labels.clear();
            for l in &stack.labels {
                labels.push(Label {
                    key: builder.string(self.str(l.key)),
                    str: builder.string(self.str(l.str)),
                    num: l.num,
                    num_unit: builder.string(self.str(l.num_unit)),
                });
            }
            builder.add_sample(&locations, values, &labels);
        }
        builder.build()
    }
}

fn mapping_record(m: &Mapping, s: impl Fn(i64) -> StrId) -> MappingRecord {
    MappingRecord {
        memory_start: m.memory_start,
        memory_limit: m.memory_limit,
        file_offset: m.file_offset,
        filename: s(m.filename),
        build_id: s(m.build_id),
        has_functions: m.has_functions,
        has_filenames: m.has_filenames,
        has_line_numbers: m.has_line_numbers,
        has_inline_frames: m.has_inline_frames,
    }
}

/// Ids in a profile being rebuilt, by series id.
#[derive(Default)]
struct Rebuilt {
    locations: HashMap<u32, u64>,
    functions: HashMap<u32, u64>,
    mappings: HashMap<u32, u64>,
}

impl Rebuilt {
    fn location(&mut self, table: &SymbolTable, builder: &mut ProfileBuilder, id: u32) -> u64 {
        if let Some(&built) = self.locations.get(&id) {
            return built;
        }
        let record = table.locations.get(id).cloned().unwrap_or_default();
        let mapping = match record.mapping {
            0 => 0,
            m => self.mapping(table, builder, m),
        };
        let lines: Vec<Line> = record
            .lines
            .iter()
            .map(|l| Line {
                function_id: self.function(table, builder, l.function),
                line: l.line,
                column: l.column,
            })
            .collect();
        let built = builder.location(mapping, record.address, &lines);
        self.locations.insert(id, built);
        built
    }

    fn function(&mut self, table: &SymbolTable, builder: &mut ProfileBuilder, id: u32) -> u64 {
        if let Some(&built) = self.functions.get(&id) {
            return built;
        }
        let f = table.functions.get(id).cloned().unwrap_or_default();
        let built = builder.function(FunctionInfo {
            name: table.str(f.name),
            system_name: table.str(f.system_name),
            filename: table.str(f.filename),
            start_line: f.start_line,
        });
        self.functions.insert(id, built);
        built
    }

    fn mapping(&mut self, table: &SymbolTable, builder: &mut ProfileBuilder, id: u32) -> u64 {
        if let Some(&built) = self.mappings.get(&id) {
            return built;
        }
        let m = table.mappings.get(id).cloned().unwrap_or_default();
        let built = builder.mapping(MappingInfo {
            memory_start: m.memory_start,
            memory_limit: m.memory_limit,
            file_offset: m.file_offset,
            filename: table.str(m.filename),
            build_id: table.str(m.build_id),
            has_functions: m.has_functions,
            has_filenames: m.has_filenames,
            has_line_numbers: m.has_line_numbers,
            has_inline_frames: m.has_inline_frames,
        });
        self.mappings.insert(id, built);
        built
    }
}
