//! Merging profiles of the same kind into one.
//!
//! Functions, mappings and locations that are equal in content become one;
//! samples with the same stack and labels have their values summed. Sample
//! types must match exactly (type and unit, in order).

use rustc_hash::FxHashMap as HashMap;

use brasa_proto::pprof::{Label, Line, Profile};

use crate::{
    builder::ProfileBuilder, sample_type::sample_type_names, strings::string, Error, Result,
};

/// Accumulates profiles one at a time; memory is proportional to the merged
/// result, not to the number of inputs.
#[derive(Debug, Default)]
pub struct Merger {
    builder: Option<ProfileBuilder>,
    sample_types: Vec<String>,
    inputs: usize,
}

/// Merges all `profiles`. Errors when there are none or when their sample
/// types differ.
pub fn merge<'a>(profiles: impl IntoIterator<Item = &'a Profile>) -> Result<Profile> {
    let mut merger = Merger::new();
    for p in profiles {
        merger.add(p)?;
    }
    merger
        .finish()
        .ok_or_else(|| Error::Request("nothing to merge: no input profiles".to_owned()))
}

impl Merger {
    /// An empty merger.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many profiles were added.
    pub fn len(&self) -> usize {
        self.inputs
    }

    /// Distinct samples (stacks with their labels) merged so far.
    pub fn samples(&self) -> usize {
        self.builder
            .as_ref()
            .map_or(0, |b| b.profile().sample.len())
    }

    /// About how many heap bytes the merge holds so far
    /// ([`ProfileBuilder::heap_bytes`]).
    pub fn heap_bytes(&self) -> usize {
        self.builder.as_ref().map_or(0, ProfileBuilder::heap_bytes)
    }

    /// True before the first [`Self::add`].
    pub fn is_empty(&self) -> bool {
        self.inputs == 0
    }

    /// Adds one (validated) profile.
    pub fn add(&mut self, p: &Profile) -> Result<()> {
        let names = sample_type_names(p);
        let builder = match &mut self.builder {
            Some(builder) => {
                if names != self.sample_types {
                    return Err(Error::SampleTypeMismatch {
                        expected: self.sample_types.join(", "),
                        found: names.join(", "),
                    });
                }
                builder
            }
            None => {
                let pairs: Vec<(&str, &str)> = p
                    .sample_type
                    .iter()
                    .map(|vt| (string(p, vt.r#type), string(p, vt.unit)))
                    .collect();
                let mut builder = ProfileBuilder::new(&pairs);
                let default = string(p, p.default_sample_type);
                if !default.is_empty() {
                    builder.set_default_sample_type(default);
                }
                self.sample_types = names;
                self.builder.insert(builder)
            }
        };
        check_period_type(builder.profile(), p)?;
        add_into(builder, p);
        self.inputs += 1;
        Ok(())
    }

    /// The merged profile, or `None` when nothing was added.
    pub fn finish(self) -> Option<Profile> {
        self.builder.map(ProfileBuilder::build)
    }
}

fn check_period_type(merged: &Profile, p: &Profile) -> Result<()> {
    let (Some(a), Some(b)) = (&merged.period_type, &p.period_type) else {
        return Ok(());
    };
    let a = format!("{}/{}", string(merged, a.r#type), string(merged, a.unit));
    let b = format!("{}/{}", string(p, b.r#type), string(p, b.unit));
    if a != b {
        return Err(Error::SampleTypeMismatch {
            expected: format!("period {a}"),
            found: format!("period {b}"),
        });
    }
    Ok(())
}

fn add_into(builder: &mut ProfileBuilder, p: &Profile) {
    let strings: Vec<i64> = p.string_table.iter().map(|s| builder.string(s)).collect();
    let s = |index: i64| strings.get(index as usize).copied().unwrap_or(0);

    let functions: HashMap<u64, u64> = p
        .function
        .iter()
        .map(|f| {
            let id = builder.function_by_strings([
                s(f.name),
                s(f.system_name),
                s(f.filename),
                f.start_line,
            ]);
            (f.id, id)
        })
        .collect();
    let mappings: HashMap<u64, u64> = p
        .mapping
        .iter()
        .map(|m| {
            let mut m = *m;
            let old = m.id;
            m.filename = s(m.filename);
            m.build_id = s(m.build_id);
            (old, builder.mapping_interned(m))
        })
        .collect();
    let mut lines = Vec::new();
    let locations: HashMap<u64, u64> = p
        .location
        .iter()
        .map(|l| {
            lines.clear();
            // References were checked by validation; anything dangling in an
            // unvalidated profile is dropped rather than trusted.
            lines.extend(l.line.iter().filter_map(|line| {
                Some(Line {
                    function_id: *functions.get(&line.function_id)?,
                    ..*line
                })
            }));
            let mapping = mappings.get(&l.mapping_id).copied().unwrap_or(0);
            let id = builder.location_with(mapping, l.address, &lines, l.is_folded);
            (l.id, id)
        })
        .collect();

    let mut stack = Vec::new();
    let mut labels = Vec::new();
    for sample in &p.sample {
        stack.clear();
        stack.extend(sample.location_id.iter().filter_map(|id| locations.get(id)));
        labels.clear();
        labels.extend(sample.label.iter().map(|l| Label {
            key: s(l.key),
            str: s(l.str),
            num: l.num,
            num_unit: s(l.num_unit),
        }));
        if sample.value.len() == builder.sample_type_count() {
            builder.add_sample(&stack, &sample.value, &labels);
        }
    }

    let merged = builder.profile_mut();
    if let Some(vt) = &p.period_type {
        merged
            .period_type
            .get_or_insert(brasa_proto::pprof::ValueType {
                r#type: s(vt.r#type),
                unit: s(vt.unit),
            });
    }
    merged.period = merged.period.max(p.period);
    if p.time_nanos != 0 && (merged.time_nanos == 0 || p.time_nanos < merged.time_nanos) {
        merged.time_nanos = p.time_nanos;
    }
    merged.duration_nanos = merged.duration_nanos.saturating_add(p.duration_nanos);
    for c in &p.comment {
        let c = s(*c);
        if !merged.comment.contains(&c) {
            merged.comment.push(c);
        }
    }
}
