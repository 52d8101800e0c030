//! Profile types: what a series' values measure, as Pyroscope names it.
//!
//! A profile type is a profile name and one sample type with its period
//! type, written `name:sample_type:sample_unit:period_type:period_unit`
//! (`process_cpu:cpu:nanoseconds:cpu:nanoseconds`,
//! `memory:inuse_space:bytes:space:bytes`). A pprof profile with several
//! sample types holds one profile type per sample type; its [`Kind`] (the
//! list of sample types, the period type, the default) is what a store
//! keeps per series. A query answers exactly one profile type, so values
//! of different units never meet.

use std::fmt;

use brasa_proto::pprof::Profile;

use crate::{sample_type::is_gauge, strings::string};

/// A sample or period type: what is measured and in which unit.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ValueKind {
    /// `cpu`, `inuse_space`, `samples`, ...
    pub r#type: String,
    /// `nanoseconds`, `bytes`, `count`, ...
    pub unit: String,
}

impl ValueKind {
    /// A value kind from its type and unit.
    pub fn new(r#type: &str, unit: &str) -> Self {
        Self {
            r#type: r#type.to_owned(),
            unit: unit.to_owned(),
        }
    }
}

/// The sample types, period type and default sample type shared by a
/// series' profiles.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Kind {
    /// The sample types, in the profile's order.
    pub sample_types: Vec<ValueKind>,
    /// The period type, when the profile has one.
    pub period_type: Option<ValueKind>,
    /// The default sample type's name (`""`: none).
    pub default_sample_type: String,
}

impl Kind {
    /// The kind of `profile`.
    pub fn of(profile: &Profile) -> Self {
        let kind = |vt: &brasa_proto::pprof::ValueType| {
            ValueKind::new(string(profile, vt.r#type), string(profile, vt.unit))
        };
        Self {
            sample_types: profile.sample_type.iter().map(kind).collect(),
            period_type: profile.period_type.as_ref().map(kind),
            default_sample_type: string(profile, profile.default_sample_type).to_owned(),
        }
    }

    /// The period type of sample type `index`: the profile's, or the
    /// sample type itself when the profile has none.
    fn period_of(&self, index: usize) -> &ValueKind {
        self.period_type
            .as_ref()
            .unwrap_or(&self.sample_types[index])
    }

    /// The profile types of a series named `name` with this kind, one per
    /// sample type.
    pub fn profile_types(&self, name: &str) -> Vec<ProfileType> {
        (0..self.sample_types.len())
            .map(|i| ProfileType {
                name: name.to_owned(),
                sample: self.sample_types[i].clone(),
                period: self.period_of(i).clone(),
            })
            .collect()
    }

    /// The index of the sample type that holds the values of `wanted`,
    /// when a series named `name` with this kind has that profile type.
    pub fn column(&self, name: &str, wanted: &ProfileType) -> Option<usize> {
        if wanted.name != name {
            return None;
        }
        (0..self.sample_types.len())
            .find(|&i| self.sample_types[i] == wanted.sample && *self.period_of(i) == wanted.period)
    }

    /// The index of the sample type a viewer shows first: the default
    /// sample type, else the last, as `go tool pprof` does.
    pub fn default_column(&self) -> Option<usize> {
        let last = self.sample_types.len().checked_sub(1)?;
        Some(
            self.sample_types
                .iter()
                .position(|t| {
                    !self.default_sample_type.is_empty() && t.r#type == self.default_sample_type
                })
                .unwrap_or(last),
        )
    }
}

/// One profile type; see the module docs.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ProfileType {
    /// The profile name (the series' `__name__`).
    pub name: String,
    /// The sample type.
    pub sample: ValueKind,
    /// The period type.
    pub period: ValueKind,
}

/// A profile type ID that does not parse.
#[derive(Debug, thiserror::Error)]
#[error("invalid profile type {0:?}: write it as name:sample_type:sample_unit:period_type:period_unit, e.g. process_cpu:cpu:nanoseconds:cpu:nanoseconds")]
pub struct InvalidProfileType(String);

/// How values of a profile type combine over a time range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Aggregation {
    /// Amounts over time (CPU, wall time, allocations): they add up.
    Sum,
    /// Snapshots (in-use memory, goroutines): a range answers their
    /// average.
    Average,
}

