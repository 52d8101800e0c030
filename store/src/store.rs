//! [`Store`]: writing profiles durably and reading them back.

use std::{path::Path, sync::Arc};

use brasa_profile::{profile_type::Kind, top::total, Profile};

use crate::{
    blob,
    commit::GroupCommit,
    commits::Commits,
    disk_space::{FreeSpace, DEFAULT_MIN_FREE_BYTES},
    format_version,
    index::{Index, Series},
    keys::{self, ProfileKey},
    labels::{tenant_of, Labels, TENANT_LABEL},
    matcher::Matcher,
    memory::{MemoryPool, MemoryShares, DEFAULT_MEMORY_BUDGET},
    query_limits::QueryLimits,
    sample_labels::SampleLabels,
    sled_open,
    tables::Tables,
    Db, Result, Tree,
};

/// How to open a [`Store`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct StoreOptions {
    /// Bytes the server may hold on purpose, divided as
    /// [`MemoryShares::of`] says (sled's cache, running queries, ingest).
    /// Default: [`DEFAULT_MEMORY_BUDGET`].
    pub memory_budget: u64,
    /// What one query may read and build. Default: [`QueryLimits::default`].
    pub query: QueryLimits,
    /// Free space kept on the data directory's filesystem: below it,
    /// writes are refused ([`crate::Error::DiskFull`]); 0 turns the check
    /// off. Default: [`DEFAULT_MIN_FREE_BYTES`].
    pub min_free_bytes: u64,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            memory_budget: DEFAULT_MEMORY_BUDGET,
            query: QueryLimits::default(),
            min_free_bytes: DEFAULT_MIN_FREE_BYTES,
        }
    }
}

/// A profile written by [`Store::insert`], durable once
/// [`Store::commit`] returns for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Written {
    /// The series it belongs to.
    pub series: u64,
    /// Its key time (unix ns); later than asked if another profile of the
    /// series already had that exact time.
    pub time_nanos: u64,
    ticket: u64,
}

/// What a write does with a profile equal to one already stored at its
/// (series, time).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Repeat {
    /// Store it too, at the next free nanosecond.
    Keep,
    /// Leave it out.
    Skip,
}

/// The profile store. See the crate docs.
pub struct Store {
    db: Db,
    profiles: Tree,
    index: Index,
    sample_labels: SampleLabels,
    tables: Tables,
    commit: GroupCommit,
    commits: Commits,
    free_space: FreeSpace,
    query_memory: Arc<MemoryPool>,
    options: StoreOptions,
}

impl Store {
    /// Opens (or creates) the store in directory `path`.
    ///
    /// # Errors
    /// [`Error::FormatMismatch`] when the directory holds another store
    /// format than [`FORMAT_VERSION`], [`Error::Locked`] when another
    /// process has it open, [`Error::Damaged`] naming the file when the
    /// directory is damaged (a truncated or garbled database, one that
    /// lost acknowledged commits, a garbled `FORMAT` or sled `conf`: see
    /// `brasa store check`), and I/O or database errors otherwise. A panic
    /// of the database while it reads damaged files is such an error too.
    ///
    /// [`Error::FormatMismatch`]: crate::Error::FormatMismatch
    /// [`Error::Locked`]: crate::Error::Locked
    /// [`Error::Damaged`]: crate::Error::Damaged
    /// [`FORMAT_VERSION`]: crate::FORMAT_VERSION
    pub fn open(path: &Path, options: StoreOptions) -> Result<Self> {
        format_version::check(path)?;
        let db = sled_open::open(path, MemoryShares::of(options.memory_budget).cache)?;
        sled_open::catch_quietly(|| Self::open_trees(path, db, options))
            .unwrap_or_else(|panic| Err(sled_open::unrecoverable(path, &panic)))
    }

    /// The rest of [`Self::open`]: the trees, and what is loaded from them.
    fn open_trees(path: &Path, db: Db, options: StoreOptions) -> Result<Self> {
        let tree = |name: &str| {
            db.open_tree(name)
                .map_err(|e| sled_open::in_tree(path, name, e.into()))
        };
        let commits = Commits::open(path, &db)?;
        Ok(Self {
            profiles: tree(keys::tree::PROFILES)?,
            index: Index::open(&db).map_err(|e| sled_open::in_tree(path, "series", e))?,
            sample_labels: SampleLabels::open(&db)
                .map_err(|e| sled_open::in_tree(path, keys::tree::SAMPLE_LABELS, e))?,
            tables: Tables::new(
                tree(keys::tree::SYMBOLS)?,
                MemoryShares::of(options.memory_budget).tables,
            ),
            commits,
            db,
            commit: GroupCommit::default(),
            free_space: FreeSpace::new(path.to_owned(), options.min_free_bytes),
            query_memory: MemoryPool::new(MemoryShares::of(options.memory_budget).queries),
            options,
        })
    }

