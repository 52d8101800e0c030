//! Packs: many profiles of many series in one self-contained, immutable
//! object, in the same compact form the store keeps on disk.
//!
//! A server that shares a bucket with others writes what it accepted as a
//! pack (a segment), and compaction merges packs into bigger ones (blocks).
//! Each series in a pack carries its labels and its own symbol table; each
//! profile is only (stack id, values) pairs against it, so a pack costs
//! about what the same profiles cost in sled, not one pprof per profile.
//!
//! ```text
//! pack    = zstd(magic · series count · series...)
//! series  = labels length · labels · symbols length · symbols ·
//!           profile count · (time · body length · body)...
//! ```
//!
//! `labels` is [`Labels`]' canonical form, `symbols` a chunk of symbol
//! records (`crate::symbols`), `body` a reduced profile (`crate::blob`).
//! Integers are varints (`crate::codec`).
//!
//! A profile added twice to one pack (same series, same time, same content)
//! is kept once: retried pushes that reach a bucket twice are stored once
//! when their packs are merged.

use std::io::Read;

use brasa_profile::Profile;
use rustc_hash::{FxHashMap as HashMap, FxHasher};

use crate::{
    blob,
    codec::{put_uint, Reader},
    labels::Labels,
    symbols::{NewRecord, SymbolTable},
    Error, Result,
};

/// First bytes of every pack (before compression): the format and its
/// version.
const MAGIC: &[u8; 8] = b"BRASAPK1";
/// zstd level for whole packs: they are read many times and written once.
const ZSTD_LEVEL: i32 = 6;
/// Largest decompressed pack a reader accepts: it bounds the memory a
/// damaged or hostile object can claim.
pub const MAX_PACK_BYTES: u64 = 1 << 30;

/// One series of a pack being written.
#[derive(Default)]
struct SeriesPack {
    labels: Vec<u8>,
    table: SymbolTable,
    new: Vec<NewRecord>,
    /// (time, reduced body), in the order added.
    profiles: Vec<(u64, Vec<u8>)>,
    /// (time, hash of body) → indexes in `profiles`, for duplicates.
    seen: HashMap<(u64, u64), Vec<usize>>,
}

/// Builds a pack. See the module docs.
#[derive(Default)]
pub struct PackWriter {
    series: Vec<SeriesPack>,
    by_labels: HashMap<Vec<u8>, usize>,
    profiles: usize,
    duplicates: usize,
}

impl PackWriter {
    /// An empty pack.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `profile` (validated) of series `labels` at `time_nanos`;
    /// false when the pack already holds it.
    pub fn add(&mut self, labels: &Labels, profile: &Profile, time_nanos: u64) -> bool {
        let key = labels.to_bytes();
        let index = match self.by_labels.get(&key) {
            Some(&i) => i,
            None => {
                self.series.push(SeriesPack {
                    labels: key.clone(),
                    ..SeriesPack::default()
                });
                self.by_labels.insert(key, self.series.len() - 1);
                self.series.len() - 1
            }
        };
        let series = &mut self.series[index];
        let reduced = series.table.reduce(profile, &mut series.new);
        let body = blob::encode_body(&reduced);
        let slot = series.seen.entry((time_nanos, hash(&body))).or_default();
        if slot.iter().any(|&i| series.profiles[i].1 == body) {
            self.duplicates += 1;
            return false;
        }
        slot.push(series.profiles.len());
        series.profiles.push((time_nanos, body));
        self.profiles += 1;
        true
    }

    /// Profiles in the pack.
    pub fn profiles(&self) -> usize {
        self.profiles
    }

    /// Profiles left out because the pack already held them.
    pub fn duplicates(&self) -> usize {
        self.duplicates
    }

    /// Whether the pack holds nothing.
    pub fn is_empty(&self) -> bool {
        self.profiles == 0
    }

    /// The pack's bytes.
    ///
    /// # Errors
    /// When zstd fails (out of memory).
    pub fn finish(self) -> Result<Vec<u8>> {
        let mut out = MAGIC.to_vec();
        put_uint(&mut out, self.series.len() as u64);
        for series in &self.series {
            put_bytes(&mut out, &series.labels);
            put_bytes(&mut out, &series.table.chunk(&series.new));
            put_uint(&mut out, series.profiles.len() as u64);
            for (time, body) in &series.profiles {
                put_uint(&mut out, *time);
                put_bytes(&mut out, body);
            }
        }
        Ok(zstd::bulk::compress(&out, ZSTD_LEVEL)?)
    }
}

