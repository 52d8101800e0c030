//! Snapshots of a process's executable mappings, with the mapped binaries
//! held open.
//!
//! A snapshot is taken when a process is first seen, so its samples are
//! still symbolized after it exits. Each binary is opened through
//! `/proc/PID/map_files/START-END`, which reaches the very file that is
//! mapped even when it was deleted or lives in another mount namespace;
//! when that link is not readable, through `/proc/PID/root/PATH`. The open
//! file is then read as `/proc/self/fd/N`.

use std::{
    collections::HashMap,
    fs::File,
    os::{fd::AsRawFd, unix::fs::MetadataExt},
    path::{Path, PathBuf},
    sync::{Arc, Weak},
};

use crate::{
    addr::{AbsAddr, FileOffset, MappedRange},
    debug_file::DebugFile,
    hex::{hex_bytes, parse_hex_u64},
    Error, Result, Unknown,
};

/// A binary mapped by one or more processes, held open for symbolization.
#[derive(Debug)]
pub struct MappedFile {
    file: File,
    read_path: PathBuf,
    /// Hex build id (GNU note), when the binary has one.
    pub build_id: Option<String>,
    /// Its separate debug file, when one is installed (see
    /// [`crate::debug_file`]).
    pub debug_file: Option<DebugFile>,
}

impl MappedFile {
    /// A path that reads this very file for as long as it is held open.
    pub fn read_path(&self) -> &Path {
        &self.read_path
    }

    /// Opens a binary by path (for files not mapped by any process, e.g. in
    /// benchmarks and tests), with its debug file from this host.
    pub fn open(path: &Path) -> Result<Arc<Self>> {
        let file = File::open(path).map_err(|source| Error::Io {
            path: path.to_owned(),
            source,
        })?;
        Ok(Arc::new(Self::from_file(file, path, &[PathBuf::from("/")])))
    }

    /// The open `file`, which a process sees as `seen_path`; its debug file
    /// is looked up under each of `roots` in turn.
    fn from_file(file: File, seen_path: &Path, roots: &[PathBuf]) -> Self {
        let read_path = PathBuf::from(format!("/proc/self/fd/{}", file.as_raw_fd()));
        let build_id = blazesym::helper::read_elf_build_id(&read_path)
            .ok()
            .flatten()
            .map(|id| hex_bytes(&id));
        let debug_file = DebugFile::find(&file, seen_path, build_id.as_deref(), roots);
        Self {
            file,
            read_path,
            build_id,
            debug_file,
        }
    }

    /// Size of the file in bytes (0 when unknown).
    pub fn size(&self) -> u64 {
        self.file.metadata().map_or(0, |m| m.len())
    }

    /// (device, inode) of the open file.
    fn identity(&self) -> Option<(u64, u64)> {
        let meta = self.file.metadata().ok()?;
        Some((meta.dev(), meta.ino()))
    }
}

/// One executable mapping of a process.
#[derive(Debug, Clone)]
pub struct Mapping {
    /// The addresses mapped and the file offset they start at.
    pub range: MappedRange,
    /// Path as the process sees it (`/proc/PID/maps`), or a pseudo name such
    /// as `[vdso]`.
    pub path: String,
    /// The binary, held open; `None` for anonymous and pseudo mappings and
    /// for files that could not be opened.
    pub file: Option<Arc<MappedFile>>,
}

impl Mapping {
    /// The open binary, or why there is none: a mapping without a path
    /// (or with a pseudo name such as `[vdso]`) has no file, one whose file
    /// could not be opened has an unreadable one.
    pub fn mapped_file(&self) -> std::result::Result<&Arc<MappedFile>, Unknown> {
        match &self.file {
            Some(file) => Ok(file),
            // Paths of mapped files are absolute, memfd and deleted files
            // included; anything else is anonymous or a pseudo name.
            None if self.path.starts_with('/') => Err(Unknown::FileUnreadable),
            None => Err(Unknown::NoFile),
        }
    }

    /// Hex build id of the binary, when known.
    pub fn build_id(&self) -> Option<&str> {
        self.file.as_ref()?.build_id.as_deref()
    }
}

/// One line of `/proc/PID/maps`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapsLine {
    /// The addresses mapped and the file offset they start at.
    pub range: MappedRange,
    /// `rwxp` flags.
    pub perms: String,
    /// Inode of the file, 0 for anonymous memory.
    pub inode: u64,
    /// Path or pseudo name; empty for anonymous memory.
    pub path: String,
}

impl MapsLine {
    /// Whether the mapping holds code.
    pub fn is_executable(&self) -> bool {
        self.perms.as_bytes().get(2) == Some(&b'x')
    }
}