    /// Writes one profile, decoded and validated by the caller. Not durable
    /// until [`Self::commit`].
    #[must_use = "an insert is durable only after Store::commit"]
    pub fn insert(&self, labels: &Labels, profile: &Profile, time_nanos: u64) -> Result<Written> {
        self.write(labels, profile, time_nanos, Repeat::Keep)
    }

    /// [`Self::insert`], except that a profile equal to the one already
    /// stored at (series, time) is not stored again: what a server that
    /// replays shared segments and blocks needs, where the same profile
    /// can arrive more than once. Not durable until [`Self::commit`].
    #[must_use = "an insert is durable only after Store::commit"]
    pub fn insert_once(
        &self,
        labels: &Labels,
        profile: &Profile,
        time_nanos: u64,
    ) -> Result<Written> {
        self.write(labels, profile, time_nanos, Repeat::Skip)
    }

    fn write(
        &self,
        labels: &Labels,
        profile: &Profile,
        time_nanos: u64,
        repeat: Repeat,
    ) -> Result<Written> {
        self.free_space.check()?;
        let series = self.index.get_or_create(labels, &Kind::of(profile))?;
        self.sample_labels.record(profile, tenant_of(labels))?;
        let totals: Vec<i64> = (0..profile.sample_type.len())
            .map(|i| total(profile, i))
            .collect();
        let reduced = self.tables.reduce(series, profile)?;
        let value = blob::encode(&reduced, &totals);
        let time_nanos = self.put_unique(series, time_nanos, value, repeat)?;
        Ok(Written {
            series,
            time_nanos,
            ticket: self.commit.wrote(),
        })
    }

    /// Stores `value` at (series, time), moving to the next free nanosecond
    /// when that key is taken: two profiles never overwrite each other.
    /// With [`Repeat::Skip`], a key that already holds `value` ends the
    /// search instead: that profile is already stored.
    fn put_unique(
        &self,
        series: u64,
        mut time_nanos: u64,
        value: Vec<u8>,
        repeat: Repeat,
    ) -> Result<u64> {
        let value = sled::IVec::from(value);
        loop {
            let key = ProfileKey { series, time_nanos };
            match self
                .profiles
                .compare_and_swap(key.encode(), None::<&[u8]>, Some(&value))?
            {
                Ok(_) => return Ok(time_nanos),
                Err(taken) if repeat == Repeat::Skip && taken.current.as_ref() == Some(&value) => {
                    return Ok(time_nanos)
                }
                Err(_) => time_nanos = time_nanos.saturating_add(1),
            }
        }
    }

    /// Makes `written` (and everything inserted before it) durable: one
    /// disk flush serves all concurrent callers.
    pub fn commit(&self, written: &Written) -> Result<()> {
        self.commit
            .wait(written.ticket, || self.commits.flush(&self.db))?;
        Ok(())
    }

    /// [`Self::insert`] then [`Self::commit`].
    pub fn ingest(&self, labels: &Labels, profile: &Profile, time_nanos: u64) -> Result<Written> {
        let written = self.insert(labels, profile, time_nanos)?;
        self.commit(&written)?;
        Ok(written)
    }

    /// Series that all `matchers` accept.
    pub fn select(&self, matchers: &[Matcher]) -> Result<Vec<Series>> {
        self.index.select(matchers)
    }

