//! Perf maps: the symbol lists JIT runtimes (Node.js/V8, the JVM, .NET,
//! LuaJIT …) write for their generated code, and their lookup.
//!
//! A perf map is a text file, `/tmp/perf-PID.map` as the process sees
//! `/tmp`, PID being its pid in its own pid namespace. Each line is
//! `START SIZE NAME`: START and SIZE hexadecimal, with or without `0x`
//! (the JDK writes it, V8 does not), NAME the rest of the line, spaces
//! included. The file only grows while the runtime appends to it; some
//! writers (the JDK's `jcmd PID Compiler.perfmap`) rewrite it whole.
//!
//! This module owns reading such a file tolerantly:
//! - a bad line (no size, a non-hex number, an empty name, an empty or
//!   overflowing range) is skipped and counted ([`PerfMap::skipped_lines`]),
//!   never failing the file; blank lines are ignored; `\r\n` endings are
//!   accepted; a name that is not UTF-8 is kept with replacement characters;
//! - a last line without its newline is not parsed yet: the writer may be
//!   in the middle of it, and the next [`PerfMap::reload`] reads it whole;
//! - entries that overlap are resolved last writer wins (code space is
//!   reused after a runtime frees or moves code): a later entry replaces
//!   the parts of earlier ones it covers;
//! - at most [`MAX_PERF_MAP_BYTES`] of a file are read; the rest is ignored
//!   ([`PerfMap::truncated`]);
//! - [`PerfMap::reload`] parses only what was appended since the last read,
//!   and parses from scratch when the file shrank, was replaced, or the
//!   last bytes before the offset read so far changed (a rewrite).
//!
//! Opening ([`PerfMap::open`]) goes through `/proc/PID/root`, so a process
//! in a container is read in its own mount namespace, and resolves the
//! path with `openat2(RESOLVE_IN_ROOT)` relative to that root: a symbolic
//! link inside the container (`/tmp` itself, or the map) cannot lead out of
//! it to a file of the host. The final component is also opened with
//! `O_NOFOLLOW` (a perf map that is a link is refused: runtimes write the
//! file itself), and the result must be a regular file (a FIFO would block
//! the reader). On kernels without `openat2` (before 5.6) the path is
//! opened with `O_NOFOLLOW` on the final component only. The file stays
//! open, so the map can still be read once the process has exited.

use std::{
    collections::BTreeMap,
    ffi::CString,
    fs::File,
    io,
    os::{
        fd::{FromRawFd, OwnedFd},
        unix::fs::{FileExt, MetadataExt},
    },
    path::{Path, PathBuf},
    sync::Arc,
};

use crate::{addr::AbsAddr, hex::parse_hex_u64};

/// The most bytes of one perf map that are read; a runtime that wrote more
/// has the entries past it unnamed. JVMs with large code caches write some
/// tens of MiB.
pub const MAX_PERF_MAP_BYTES: u64 = 64 << 20;

/// How many bytes before the read offset are compared on a reload to tell
/// an append from a rewrite.
const FINGERPRINT_BYTES: usize = 64;

/// Why a perf map could not be read, phrased so the user knows what to do.
#[derive(Debug, thiserror::Error)]
pub enum PerfMapError {
    /// The process has no perf map (or is gone).
    #[error(
        "{path} does not exist: start the runtime with its perf map enabled \
         (node --perf-basic-prof; java: jcmd PID Compiler.perfmap, or brasa's --jvm-perfmap)"
    )]
    NotFound {
        /// The path tried.
        path: PathBuf,
    },
    /// The perf map is a symbolic link, or a link on its way leads out of
    /// the process's root.
    #[error(
        "{path} is or passes through a symbolic link that is not followed \
         (it could lead out of the process's root): let the runtime write the file itself"
    )]
    Symlink {
        /// The path tried.
        path: PathBuf,
    },
    /// The perf map is not a regular file.
    #[error("{path} is not a regular file: perf maps are plain text files written by the runtime")]
    NotRegular {
        /// The path tried.
        path: PathBuf,
    },
    /// The file or the process's status could not be read.
    #[error(
        "cannot read {path} (does the process still exist, and may this user read it? root can)"
    )]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
}

/// Result with a [`PerfMapError`].
pub type PerfMapResult<T> = std::result::Result<T, PerfMapError>;

#[derive(Debug, Clone)]
struct Entry {
    end: u64,
    name: Arc<str>,
}

