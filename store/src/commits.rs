//! Counting commits, so that a database that lost its end is refused
//! rather than served with the loss unsaid.
//!
//! sled recovers its log up to the first damaged record and drops the rest
//! without an error (`crate::sled_open`). To notice, every flush of
//! [`Store::commit`](crate::Store::commit) first writes its number to the
//! database (`meta` key `commits`) and, once the flush is on disk, to the
//! file `COMMITS` beside `FORMAT`. sled recovers a prefix of its log, and
//! the number is written after every write the flush acknowledges, so a
//! database that holds number `n` holds everything acknowledged up to it.
//! When the store is opened, a database whose number is below the file's
//! has lost acknowledged profiles: [`Error::Damaged`].
//!
//! The file is written after the flush, by a rename, without a flush of
//! its own: a crash, or a failure to write it, can leave it behind the
//! database (which is not taken for damage), never ahead. Damage that sled recovers past, or that
//! leaves the last commit intact (a garbled record whose page a later one
//! replaced), is not seen here; `brasa store check` reads every record.
//! A directory without `COMMITS` (written before it existed) is not
//! compared until its first commit writes one.

use std::{
    path::{Path, PathBuf},
    sync::atomic::{AtomicU64, Ordering},
};

use crate::{
    keys::{self, COMMITS},
    sled_open::DB_FILE,
    Db, Error, Result, Tree,
};

/// The file beside `FORMAT` that holds the number of the last commit.
pub(crate) const COMMITS_FILE: &str = "COMMITS";

/// See the module docs.
#[derive(Debug)]
pub(crate) struct Commits {
    dir: PathBuf,
    meta: Tree,
    last: AtomicU64,
}

/// The numbers of the last commit that the file and the database record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Recorded {
    /// In `COMMITS`; `None` without the file.
    pub(crate) file: Option<u64>,
    /// In the database; 0 without the key.
    pub(crate) database: u64,
}

impl Recorded {
    /// Reads both numbers of the store in `dir` whose `meta` tree is `meta`.
    pub(crate) fn read(dir: &Path, meta: &Tree) -> Result<Self> {
        let file = read_file(dir)?;
        let database = match meta.get(COMMITS)? {
            Some(bytes) => keys::parse_count(&bytes).ok_or_else(|| Error::Damaged {
                path: dir.join(DB_FILE),
                what: "its commit count is not a number".to_owned(),
            })?,
            None => 0,
        };
        Ok(Self { file, database })
    }

    /// [`Error::Damaged`] when the database lost commits that the file
    /// records.
    pub(crate) fn check(&self, dir: &Path) -> Result<()> {
        match self.file {
            Some(file) if file > self.database => Err(Error::Damaged {
                path: dir.join(DB_FILE),
                what: format!(
                    "it ends at commit {} of the {file} that {COMMITS_FILE} records: its end \
                     is missing or garbled, with the profiles written after it",
                    self.database
                ),
            }),
            _ => Ok(()),
        }
    }
}

impl Commits {
    /// The counter of the store in `dir`, refusing a database that lost
    /// commits.
    pub(crate) fn open(dir: &Path, db: &Db) -> Result<Self> {
        let meta = db.open_tree(keys::tree::META)?;
        let recorded = Recorded::read(dir, &meta)?;
        recorded.check(dir)?;
        Ok(Self {
            dir: dir.to_owned(),
            meta,
            last: AtomicU64::new(recorded.database),
        })
    }

    /// Flushes `db` to disk as the next commit. One caller at a time
    /// (group commit's flusher, or a flush outside it that it waits for).
    pub(crate) fn flush(&self, db: &Db) -> std::io::Result<()> {
        let next = self.last.load(Ordering::SeqCst) + 1;
        self.meta
            .insert(COMMITS, &keys::count(next)[..])
            .map_err(std::io::Error::from)?;
        db.flush().map_err(std::io::Error::from)?;
        self.last.store(next, Ordering::SeqCst);
        // The commit is durable whether or not the file follows: a file
        // left behind (a full disk) only checks less, and is never ahead.
        let _ = write_file(&self.dir, next);
        Ok(())
    }
}

/// The number in `COMMITS`, `None` without the file.
fn read_file(dir: &Path) -> Result<Option<u64>> {
    let path = dir.join(COMMITS_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => parse(&text).map(Some).ok_or_else(|| Error::Damaged {
            path,
            what: "it does not hold a commit count".to_owned(),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) if e.kind() == std::io::ErrorKind::InvalidData => Err(Error::Damaged {
            path,
            what: "it does not hold a commit count".to_owned(),
        }),
        Err(e) => Err(Error::Io(e)),
    }
}

/// The number in the text of a `COMMITS` file.
pub(crate) fn parse(text: &str) -> Option<u64> {
    let digits = text.strip_suffix('\n')?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

fn write_file(dir: &Path, number: u64) -> std::io::Result<()> {
    let temporary = dir.join(format!("{COMMITS_FILE}.tmp"));
    std::fs::write(&temporary, format!("{number}\n"))?;
    std::fs::rename(&temporary, dir.join(COMMITS_FILE))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_count_is_one_number_and_a_newline() {
        assert_eq!(parse("0\n"), Some(0));
        assert_eq!(parse("42\n"), Some(42));
        for bad in [
            "",
            "\n",
            "42",
            "+4\n",
            "4 \n",
            "x\n",
            "99999999999999999999999\n",
        ] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn a_database_behind_its_file_is_damaged() {
        let dir = Path::new("/data");
        let ok = |file, database| Recorded { file, database }.check(dir).is_ok();
        assert!(ok(None, 0));
        assert!(ok(Some(3), 3));
        assert!(ok(Some(3), 4), "a crash before the file was written");
        assert!(!ok(Some(3), 2));
        assert!(!ok(Some(1), 0));
    }
}
