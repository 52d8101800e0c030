//! Checking a data directory without changing it: what `brasa store check`
//! reports.
//!
//! [`check`] reads everything the store would: the `FORMAT` and `COMMITS`
//! files, sled's `conf`, and every record of every tree. Each record must
//! decode; every series a profile, a symbol chunk or a posting names must
//! be in the index; every symbol id a profile blob refers to (its profile
//! record, its stacks) and every id a symbol record refers to (locations,
//! functions, mappings, strings) must be stored; the database must hold
//! the last commit that `COMMITS` records. Each damaged item is reported
//! with where it is and what is wrong ([`Damage`]), with a count of the
//! profiles that read back whole and of those that do not ([`Report`]).
//!
//! sled writes when it opens a database (and zeroes a log's damaged end),
//! so the directory is never opened in place: its files are copied into a
//! temporary directory (under [`CheckOptions::scratch`]), which is opened
//! and then removed. The copy needs as much free space as the data
//! directory. While it is made, the directory's lock is held shared, so a
//! server cannot start on it midway, and a directory that a server has
//! open is refused ([`Error::Locked`]) rather than copied mid-write.

use std::{
    collections::{BTreeMap, HashMap, HashSet},
    fmt,
    os::unix::io::AsRawFd,
    path::{Path, PathBuf},
};

use brasa_profile::profile_type::Kind;

use crate::{
    blob,
    commits::{self, Recorded, COMMITS_FILE},
    dir_lock,
    format_version::{self, FORMAT_FILE},
    keys::{self, tree, ChunkKey, PostingKey, ProfileKey, SeriesKey},
    labels::Labels,
    records::{
        ChunkEntry, FunctionRecord, LocationRecord, MappingRecord, MetaRecord, Record, StackRecord,
    },
    sled_open::{self, CONF_FILE, DB_FILE},
    Db, Error, Result, Tree, FORMAT_VERSION,
};

/// Most damaged items a [`Report`] lists; the counts go on past it.
pub const MAX_LISTED: usize = 1000;

/// How to check.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct CheckOptions {
    /// Where the temporary copy of the data directory goes: the system's
    /// temporary directory when `None`.
    pub scratch: Option<PathBuf>,
}

/// One damaged item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Damage {
    /// The file, relative to the data directory: `db`, `conf`, `FORMAT`,
    /// `COMMITS`.
    pub file: String,
    /// The tree of `db` the item is in, when it is a record.
    pub tree: Option<String>,
    /// The record's key, readable (`series 3 time 1000`) or in hex.
    pub key: Option<String>,
    /// What is wrong.
    pub what: String,
}

impl fmt::Display for Damage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(tree) = &self.tree {
            write!(f, ", tree {tree}")?;
        }
        if let Some(key) = &self.key {
            write!(f, ", key {key}")?;
        }
        write!(f, ": {}", self.what)
    }
}

/// What [`check`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// The damaged items, at most [`MAX_LISTED`], in the order found.
    pub damage: Vec<Damage>,
    /// Damaged items found in all, listed or not.
    pub damaged_items: u64,
    /// Whether sled could open the database at all; when not, nothing of
    /// it was read and the profile counts are 0.
    pub database_read: bool,
    /// Series in the index.
    pub series: u64,
    /// Profiles that read back whole.
    pub profiles_ok: u64,
    /// Profiles that do not: their blob does not decode, or it refers to
    /// a series or a symbol that is not stored.
    pub profiles_damaged: u64,
}

impl Report {
    /// Whether nothing is damaged.
    pub fn is_clean(&self) -> bool {
        self.damaged_items == 0
    }

    fn add(&mut self, file: &str, tree: Option<&str>, key: Option<String>, what: String) {
        self.damaged_items += 1;
        if self.damage.len() < MAX_LISTED {
            self.damage.push(Damage {
                file: file.to_owned(),
                tree: tree.map(str::to_owned),
                key,
                what,
            });
        }
    }