/// The file a perf map was read from, held open.
#[derive(Debug)]
struct Source {
    file: File,
    pid: u32,
    path: PathBuf,
    identity: (u64, u64),
}

/// What a [`PerfMap::reload`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reloaded {
    /// Nothing new was written.
    Unchanged,
    /// Lines appended since were parsed.
    Appended,
    /// The file shrank, was replaced or rewritten: parsed from scratch.
    Reparsed,
}

/// A parsed perf map: names by address range.
#[derive(Debug, Default)]
pub struct PerfMap {
    /// Non-overlapping entries by start address.
    entries: BTreeMap<u64, Entry>,
    /// Bytes of the file parsed so far (complete lines only).
    parsed: u64,
    /// The last bytes before `parsed`, to tell an append from a rewrite.
    fingerprint: Vec<u8>,
    skipped: u64,
    truncated: bool,
    source: Option<Source>,
}

impl PerfMap {
    /// Parses the text of a perf map (see the module docs for what is
    /// tolerated). A last line without a newline is parsed too (this is the
    /// whole text), unless the cap cut it.
    pub fn parse(bytes: &[u8]) -> Self {
        let mut map = Self::default();
        let capped = &bytes[..bytes.len().min(MAX_PERF_MAP_BYTES as usize)];
        map.truncated = capped.len() < bytes.len();
        let consumed = map.feed(capped);
        if consumed < capped.len() && !map.truncated {
            map.line(&capped[consumed..]);
        }
        map
    }

    /// Opens and parses the perf map of `pid` (a pid of this pid
    /// namespace): `/proc/PID/root/tmp/perf-NSPID.map`, NSPID being the
    /// process's pid in its own namespace.
    pub fn open(pid: u32) -> PerfMapResult<Self> {
        let path = perf_map_path(pid)?;
        let file = open_in_root(pid, &path)?;
        let mut map = Self {
            source: Some(file),
            ..Self::default()
        };
        map.read_appended()?;
        Ok(map)
    }

    /// Reads what was appended since the last read, or the whole file again
    /// when it shrank, was replaced by another file (while the process
    /// lives), or was rewritten. After the process has exited, the file held
    /// open is read.
    pub fn reload(&mut self) -> PerfMapResult<Reloaded> {
        let Some(source) = &self.source else {
            return Ok(Reloaded::Unchanged);
        };
        let mut reparse = false;
        if let Ok(path) = perf_map_path(source.pid) {
            if let Ok(newer) = open_in_root(source.pid, &path) {
                if newer.identity != source.identity {
                    self.source = Some(newer);
                    reparse = true;
                }
            }
        }
        let source = self.source.as_ref().expect("kept or replaced above");
        let len = source
            .file
            .metadata()
            .map_err(|e| source.io(e))?
            .len()
            .min(MAX_PERF_MAP_BYTES);
        if len < self.parsed || (!reparse && !self.fingerprint_matches()?) {
            reparse = true;
        }
        if reparse {
            self.reset();
            self.read_appended()?;
            return Ok(Reloaded::Reparsed);
        }
        if len == self.parsed || !self.read_appended()? {
            return Ok(Reloaded::Unchanged);
        }
        Ok(Reloaded::Appended)
    }

    /// The name of the code at `addr`.
    pub fn lookup(&self, addr: AbsAddr) -> Option<&Arc<str>> {
        let (_, entry) = self.entries.range(..=addr.0).next_back()?;
        (addr.0 < entry.end).then_some(&entry.name)
    }

    /// Number of address ranges with a name.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no range has a name.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Lines skipped because they did not parse.
    pub fn skipped_lines(&self) -> u64 {
        self.skipped
    }

    /// Whether the file was larger than [`MAX_PERF_MAP_BYTES`] and the rest
    /// was left unread.
    pub fn truncated(&self) -> bool {
        self.truncated
    }

    /// Bytes of the file parsed so far.
    pub fn parsed_bytes(&self) -> u64 {
        self.parsed
    }

    fn reset(&mut self) {
        self.entries.clear();
        self.parsed = 0;
        self.fingerprint.clear();
        self.skipped = 0;
        self.truncated = false;
    }

    /// Whether the bytes before the read offset are still those parsed.
    fn fingerprint_matches(&self) -> PerfMapResult<bool> {
        let Some(source) = &self.source else {
            return Ok(true);
        };
        let mut now = vec![0; self.fingerprint.len()];
        let at = self.parsed - now.len() as u64;
        match read_exact_at(&source.file, &mut now, at) {
            Ok(()) => Ok(now == self.fingerprint),
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(false),
            Err(e) => Err(source.io(e)),
        }
    }