impl Aggregation {
    /// `sum` or `average`, as answers write it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sum => "sum",
            Self::Average => "average",
        }
    }
}

impl ProfileType {
    /// Parses an ID written as [`ProfileType`]'s `Display` writes it. The
    /// name may itself contain `:`; the last four fields are the types.
    pub fn parse(id: &str) -> Result<Self, InvalidProfileType> {
        let invalid = || InvalidProfileType(id.to_owned());
        let mut fields = id.rsplitn(5, ':');
        let mut next = || fields.next().filter(|f| !f.is_empty()).ok_or_else(invalid);
        let (period_unit, period_type, sample_unit, sample_type, name) =
            (next()?, next()?, next()?, next()?, next()?);
        Ok(Self {
            name: name.to_owned(),
            sample: ValueKind::new(sample_type, sample_unit),
            period: ValueKind::new(period_type, period_unit),
        })
    }

    /// The ID, `name:sample_type:sample_unit:period_type:period_unit`.
    pub fn id(&self) -> String {
        self.to_string()
    }

    /// Whether this is CPU time (`cpu` in nanoseconds).
    pub fn is_cpu(&self) -> bool {
        self.sample.r#type == "cpu" && self.sample.unit == "nanoseconds"
    }

    /// How its values combine over a range.
    pub fn aggregation(&self) -> Aggregation {
        if is_gauge(&self.sample.r#type) {
            Aggregation::Average
        } else {
            Aggregation::Sum
        }
    }
}

impl fmt::Display for ProfileType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}:{}:{}",
            self.name, self.sample.r#type, self.sample.unit, self.period.r#type, self.period.unit
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ProfileBuilder;

    #[test]
    fn ids_round_trip_and_bad_ids_say_how_to_write_one() {
        for id in [
            "process_cpu:cpu:nanoseconds:cpu:nanoseconds",
            "memory:inuse_space:bytes:space:bytes",
            "ns:app:samples:count:cpu:nanoseconds",
        ] {
            assert_eq!(ProfileType::parse(id).unwrap().id(), id);
        }
        let t = ProfileType::parse("ns:app:samples:count:cpu:nanoseconds").unwrap();
        assert_eq!(t.name, "ns:app");
        for bad in ["", "process_cpu", "a:b:c:d", "a::c:d:e", "a:b:c:d:"] {
            let err = ProfileType::parse(bad).unwrap_err().to_string();
            assert!(err.contains("name:sample_type:sample_unit"), "{err}");
        }
    }

    #[test]
    fn a_kind_holds_one_type_per_sample_type() {
        let mut b = ProfileBuilder::new(&[("samples", "count"), ("cpu", "nanoseconds")]);
        b.set_period("cpu", "nanoseconds", 52_631_578);
        let kind = Kind::of(&b.build());
        let ids: Vec<String> = kind
            .profile_types("process_cpu")
            .iter()
            .map(ProfileType::id)
            .collect();
        assert_eq!(
            ids,
            [
                "process_cpu:samples:count:cpu:nanoseconds",
                "process_cpu:cpu:nanoseconds:cpu:nanoseconds"
            ]
        );
        let cpu = ProfileType::parse(&ids[1]).unwrap();
        assert!(cpu.is_cpu());
        assert_eq!(kind.column("process_cpu", &cpu), Some(1));
        assert_eq!(kind.column("wall", &cpu), None);
        assert_eq!(kind.default_column(), Some(1));

        // Without a period type, each sample type is its own period.
        let mut heap = ProfileBuilder::new(&[("alloc_space", "bytes"), ("inuse_space", "bytes")]);
        heap.set_default_sample_type("alloc_space");
        let kind = Kind::of(&heap.build());
        let types = kind.profile_types("memory");
        assert_eq!(types[1].id(), "memory:inuse_space:bytes:inuse_space:bytes");
        assert_eq!(types[1].aggregation(), Aggregation::Average);
        assert_eq!(types[0].aggregation(), Aggregation::Sum);
        assert_eq!(kind.default_column(), Some(0));
        assert_eq!(Kind::default().default_column(), None);
    }
}
