//! The series index: labels → series id, series id → labels, and label
//! name/value → series ids (postings). It is persisted in sled and mirrored
//! in memory, where selectors are evaluated.

use std::{
    collections::{BTreeMap, BTreeSet, HashMap},
    sync::{Arc, PoisonError, RwLock},
};

use crate::{
    keys::{self, PostingKey, SampleTypes},
    labels::Labels,
    matcher::{matches_all, MatchOp, Matcher},
    Error, Result, Tree,
};

#[derive(Default)]
struct Memory {
    by_key: HashMap<Vec<u8>, u64>,
    by_id: BTreeMap<u64, Arc<Labels>>,
    types: HashMap<u64, Arc<str>>,
}

/// See the module docs.
pub(crate) struct Index {
    series: Tree,
    labels: Tree,
    types: Tree,
    postings: Tree,
    meta: Tree,
    memory: RwLock<Memory>,
}

/// One series: its id and labels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Series {
    /// Store-assigned id, stable for the life of the data directory.
    pub id: u64,
    /// The labels that identify it.
    pub labels: Arc<Labels>,
}

impl Index {
    pub(crate) fn open(db: &crate::Db) -> Result<Self> {
        let index = Self {
            series: db.open_tree(keys::tree::SERIES)?,
            labels: db.open_tree(keys::tree::SERIES_LABELS)?,
            types: db.open_tree(keys::tree::SERIES_TYPES)?,
            postings: db.open_tree(keys::tree::POSTINGS)?,
            meta: db.open_tree(keys::tree::META)?,
            memory: RwLock::default(),
        };
        index.load()?;
        Ok(index)
    }

    fn load(&self) -> Result<()> {
        let mut memory = self.memory.write().unwrap_or_else(PoisonError::into_inner);
        for entry in self.labels.iter() {
            let (id, bytes) = entry?;
            let id = keys::parse_series_id(&id)?;
            let labels = Labels::from_bytes(&bytes)?;
            memory.by_key.insert(bytes.to_vec(), id);
            memory.by_id.insert(id, Arc::new(labels));
        }
        for entry in self.types.iter() {
            let (id, names) = entry?;
            let names = std::str::from_utf8(&names)
                .map_err(|_| Error::Corrupt("sample type names".to_owned()))?;
            memory
                .types
                .insert(keys::parse_series_id(&id)?, names.into());
        }
        Ok(())
    }

    /// The id of the series with `labels`, created (durably once the caller
    /// commits) when new.
    pub(crate) fn get_or_create(&self, labels: &Labels) -> Result<u64> {
        let key = labels.to_bytes();
        if let Some(&id) = self
            .memory
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .by_key
            .get(&key)
        {
            return Ok(id);
        }
        // Creation is rare (once per series): one writer at a time keeps
        // the id allocation and the three trees consistent.
        let mut memory = self.memory.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(&id) = memory.by_key.get(&key) {
            return Ok(id);
        }
        let id = self.allocate_id()?;
        // Postings and labels first, the `series` entry last: an entry in
        // `series` always has its postings, whatever the crash point.
        for (name, value) in labels.iter() {
            self.postings.insert(
                PostingKey {
                    name,
                    value,
                    series: id,
                }
                .encode(),
                &[][..],
            )?;
        }
        self.labels.insert(keys::series_id(id), key.clone())?;
        self.series.insert(key.clone(), &keys::series_id(id)[..])?;
        memory.by_key.insert(key, id);
        memory.by_id.insert(id, Arc::new(labels.clone()));
        Ok(id)
    }

    fn allocate_id(&self) -> Result<u64> {
        let next = self
            .meta
            .update_and_fetch(keys::NEXT_SERIES_ID, |old| {
                let current = old.map_or(Ok(0), keys::parse_series_id).unwrap_or(0);
                Some(keys::series_id(current + 1).to_vec())
            })?
            .ok_or_else(|| Error::Corrupt("series id counter".to_owned()))?;
        keys::parse_series_id(&next)
    }

    /// Records the sample types (`type/unit`) of a series' newest profile.
    pub(crate) fn set_types(&self, id: u64, names: &[String]) -> Result<()> {
        let names = SampleTypes::encode(names);
        let names = names.as_str();
        let current = self
            .memory
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .types
            .get(&id)
            .cloned();
        if current.as_deref() == Some(names) {
            return Ok(());
        }
        self.types.insert(keys::series_id(id), names.as_bytes())?;
        self.memory
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .types
            .insert(id, names.into());
        Ok(())
    }

    /// Sample type names (`type/unit`) of a series' profiles.
    pub(crate) fn types(&self, id: u64) -> Vec<String> {
        self.memory
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .types
            .get(&id)
            .map(|names| SampleTypes::decode(names))
            .unwrap_or_default()
    }

    /// Every series that all `matchers` accept, by id.
    pub(crate) fn select(&self, matchers: &[Matcher]) -> Result<Vec<Series>> {
        let candidates = self.candidates(matchers)?;
        let memory = self.memory.read().unwrap_or_else(PoisonError::into_inner);
        let series = match candidates {
            Some(ids) => ids
                .into_iter()
                .filter_map(|id| memory.by_id.get(&id).map(|l| (id, l)))
                .filter(|(_, l)| matches_all(matchers, l))
                .map(|(id, l)| Series {
                    id,
                    labels: l.clone(),
                })
                .collect(),
            None => memory
                .by_id
                .iter()
                .filter(|(_, l)| matches_all(matchers, l))
                .map(|(&id, l)| Series {
                    id,
                    labels: l.clone(),
                })
                .collect(),
        };
        Ok(series)
    }

    /// Series ids from the postings of the first non-empty `=` matcher, or
    /// `None` when there is none (every series is a candidate).
    fn candidates(&self, matchers: &[Matcher]) -> Result<Option<BTreeSet<u64>>> {
        let Some((name, value)) = matchers.iter().find_map(|m| match &m.op {
            MatchOp::Equal(v) if !v.is_empty() => Some((m.name.as_str(), v.as_str())),
            _ => None,
        }) else {
            return Ok(None);
        };
        let mut ids = BTreeSet::new();
        for entry in self
            .postings
            .scan_prefix(PostingKey::value_prefix(name, value))
        {
            let (key, _) = entry?;
            ids.insert(PostingKey::decode(&key)?.series);
        }
        Ok(Some(ids))
    }

    /// All label names in use, sorted.
    pub(crate) fn label_names(&self) -> Vec<String> {
        let memory = self.memory.read().unwrap_or_else(PoisonError::into_inner);
        let names: BTreeSet<&str> = memory
            .by_id
            .values()
            .flat_map(|l| l.iter().map(|(n, _)| n))
            .collect();
        names.into_iter().map(str::to_owned).collect()
    }

    /// All values of label `name`, sorted, from the postings.
    pub(crate) fn label_values(&self, name: &str) -> Result<Vec<String>> {
        let mut values = BTreeSet::new();
        for entry in self.postings.scan_prefix(PostingKey::name_prefix(name)) {
            let (key, _) = entry?;
            values.insert(PostingKey::decode(&key)?.value.to_owned());
        }
        Ok(values.into_iter().collect())
    }

    /// Ids of every series.
    pub(crate) fn ids(&self) -> Vec<u64> {
        self.memory
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .by_id
            .keys()
            .copied()
            .collect()
    }

    /// Number of series.
    pub(crate) fn len(&self) -> usize {
        self.memory
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .by_id
            .len()
    }
}