    /// Parses the complete lines after the read offset; whether there were
    /// any.
    fn read_appended(&mut self) -> PerfMapResult<bool> {
        let Some(source) = &self.source else {
            return Ok(false);
        };
        let len = source.file.metadata().map_err(|e| source.io(e))?.len();
        self.truncated = len > MAX_PERF_MAP_BYTES;
        let end = len.min(MAX_PERF_MAP_BYTES);
        if end <= self.parsed {
            return Ok(false);
        }
        let mut bytes = vec![0; (end - self.parsed) as usize];
        let read =
            read_up_to_at(&source.file, &mut bytes, self.parsed).map_err(|e| source.io(e))?;
        bytes.truncate(read);
        let consumed = self.feed(&bytes);
        if consumed == 0 {
            return Ok(false);
        }
        let mut fingerprint = std::mem::take(&mut self.fingerprint);
        fingerprint.extend_from_slice(&bytes[..consumed]);
        let keep = fingerprint.len().saturating_sub(FINGERPRINT_BYTES);
        fingerprint.drain(..keep);
        self.fingerprint = fingerprint;
        self.parsed += consumed as u64;
        Ok(true)
    }

    /// Parses the complete lines of `bytes`; the number of bytes they take
    /// (up to and including the last newline).
    fn feed(&mut self, bytes: &[u8]) -> usize {
        let Some(last_newline) = bytes.iter().rposition(|&b| b == b'\n') else {
            return 0;
        };
        for line in bytes[..last_newline].split(|&b| b == b'\n') {
            self.line(line);
        }
        last_newline + 1
    }

    /// Parses one line (without its newline) into an entry, or counts it
    /// as skipped.
    fn line(&mut self, line: &[u8]) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.iter().all(u8::is_ascii_whitespace) {
            return;
        }
        match parse_line(line) {
            Some((start, end, name)) => self.insert(start, end, name.into()),
            None => self.skipped += 1,
        }
    }

    /// Adds `start..end`, replacing what earlier entries said of it.
    fn insert(&mut self, start: u64, end: u64, name: Arc<str>) {
        // Entries that overlap start before `end` and end after `start`.
        let first = self
            .entries
            .range(..=start)
            .next_back()
            .filter(|(_, e)| e.end > start)
            .map_or(start, |(&s, _)| s);
        let overlapping: Vec<u64> = self.entries.range(first..end).map(|(&s, _)| s).collect();
        for old_start in overlapping {
            let old = self.entries.remove(&old_start).expect("listed above");
            if old_start < start {
                let head = Entry {
                    end: start,
                    name: old.name.clone(),
                };
                self.entries.insert(old_start, head);
            }
            if old.end > end {
                self.entries.insert(end, old);
            }
        }
        self.entries.insert(start, Entry { end, name });
    }
}

/// `START SIZE NAME` as a range and its name.
fn parse_line(line: &[u8]) -> Option<(u64, u64, String)> {
    let text = String::from_utf8_lossy(line);
    let text = text.trim_start();
    let (start, rest) = text.split_once(|c: char| c.is_ascii_whitespace())?;
    let rest = rest.trim_start();
    let (size, name) = rest.split_once(|c: char| c.is_ascii_whitespace())?;
    let name = name.trim();
    let start = parse_hex_prefixed(start)?;
    let size = parse_hex_prefixed(size)?;
    let end = start.checked_add(size)?;
    (size > 0 && !name.is_empty()).then(|| (start, end, name.to_owned()))
}

/// Hex digits with or without a `0x` prefix.
fn parse_hex_prefixed(text: &str) -> Option<u64> {
    let digits = text
        .strip_prefix("0x")
        .or_else(|| text.strip_prefix("0X"))
        .unwrap_or(text);
    parse_hex_u64(digits)
}

impl Source {
    fn io(&self, source: io::Error) -> PerfMapError {
        PerfMapError::Io {
            path: self.path.clone(),
            source,
        }
    }
}

/// The perf map's path as the process sees it: `/tmp/perf-NSPID.map`.
fn perf_map_path(pid: u32) -> PerfMapResult<PathBuf> {
    let status = PathBuf::from(format!("/proc/{pid}/status"));
    let text = std::fs::read_to_string(&status).map_err(|source| PerfMapError::Io {
        path: status.clone(),
        source,
    })?;
    let nspid = namespace_pid(&text).unwrap_or(pid);
    Ok(PathBuf::from(format!("/tmp/perf-{nspid}.map")))
}

