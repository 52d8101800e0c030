//! The names and values of sample labels (pprof labels, Pyroscope dynamic
//! tags, the agent's `pid` and `thread`), so that selectors can name them
//! and `/api/v1/labels` can list them.
//!
//! Sample labels live on stacks (`records::StackRecord`), not on series:
//! a matcher on one keeps the matching samples of a series rather than
//! the series. This index only says which names exist and which values
//! they take, persisted in [`keys::tree::SAMPLE_LABELS`] and mirrored in
//! memory. Values are bounded: a name keeps at most
//! [`MAX_SAMPLE_LABEL_VALUES`] values, and listing one that has more is
//! [`Error::TooManyValues`] rather than memory that grows with every pid
//! ever seen. Matching does not need the list, so a matcher on such a
//! name still works.
//!
//! Each tenant has its own names and values: a tenant's entries are keyed
//! `TENANT/NAME` (a label name holds no `/`), the default tenant's by the
//! bare name, as before tenants existed.

use std::{
    collections::{BTreeMap, BTreeSet},
    sync::{PoisonError, RwLock},
};

use brasa_profile::{strings::string, Profile};

use crate::{
    keys::{self, PostingKey},
    labels::{check_name, DEFAULT_TENANT, TENANT_LABEL},
    Error, Result, Tree,
};

/// Most values listed per sample label name; see the module docs.
pub const MAX_SAMPLE_LABEL_VALUES: usize = 1000;

/// See the module docs.
pub(crate) struct SampleLabels {
    tree: Tree,
    /// Name → values; a name with more than the limit holds one value
    /// over it, which marks it as over.
    memory: RwLock<BTreeMap<String, BTreeSet<String>>>,
}

/// The key of `tenant`'s sample label `name`; see the module docs.
fn scoped(tenant: &str, name: &str) -> String {
    if tenant == DEFAULT_TENANT {
        name.to_owned()
    } else {
        format!("{tenant}/{name}")
    }
}

/// The tenant and the name of a key made by [`scoped`].
fn unscoped(key: &str) -> (&str, &str) {
    key.split_once('/').unwrap_or((DEFAULT_TENANT, key))
}

/// The value a sample label has: its string, or its number in decimal.
pub(crate) fn label_value(str_value: &str, num: i64) -> String {
    if str_value.is_empty() && num != 0 {
        num.to_string()
    } else {
        str_value.to_owned()
    }
}

impl SampleLabels {
    pub(crate) fn open(db: &crate::Db) -> Result<Self> {
        let tree = db.open_tree(keys::tree::SAMPLE_LABELS)?;
        let mut memory: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for entry in tree.iter() {
            let (key, _) = entry?;
            let (name, value) = PostingKey::decode_pair(&key)?;
            memory
                .entry(name.to_owned())
                .or_default()
                .insert(value.to_owned());
        }
        Ok(Self {
            tree,
            memory: RwLock::new(memory),
        })
    }

    /// Records the sample labels of `profile`, a profile of `tenant`, that
    /// are new. A sample label named like the tenant label is not one: the
    /// tenant comes from the series alone.
    pub(crate) fn record(&self, profile: &Profile, tenant: &str) -> Result<()> {
        // Distinct labels by their string indexes first: profiles repeat a
        // few labels on every sample.
        let distinct: rustc_hash::FxHashSet<(i64, i64, i64)> = profile
            .sample
            .iter()
            .flat_map(|s| &s.label)
            .map(|l| (l.key, l.str, l.num))
            .collect();
        let seen: BTreeSet<(String, String)> = distinct
            .into_iter()
            .map(|(key, str, num)| (string(profile, key), label_value(string(profile, str), num)))
            .filter(|(name, _)| *name != TENANT_LABEL && check_name(name).is_ok())
            .map(|(name, value)| (scoped(tenant, name), value))
            .collect();
        if seen.is_empty() {
            return Ok(());
        }
        let new: Vec<(String, String)> = {
            let memory = self.memory.read().unwrap_or_else(PoisonError::into_inner);
            seen.into_iter()
                .filter(|(name, value)| match memory.get(name) {
                    Some(values) => {
                        values.len() <= MAX_SAMPLE_LABEL_VALUES && !values.contains(value)
                    }
                    None => true,
                })
                .collect()
        };
        if new.is_empty() {
            return Ok(());
        }
        let mut memory = self.memory.write().unwrap_or_else(PoisonError::into_inner);
        for (name, value) in new {
            let values = memory.entry(name.clone()).or_default();
            if values.len() > MAX_SAMPLE_LABEL_VALUES || values.contains(&value) {
                continue;
            }
            self.tree
                .insert(PostingKey::value_prefix(&name, &value), &[][..])?;
            values.insert(value);
        }
        Ok(())
    }

    /// Whether `name` is the name of a sample label, of any tenant.
    pub(crate) fn has(&self, name: &str) -> bool {
        self.memory
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .keys()
            .any(|key| unscoped(key).1 == name)
    }

    /// Every sample label name of `tenant`.
    pub(crate) fn names(&self, tenant: &str) -> Vec<String> {
        self.memory
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .keys()
            .map(|key| unscoped(key))
            .filter(|(t, _)| *t == tenant)
            .map(|(_, name)| name.to_owned())
            .collect()
    }

    /// The values of `tenant`'s sample label `name` (none when it is not
    /// one).
    pub(crate) fn values(&self, tenant: &str, name: &str) -> Result<Vec<String>> {
        let memory = self.memory.read().unwrap_or_else(PoisonError::into_inner);
        let Some(values) = memory.get(&scoped(tenant, name)) else {
            return Ok(Vec::new());
        };
        if values.len() > MAX_SAMPLE_LABEL_VALUES {
            return Err(Error::TooManyValues {
                name: name.to_owned(),
                limit: MAX_SAMPLE_LABEL_VALUES,
            });
        }
        Ok(values.iter().cloned().collect())
    }
}