    fn record(&mut self, tree: &str, key: String, what: impl Into<String>) {
        self.add(DB_FILE, Some(tree), Some(key), what.into());
    }
}

/// [`check_with`] with the default options.
pub fn check(dir: &Path) -> Result<Report> {
    check_with(dir, &CheckOptions::default())
}

/// Checks the data directory `dir` (see the module docs). `Err` when it
/// cannot be checked at all: it is missing or unreadable, holds no store,
/// holds another store format, or is open in another process.
pub fn check_with(dir: &Path, options: &CheckOptions) -> Result<Report> {
    let mut report = Report::default();
    let db_path = dir.join(DB_FILE);
    std::fs::read_dir(dir)?;
    if !db_path.exists() && !dir.join(FORMAT_FILE).exists() {
        return Err(Error::NotAStore {
            path: dir.to_owned(),
        });
    }
    check_format(dir, &mut report)?;
    let conf_damaged = check_conf(dir, &mut report)?;
    check_commits_file(dir, &mut report);
    if !db_path.exists() {
        report.add(DB_FILE, None, None, "it is missing".to_owned());
        return Ok(report);
    }

    let scratch = match &options.scratch {
        Some(scratch) => tempfile::Builder::new()
            .prefix("brasa-check-")
            .tempdir_in(scratch)?,
        None => tempfile::Builder::new().prefix("brasa-check-").tempdir()?,
    };
    let copy = scratch.path().join("data");
    {
        let _shared = lock_shared(dir)?;
        copy_dir(dir, &copy)?;
    }
    if conf_damaged {
        // sled would misread or refuse it; its defaults are what Brasa uses.
        std::fs::remove_file(copy.join(CONF_FILE))?;
    }
    let opened = sled_open::catch_quietly(|| sled::Config::new().path(&copy).open());
    let db = match opened {
        Ok(Ok(db)) => db,
        Ok(Err(error)) => {
            let what = match sled_open::database_error(&copy, error) {
                Error::Damaged { what, .. } => what,
                other => return Err(other),
            };
            report.add(DB_FILE, None, None, what);
            return Ok(report);
        }
        Err(panic) => {
            report.add(
                DB_FILE,
                None,
                None,
                format!("the database's log cannot be recovered ({panic})"),
            );
            return Ok(report);
        }
    };
    report.database_read = true;
    let walked = sled_open::catch_quietly(|| Walk::new(&db, &copy, &mut report)?.run());
    match walked {
        Ok(Ok(())) => {}
        Ok(Err(error)) => report.add(DB_FILE, None, None, describe(error)),
        Err(panic) => report.add(
            DB_FILE,
            None,
            None,
            format!("reading it made the database panic ({panic})"),
        ),
    }
    drop(db);
    Ok(report)
}

fn check_format(dir: &Path, report: &mut Report) -> Result<()> {
    let path = dir.join(FORMAT_FILE);
    match std::fs::read(&path) {
        Ok(bytes) => match std::str::from_utf8(&bytes)
            .ok()
            .and_then(format_version::parse)
        {
            Some(FORMAT_VERSION) => {}
            Some(found) => {
                return Err(Error::FormatMismatch {
                    path: dir.to_owned(),
                    found,
                    expected: FORMAT_VERSION,
                })
            }
            None => report.add(
                FORMAT_FILE,
                None,
                None,
                format!(
                    "it does not hold a store format version (read as format {FORMAT_VERSION})"
                ),
            ),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Error::FormatMismatch {
                path: dir.to_owned(),
                found: format_version::UNVERSIONED_FORMAT,
                expected: FORMAT_VERSION,
            })
        }
        Err(source) => return Err(Error::FormatFile { path, source }),
    }
    Ok(())
}

