//! Separate debug files: the full symbol table of a stripped binary.
//!
//! Distributions strip their libraries down to the exported symbols and
//! ship the rest in debug packages (Debian's `libc6-dbg`, `*-dbgsym`),
//! found the way gdb finds them: by build id under
//! `/usr/lib/debug/.build-id/xx/rest.debug`, else by the name in the
//! binary's `.gnu_debuglink` section, next to the binary, in `.debug/`
//! beside it, or under `/usr/lib/debug` followed by the binary's directory.
//! A binary mapped by a process in a container is looked up inside that
//! process's root first, then on the host.
//!
//! A candidate is taken only when it is the binary's own: the same build
//! id, or for a binary without one, the CRC the debug link records.

use std::{
    fs::File,
    io::Read,
    os::fd::AsRawFd,
    path::{Path, PathBuf},
};

use object::{read::ReadCache, Object, ObjectSegment};

/// Where debug packages install their files, inside a root.
pub const DEBUG_DIR: &str = "/usr/lib/debug";

/// A separate debug file held open, with what maps the binary's file
/// offsets to the ELF addresses its symbols use.
#[derive(Debug)]
pub struct DebugFile {
    _file: File,
    read_path: PathBuf,
    /// Loadable segments of the binary: (file offset, size in the file,
    /// ELF address), for translating file offsets.
    segments: Vec<(u64, u64, u64)>,
}

impl DebugFile {
    /// A path that reads the debug file for as long as it is held open.
    pub fn read_path(&self) -> &Path {
        &self.read_path
    }

    /// The ELF address of a file offset of the binary, when a loadable
    /// segment holds it.
    pub fn elf_addr_of(&self, offset: u64) -> Option<u64> {
        self.segments
            .iter()
            .find(|&&(start, size, _)| offset >= start && offset - start < size)
            .map(|&(start, _, addr)| addr + (offset - start))
    }

    /// Finds the debug file of `binary` (open, as `seen_path` in the
    /// process's view, with hex `build_id`), looking under each of `roots`
    /// in turn (`/proc/PID/root`, then `/`); `None` when there is none or
    /// the binary is not a readable ELF file.
    pub fn find(
        binary: &File,
        seen_path: &Path,
        build_id: Option<&str>,
        roots: &[PathBuf],
    ) -> Option<Self> {
        let cache = ReadCache::new(binary.try_clone().ok()?);
        let elf = object::File::parse(&cache).ok()?;
        let link = elf
            .gnu_debuglink()
            .ok()
            .flatten()
            .map(|(name, crc)| (String::from_utf8_lossy(name).into_owned(), crc));
        let segments: Vec<(u64, u64, u64)> = elf
            .segments()
            .map(|s| {
                let (offset, size) = s.file_range();
                (offset, size, s.address())
            })
            .collect();
        let file = roots.iter().find_map(|root| {
            let by_id = build_id.and_then(|id| open_by_build_id(root, id));
            by_id.or_else(|| {
                let (name, crc) = link.as_ref()?;
                open_by_link(root, seen_path, name, *crc, build_id)
            })
        })?;
        Some(Self {
            read_path: PathBuf::from(format!("/proc/self/fd/{}", file.as_raw_fd())),
            _file: file,
            segments,
        })
    }
}

/// `ROOT/usr/lib/debug/.build-id/xx/rest.debug`.
fn open_by_build_id(root: &Path, build_id: &str) -> Option<File> {
    if build_id.len() < 3 {
        return None;
    }
    let (head, rest) = build_id.split_at(2);
    let path = under(root, &format!("{DEBUG_DIR}/.build-id/{head}/{rest}.debug"));
    let file = File::open(path).ok()?;
    (build_id_of(&file).as_deref() == Some(build_id)).then_some(file)
}

/// The debug link's file in the usual directories, if it is the binary's.
fn open_by_link(
    root: &Path,
    seen_path: &Path,
    name: &str,
    crc: u32,
    build_id: Option<&str>,
) -> Option<File> {
    let dir = seen_path.parent()?.to_string_lossy().into_owned();
    let candidates = [
        format!("{dir}/{name}"),
        format!("{dir}/.debug/{name}"),
        format!("{DEBUG_DIR}{dir}/{name}"),
    ];
    candidates.iter().find_map(|candidate| {
        let path = under(root, candidate);
        // The link may name the binary itself (a file with its debug
        // information kept).
        if path == under(root, &seen_path.to_string_lossy()) {
            return None;
        }
        let file = File::open(path).ok()?;
        let same = match build_id {
            Some(id) => build_id_of(&file).as_deref() == Some(id),
            None => crc_of(&file) == Some(crc),
        };
        same.then_some(file)
    })
}

fn under(root: &Path, absolute: &str) -> PathBuf {
    root.join(absolute.trim_start_matches('/'))
}

fn build_id_of(file: &File) -> Option<String> {
    let cache = ReadCache::new(file.try_clone().ok()?);
    let elf = object::File::parse(&cache).ok()?;
    let id = elf.build_id().ok()??;
    Some(crate::hex::hex_bytes(id))
}

/// The CRC-32 of the whole file, as `.gnu_debuglink` records it.
fn crc_of(file: &File) -> Option<u32> {
    let mut crc = flate2::Crc::new();
    let mut reader = file.try_clone().ok()?;
    let mut buf = vec![0; 1 << 16];
    loop {
        let read = reader.read(&mut buf).ok()?;
        if read == 0 {
            return Some(crc.sum());
        }
        crc.update(&buf[..read]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_offsets_map_into_the_segment_that_holds_them() {
        let debug = DebugFile {
            _file: File::open("/proc/self/exe").unwrap(),
            read_path: PathBuf::new(),
            segments: vec![(0, 0x1000, 0), (0x1000, 0x2000, 0x401000)],
        };
        assert_eq!(debug.elf_addr_of(0x10), Some(0x10));
        assert_eq!(debug.elf_addr_of(0x1010), Some(0x401010));
        assert_eq!(debug.elf_addr_of(0x3000), None);
    }

    #[test]
    fn a_root_is_a_prefix_of_absolute_paths() {
        assert_eq!(
            under(Path::new("/proc/7/root"), "/usr/lib/debug/x"),
            PathBuf::from("/proc/7/root/usr/lib/debug/x")
        );
        assert_eq!(under(Path::new("/"), "/usr/lib"), PathBuf::from("/usr/lib"));
    }
}
