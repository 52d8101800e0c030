//! Choosing which of a profile's sample types to look at.

use brasa_proto::pprof::Profile;

use crate::{strings::string, Error, Result};

/// The `type/unit` names of a profile's sample types, e.g. `["samples/count", "cpu/nanoseconds"]`.
pub fn sample_type_names(profile: &Profile) -> Vec<String> {
    profile
        .sample_type
        .iter()
        .map(|vt| {
            format!(
                "{}/{}",
                string(profile, vt.r#type),
                string(profile, vt.unit)
            )
        })
        .collect()
}

/// Index of the sample type to use.
///
/// `wanted` is a type name (`cpu`) or `type/unit` (`cpu/nanoseconds`). With
/// `None`, the profile's `default_sample_type` wins, else the last type, as in
/// `go tool pprof`.
pub fn sample_type_index(profile: &Profile, wanted: Option<&str>) -> Result<usize> {
    let names = sample_type_names(profile);
    let no_such = |wanted: &str| Error::NoSuchSampleType {
        wanted: wanted.to_owned(),
        available: if names.is_empty() {
            "none".to_owned()
        } else {
            names.join(", ")
        },
    };
    match wanted {
        Some(wanted) => names
            .iter()
            .position(|full| {
                full == wanted || full.split_once('/').is_some_and(|(t, _)| t == wanted)
            })
            .ok_or_else(|| no_such(wanted)),
        None => {
            if names.is_empty() {
                return Err(no_such("(default)"));
            }
            let default = profile.default_sample_type;
            let by_default = (default != 0)
                .then(|| {
                    profile
                        .sample_type
                        .iter()
                        .position(|vt| vt.r#type == default)
                })
                .flatten();
            Ok(by_default.unwrap_or(names.len() - 1))
        }
    }
}

/// `profile` with one sample type, the one at `index`: every sample keeps
/// that value alone, and samples without it are dropped. Profiles whose
/// other types differ (a pprof and the folded stacks written from it) then
/// merge.
pub fn only(profile: &Profile, index: usize) -> Profile {
    let mut one = profile.clone();
    one.sample_type = profile
        .sample_type
        .get(index)
        .cloned()
        .into_iter()
        .collect();
    one.default_sample_type = 0;
    one.sample
        .retain_mut(|sample| match sample.value.get(index) {
            Some(&value) => {
                sample.value = vec![value];
                true
            }
            None => false,
        });
    one
}