/// Whether `conf` is damaged (and reported).
fn check_conf(dir: &Path, report: &mut Report) -> Result<bool> {
    match std::fs::read(dir.join(CONF_FILE)) {
        Ok(bytes) => Ok(match sled_open::conf_problem(&bytes) {
            Some(what) => {
                report.add(CONF_FILE, None, None, what.to_owned());
                true
            }
            None => false,
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e.into()),
    }
}

fn check_commits_file(dir: &Path, report: &mut Report) {
    if let Ok(bytes) = std::fs::read(dir.join(COMMITS_FILE)) {
        if std::str::from_utf8(&bytes)
            .ok()
            .and_then(commits::parse)
            .is_none()
        {
            report.add(
                COMMITS_FILE,
                None,
                None,
                "it does not hold a commit count".to_owned(),
            );
        }
    }
}

/// A shared `flock` on `dir/db`, released on drop: sled holds it
/// exclusively while the directory is open.
struct SharedLock(std::fs::File);

fn lock_shared(dir: &Path) -> Result<SharedLock> {
    let path = dir.join(DB_FILE);
    let file = std::fs::File::open(&path)?;
    // SAFETY: flock on a descriptor this function owns.
    let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_SH | libc::LOCK_NB) };
    if rc != 0 {
        let error = std::io::Error::last_os_error();
        if error.kind() == std::io::ErrorKind::WouldBlock {
            return Err(Error::Locked {
                path: dir.to_owned(),
                pid: dir_lock::holder_pid(&path),
            });
        }
        return Err(error.into());
    }
    Ok(SharedLock(file))
}

impl Drop for SharedLock {
    fn drop(&mut self) {
        // SAFETY: as above; closing the file would release it too.
        unsafe { libc::flock(self.0.as_raw_fd(), libc::LOCK_UN) };
    }
}

/// Copies the files of `from` into `to`, folders included; the temporary
/// files of an interrupted write are left out.
fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        let target = to.join(entry.file_name());
        if kind.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else if kind.is_file() {
            std::fs::copy(entry.path(), target)?;
        }
    }
    Ok(())
}

/// The message of an error met while reading a record.
fn describe(error: Error) -> String {
    match error {
        Error::Corrupt(what) => what,
        Error::Sled(sled::Error::Corruption { .. }) => {
            "sled cannot read the page that holds it: its checksum fails".to_owned()
        }
        Error::Damaged { what, .. } => what,
        other => brasa_profile::error_chain(&other),
    }
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::from("0x"), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    })
}

/// What the symbol records of one series hold: the ids stored of each
/// kind, and the sample type count of each profile record.
#[derive(Default)]
struct SeriesSymbols {
    strings: HashSet<u32>,
    functions: HashMap<u32, FunctionRecord>,
    mappings: HashMap<u32, MappingRecord>,
    locations: HashMap<u32, LocationRecord>,
    stacks: HashMap<u32, StackRecord>,
    metas: HashMap<u32, MetaRecord>,
}