/// Parses the text of `/proc/PID/maps`; `path` names it in errors.
pub fn parse_maps(text: &str, path: &Path) -> Result<Vec<MapsLine>> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(index, line)| {
            parse_maps_line(line).ok_or_else(|| Error::Malformed {
                path: path.to_owned(),
                line: index + 1,
                text: line.to_owned(),
            })
        })
        .collect()
}

fn parse_maps_line(line: &str) -> Option<MapsLine> {
    let mut rest = line;
    let mut field = || {
        let trimmed = rest.trim_start();
        let end = trimmed.find(' ').unwrap_or(trimmed.len());
        let (value, tail) = trimmed.split_at(end);
        rest = tail;
        value
    };
    let (range, perms, offset, _dev, inode) = (field(), field(), field(), field(), field());
    let (start, end) = range.split_once('-')?;
    let parsed = MapsLine {
        range: MappedRange {
            start: AbsAddr(parse_hex_u64(start)?),
            end: AbsAddr(parse_hex_u64(end)?),
            offset: FileOffset(parse_hex_u64(offset)?),
        },
        perms: perms.to_owned(),
        inode: inode.parse().ok()?,
        path: rest.trim().to_owned(),
    };
    (parsed.range.start < parsed.range.end && parsed.perms.len() == 4).then_some(parsed)
}

/// Binaries already open, shared by every process that maps them, so each
/// is opened (and its build id read) once.
#[derive(Debug, Default)]
pub struct FileCache {
    by_identity: HashMap<(u64, u64), Weak<MappedFile>>,
}

impl FileCache {
    fn open(&mut self, pid: u32, line: &MapsLine) -> Option<Arc<MappedFile>> {
        let file = open_mapped(pid, line)?;
        let meta = file.metadata().ok()?;
        let identity = (meta.dev(), meta.ino());
        if let Some(shared) = self.by_identity.get(&identity).and_then(Weak::upgrade) {
            return Some(shared);
        }
        let path = line.path.strip_suffix(DELETED).unwrap_or(&line.path);
        // The process's own debug files first (it may run in a container),
        // then the host's.
        let mapped = Arc::new(MappedFile::from_file(file, Path::new(path), &roots_of(pid)));
        if let Some(identity) = mapped.identity() {
            self.by_identity.insert(identity, Arc::downgrade(&mapped));
        }
        self.by_identity.retain(|_, weak| weak.strong_count() > 0);
        Some(mapped)
    }
}

/// Where the debug files of `pid` may be: the process's own root first (it
/// may run in a container), then the host's, each once.
fn roots_of(pid: u32) -> Vec<PathBuf> {
    let host = PathBuf::from("/");
    let own = PathBuf::from(format!("/proc/{pid}/root"));
    let identity = |path: &Path| std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()));
    match identity(&own) {
        Some(id) if Some(id) != identity(&host) => vec![own, host],
        _ => vec![host],
    }
}

/// What `/proc/PID/maps` appends to the path of a file deleted since.
const DELETED: &str = " (deleted)";

fn open_mapped(pid: u32, line: &MapsLine) -> Option<File> {
    let link = format!(
        "/proc/{pid}/map_files/{:x}-{:x}",
        line.range.start, line.range.end
    );
    if let Ok(file) = File::open(link) {
        return Some(file);
    }
    let path = line.path.strip_suffix(DELETED).unwrap_or(&line.path);
    File::open(format!("/proc/{pid}/root{path}")).ok()
}

/// The executable mappings of one process at one moment.
#[derive(Debug, Clone, Default)]
pub struct ProcessMaps {
    /// The process.
    pub pid: u32,
    /// Executable mappings, sorted by address.
    pub mappings: Vec<Mapping>,
}

impl ProcessMaps {
    /// Reads `/proc/PID/maps` and opens the mapped binaries.
    pub fn snapshot(pid: u32) -> Result<Self> {
        Self::snapshot_with(pid, &mut FileCache::default())
    }

    /// Like [`Self::snapshot`], sharing already open binaries through `cache`.
    pub fn snapshot_with(pid: u32, cache: &mut FileCache) -> Result<Self> {
        let path = PathBuf::from(format!("/proc/{pid}/maps"));
        let text = std::fs::read_to_string(&path).map_err(|source| Error::Io {
            path: path.clone(),
            source,
        })?;
        let mut mappings: Vec<Mapping> = parse_maps(&text, &path)?
            .into_iter()
            .filter(MapsLine::is_executable)
            .map(|line| Mapping {
                file: (line.inode != 0).then(|| cache.open(pid, &line)).flatten(),
                range: line.range,
                path: line.path,
            })
            .collect();
        mappings.sort_by_key(|m| m.range.start);
        Ok(Self { pid, mappings })
    }