    /// Series that `matchers` may select samples of, each with the
    /// matchers left for its samples: a matcher on a sample label name
    /// that the series has no label of is evaluated per sample (a sample
    /// without the label has the value `""`), every other matcher on the
    /// series' labels.
    pub fn select_samples(&self, matchers: &[Matcher]) -> Result<Vec<(Series, Vec<Matcher>)>> {
        let (on_samples, on_series): (Vec<&Matcher>, Vec<&Matcher>) = matchers
            .iter()
            .partition(|m| m.name != TENANT_LABEL && self.sample_labels.has(&m.name));
        let on_series: Vec<Matcher> = on_series.into_iter().cloned().collect();
        let mut selected = Vec::new();
        'series: for series in self.index.select(&on_series)? {
            let mut deferred = Vec::new();
            for m in &on_samples {
                if series.labels.get(&m.name).is_some() {
                    if !m.matches(&series.labels) {
                        continue 'series;
                    }
                } else {
                    deferred.push((*m).clone());
                }
            }
            selected.push((series, deferred));
        }
        Ok(selected)
    }

    /// The label names of `tenant` ([`crate::labels::DEFAULT_TENANT`]
    /// when tenants are not used), of series and of samples, sorted.
    pub fn label_names(&self, tenant: &str) -> Vec<String> {
        let mut names = self.index.label_names(tenant);
        names.extend(self.sample_labels.names(tenant));
        names.sort_unstable();
        names.dedup();
        names
    }

    /// The values of one label of `tenant`, on series or on samples,
    /// sorted.
    ///
    /// # Errors
    /// [`crate::Error::TooManyValues`] when it is a sample label with more
    /// values than [`crate::MAX_SAMPLE_LABEL_VALUES`].
    pub fn label_values(&self, tenant: &str, name: &str) -> Result<Vec<String>> {
        let mut values = self.index.label_values(tenant, name)?;
        values.extend(self.sample_labels.values(tenant, name)?);
        values.sort_unstable();
        values.dedup();
        Ok(values)
    }

    /// Number of series.
    pub fn series_count(&self) -> usize {
        self.index.len()
    }

    /// Ids of every series.
    pub fn series_ids(&self) -> Vec<u64> {
        self.index.ids()
    }

    /// The stored blobs of `series` with `from <= time <= to`, oldest first.
    pub fn scan(
        &self,
        series: u64,
        from: u64,
        to: u64,
    ) -> impl Iterator<Item = Result<(u64, sled::IVec)>> + '_ {
        let first = ProfileKey {
            series,
            time_nanos: from,
        };
        let last = ProfileKey {
            series,
            time_nanos: to,
        };
        self.profiles
            .range(first.encode()..=last.encode())
            .map(|entry| {
                let (key, value) = entry?;
                Ok((ProfileKey::decode(&key)?.time_nanos, value))
            })
    }

    /// Sample totals per profile of `series` in `[from, to]`: (time,
    /// one total per sample type). Reads headers only.
    pub fn totals(&self, series: u64, from: u64, to: u64) -> Result<Vec<(u64, Vec<i64>)>> {
        self.scan(series, from, to)
            .map(|entry| {
                let (time, value) = entry?;
                Ok((time, blob::read_header(&value)?.totals))
            })
            .collect()
    }

    /// Rebuilds the profile a stored blob of `series` holds.
    pub fn load(&self, series: u64, value: &[u8]) -> Result<Profile> {
        let reduced = blob::decode(value)?;
        let shared = self.tables.get(series)?;
        let symbols = shared
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Ok(symbols.table.build_reduced(&reduced))
    }

    /// Total size of the data directory, in bytes.
    pub fn size_on_disk(&self) -> Result<u64> {
        Ok(self.db.size_on_disk()?)
    }

    /// Disk flushes done by group commit so far.
    pub fn flushes(&self) -> u64 {
        self.commit.flushes()
    }

    /// Flushes everything written so far to disk, as one commit.
    pub fn flush(&self) -> Result<()> {
        let ticket = self.commit.wrote();
        self.commit.wait(ticket, || self.commits.flush(&self.db))?;
        Ok(())
    }

    pub(crate) fn profiles_tree(&self) -> &Tree {
        &self.profiles
    }

    /// What running queries' merges hold, of their share of the memory
    /// budget.
    pub fn query_memory(&self) -> &Arc<MemoryPool> {
        &self.query_memory
    }

    /// Estimated heap bytes of the symbol tables loaded now, within their
    /// share of the memory budget while no merge or ingest holds them.
    pub fn loaded_table_bytes(&self) -> usize {
        self.tables.loaded_bytes()
    }

    pub(crate) fn tables(&self) -> &Tables {
        &self.tables
    }

    /// The options the store was opened with.
    pub fn options(&self) -> &StoreOptions {
        &self.options
    }
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("series", &self.index.len())
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}
