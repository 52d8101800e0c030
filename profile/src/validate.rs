//! The structural rules of the pprof format, checked once at decode time.
//!
//! After [`validate`] succeeds, every string index is inside the string
//! table, every id a sample or location refers to exists, and every sample
//! has one value per sample type. The rest of the crate relies on that.

use rustc_hash::FxHashSet as HashSet;

use brasa_proto::pprof::Profile;

use crate::{Error, Result};

fn invalid(message: String) -> Error {
    Error::Invalid(message)
}

/// Checks the structural invariants of a decoded profile.
pub fn validate(profile: &Profile) -> Result<()> {
    let strings = profile.string_table.len() as i64;
    if profile.string_table.first().is_some_and(|s| !s.is_empty()) {
        return Err(invalid("string_table[0] must be the empty string".into()));
    }
    let check_str = |index: i64, what: &str| -> Result<()> {
        // An empty table is allowed for an empty profile: index 0 then means "".
        if index == 0 || (0..strings).contains(&index) {
            Ok(())
        } else {
            Err(invalid(format!(
                "{what} refers to string {index}, but the string table has {strings} entries"
            )))
        }
    };
    for vt in profile
        .sample_type
        .iter()
        .chain(profile.period_type.as_ref())
    {
        check_str(vt.r#type, "a sample type")?;
        check_str(vt.unit, "a sample unit")?;
    }
    for (i, index) in [
        profile.drop_frames,
        profile.keep_frames,
        profile.default_sample_type,
        profile.doc_url,
    ]
    .into_iter()
    .chain(profile.comment.iter().copied())
    .enumerate()
    {
        check_str(index, &format!("profile field #{i}"))?;
    }

    let mappings = unique_ids(profile.mapping.iter().map(|m| m.id), "mapping")?;
    for m in &profile.mapping {
        check_str(m.filename, "a mapping's file name")?;
        check_str(m.build_id, "a mapping's build id")?;
    }
    let functions = unique_ids(profile.function.iter().map(|f| f.id), "function")?;
    for f in &profile.function {
        check_str(f.name, "a function name")?;
        check_str(f.system_name, "a function's system name")?;
        check_str(f.filename, "a function's file name")?;
    }
    let locations = unique_ids(profile.location.iter().map(|l| l.id), "location")?;
    for l in &profile.location {
        if l.mapping_id != 0 && !mappings.contains(&l.mapping_id) {
            return Err(invalid(format!(
                "location {} refers to missing mapping {}",
                l.id, l.mapping_id
            )));
        }
        if let Some(line) = l
            .line
            .iter()
            .find(|line| !functions.contains(&line.function_id))
        {
            return Err(invalid(format!(
                "location {} refers to missing function {}",
                l.id, line.function_id
            )));
        }
    }
    let types = profile.sample_type.len();
    for (i, s) in profile.sample.iter().enumerate() {
        if s.value.len() != types {
            return Err(invalid(format!(
                "sample {i} has {} values for {types} sample types",
                s.value.len()
            )));
        }
        if let Some(id) = s.location_id.iter().find(|id| !locations.contains(id)) {
            return Err(invalid(format!(
                "sample {i} refers to missing location {id}"
            )));
        }
        for label in &s.label {
            check_str(label.key, "a label key")?;
            check_str(label.str, "a label value")?;
            check_str(label.num_unit, "a label unit")?;
        }
    }
    Ok(())
}

fn unique_ids(ids: impl Iterator<Item = u64>, what: &str) -> Result<HashSet<u64>> {
    let mut seen = HashSet::default();
    for id in ids {
        if id == 0 {
            return Err(invalid(format!("a {what} has id 0; ids start at 1")));
        }
        if !seen.insert(id) {
            return Err(invalid(format!("{what} id {id} is used twice")));
        }
    }
    Ok(seen)
}