/// One profile read from a pack.
#[derive(Debug, Clone)]
pub struct Packed {
    /// Its series' labels.
    pub labels: Labels,
    /// The profile, rebuilt.
    pub profile: Profile,
    /// Its key time (unix ns).
    pub time_nanos: u64,
}

/// Reads every profile of a pack that [`PackWriter::finish`] wrote.
///
/// # Errors
/// [`Error::Corrupt`] when `bytes` is not a whole pack.
pub fn read(bytes: &[u8]) -> Result<Vec<Packed>> {
    let mut raw = Vec::new();
    zstd::stream::read::Decoder::new(bytes)
        .map_err(|e| corrupt(&e.to_string()))?
        .take(MAX_PACK_BYTES + 1)
        .read_to_end(&mut raw)
        .map_err(|e| corrupt(&e.to_string()))?;
    if raw.len() as u64 > MAX_PACK_BYTES {
        return Err(corrupt("larger than a pack may be"));
    }
    let body = raw
        .strip_prefix(MAGIC.as_slice())
        .ok_or_else(|| corrupt("not a Brasa pack"))?;
    let mut r = Reader::new(body, "pack");
    let mut out = Vec::new();
    for _ in 0..r.uint()? {
        let len = r.uint()?;
        let labels = Labels::from_bytes(r.bytes(len)?)?;
        let len = r.uint()?;
        let mut table = SymbolTable::default();
        table.restore_chunk(r.bytes(len)?)?;
        for _ in 0..r.uint()? {
            let time_nanos = r.uint()?;
            let len = r.uint()?;
            let reduced = blob::decode_body(r.bytes(len)?)?;
            out.push(Packed {
                labels: labels.clone(),
                profile: table.build_reduced(&reduced),
                time_nanos,
            });
        }
    }
    r.finish()?;
    Ok(out)
}

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    put_uint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

fn hash(bytes: &[u8]) -> u64 {
    use std::hash::Hasher;
    let mut h = FxHasher::default();
    h.write(bytes);
    h.finish()
}

fn corrupt(what: &str) -> Error {
    Error::Corrupt(format!("pack: {what}"))
}

#[cfg(test)]
mod tests {
    use brasa_profile::folded::Folded;

    use super::*;

    fn profile(text: &str) -> Profile {
        Folded::parse(text).unwrap().to_profile()
    }

    fn labels(service: &str) -> Labels {
        Labels::new([("__name__", "process_cpu"), ("service", service)]).unwrap()
    }

    fn folded(p: &Profile) -> String {
        Folded::from_profile(p, 0).to_text()
    }

    #[test]
    fn packs_round_trip_and_keep_one_of_each_profile() {
        let mut pack = PackWriter::new();
        assert!(pack.add(&labels("api"), &profile("main;work 3\n"), 10));
        assert!(pack.add(&labels("db"), &profile("main;query 2\nmain 1\n"), 10));
        assert!(!pack.add(&labels("api"), &profile("main;work 3\n"), 10));
        assert!(pack.add(&labels("api"), &profile("main;work 3\n"), 11));
        assert!(pack.add(&labels("api"), &profile("main;idle 4\n"), 10));
        assert_eq!((pack.profiles(), pack.duplicates()), (4, 1));
        let read = read(&pack.finish().unwrap()).unwrap();
        let got: Vec<(String, u64, String)> = read
            .iter()
            .map(|p| {
                (
                    p.labels.get("service").unwrap().to_owned(),
                    p.time_nanos,
                    folded(&p.profile),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("api".into(), 10, "main;work 3\n".into()),
                ("api".into(), 11, "main;work 3\n".into()),
                ("api".into(), 10, "main;idle 4\n".into()),
                ("db".into(), 10, "main 1\nmain;query 2\n".into()),
            ]
        );
    }

    #[test]
    fn a_rebuilt_profile_is_a_duplicate_of_its_original() {
        let original = profile("main;work 3\nmain;rest 1\n");
        let mut first = PackWriter::new();
        first.add(&labels("api"), &original, 10);
        let rebuilt = read(&first.finish().unwrap()).unwrap().remove(0).profile;
        let mut merged = PackWriter::new();
        assert!(merged.add(&labels("api"), &original, 10));
        assert!(!merged.add(&labels("api"), &rebuilt, 10));
    }

    #[test]
    fn damaged_packs_are_errors() {
        let mut pack = PackWriter::new();
        pack.add(&labels("api"), &profile("main;work 3\n"), 10);
        let bytes = pack.finish().unwrap();
        assert!(read(&bytes[..bytes.len() - 3]).is_err());
        assert!(read(b"not zstd").is_err());
        let other = zstd::bulk::compress(b"BRASAPK9\x00", 3).unwrap();
        assert!(read(&other).is_err());
    }
}
