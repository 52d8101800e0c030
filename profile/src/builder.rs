//! [`ProfileBuilder`]: the one way Brasa assembles a pprof profile.
//!
//! It interns strings, functions, mappings and locations, and sums the values
//! of samples that share a stack and labels, so whatever feeds it (folded
//! stacks, the merger, the agent's converter) produces a compact, valid
//! profile without tracking ids itself.

use rustc_hash::FxHashMap as HashMap;

use brasa_proto::pprof::{Function, Label, Line, Location, Mapping, Profile, Sample, ValueType};

/// A function as it appears in a profile, before interning.
#[derive(Debug, Clone, Copy, Default)]
pub struct FunctionInfo<'a> {
    /// Human-readable (demangled) name.
    pub name: &'a str,
    /// Name as found in the binary; empty when the same as `name`.
    pub system_name: &'a str,
    /// Source file, empty when unknown.
    pub filename: &'a str,
    /// First line of the function in `filename`, 0 when unknown.
    pub start_line: i64,
}

/// A memory mapping of a binary, before interning.
#[derive(Debug, Clone, Copy, Default)]
pub struct MappingInfo<'a> {
    /// First address of the mapping.
    pub memory_start: u64,
    /// One past its last address.
    pub memory_limit: u64,
    /// File offset the mapping starts at.
    pub file_offset: u64,
    /// Path of the mapped file (or a pseudo name such as `[kernel.kallsyms]`).
    pub filename: &'a str,
    /// Hex build id of the file, empty when unknown.
    pub build_id: &'a str,
    /// Whether locations in this mapping carry function names.
    pub has_functions: bool,
    /// Whether they carry file names.
    pub has_filenames: bool,
    /// Whether they carry line numbers.
    pub has_line_numbers: bool,
    /// Whether inlined frames are expanded.
    pub has_inline_frames: bool,
}

#[derive(Debug, Hash, PartialEq, Eq)]
struct FunctionKey([i64; 4]);

#[derive(Debug, Hash, PartialEq, Eq)]
struct MappingKey {
    range: [u64; 3],
    names: [i64; 2],
}

#[derive(Debug, Hash, PartialEq, Eq)]
struct LocationKey {
    mapping_id: u64,
    address: u64,
    is_folded: bool,
    lines: Vec<[i64; 3]>,
}

#[derive(Debug, Hash, PartialEq, Eq)]
struct SampleKey {
    locations: Vec<u64>,
    labels: Vec<[i64; 4]>,
}

/// Builds a valid pprof [`Profile`] incrementally. See the module docs.
#[derive(Debug, Default)]
pub struct ProfileBuilder {
    profile: Profile,
    strings: HashMap<String, i64>,
    functions: HashMap<FunctionKey, u64>,
    mappings: HashMap<MappingKey, u64>,
    locations: HashMap<LocationKey, u64>,
    samples: HashMap<SampleKey, usize>,
    /// See [`Self::heap_bytes`].
    heap_bytes: usize,
}

/// What one hash-map entry costs beyond its key and value: its control
/// byte, the unused share of the table, and the allocator's rounding.
const ENTRY_OVERHEAD: usize = 16;
/// What one `Vec`'s own allocation costs beyond its elements.
const ALLOCATION_OVERHEAD: usize = 16;

/// Heap bytes of a `Vec` of `len` elements of `T` (its header counted by
/// whatever holds it).
fn vec_bytes<T>(len: usize) -> usize {
    if len == 0 {
        0
    } else {
        len * std::mem::size_of::<T>() + ALLOCATION_OVERHEAD
    }
}

impl ProfileBuilder {
    /// A builder for samples with one value per `(type, unit)` pair, e.g.
    /// `[("samples", "count"), ("cpu", "nanoseconds")]`.
    pub fn new(sample_types: &[(&str, &str)]) -> Self {
        let mut builder = Self::default();
        builder.string("");
        let types = sample_types
            .iter()
            .map(|(t, u)| builder.value_type(t, u))
            .collect();
        builder.profile.sample_type = types;
        builder
    }

