//! The series index: labels → series id, series id → labels, and label
//! name/value → series ids (postings). It is persisted in sled and mirrored
//! in memory, where selectors are evaluated.

use std::{
    collections::{BTreeMap, BTreeSet, HashMap},
    sync::{Arc, PoisonError, RwLock},
};

use brasa_profile::profile_type::Kind;

use crate::{
    keys::{self, PostingKey, SeriesKey},
    labels::{tenant_of, Labels, DEFAULT_TENANT, TENANT_LABEL},
    matcher::{matches_all, MatchOp, Matcher},
    Error, Result, Tree,
};

#[derive(Default)]
struct Memory {
    by_key: HashMap<Vec<u8>, u64>,
    by_id: BTreeMap<u64, (Arc<Labels>, Arc<Kind>)>,
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

/// One series: its id, labels and kind. Two series may share labels when
/// their kinds differ (a CPU and a heap profile under one name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Series {
    /// Store-assigned id, stable for the life of the data directory.
    pub id: u64,
    /// Its labels.
    pub labels: Arc<Labels>,
    /// The sample types and period type all its profiles share.
    pub kind: Arc<Kind>,
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
        let mut kinds = HashMap::new();
        for entry in self.types.iter() {
            let (id, kind) = entry?;
            kinds.insert(keys::parse_series_id(&id)?, keys::decode_kind(&kind)?);
        }
        for entry in self.labels.iter() {
            let (id, bytes) = entry?;
            let id = keys::parse_series_id(&id)?;
            let labels = Labels::from_bytes(&bytes)?;
            // The kind is written before the labels: a series without one
            // is corrupt.
            let kind = kinds
                .remove(&id)
                .ok_or_else(|| Error::Corrupt(format!("series {id} has no kind")))?;
            let key = SeriesKey {
                labels: &labels,
                kind: &kind,
            }
            .encode();
            memory.by_key.insert(key, id);
            memory.by_id.insert(id, (Arc::new(labels), Arc::new(kind)));
        }
        Ok(())
    }

    /// The id of the series with `labels` and `kind`, created (durably
    /// once the caller commits) when new.
    pub(crate) fn get_or_create(&self, labels: &Labels, kind: &Kind) -> Result<u64> {
        let key = SeriesKey { labels, kind }.encode();
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
        // Postings, kind and labels first, the `series` entry last: an
        // entry in `series` always has the rest, whatever the crash point.
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
        self.types
            .insert(keys::series_id(id), keys::encode_kind(kind))?;
        self.labels.insert(keys::series_id(id), labels.to_bytes())?;
        self.series.insert(key.clone(), &keys::series_id(id)[..])?;
        memory.by_key.insert(key, id);
        memory
            .by_id
            .insert(id, (Arc::new(labels.clone()), Arc::new(kind.clone())));
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

    /// Every series that all `matchers` accept, by id.
    pub(crate) fn select(&self, matchers: &[Matcher]) -> Result<Vec<Series>> {
        let candidates = self.candidates(matchers)?;
        let memory = self.memory.read().unwrap_or_else(PoisonError::into_inner);
        let series = match candidates {
            Some(ids) => ids
                .into_iter()
                .filter_map(|id| memory.by_id.get(&id).map(|s| (id, s)))
                .filter(|(_, (l, _))| matches_all(matchers, l))
                .map(|(id, (l, k))| Series {
                    id,
                    labels: l.clone(),
                    kind: k.clone(),
                })
                .collect(),
            None => memory
                .by_id
                .iter()
                .filter(|(_, (l, _))| matches_all(matchers, l))
                .map(|(&id, (l, k))| Series {
                    id,
                    labels: l.clone(),
                    kind: k.clone(),
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

    /// The label names of `tenant`'s series, sorted; the tenant label
    /// itself is not one of them.
    pub(crate) fn label_names(&self, tenant: &str) -> Vec<String> {
        let memory = self.memory.read().unwrap_or_else(PoisonError::into_inner);
        let names: BTreeSet<&str> = memory
            .by_id
            .values()
            .filter(|(l, _)| tenant_of(l) == tenant)
            .flat_map(|(l, _)| l.iter().map(|(n, _)| n))
            .filter(|n| *n != TENANT_LABEL)
            .collect();
        names.into_iter().map(str::to_owned).collect()
    }

    /// The values label `name` takes on `tenant`'s series, sorted: from
    /// the postings while no series has a tenant, else from the series.
    pub(crate) fn label_values(&self, tenant: &str, name: &str) -> Result<Vec<String>> {
        let mut values = BTreeSet::new();
        if name == TENANT_LABEL {
            return Ok(Vec::new());
        }
        let tenants_used = self
            .postings
            .scan_prefix(PostingKey::name_prefix(TENANT_LABEL))
            .next()
            .is_some();
        if tenants_used || tenant != DEFAULT_TENANT {
            let memory = self.memory.read().unwrap_or_else(PoisonError::into_inner);
            values.extend(
                memory
                    .by_id
                    .values()
                    .filter(|(l, _)| tenant_of(l) == tenant)
                    .filter_map(|(l, _)| l.get(name))
                    .map(str::to_owned),
            );
            return Ok(values.into_iter().collect());
        }
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
