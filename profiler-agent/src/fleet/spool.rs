//! A bounded on-disk queue of profiles waiting for the server.
//!
//! One file per profile, named by a sequence number so the directory order
//! is the delivery order; written to a temporary name and renamed, so a crash
//! never leaves half a profile behind. The spool survives agent restarts.
//! When it would grow past its byte limit, or the disk under it is full,
//! the oldest profiles are dropped, and counted: newer data is worth more to
//! someone looking at a dashboard.

use std::{
    collections::VecDeque,
    fs,
    io::{BufRead, ErrorKind, Read},
    path::{Path, PathBuf},
};

use crate::{Error, Result};

/// File name suffix of a spooled profile.
const SUFFIX: &str = ".spool";
/// Suffix of a file still being written.
const TMP_SUFFIX: &str = ".spool.tmp";

/// A profile on its way to the server: its series labels and gzip pprof body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpooledProfile {
    /// Series labels, sent as the ingest URL's query parameters.
    pub labels: Vec<(String, String)>,
    /// gzip-compressed pprof.
    pub body: Vec<u8>,
}

/// Which spooled profile: handed out by [`Spool::oldest`], so that the one
/// delivered is the one removed even if eviction dropped it meanwhile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpoolId(u64);

/// The queue. See the module docs.
#[derive(Debug)]
pub struct Spool {
    dir: PathBuf,
    max_bytes: u64,
    files: VecDeque<(u64, u64)>,
    bytes: u64,
    next_seq: u64,
    dropped: u64,
    spooled: u64,
}

impl Spool {
    /// Opens (creating it if needed) the spool in `dir`, keeping at most
    /// `max_bytes` of profiles. Profiles left by an earlier run are kept.
    pub fn open(dir: &Path, max_bytes: u64) -> Result<Self> {
        let io = |source| Error::Io {
            action: format!("opening spool directory {}", dir.display()),
            source,
        };
        fs::create_dir_all(dir).map_err(io)?;
        let mut files = Vec::new();
        for entry in fs::read_dir(dir).map_err(io)? {
            let entry = entry.map_err(io)?;
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.ends_with(TMP_SUFFIX) {
                // Interrupted write: never acknowledged, never complete.
                let _ = fs::remove_file(entry.path());
            } else if let Some(seq) = name.strip_suffix(SUFFIX).and_then(|s| s.parse().ok()) {
                files.push((seq, entry.metadata().map_err(io)?.len()));
            }
        }
        files.sort_unstable();
        let mut spool = Self {
            dir: dir.to_owned(),
            max_bytes,
            bytes: files.iter().map(|(_, len)| len).sum(),
            next_seq: files.last().map_or(0, |(seq, _)| seq + 1),
            files: files.into(),
            dropped: 0,
            spooled: 0,
        };
        spool.evict();
        Ok(spool)
    }

    /// Profiles waiting.
    pub fn len(&self) -> usize {
        self.files.len()
    }

    /// True when nothing waits.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// Bytes on disk.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Profiles dropped since open: oldest evicted to respect the limit or
    /// to make room on a full disk, or unreadable files found in the
    /// directory.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Profiles written since open.
    pub fn spooled(&self) -> u64 {
        self.spooled
    }

    fn path(&self, seq: u64) -> PathBuf {
        self.dir.join(format!("{seq:020}{SUFFIX}"))
    }

    /// Appends a profile, evicting the oldest ones if the limit is exceeded
    /// or the disk has no room for it. Fails when the profile cannot be
    /// written even with the spool empty.
    pub fn push(&mut self, profile: &SpooledProfile) -> Result<()> {
        let header = serde_json::to_string(&profile.labels).expect("strings serialize");
        let mut contents = Vec::with_capacity(header.len() + 1 + profile.body.len());
        contents.extend_from_slice(header.as_bytes());
        contents.push(b'\n');
        contents.extend_from_slice(&profile.body);

        let seq = self.next_seq;
        let path = self.path(seq);
        loop {
            match write_atomically(&path, &contents) {
                Ok(()) => break,
                Err(error) if error.kind() == ErrorKind::StorageFull && self.drop_oldest() => {}
                Err(source) => {
                    return Err(Error::Io {
                        action: format!("writing spool file {}", path.display()),
                        source,
                    })
                }
            }
        }
        self.next_seq += 1;
        self.spooled += 1;
        self.files.push_back((seq, contents.len() as u64));
        self.bytes += contents.len() as u64;
        self.evict();
        Ok(())
    }

    fn evict(&mut self) {
        while self.bytes > self.max_bytes && self.drop_oldest() {}
    }

    /// Drops the oldest profile, counted; false when there is none.
    fn drop_oldest(&mut self) -> bool {
        let Some((seq, len)) = self.files.pop_front() else {
            return false;
        };
        let _ = fs::remove_file(self.path(seq));
        self.bytes -= len;
        self.dropped += 1;
        true
    }

    /// The oldest profile, if any. An unreadable file is dropped (and
    /// counted) and the next one is tried.
    pub fn oldest(&mut self) -> Option<(SpoolId, SpooledProfile)> {
        self.oldest_n(1).pop()
    }