impl SeriesSymbols {
    /// Problems of references between the records (id 0 is none, or the
    /// empty string).
    fn dangling(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let mut need = |present: bool, from: &str, id: u32, to: &str, target: u32| {
            if target != 0 && !present {
                problems.push(format!(
                    "{from} {id} refers to {to} {target}, which is not stored"
                ));
            }
        };
        let string = |id: u32| self.strings.contains(&id);
        for (&id, f) in &self.functions {
            for s in [f.name, f.system_name, f.filename] {
                need(string(s), "function", id, "string", s);
            }
        }
        for (&id, m) in &self.mappings {
            for s in [m.filename, m.build_id] {
                need(string(s), "mapping", id, "string", s);
            }
        }
        for (&id, l) in &self.locations {
            need(
                self.mappings.contains_key(&l.mapping),
                "location",
                id,
                "mapping",
                l.mapping,
            );
            for line in &l.lines {
                let f = line.function;
                need(
                    self.functions.contains_key(&f),
                    "location",
                    id,
                    "function",
                    f,
                );
            }
        }
        for (&id, s) in &self.stacks {
            for &l in &s.locations {
                need(self.locations.contains_key(&l), "stack", id, "location", l);
            }
            for label in &s.labels {
                for s in [label.key, label.str, label.num_unit] {
                    need(string(s), "stack", id, "string", s);
                }
            }
        }
        for (&id, m) in &self.metas {
            let mut ids: Vec<u32> = m
                .sample_types
                .iter()
                .chain(&m.period_type)
                .flat_map(|vt| [vt.r#type, vt.unit])
                .collect();
            ids.push(m.default_sample_type);
            for s in ids {
                need(string(s), "profile record", id, "string", s);
            }
        }
        problems.sort();
        problems
    }

    /// Restores one record of a chunk.
    fn restore(&mut self, entry: &ChunkEntry<'_>) -> Result<()> {
        if entry.id == 0 {
            return Err(Error::Corrupt("a symbol record with id 0".to_owned()));
        }
        let id = entry.id;
        match entry.kind {
            String::KIND => {
                String::decode(entry.bytes)?;
                self.strings.insert(id);
            }
            FunctionRecord::KIND => {
                self.functions
                    .insert(id, FunctionRecord::decode(entry.bytes)?);
            }
            MappingRecord::KIND => {
                self.mappings
                    .insert(id, MappingRecord::decode(entry.bytes)?);
            }
            LocationRecord::KIND => {
                self.locations
                    .insert(id, LocationRecord::decode(entry.bytes)?);
            }
            StackRecord::KIND => {
                self.stacks.insert(id, StackRecord::decode(entry.bytes)?);
            }
            MetaRecord::KIND => {
                self.metas.insert(id, MetaRecord::decode(entry.bytes)?);
            }
            kind => return Err(Error::Corrupt(format!("unknown symbol kind {kind}"))),
        }
        Ok(())
    }
}

/// One walk over every tree of a database.
struct Walk<'a> {
    dir: &'a Path,
    report: &'a mut Report,
    trees: BTreeMap<&'static str, Tree>,
    /// Series in `series_labels`, with their labels when they decode.
    labels: BTreeMap<u64, Option<Labels>>,
    /// Series in `series_types`, with their kind when it decodes.
    kinds: BTreeMap<u64, Option<Kind>>,
    /// Symbols of each series that has any.
    symbols: HashMap<u64, SeriesSymbols>,
}

impl<'a> Walk<'a> {
    fn new(db: &Db, dir: &'a Path, report: &'a mut Report) -> Result<Self> {
        let mut trees = BTreeMap::new();
        for name in [
            tree::SERIES,
            tree::SERIES_LABELS,
            tree::SERIES_TYPES,
            tree::POSTINGS,
            tree::PROFILES,
            tree::SYMBOLS,
            tree::SAMPLE_LABELS,
            tree::META,
        ] {
            trees.insert(name, db.open_tree(name)?);
        }
        Ok(Self {
            dir,
            report,
            trees,
            labels: BTreeMap::new(),
            kinds: BTreeMap::new(),
            symbols: HashMap::new(),
        })
    }

    fn run(mut self) -> Result<()> {
        self.commits()?;
        self.meta();
        self.series_types();
        self.series_labels();
        self.series();
        self.postings();
        self.sample_labels();
        self.symbol_chunks();
        self.profiles();
        Ok(())
    }

    /// Calls `f` with every entry of `name`, in order; an error that stops
    /// the scan is reported against the tree (sled cannot read past a page
    /// it cannot read).
    fn each(&mut self, name: &'static str, mut f: impl FnMut(&mut Self, &[u8], &[u8])) {
        let tree = self.trees[name].clone();
        for entry in tree.iter() {
            match entry {
                Ok((key, value)) => f(self, &key, &value),
                Err(error) => {
                    let what = describe(Error::Sled(error));
                    let what = format!("{what}; the rest of the tree is unread");
                    self.report.add(DB_FILE, Some(name), None, what);
                    break;
                }
            }
        }
    }