    /// Interns a string and returns its index in the string table.
    pub fn string(&mut self, s: &str) -> i64 {
        if let Some(&index) = self.strings.get(s) {
            return index;
        }
        let index = self.profile.string_table.len() as i64;
        self.profile.string_table.push(s.to_owned());
        self.strings.insert(s.to_owned(), index);
        // The string twice (table and map), its table slot and its entry.
        self.heap_bytes += 2 * (s.len() + ALLOCATION_OVERHEAD)
            + 2 * std::mem::size_of::<String>()
            + std::mem::size_of::<i64>()
            + ENTRY_OVERHEAD;
        index
    }

    fn value_type(&mut self, r#type: &str, unit: &str) -> ValueType {
        ValueType {
            r#type: self.string(r#type),
            unit: self.string(unit),
        }
    }

    /// Number of sample types, i.e. the length every sample's values must have.
    pub fn sample_type_count(&self) -> usize {
        self.profile.sample_type.len()
    }

    /// Sets what was sampled and how often, e.g. `("cpu", "nanoseconds", 10_000_000)`.
    pub fn set_period(&mut self, r#type: &str, unit: &str, period: i64) {
        self.profile.period_type = Some(self.value_type(r#type, unit));
        self.profile.period = period;
    }

    /// Sets the collection start (unix nanoseconds) and duration.
    pub fn set_time(&mut self, time_nanos: i64, duration_nanos: i64) {
        self.profile.time_nanos = time_nanos;
        self.profile.duration_nanos = duration_nanos;
    }

    /// Names the sample type that views should show first.
    pub fn set_default_sample_type(&mut self, r#type: &str) {
        self.profile.default_sample_type = self.string(r#type);
    }

    /// Adds a free-form comment.
    pub fn add_comment(&mut self, comment: &str) {
        let index = self.string(comment);
        self.profile.comment.push(index);
    }

    /// Interns a function and returns its id.
    pub fn function(&mut self, f: FunctionInfo<'_>) -> u64 {
        let key = [
            self.string(f.name),
            self.string(f.system_name),
            self.string(f.filename),
            f.start_line,
        ];
        self.function_by_strings(key)
    }

    /// Interns a function whose strings are already interned:
    /// `[name, system_name, filename, start_line]`.
    pub(crate) fn function_by_strings(&mut self, key: [i64; 4]) -> u64 {
        let functions = &mut self.profile.function;
        let heap_bytes = &mut self.heap_bytes;
        *self.functions.entry(FunctionKey(key)).or_insert_with(|| {
            *heap_bytes += std::mem::size_of::<Function>()
                + std::mem::size_of::<(FunctionKey, u64)>()
                + ENTRY_OVERHEAD;
            let id = functions.len() as u64 + 1;
            functions.push(Function {
                id,
                name: key[0],
                system_name: key[1],
                filename: key[2],
                start_line: key[3],
            });
            id
        })
    }

    /// Interns a mapping and returns its id.
    pub fn mapping(&mut self, m: MappingInfo<'_>) -> u64 {
        let filename = self.string(m.filename);
        let build_id = self.string(m.build_id);
        self.mapping_interned(Mapping {
            id: 0,
            memory_start: m.memory_start,
            memory_limit: m.memory_limit,
            file_offset: m.file_offset,
            filename,
            build_id,
            has_functions: m.has_functions,
            has_filenames: m.has_filenames,
            has_line_numbers: m.has_line_numbers,
            has_inline_frames: m.has_inline_frames,
        })
    }

    /// Interns a mapping whose strings are already interned (its id is ignored).
    pub(crate) fn mapping_interned(&mut self, mut m: Mapping) -> u64 {
        let key = MappingKey {
            range: [m.memory_start, m.memory_limit, m.file_offset],
            names: [m.filename, m.build_id],
        };
        let mappings = &mut self.profile.mapping;
        let heap_bytes = &mut self.heap_bytes;
        *self.mappings.entry(key).or_insert_with(|| {
            *heap_bytes += std::mem::size_of::<Mapping>()
                + std::mem::size_of::<(MappingKey, u64)>()
                + ENTRY_OVERHEAD;
            m.id = mappings.len() as u64 + 1;
            mappings.push(m);
            m.id
        })
    }

    /// Interns a location: an address in a mapping (0 for none) with its
    /// source lines, innermost (inlined callee) first. Returns its id.
    pub fn location(&mut self, mapping_id: u64, address: u64, lines: &[Line]) -> u64 {
        self.location_with(mapping_id, address, lines, false)
    }

    pub(crate) fn location_with(
        &mut self,
        mapping_id: u64,
        address: u64,
        lines: &[Line],
        is_folded: bool,
    ) -> u64 {
        let key = LocationKey {
            mapping_id,
            address,
            is_folded,
            lines: lines
                .iter()
                .map(|l| [l.function_id as i64, l.line, l.column])
                .collect(),
        };
        let locations = &mut self.profile.location;
        let heap_bytes = &mut self.heap_bytes;
        *self.locations.entry(key).or_insert_with(|| {
            *heap_bytes += std::mem::size_of::<Location>()
                + vec_bytes::<Line>(lines.len())
                + std::mem::size_of::<(LocationKey, u64)>()
                + vec_bytes::<[i64; 3]>(lines.len())
                + ENTRY_OVERHEAD;
            let id = locations.len() as u64 + 1;
            locations.push(Location {
                id,
                mapping_id,
                address,
                line: lines.to_vec(),
                is_folded,
            });
            id
        })
    }

    /// A string label for [`Self::add_sample`], e.g. `("pid", "1234")`.
    pub fn label_str(&mut self, key: &str, value: &str) -> Label {
        Label {
            key: self.string(key),
            str: self.string(value),
            ..Label::default()
        }
    }

    /// A numeric label for [`Self::add_sample`], e.g. `("pid", 1234, "")`.
    pub fn label_num(&mut self, key: &str, value: i64, unit: &str) -> Label {
        Label {
            key: self.string(key),
            num: value,
            num_unit: self.string(unit),
            ..Label::default()
        }
    }

    /// Adds `values` to the sample with this stack (leaf first) and labels,
    /// creating it if needed.
    ///
    /// # Panics
    /// When `values` does not have one entry per sample type: that is a bug
    /// in the caller, never a property of input data.
    pub fn add_sample(&mut self, locations: &[u64], values: &[i64], labels: &[Label]) {
        assert_eq!(
            values.len(),
            self.profile.sample_type.len(),
            "one value per sample type"
        );
        let mut label_key: Vec<[i64; 4]> = labels
            .iter()
            .map(|l| [l.key, l.str, l.num, l.num_unit])
            .collect();
        label_key.sort_unstable();
        let key = SampleKey {
            locations: locations.to_vec(),
            labels: label_key,
        };
        let samples = &mut self.profile.sample;
        match self.samples.get(&key) {
            Some(&index) => {
                for (sum, v) in samples[index].value.iter_mut().zip(values) {
                    *sum = sum.saturating_add(*v);
                }
            }
            None => {
                self.heap_bytes += std::mem::size_of::<Sample>()
                    + 2 * vec_bytes::<u64>(locations.len())
                    + vec_bytes::<i64>(values.len())
                    + vec_bytes::<Label>(labels.len())
                    + std::mem::size_of::<(SampleKey, usize)>()
                    + vec_bytes::<[i64; 4]>(labels.len())
                    + ENTRY_OVERHEAD;
                self.samples.insert(key, samples.len());
                samples.push(Sample {
                    location_id: locations.to_vec(),
                    value: values.to_vec(),
                    label: labels.to_vec(),
                });
            }
        }
    }

    /// About how many heap bytes the builder holds: the profile so far and
    /// the maps that intern it, counted as entries are added (an estimate
    /// of what the allocator hands out, not a measurement). Queries bound
    /// their memory with it.
    pub fn heap_bytes(&self) -> usize {
        self.heap_bytes
    }

    /// Read access to what has been built so far.
    pub fn profile(&self) -> &Profile {
        &self.profile
    }

    pub(crate) fn profile_mut(&mut self) -> &mut Profile {
        &mut self.profile
    }

    /// Finishes the profile.
    pub fn build(self) -> Profile {
        self.profile
    }
}