    /// The `n` oldest profiles (fewer when fewer wait), oldest first;
    /// unreadable files are dropped (and counted) on the way.
    pub fn oldest_n(&mut self, n: usize) -> Vec<(SpoolId, SpooledProfile)> {
        let mut found = Vec::with_capacity(n.min(self.files.len()));
        let mut at = 0;
        while found.len() < n {
            let Some(&(seq, len)) = self.files.get(at) else {
                break;
            };
            match read_file(&self.path(seq)) {
                Some(profile) => {
                    found.push((SpoolId(seq), profile));
                    at += 1;
                }
                None => {
                    self.files.remove(at);
                    let _ = fs::remove_file(self.path(seq));
                    self.bytes -= len;
                    self.dropped += 1;
                }
            }
        }
        found
    }

    /// Removes profile `id`, once the server has taken it; nothing when
    /// it was evicted in the meantime.
    pub fn remove(&mut self, id: SpoolId) {
        if let Some(at) = self.files.iter().position(|&(seq, _)| seq == id.0) {
            let (seq, len) = self.files.remove(at).expect("position is in range");
            let _ = fs::remove_file(self.path(seq));
            self.bytes -= len;
        }
    }
}

/// Writes `contents` to a temporary name and renames it to `path`; a failed
/// write leaves nothing behind, so it takes no room on a full disk.
fn write_atomically(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension(&TMP_SUFFIX[1..]);
    let written = fs::write(&tmp, contents).and_then(|()| fs::rename(&tmp, path));
    if written.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    written
}

fn read_file(path: &Path) -> Option<SpooledProfile> {
    let mut reader = std::io::BufReader::new(fs::File::open(path).ok()?);
    let mut header = String::new();
    reader.read_line(&mut header).ok()?;
    let labels = serde_json::from_str(header.trim_end()).ok()?;
    let mut body = Vec::new();
    reader.read_to_end(&mut body).ok()?;
    Some(SpooledProfile { labels, body })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(i: usize, size: usize) -> SpooledProfile {
        SpooledProfile {
            labels: vec![
                ("comm".into(), format!("app{i}")),
                ("host".into(), "h\n\"x".into()),
            ],
            body: vec![i as u8; size],
        }
    }

    #[test]
    fn delivers_in_order_and_survives_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let mut spool = Spool::open(dir.path(), 1 << 20).unwrap();
        for i in 0..3 {
            spool.push(&profile(i, 100)).unwrap();
        }
        let (id, first) = spool.oldest().unwrap();
        assert_eq!(first, profile(0, 100));
        spool.remove(id);
        drop(spool);

        let mut spool = Spool::open(dir.path(), 1 << 20).unwrap();
        assert_eq!(spool.len(), 2);
        spool.push(&profile(3, 100)).unwrap();
        let mut seen = Vec::new();
        while let Some((id, p)) = spool.oldest() {
            seen.push(p);
            spool.remove(id);
        }
        assert_eq!(
            seen,
            vec![profile(1, 100), profile(2, 100), profile(3, 100)]
        );
        assert_eq!((spool.bytes(), spool.dropped()), (0, 0));
        assert_eq!(spool.spooled(), 1);
    }

    #[test]
    fn full_spool_drops_the_oldest_and_counts() {
        let dir = tempfile::tempdir().unwrap();
        let mut spool = Spool::open(dir.path(), 5_000).unwrap();
        for i in 0..20 {
            spool.push(&profile(i, 1_000)).unwrap();
        }
        assert!(spool.bytes() <= 5_000);
        assert_eq!(spool.len(), 4);
        assert_eq!(spool.dropped(), 16);
        assert_eq!(spool.oldest().unwrap().1, profile(16, 1_000));
        assert_eq!(spool.spooled(), 20);
        let on_disk = fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(on_disk, 4);
    }

    #[test]
    fn removing_a_profile_evicted_during_its_delivery_keeps_the_others() {
        let dir = tempfile::tempdir().unwrap();
        let mut spool = Spool::open(dir.path(), 2_500).unwrap();
        spool.push(&profile(0, 1_000)).unwrap();
        let (sending, _) = spool.oldest().unwrap();
        // While profile 0 is on the wire, two more arrive and evict it.
        spool.push(&profile(1, 1_000)).unwrap();
        spool.push(&profile(2, 1_000)).unwrap();
        assert_eq!(spool.dropped(), 1);
        spool.remove(sending);
        assert_eq!(spool.len(), 2);
        assert_eq!(spool.oldest().unwrap().1, profile(1, 1_000));
    }

    #[test]
    fn damaged_and_partial_files_are_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let mut spool = Spool::open(dir.path(), 1 << 20).unwrap();
        spool.push(&profile(0, 10)).unwrap();
        spool.push(&profile(1, 10)).unwrap();
        fs::write(spool.path(0), b"not json\n").unwrap();
        fs::write(dir.path().join("00000000000000000009.spool.tmp"), b"half").unwrap();
        drop(spool);
        let mut spool = Spool::open(dir.path(), 1 << 20).unwrap();
        assert_eq!(spool.oldest().unwrap().1, profile(1, 10));
        assert_eq!(spool.dropped(), 1);
        assert!(!dir.path().join("00000000000000000009.spool.tmp").exists());
    }
}