    fn commits(&mut self) -> Result<()> {
        match Recorded::read(self.dir, &self.trees[tree::META]) {
            Ok(recorded) => {
                if let Err(Error::Damaged { what, .. }) = recorded.check(self.dir) {
                    self.report.add(DB_FILE, None, None, what);
                }
            }
            // A garbled COMMITS is reported already.
            Err(Error::Damaged { path, .. }) if path.ends_with(COMMITS_FILE) => {}
            Err(Error::Damaged { what, .. }) => {
                let key = String::from_utf8_lossy(keys::COMMITS).into_owned();
                self.report.record(tree::META, key, what);
            }
            Err(other) => return Err(other),
        }
        Ok(())
    }

    fn meta(&mut self) {
        self.each(tree::META, |walk, key, value| {
            if key == keys::NEXT_SERIES_ID && keys::parse_count(value).is_none() {
                let key = String::from_utf8_lossy(key).into_owned();
                let what = "the next series id is not a number";
                walk.report.record(tree::META, key, what);
            }
        });
    }

    fn series_types(&mut self) {
        self.each(tree::SERIES_TYPES, |walk, key, value| {
            let Ok(id) = keys::parse_series_id(key) else {
                let what = "the key is not a series id";
                return walk.report.record(tree::SERIES_TYPES, hex(key), what);
            };
            let kind = keys::decode_kind(value)
                .map_err(|e| {
                    let at = format!("series {id}");
                    walk.report.record(tree::SERIES_TYPES, at, describe(e));
                })
                .ok();
            walk.kinds.insert(id, kind);
        });
    }

    fn series_labels(&mut self) {
        self.each(tree::SERIES_LABELS, |walk, key, value| {
            let Ok(id) = keys::parse_series_id(key) else {
                let what = "the key is not a series id";
                return walk.report.record(tree::SERIES_LABELS, hex(key), what);
            };
            let labels = Labels::from_bytes(value)
                .map_err(|e| {
                    let at = format!("series {id}");
                    walk.report.record(tree::SERIES_LABELS, at, describe(e));
                })
                .ok();
            if !walk.kinds.contains_key(&id) {
                let what = "the series has no kind in series_types";
                walk.report
                    .record(tree::SERIES_LABELS, format!("series {id}"), what);
            }
            walk.labels.insert(id, labels);
        });
        self.report.series = self.labels.len() as u64;
    }

    fn series(&mut self) {
        self.each(tree::SERIES, |walk, key, value| {
            let Ok(id) = keys::parse_series_id(value) else {
                let what = "the value is not a series id";
                return walk.report.record(tree::SERIES, hex(key), what);
            };
            let at = format!("series {id}");
            match (walk.labels.get(&id), walk.kinds.get(&id)) {
                (Some(Some(labels)), Some(Some(kind))) => {
                    if key != (SeriesKey { labels, kind }).encode() {
                        let what = "the key is not the series' labels and kind";
                        walk.report.record(tree::SERIES, at, what);
                    }
                }
                // A label set or kind that does not decode is reported already.
                (Some(_), Some(_)) => {}
                _ => {
                    let what = "the series is not in series_labels and series_types";
                    walk.report.record(tree::SERIES, at, what);
                }
            }
        });
    }