    /// The mapping containing `addr`.
    pub fn find(&self, addr: AbsAddr) -> Option<&Mapping> {
        let index = self
            .mappings
            .partition_point(|m| m.range.start <= addr)
            .checked_sub(1)?;
        let mapping = &self.mappings[index];
        mapping.range.contains(addr).then_some(mapping)
    }

    /// Adds the mappings of a newer snapshot: a newer mapping replaces the
    /// older ones it overlaps, older ones that no longer exist are kept (a
    /// library unloaded since may still appear in undrained samples).
    pub fn merge_newer(&mut self, newer: ProcessMaps) {
        self.mappings.retain(|old| {
            !newer
                .mappings
                .iter()
                .any(|new| new.range.start < old.range.end && old.range.start < new.range.end)
        });
        self.mappings.extend(newer.mappings);
        self.mappings.sort_by_key(|m| m.range.start);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAPS: &str = "\
5581c0a00000-5581c0a01000 r--p 00000000 08:01 1311 /usr/bin/app
5581c0a01000-5581c0a05000 r-xp 00001000 08:01 1311 /usr/bin/app
7f1e2c000000-7f1e2c021000 rw-p 00000000 00:00 0 
7f1e2c200000-7f1e2c3a0000 r-xp 00028000 fd:00 777  /opt/my lib/libx.so (deleted)
7ffd5a1f0000-7ffd5a1f2000 r-xp 00000000 00:00 0                          [vdso]
";

    #[test]
    fn parses_maps_lines_including_spaces_and_pseudo_names() {
        let lines = parse_maps(MAPS, Path::new("maps")).unwrap();
        assert_eq!(lines.len(), 5);
        assert_eq!(lines[1].range.start, AbsAddr(0x5581c0a01000));
        assert_eq!(lines[1].range.offset, FileOffset(0x1000));
        assert!(lines[1].is_executable() && !lines[0].is_executable());
        assert_eq!(lines[2].path, "");
        assert_eq!(lines[3].path, "/opt/my lib/libx.so (deleted)");
        assert_eq!(lines[3].inode, 777);
        assert_eq!(lines[4].path, "[vdso]");
    }

    #[test]
    fn malformed_maps_line_is_an_error_with_its_number() {
        let err = parse_maps("zz-10 r-xp 0 0:0 0\n", Path::new("maps")).unwrap_err();
        assert!(err.to_string().contains("line 1"), "{err}");
    }

    #[test]
    fn snapshot_of_this_process_finds_its_own_code_with_a_build_id() {
        let maps = ProcessMaps::snapshot(std::process::id()).unwrap();
        let here =
            AbsAddr(parses_maps_lines_including_spaces_and_pseudo_names as fn() as usize as u64);
        let mapping = maps.find(here).expect("own code is mapped");
        let file = mapping.file.as_ref().expect("own binary opened");
        assert!(file.read_path().exists());
        let exe = std::fs::read_link("/proc/self/exe").unwrap();
        assert_eq!(mapping.path, exe.to_string_lossy());
        assert!(mapping.range.file_offset_of(here) >= mapping.range.offset);
    }

    #[test]
    fn a_mapping_without_its_file_says_why() {
        let mapping = |path: &str| Mapping {
            range: MappedRange::default(),
            path: path.to_owned(),
            file: None,
        };
        let unreadable = mapping("/usr/lib/libgone.so (deleted)");
        assert_eq!(
            unreadable.mapped_file().unwrap_err(),
            Unknown::FileUnreadable
        );
        for anonymous in ["", "[vdso]", "[anon:jit]"] {
            assert_eq!(
                mapping(anonymous).mapped_file().unwrap_err(),
                Unknown::NoFile
            );
        }
        let maps = ProcessMaps::snapshot(std::process::id()).unwrap();
        let here = AbsAddr(a_mapping_without_its_file_says_why as fn() as usize as u64);
        assert!(maps.find(here).unwrap().mapped_file().is_ok());
    }

    #[test]
    fn newer_mappings_replace_overlapping_ones_and_keep_the_rest() {
        let mapping = |start, end, path: &str| Mapping {
            range: MappedRange {
                start: AbsAddr(start),
                end: AbsAddr(end),
                offset: FileOffset(0),
            },
            path: path.to_owned(),
            file: None,
        };
        let mut old = ProcessMaps {
            pid: 1,
            mappings: vec![
                mapping(0x1000, 0x2000, "a"),
                mapping(0x5000, 0x6000, "gone"),
            ],
        };
        old.merge_newer(ProcessMaps {
            pid: 1,
            mappings: vec![mapping(0x1800, 0x3000, "b")],
        });
        let paths: Vec<_> = old.mappings.iter().map(|m| m.path.as_str()).collect();
        assert_eq!(paths, ["b", "gone"]);
        assert_eq!(old.find(AbsAddr(0x1900)).unwrap().path, "b");
        assert!(old.find(AbsAddr(0x4000)).is_none());
    }
}