/// The innermost pid of a `/proc/PID/status` text (the last field of
/// `NSpid:`); `None` on kernels that do not show it.
fn namespace_pid(status: &str) -> Option<u32> {
    let line = status.lines().find_map(|l| l.strip_prefix("NSpid:"))?;
    line.split_whitespace().next_back()?.parse().ok()
}

/// Opens `inner` (an absolute path as `pid` sees it) inside `pid`'s root
/// (see the module docs).
fn open_in_root(pid: u32, inner: &Path) -> PerfMapResult<Source> {
    let root = PathBuf::from(format!("/proc/{pid}/root"));
    let shown = root.join(inner.strip_prefix("/").unwrap_or(inner));
    let error = |source: io::Error| match source.raw_os_error() {
        Some(libc::ENOENT) => PerfMapError::NotFound {
            path: shown.clone(),
        },
        Some(libc::ELOOP) | Some(libc::EXDEV) => PerfMapError::Symlink {
            path: shown.clone(),
        },
        _ => PerfMapError::Io {
            path: shown.clone(),
            source,
        },
    };
    let file = match openat2_in_root(&root, inner) {
        Err(e) if e.raw_os_error() == Some(libc::ENOSYS) => open_nofollow(&shown),
        other => other,
    }
    .map_err(error)?;
    let meta = file.metadata().map_err(error)?;
    if !meta.file_type().is_file() {
        return Err(PerfMapError::NotRegular { path: shown });
    }
    Ok(Source {
        file,
        pid,
        path: shown,
        identity: (meta.dev(), meta.ino()),
    })
}

fn c_path(path: &Path) -> io::Result<CString> {
    use std::os::unix::ffi::OsStrExt;
    CString::new(path.as_os_str().as_bytes()).map_err(|_| io::ErrorKind::InvalidInput.into())
}

/// `openat2(root, inner, O_NOFOLLOW, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)`.
fn openat2_in_root(root: &Path, inner: &Path) -> io::Result<File> {
    let root = File::open(root)?;
    let inner = c_path(inner)?;
    // The kernel's `struct open_how` (libc's is not constructible).
    #[repr(C)]
    struct OpenHow {
        flags: u64,
        mode: u64,
        resolve: u64,
    }
    let how = OpenHow {
        flags: (libc::O_RDONLY | libc::O_NOFOLLOW | libc::O_CLOEXEC | libc::O_NONBLOCK) as u64,
        mode: 0,
        resolve: libc::RESOLVE_IN_ROOT | libc::RESOLVE_NO_MAGICLINKS,
    };
    use std::os::fd::AsRawFd;
    // SAFETY: `inner` is a NUL-terminated string and `how` an `open_how`
    // that outlive the call; the size passed is that of `how`.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_openat2,
            root.as_raw_fd(),
            inner.as_ptr(),
            &how as *const OpenHow,
            std::mem::size_of::<OpenHow>(),
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the kernel just returned this descriptor, owned by no one else.
    Ok(File::from(unsafe { OwnedFd::from_raw_fd(fd as i32) }))
}

/// The fallback: `O_NOFOLLOW` on the final component only.
fn open_nofollow(path: &Path) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
}

fn read_up_to_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match file.read_at(&mut buf[filled..], offset + filled as u64) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