    fn postings(&mut self) {
        let mut posted: HashSet<(u64, String, String)> = HashSet::new();
        self.each(tree::POSTINGS, |walk, key, _| {
            let Ok(PostingKey {
                name,
                value,
                series,
            }) = PostingKey::decode(key)
            else {
                let what = "the key is not a label and a series";
                return walk.report.record(tree::POSTINGS, hex(key), what);
            };
            let at = || format!("{name}={value:?} series {series}");
            match walk.labels.get(&series) {
                None => {
                    let what = "the series is not in the index";
                    walk.report.record(tree::POSTINGS, at(), what);
                }
                Some(Some(labels)) if labels.get(name) != Some(value) => {
                    let what = "the series does not have this label";
                    walk.report.record(tree::POSTINGS, at(), what);
                }
                _ => {}
            }
            posted.insert((series, name.to_owned(), value.to_owned()));
        });
        let mut missing = Vec::new();
        for (&id, labels) in &self.labels {
            for (name, value) in labels.iter().flat_map(Labels::iter) {
                if !posted.contains(&(id, name.to_owned(), value.to_owned())) {
                    missing.push(format!("{name}={value:?} series {id}"));
                }
            }
        }
        for at in missing {
            let what = "the series has this label but no posting: selectors on it miss the series";
            self.report.record(tree::POSTINGS, at, what);
        }
    }

    fn sample_labels(&mut self) {
        self.each(tree::SAMPLE_LABELS, |walk, key, _| {
            if PostingKey::decode_pair(key).is_err() {
                let what = "the key is not a name and a value";
                walk.report.record(tree::SAMPLE_LABELS, hex(key), what);
            }
        });
    }

    fn symbol_chunks(&mut self) {
        self.each(tree::SYMBOLS, |walk, key, value| {
            let Ok(ChunkKey { series, chunk }) = ChunkKey::decode(key) else {
                let what = "the key is not a series and a chunk";
                return walk.report.record(tree::SYMBOLS, hex(key), what);
            };
            let at = format!("series {series} chunk {chunk}");
            if !walk.labels.contains_key(&series) {
                let what = "the series is not in the index";
                walk.report.record(tree::SYMBOLS, at.clone(), what);
            }
            let symbols = walk.symbols.entry(series).or_default();
            let restored = ChunkEntry::parse_all(value)
                .and_then(|entries| entries.iter().try_for_each(|e| symbols.restore(e)));
            if let Err(error) = restored {
                walk.report.record(tree::SYMBOLS, at, describe(error));
            }
        });
        let mut series: Vec<u64> = self.symbols.keys().copied().collect();
        series.sort_unstable();
        for id in series {
            for problem in self.symbols[&id].dangling() {
                let at = format!("series {id}");
                self.report.record(tree::SYMBOLS, at, problem);
            }
        }
    }

    fn profiles(&mut self) {
        self.each(tree::PROFILES, |walk, key, value| {
            match walk.profile(key, value) {
                Ok(()) => walk.report.profiles_ok += 1,
                Err((at, what)) => {
                    walk.report.profiles_damaged += 1;
                    walk.report.record(tree::PROFILES, at, what);
                }
            }
        });
    }

    /// Checks one profile: `Err((key, what is wrong))`.
    fn profile(&self, key: &[u8], value: &[u8]) -> std::result::Result<(), (String, String)> {
        let ProfileKey { series, time_nanos } = ProfileKey::decode(key)
            .map_err(|_| (hex(key), "the key is not a series and a time".to_owned()))?;
        let at = || format!("series {series} time {time_nanos}");
        if !self.labels.contains_key(&series) {
            return Err((at(), "the series is not in the index".to_owned()));
        }
        let reduced = blob::decode(value).map_err(|e| (at(), describe(e)))?;
        let no_symbols = SeriesSymbols::default();
        let symbols = self.symbols.get(&series).unwrap_or(&no_symbols);
        let Some(meta) = symbols.metas.get(&reduced.meta) else {
            let what = format!("profile record {} is not stored", reduced.meta);
            return Err((at(), what));
        };
        let types = meta.sample_types.len();
        for sample in &reduced.samples {
            if !symbols.stacks.contains_key(&sample.stack) {
                return Err((at(), format!("stack {} is not stored", sample.stack)));
            }
            if sample.values.len() != types {
                let what = format!(
                    "a sample has {} values for {types} sample types",
                    sample.values.len()
                );
                return Err((at(), what));
            }
        }
        Ok(())
    }
}