fn read_exact_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<()> {
    if read_up_to_at(file, buf, offset)? < buf.len() {
        return Err(io::ErrorKind::UnexpectedEof.into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write as _;

    fn name(map: &PerfMap, addr: u64) -> Option<&str> {
        map.lookup(AbsAddr(addr)).map(|n| &**n)
    }

    #[test]
    fn hex_with_and_without_0x_and_names_with_spaces() {
        let map = PerfMap::parse(
            b"1000 10 JS:*hot /app/busy.js:1:25\n\
              0x0000000000002000 0x0000000000000020 void java.lang.String::hashCode()\n\
              0X3000 0X8 upper\n",
        );
        assert_eq!(map.len(), 3);
        assert_eq!(name(&map, 0x1000), Some("JS:*hot /app/busy.js:1:25"));
        assert_eq!(name(&map, 0x100f), Some("JS:*hot /app/busy.js:1:25"));
        assert_eq!(name(&map, 0x1010), None, "the end is exclusive");
        assert_eq!(
            name(&map, 0x201f),
            Some("void java.lang.String::hashCode()")
        );
        assert_eq!(name(&map, 0x3004), Some("upper"));
        assert_eq!(name(&map, 0xfff), None);
        assert_eq!(map.skipped_lines(), 0);
    }

    #[test]
    fn crlf_endings_and_surrounding_blanks_are_not_part_of_the_name() {
        let map = PerfMap::parse(b"1000 10 first one\r\n  2000\t10\tsecond  \r\n\r\n");
        assert_eq!(name(&map, 0x1000), Some("first one"));
        assert_eq!(name(&map, 0x2000), Some("second"));
        assert_eq!(map.skipped_lines(), 0, "blank lines are no bad lines");
    }

    #[test]
    fn bad_lines_are_skipped_and_counted() {
        let map = PerfMap::parse(
            b"1000 10 good\n\
              zz 10 not hex\n\
              2000 10\n\
              3000\n\
              4000 0 empty range\n\
              ffffffffffffffff 10 overflows\n\
              +5000 10 signed\n\
              6000 10 \xff\xfe bytes\n\
              7000 10 last good\n",
        );
        assert_eq!(map.skipped_lines(), 6);
        assert_eq!(name(&map, 0x1000), Some("good"));
        assert_eq!(name(&map, 0x7000), Some("last good"));
        assert_eq!(name(&map, 0x6000), Some("\u{fffd}\u{fffd} bytes"));
        assert_eq!(map.len(), 3);
    }

    #[test]
    fn a_partial_last_line_of_text_is_parsed_but_waits_in_a_file() {
        let map = PerfMap::parse(b"1000 10 a\n2000 10 b");
        assert_eq!(name(&map, 0x2000), Some("b"));
        let mut map = PerfMap::default();
        assert_eq!(map.feed(b"1000 10 a\n2000 10 b"), 10);
        assert_eq!(name(&map, 0x2000), None);
    }

    #[test]
    fn overlapping_entries_are_last_writer_wins() {
        let map = PerfMap::parse(
            b"1000 100 old\n\
              1040 20 inner\n\
              1000 10 dup-a\n\
              1000 10 dup-b\n\
              10f0 20 straddles\n\
              2000 10 x\n2010 10 y\n2008 10 across\n",
        );
        assert_eq!(name(&map, 0x1000), Some("dup-b"));
        assert_eq!(name(&map, 0x100f), Some("dup-b"));
        assert_eq!(name(&map, 0x1010), Some("old"));
        assert_eq!(name(&map, 0x1040), Some("inner"));
        assert_eq!(name(&map, 0x105f), Some("inner"));
        assert_eq!(name(&map, 0x1060), Some("old"));
        assert_eq!(name(&map, 0x10ef), Some("old"));
        assert_eq!(name(&map, 0x10f0), Some("straddles"));
        assert_eq!(name(&map, 0x110f), Some("straddles"));
        assert_eq!(name(&map, 0x1110), None);
        assert_eq!(name(&map, 0x2007), Some("x"));
        assert_eq!(name(&map, 0x2008), Some("across"));
        assert_eq!(name(&map, 0x2017), Some("across"));
        assert_eq!(name(&map, 0x2018), Some("y"));
        assert_eq!(name(&map, 0x2020), None);
    }

    #[test]
    fn a_map_larger_than_the_cap_is_read_up_to_it() {
        let line = b"1000 10 a name long enough to fill the cap\n";
        let copies = MAX_PERF_MAP_BYTES as usize / line.len() + 2;
        let mut bytes = line.repeat(copies);
        bytes.extend_from_slice(b"ffff0000 10 beyond\n");
        let map = PerfMap::parse(&bytes);
        assert!(map.truncated());
        assert_eq!(
            name(&map, 0x1000),
            Some("a name long enough to fill the cap")
        );
        assert_eq!(name(&map, 0xffff0000), None);
    }

    #[test]
    fn the_namespace_pid_is_the_last_nspid_field() {
        assert_eq!(namespace_pid("Name:\tx\nNSpid:\t4242\t17\t1\n"), Some(1));
        assert_eq!(namespace_pid("Name:\tx\nNSpid:\t4242\n"), Some(4242));
        assert_eq!(namespace_pid("Name:\tx\n"), None);
    }

    /// A perf map of this test process, removed when dropped.
    struct OwnMap(PathBuf);

    impl OwnMap {
        fn create(text: &[u8]) -> Self {
            let path = PathBuf::from(format!("/tmp/perf-{}.map", std::process::id()));
            std::fs::write(&path, text).unwrap();
            Self(path)
        }
        fn append(&self, text: &[u8]) {
            let mut file = std::fs::OpenOptions::new()
                .append(true)
                .open(&self.0)
                .unwrap();
            file.write_all(text).unwrap();
        }
    }

    impl Drop for OwnMap {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }

    /// One test for everything that touches this process's own perf map
    /// file, so that no two tests race on it.
    #[test]
    fn a_live_file_is_reloaded_incrementally_from_scratch_and_safely() {
        let own = OwnMap::create(b"1000 10 first\n2000 10 par");
        let mut map = PerfMap::open(std::process::id()).unwrap();
        assert_eq!(name(&map, 0x1000), Some("first"));
        assert_eq!(name(&map, 0x2000), None, "a partial line waits");
        assert_eq!(map.parsed_bytes(), 14);
        assert_eq!(map.reload().unwrap(), Reloaded::Unchanged);

        own.append(b"tial\n3000 10 third\n");
        assert_eq!(map.reload().unwrap(), Reloaded::Appended);
        assert_eq!(name(&map, 0x2000), Some("partial"));
        assert_eq!(name(&map, 0x3000), Some("third"));
        assert_eq!(map.reload().unwrap(), Reloaded::Unchanged);

        // Shrunk: parsed from scratch.
        std::fs::write(&own.0, b"4000 10 fourth\n").unwrap();
        assert_eq!(map.reload().unwrap(), Reloaded::Reparsed);
        assert_eq!(name(&map, 0x1000), None);
        assert_eq!(name(&map, 0x4000), Some("fourth"));

        // Rewritten in place, longer than before: parsed from scratch.
        std::fs::write(&own.0, b"5000 10 fifth!\n6000 10 sixth\n").unwrap();
        assert_eq!(map.reload().unwrap(), Reloaded::Reparsed);
        assert_eq!(name(&map, 0x4000), None);
        assert_eq!(name(&map, 0x5000), Some("fifth!"));
        assert_eq!(name(&map, 0x6000), Some("sixth"));

        // Replaced by another file.
        let next = own.0.with_extension("next");
        std::fs::write(&next, b"7000 10 seventh\n").unwrap();
        std::fs::rename(&next, &own.0).unwrap();
        assert_eq!(map.reload().unwrap(), Reloaded::Reparsed);
        assert_eq!(name(&map, 0x7000), Some("seventh"));

        // A link is never followed, even to a readable map.
        let target = own.0.with_extension("target");
        std::fs::write(&target, b"8000 10 linked\n").unwrap();
        std::fs::remove_file(&own.0).unwrap();
        std::os::unix::fs::symlink(&target, &own.0).unwrap();
        let err = PerfMap::open(std::process::id()).unwrap_err();
        assert!(matches!(err, PerfMapError::Symlink { .. }), "{err:?}");
        assert!(err.to_string().contains("symbolic link"), "{err}");
        std::fs::remove_file(&target).unwrap();

        // Not a regular file.
        std::fs::remove_file(&own.0).unwrap();
        std::fs::create_dir(&own.0).unwrap();
        let err = PerfMap::open(std::process::id()).unwrap_err();
        assert!(matches!(err, PerfMapError::NotRegular { .. }), "{err:?}");
        std::fs::remove_dir(&own.0).unwrap();

        // Missing: the message says how to get one.
        let err = PerfMap::open(std::process::id()).unwrap_err();
        assert!(matches!(err, PerfMapError::NotFound { .. }), "{err:?}");
        assert!(err.to_string().contains("--perf-basic-prof"), "{err}");
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..512)) {
            let map = PerfMap::parse(&bytes);
            let _ = map.lookup(AbsAddr(0x1000));
            let mut fed = PerfMap::default();
            let consumed = fed.feed(&bytes);
            proptest::prop_assert!(consumed <= bytes.len());
        }

        #[test]
        fn arbitrary_lines_never_panic(lines in proptest::collection::vec("[0-9a-fx \t\r]{0,24}[ -~]{0,12}", 0..32)) {
            let text = lines.join("\n");
            let map = PerfMap::parse(text.as_bytes());
            for line in &lines {
                if let Some(start) = line.split_whitespace().next().and_then(parse_hex_prefixed) {
                    let _ = map.lookup(AbsAddr(start));
                }
            }
        }
    }
}
