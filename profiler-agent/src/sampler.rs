//! The BPF CPU sampler: load, attach to one CPU clock per online CPU,
//! follow a process tree, drain.
//!
//! Draining never loses nor double-counts a sample: the program writes
//! into the generation of maps (counts + stack traces) that the `generation`
//! flag names; [`Sampler::drain`] flips the flag, waits until no program
//! can still be writing the old generation, then reads and clears it.
//!
//! With [`SamplerOptions::unwind_tables`], user stacks are walked with
//! unwind tables compiled from `.eh_frame` (see [`crate::unwind`]), which
//! [`Sampler::poll_process_events`] keeps loaded for every sampled process.

use std::{
    cell::RefCell,
    collections::HashMap,
    mem::MaybeUninit,
    os::fd::{AsFd, AsRawFd, IntoRawFd},
    ptr::NonNull,
    rc::Rc,
    time::{Duration, Instant},
};

use libbpf_rs::{
    skel::{OpenSkel, SkelBuilder},
    Link, MapCore, MapFlags, MapMut, OpenObject, RingBuffer, RingBufferBuilder,
};

use crate::{
    perf_event::{online_cpus, open_cpu_clock},
    raw::RawSample,
    skel::{types, SamplerSkel, SamplerSkelBuilder},
    unwind::{
        rows_bytes, ProcessEntries, RowStore, UnwindStats, Unwinder, DEFAULT_TABLE_ROWS,
        PROCESS_ENTRY_SIZE, ROWS_PER_CHUNK,
    },
    Error, Result,
};

/// Deepest stack the kernel records (`MAX_STACK_DEPTH` in `bpf/sampler.h`).
const MAX_STACK_DEPTH: usize = 127;
/// How long to wait after flipping generations before reading the old one.
/// A sampler run takes microseconds, with preemption disabled, so a program
/// that read the old flag has finished long before this.
const GENERATION_GRACE: Duration = Duration::from_millis(5);
/// Highest sampling frequency accepted: the kernel's default
/// `perf_event_max_sample_rate` is 100 kHz, and beyond a few kHz the
/// sampler itself becomes the workload.
pub const MAX_FREQUENCY: u64 = 10_000;
/// How often exited processes give their unwind tables back.
const EXITED_SCAN_INTERVAL: Duration = Duration::from_secs(2);

/// Memory that the loaded program borrows; create one per [`Sampler`].
pub struct SamplerStorage(MaybeUninit<OpenObject>);

impl Default for SamplerStorage {
    fn default() -> Self {
        Self(MaybeUninit::uninit())
    }
}

impl std::fmt::Debug for SamplerStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SamplerStorage")
    }
}

/// What to sample.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SamplerOptions {
    /// Samples per second per CPU. Default: 19 (prime, so it does not run in
    /// lockstep with periodic timers).
    pub frequency: u64,
    /// Sample only the processes added with [`Sampler::add_target`] and
    /// their descendants, instead of the whole host. Default: false.
    pub follow_targets: bool,
    /// A process never sampled, typically the profiler itself. Default: none.
    pub skip_pid: Option<u32>,
    /// Walk user stacks with unwind tables compiled from `.eh_frame`, so
    /// code without frame pointers unwinds; frames no table covers are
    /// walked by frame pointer. Off: frame pointers only. Default: on.
    pub unwind_tables: bool,
    /// Room for unwind table rows (12 bytes each, kernel memory). Default:
    /// [`DEFAULT_TABLE_ROWS`] (12 MiB).
    pub table_rows: u32,
}

impl Default for SamplerOptions {
    fn default() -> Self {
        Self {
            frequency: 19,
            follow_targets: false,
            skip_pid: None,
            unwind_tables: true,
            table_rows: DEFAULT_TABLE_ROWS,
        }
    }
}

/// How a process in the target set is treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetKind {
    /// Sampled, and its new children too.
    Sample,
    /// Not sampled, but its new children are (a launcher).
    ParentOnly,
}

/// Why user space should read a process's memory maps now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProcessEvent {
    /// First sample of a process.
    Sampled(u32),
    /// The process called exec.
    Execed(u32),
    /// A process forked `child` from `parent`; the child has its parent's maps.
    Forked {
        /// The new process.
        child: u32,
        /// Its parent.
        parent: u32,
    },
    /// The process ran code outside its known mappings: a library was
    /// loaded since its maps were read.
    MappingsChanged(u32),
}

/// Per-outcome counters of the BPF program, summed over CPUs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SamplerStats {
    /// Samples recorded.
    pub samples: u64,
    /// Ticks that found the idle task.
    pub idle_skipped: u64,
    /// Ticks that found a process not sampled.
    pub filtered: u64,
    /// Samples of tasks without a user stack (kernel threads).
    pub no_user_stack: u64,
    /// User stacks lost: stack map full or hash collision.
    pub user_stack_errors: u64,
    /// Kernel stacks lost the same way.
    pub kernel_stack_errors: u64,
    /// Samples lost because the counts map was full.
    pub counts_full: u64,
    /// Process events lost because the ring buffer was full.
    pub process_events_dropped: u64,
    /// Samples whose user stack was walked with unwind tables.
    pub unwind_walks: u64,
    /// Of those walks, the ones that reached the outermost frame.
    pub unwind_end: u64,
    /// Walks that stopped at `MAX_STACK_DEPTH` frames.
    pub unwind_depth_limit: u64,
    /// Walks that stopped at a rule the program cannot evaluate.
    pub unwind_unsupported: u64,
    /// Walks that stopped because the stack could not be read.
    pub unwind_read_failed: u64,
    /// Walks that stopped because a frame did not move up the stack.
    pub unwind_not_progressing: u64,
    /// Walks that stopped at a return address outside known mappings.
    pub unwind_unknown_mapping: u64,
    /// Frames no table covered, walked by frame pointer.
    pub unwind_table_miss: u64,
    /// User stacks lost because the unwound-stacks map was full.
    pub unwind_stack_errors: u64,
    /// Frames the walks with tables recorded, in total.
    pub unwind_frames: u64,
    /// Nanoseconds the walks with tables took, in total.
    pub unwind_nanos: u64,
    /// Frames whose rule came from the per-CPU cache, not a search.
    pub unwind_cache_hits: u64,
}

/// Buckets of the program's walk-time histogram (`WALK_TIME_BUCKETS`).
const WALK_TIME_BUCKETS: u32 = 128;

/// How long walks with unwind tables took, from the program's histogram
/// (4 buckets per power of two: values are within 25%).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct WalkTimes {
    /// Walks counted.
    pub walks: u64,
    /// Median, nanoseconds.
    pub p50_ns: f64,
    /// 90th percentile, nanoseconds.
    pub p90_ns: f64,
    /// 99th percentile, nanoseconds.
    pub p99_ns: f64,
}

impl WalkTimes {
    /// Percentiles of a histogram in the program's buckets: bucket
    /// `4 * floor(log2(ns)) + s` holds the quarter `s` of that power of two.
    pub fn from_histogram(counts: &[u64]) -> Self {
        let walks: u64 = counts.iter().sum();
        let bounds = |bucket: usize| -> (f64, f64) {
            let (log, sub) = ((bucket / 4) as i32, (bucket % 4) as f64);
            if log < 2 {
                let low = if log == 0 { 0.0 } else { 2f64.powi(log) };
                return (low, 2f64.powi(log + 1));
            }
            let step = 2f64.powi(log - 2);
            let low = 2f64.powi(log) + sub * step;
            (low, low + step)
        };
        let percentile = |p: f64| -> f64 {
            if walks == 0 {
                return 0.0;
            }
            let rank = (p * walks as f64).ceil().max(1.0) as u64;
            let mut seen = 0;
            for (bucket, &count) in counts.iter().enumerate() {
                seen += count;
                if seen >= rank {
                    let (low, high) = bounds(bucket);
                    return (low + high) / 2.0;
                }
            }
            0.0
        };
        Self {
            walks,
            p50_ns: percentile(0.5),
            p90_ns: percentile(0.9),
            p99_ns: percentile(0.99),
        }
    }
}

/// A loaded and attached sampler (see the module docs).
pub struct Sampler<'obj> {
    skel: SamplerSkel<'obj>,
    links: Vec<Link>,
    ring: RingBuffer<'static>,
    events: Rc<RefCell<Vec<ProcessEvent>>>,
    generation: u32,
    tables: Option<Tables>,
}

/// The unwinder with the memory of the rows map.
struct Tables {
    unwinder: Unwinder,
    rows: MappedRows,
    last_exited_scan: Instant,
}

impl std::fmt::Debug for Sampler<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sampler")
            .field("links", &self.links.len())
            .field("generation", &self.generation)
            .finish()
    }
}

impl<'obj> Sampler<'obj> {
    /// Loads the program and attaches it to every online CPU.
    ///
    /// Fails with [`Error::NotPermitted`] without root or CAP_BPF +
    /// CAP_PERFMON.
    pub fn start(storage: &'obj mut SamplerStorage, options: &SamplerOptions) -> Result<Self> {
        if options.frequency == 0 || options.frequency > MAX_FREQUENCY {
            return Err(Error::InvalidOption(format!(
                "frequency {} Hz is outside 1..={MAX_FREQUENCY}",
                options.frequency
            )));
        }
        let mut open = SamplerSkelBuilder::default()
            .open(&mut storage.0)
            .map_err(|e| Error::bpf("opening the BPF sampler", e))?;
        let rodata = open
            .maps
            .rodata_data
            .as_deref_mut()
            .expect("the sampler has settings in rodata");
        rodata.filter_tgids = options.follow_targets;
        rodata.skip_tgid = options.skip_pid.unwrap_or(0);
        rodata.unwind_tables = options.unwind_tables;
        let chunks = if options.unwind_tables {
            if options.table_rows < ROWS_PER_CHUNK {
                return Err(Error::InvalidOption(format!(
                    "room for {} unwind table rows is less than the minimum {ROWS_PER_CHUNK}",
                    options.table_rows
                )));
            }
            options.table_rows / ROWS_PER_CHUNK
        } else {
            1
        };
        open.maps
            .unwind_rows
            .set_max_entries(chunks)
            .map_err(|e| Error::bpf("sizing the unwind table map", e))?;
        let skel = open
            .load()
            .map_err(|e| Error::bpf("loading the BPF sampler into the kernel", e))?;
        let tables = if options.unwind_tables {
            let data = skel
                .maps
                .data_data
                .as_deref()
                .expect("the sampler has .data");
            // The skeleton's .data stays mapped for as long as the sampler.
            let epoch = NonNull::from(&data.tables_epoch);
            let rows = MappedRows::map(&skel.maps.unwind_rows, chunks, epoch)?;
            Some(Tables {
                unwinder: Unwinder::new(rows.capacity()),
                rows,
                last_exited_scan: Instant::now(),
            })
        } else {
            None
        };

        let events = Rc::new(RefCell::new(Vec::new()));
        let sink = Rc::clone(&events);
        let mut ring = RingBufferBuilder::new();
        ring.add(&skel.maps.process_events, move |data: &[u8]| {
            if let Some(event) = decode::<types::process_event>(data).and_then(process_event) {
                sink.borrow_mut().push(event);
            }
            0
        })
        .map_err(|e| Error::bpf("reading process events", e))?;
        let ring = ring
            .build()
            .map_err(|e| Error::bpf("reading process events", e))?;

        let mut sampler = Self {
            skel,
            links: Vec::new(),
            ring,
            events,
            generation: 0,
            tables,
        };
        sampler.attach(options.frequency)?;
        Ok(sampler)
    }

    fn attach(&mut self, frequency: u64) -> Result<()> {
        let progs = &self.skel.progs;
        for (name, prog) in [
            ("fork", &progs.follow_fork),
            ("exec", &progs.reread_on_exec),
        ] {
            let link = prog
                .attach()
                .map_err(|e| Error::bpf(format!("attaching the {name} tracepoint"), e))?;
            self.links.push(link);
        }
        for cpu in online_cpus()? {
            let clock = open_cpu_clock(cpu, frequency)?;
            let link = progs
                .sample_cpu
                .attach_perf_event(clock.as_raw_fd())
                .map_err(|e| Error::bpf(format!("attaching the sampler to CPU {cpu}"), e))?;
            // The link owns the event from now on and closes it on detach.
            let _ = clock.into_raw_fd();
            self.links.push(link);
        }
        Ok(())
    }

    /// Adds a process to the sampled tree (with
    /// [`SamplerOptions::follow_targets`]).
    pub fn add_target(&self, pid: u32, kind: TargetKind) -> Result<()> {
        let value = match kind {
            TargetKind::Sample => types::target_kind::TARGET_SAMPLE,
            TargetKind::ParentOnly => types::target_kind::TARGET_PARENT_ONLY,
        };
        self.skel
            .maps
            .target_tgids
            .update(&pid.to_ne_bytes(), &value.0.to_ne_bytes(), MapFlags::ANY)
            .map_err(|e| Error::bpf(format!("adding process {pid} to the targets"), e))
    }

    /// Removes a process from the target set.
    pub fn remove_target(&self, pid: u32) -> Result<()> {
        match self.skel.maps.target_tgids.delete(&pid.to_ne_bytes()) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == libbpf_rs::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::bpf(
                format!("removing process {pid} from the targets"),
                e,
            )),
        }
    }

    /// Waits up to `timeout` for process events and returns those queued,
    /// after loading the unwind tables the events call for.
    pub fn poll_process_events(&mut self, timeout: Duration) -> Result<Vec<ProcessEvent>> {
        // A refresh that is due soon must not wait for the whole timeout.
        let timeout = match self
            .tables
            .as_ref()
            .and_then(|t| t.unwinder.next_refresh_in())
        {
            Some(due) => timeout.min(due),
            None => timeout,
        };
        match self.ring.poll(timeout) {
            // A signal (Ctrl-C) cut the wait short: the caller checks its flag.
            Err(e) if e.kind() == libbpf_rs::ErrorKind::Interrupted => {}
            other => other.map_err(|e| Error::bpf("polling process events", e))?,
        }
        let events = std::mem::take(&mut *self.events.borrow_mut());
        self.update_tables(&events);
        Ok(events)
    }

    /// Keeps the unwind tables in step with processes. A process the
    /// kernel refuses an entry for (the processes map full) is walked by
    /// frame pointer and counted in [`UnwindStats::entry_failures`]; it
    /// never stops sampling.
    fn update_tables(&mut self, events: &[ProcessEvent]) {
        let Some(tables) = self.tables.as_mut() else {
            return;
        };
        let mut entries = EntriesMap(&self.skel.maps.unwind_processes);
        for event in events {
            // Failures are counted by the unwinder.
            let _ = match *event {
                ProcessEvent::Sampled(pid) | ProcessEvent::Execed(pid) => {
                    tables.unwinder.install(pid, &mut tables.rows, &mut entries)
                }
                ProcessEvent::Forked { child, parent } => {
                    tables.unwinder.copy(parent, child, &mut entries)
                }
                ProcessEvent::MappingsChanged(pid) => {
                    tables.unwinder.request_refresh(pid);
                    Ok(())
                }
            };
        }
        let _ = tables.unwinder.refresh_due(&mut tables.rows, &mut entries);
        if tables.last_exited_scan.elapsed() >= EXITED_SCAN_INTERVAL {
            tables.last_exited_scan = Instant::now();
            let _ = tables.unwinder.forget_exited(&mut entries);
        }
    }

    /// How the unwind tables are doing; `None` without
    /// [`SamplerOptions::unwind_tables`].
    pub fn unwind_stats(&self) -> Option<UnwindStats> {
        self.tables.as_ref().map(|t| t.unwinder.stats())
    }

    /// Stops sampling: detaches every program. Samples already taken stay
    /// in the maps for [`Self::drain`].
    pub fn stop(&mut self) {
        self.links.clear();
    }

    /// Flips generations and returns the samples of the old one.
    pub fn drain(&mut self) -> Result<Vec<RawSample>> {
        let old = self.generation & 1;
        self.generation = self.generation.wrapping_add(1);
        let bss = self
            .skel
            .maps
            .bss_data
            .as_deref_mut()
            .expect("the sampler has .bss");
        // SAFETY: `generation` is a valid, aligned u32 in the memory-mapped
        // .bss; a volatile store makes it visible to the program at once.
        unsafe { std::ptr::write_volatile(&mut bss.generation, self.generation) };
        std::thread::sleep(GENERATION_GRACE);
        let maps = &self.skel.maps;
        let generation = if old == 0 {
            Generation {
                counts: &maps.counts_0,
                stacks: &maps.stacks_0,
                unwound: &maps.unwound_0,
            }
        } else {
            Generation {
                counts: &maps.counts_1,
                stacks: &maps.stacks_1,
                unwound: &maps.unwound_1,
            }
        };
        drain_generation(&generation)
    }

    /// Drains both generations; use after [`Self::stop`] to collect every
    /// sample taken.
    pub fn drain_all(&mut self) -> Result<Vec<RawSample>> {
        let mut samples = self.drain()?;
        samples.extend(self.drain()?);
        Ok(samples)
    }

    /// Samples taken so far (one counter: cheap enough for a status line).
    pub fn samples_taken(&self) -> Result<u64> {
        self.stat(types::stat_id::STAT_SAMPLES)
    }

    fn stat(&self, id: types::stat_id) -> Result<u64> {
        let per_cpu = self
            .skel
            .maps
            .stats
            .lookup_percpu(&id.0.to_ne_bytes(), MapFlags::ANY)
            .map_err(|e| Error::bpf("reading sampler stats", e))?
            .unwrap_or_default();
        Ok(per_cpu
            .iter()
            .filter_map(|v| decode::<u64>(v.get(..8)?))
            .sum())
    }

    /// How long the walks with unwind tables took so far.
    pub fn walk_times(&self) -> Result<WalkTimes> {
        let mut counts = Vec::with_capacity(WALK_TIME_BUCKETS as usize);
        for bucket in 0..WALK_TIME_BUCKETS {
            let per_cpu = self
                .skel
                .maps
                .walk_time
                .lookup_percpu(&bucket.to_ne_bytes(), MapFlags::ANY)
                .map_err(|e| Error::bpf("reading the walk-time histogram", e))?
                .unwrap_or_default();
            counts.push(
                per_cpu
                    .iter()
                    .filter_map(|v| decode::<u64>(v.get(..8)?))
                    .sum(),
            );
        }
        Ok(WalkTimes::from_histogram(&counts))
    }

    /// The program's counters, summed over CPUs.
    pub fn stats(&self) -> Result<SamplerStats> {
        let read = |id| self.stat(id);
        use types::stat_id as S;
        Ok(SamplerStats {
            samples: read(S::STAT_SAMPLES)?,
            idle_skipped: read(S::STAT_IDLE_SKIPPED)?,
            filtered: read(S::STAT_FILTERED)?,
            no_user_stack: read(S::STAT_NO_USER_STACK)?,
            user_stack_errors: read(S::STAT_USER_STACK_ERROR)?,
            kernel_stack_errors: read(S::STAT_KERNEL_STACK_ERROR)?,
            counts_full: read(S::STAT_COUNTS_FULL)?,
            process_events_dropped: read(S::STAT_PROCESS_EVENT_DROPPED)?,
            unwind_walks: read(S::STAT_UNWIND_WALKS)?,
            unwind_end: read(S::STAT_UNWIND_END)?,
            unwind_depth_limit: read(S::STAT_UNWIND_DEPTH_LIMIT)?,
            unwind_unsupported: read(S::STAT_UNWIND_UNSUPPORTED)?,
            unwind_read_failed: read(S::STAT_UNWIND_READ_FAILED)?,
            unwind_not_progressing: read(S::STAT_UNWIND_NOT_PROGRESSING)?,
            unwind_unknown_mapping: read(S::STAT_UNWIND_UNKNOWN_MAPPING)?,
            unwind_table_miss: read(S::STAT_UNWIND_TABLE_MISS)?,
            unwind_stack_errors: read(S::STAT_UNWIND_STACK_ERROR)?,
            unwind_frames: read(S::STAT_UNWIND_FRAMES)?,
            unwind_nanos: read(S::STAT_UNWIND_NANOS)?,
            unwind_cache_hits: read(S::STAT_UNWIND_CACHE_HITS)?,
        })
    }
}

/// The maps of one generation.
struct Generation<'a, 'obj> {
    counts: &'a MapMut<'obj>,
    stacks: &'a MapMut<'obj>,
    unwound: &'a MapMut<'obj>,
}

/// Reads every count of one generation with its stacks, then clears it.
fn drain_generation(generation: &Generation<'_, '_>) -> Result<Vec<RawSample>> {
    let Generation {
        counts,
        stacks,
        unwound,
    } = *generation;
    let keys: Vec<Vec<u8>> = counts.keys().collect();
    let mut stack_cache: HashMap<i32, Vec<u64>> = HashMap::new();
    let mut unwound_cache: HashMap<u64, Vec<u64>> = HashMap::new();
    let mut samples = Vec::with_capacity(keys.len());
    for key_bytes in &keys {
        let value = counts
            .lookup_and_delete(key_bytes)
            .map_err(|e| Error::bpf("draining sample counts", e))?;
        let (Some(key), Some(count)) = (
            decode::<types::sample_key>(key_bytes),
            value.and_then(|v| decode::<u64>(&v)),
        ) else {
            continue;
        };
        let mut stack = |id: i32| -> Result<Vec<u64>> {
            if id < 0 {
                return Ok(Vec::new());
            }
            if let Some(addrs) = stack_cache.get(&id) {
                return Ok(addrs.clone());
            }
            let bytes = stacks
                .lookup(&id.to_ne_bytes(), MapFlags::ANY)
                .map_err(|e| Error::bpf("reading a stack trace", e))?
                .unwrap_or_default();
            let addrs = stack_addresses(&bytes);
            stack_cache.insert(id, addrs.clone());
            Ok(addrs)
        };
        let kernel = stack(key.kernel_stack_id)?;
        let user = if key.unwound_stack != 0 {
            match unwound_cache.get(&key.unwound_stack) {
                Some(addrs) => addrs.clone(),
                None => {
                    let bytes = unwound
                        .lookup(&key.unwound_stack.to_ne_bytes(), MapFlags::ANY)
                        .map_err(|e| Error::bpf("reading an unwound stack", e))?
                        .unwrap_or_default();
                    let addrs = unwound_addresses(&bytes);
                    unwound_cache.insert(key.unwound_stack, addrs.clone());
                    addrs
                }
            }
        } else {
            stack(key.user_stack_id)?
        };
        samples.push(RawSample {
            pid: key.tgid,
            tid: key.tid,
            comm: comm_string(&key.comm),
            user,
            kernel,
            count,
        });
    }
    clear(stacks, "clearing stack traces")?;
    clear(unwound, "clearing unwound stacks")?;
    Ok(samples)
}

/// Deletes every key of a map that only the drain empties.
fn clear(map: &MapMut<'_>, action: &str) -> Result<()> {
    let keys: Vec<Vec<u8>> = map.keys().collect();
    for key in keys {
        match map.delete(&key) {
            Ok(()) => {}
            Err(e) if e.kind() == libbpf_rs::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::bpf(action, e)),
        }
    }
    Ok(())
}

/// The addresses of a `struct unwound_stack`: `len` of them, leaf first.
fn unwound_addresses(bytes: &[u8]) -> Vec<u64> {
    let Some(len) = bytes.get(..4) else {
        return Vec::new();
    };
    let len = u32::from_ne_bytes(len.try_into().expect("4 bytes")) as usize;
    bytes
        .get(8..)
        .unwrap_or_default()
        .chunks_exact(8)
        .take(len.min(MAX_STACK_DEPTH))
        .map(|chunk| u64::from_ne_bytes(chunk.try_into().expect("chunks of 8")))
        .collect()
}

/// The process entries map, for the unwinder.
struct EntriesMap<'a, 'obj>(&'a MapMut<'obj>);

impl ProcessEntries for EntriesMap<'_, '_> {
    fn set(&mut self, pid: u32, entry: &[u8; PROCESS_ENTRY_SIZE]) -> Result<()> {
        self.0
            .update(&pid.to_ne_bytes(), entry, MapFlags::ANY)
            .map_err(|e| Error::bpf(format!("writing the unwind mappings of process {pid}"), e))
    }

    fn remove(&mut self, pid: u32) -> Result<()> {
        match self.0.delete(&pid.to_ne_bytes()) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == libbpf_rs::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::bpf(
                format!("removing the unwind mappings of process {pid}"),
                e,
            )),
        }
    }
}

/// The rows map's memory, mapped into this process: rows are written
/// there directly, with no system call per row.
struct MappedRows {
    memory: NonNull<u8>,
    len: usize,
    /// `tables_epoch` in the program's .bss.
    epoch: NonNull<u32>,
}

impl MappedRows {
    fn map(map: &MapMut<'_>, chunks: u32, epoch: NonNull<u32>) -> Result<Self> {
        let len = rows_bytes(chunks * ROWS_PER_CHUNK);
        // SAFETY: a shared mapping of a BPF array created with
        // BPF_F_MMAPABLE and at least `len` bytes long; the kernel keeps the
        // map alive while it is mapped, and only this struct touches it.
        let memory = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                map.as_fd().as_raw_fd(),
                0,
            )
        };
        if memory == libc::MAP_FAILED {
            return Err(Error::os(
                "mapping the unwind table rows into memory",
                std::io::Error::last_os_error(),
            ));
        }
        let memory = NonNull::new(memory.cast::<u8>()).expect("mmap succeeded");
        Ok(Self { memory, len, epoch })
    }
}

impl RowStore for MappedRows {
    fn capacity(&self) -> u32 {
        (self.len / rows_bytes(1)) as u32
    }

    fn write(&mut self, start: u32, bytes: &[u8]) {
        let at = rows_bytes(start);
        assert!(
            at + bytes.len() <= self.len,
            "rows beyond the mapped table room"
        );
        // SAFETY: in bounds of the mapping (checked above); the BPF program
        // only reads rows of tables that process entries point at, and the
        // unwinder writes a table before any entry points at it.
        unsafe {
            std::ptr::copy_nonoverlapping(
                bytes.as_ptr(),
                self.memory.as_ptr().add(at),
                bytes.len(),
            );
        }
    }

    fn invalidate(&mut self) {
        // SAFETY: an aligned u32 of the program's memory-mapped .data,
        // which outlives this struct (see `Sampler::start`); only this
        // thread writes it.
        unsafe {
            let epoch = self.epoch.as_ptr();
            std::ptr::write_volatile(epoch, std::ptr::read_volatile(epoch).wrapping_add(1).max(1));
        }
    }
}

impl Drop for MappedRows {
    fn drop(&mut self) {
        // SAFETY: the mapping made in `map`, unmapped once.
        unsafe { libc::munmap(self.memory.as_ptr().cast(), self.len) };
    }
}

/// The addresses of a stack-trace map value: leaf first, up to the first zero.
fn stack_addresses(bytes: &[u8]) -> Vec<u64> {
    bytes
        .chunks_exact(8)
        .take(MAX_STACK_DEPTH)
        .map(|chunk| u64::from_ne_bytes(chunk.try_into().expect("chunks of 8")))
        .take_while(|&addr| addr != 0)
        .collect()
}

fn comm_string(comm: &[i8]) -> String {
    let bytes: Vec<u8> = comm
        .iter()
        .map(|&c| c as u8)
        .take_while(|&b| b != 0)
        .collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

fn process_event(event: types::process_event) -> Option<ProcessEvent> {
    use types::process_event_kind as K;
    match event.kind {
        K::PROCESS_SAMPLED => Some(ProcessEvent::Sampled(event.tgid)),
        K::PROCESS_EXECED => Some(ProcessEvent::Execed(event.tgid)),
        K::PROCESS_FORKED => Some(ProcessEvent::Forked {
            child: event.tgid,
            parent: event.parent_tgid,
        }),
        K::PROCESS_UNWIND_MISS => Some(ProcessEvent::MappingsChanged(event.tgid)),
        _ => None,
    }
}

/// Plain-old-data types the kernel hands over as bytes.
trait Pod: Copy {}
impl Pod for u64 {}
impl Pod for types::sample_key {}
impl Pod for types::process_event {}

/// Reads a `T` from the kernel's bytes; `None` when the size is wrong.
fn decode<T: Pod>(bytes: &[u8]) -> Option<T> {
    if bytes.len() != std::mem::size_of::<T>() {
        return None;
    }
    // SAFETY: the length matches, the read is unaligned-safe, and every
    // `Pod` type is made of integers (and integer newtypes), for which any
    // bit pattern is valid.
    Some(unsafe { std::ptr::read_unaligned(bytes.as_ptr().cast::<T>()) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stack_addresses_stop_at_the_first_zero() {
        let mut bytes = Vec::new();
        for addr in [0x10u64, 0x20, 0, 0x30] {
            bytes.extend_from_slice(&addr.to_ne_bytes());
        }
        assert_eq!(stack_addresses(&bytes), vec![0x10, 0x20]);
        assert!(stack_addresses(&[]).is_empty());
    }

    #[test]
    fn unwound_stacks_hold_len_addresses() {
        let mut bytes = 2u32.to_ne_bytes().to_vec();
        bytes.extend_from_slice(&[0; 4]);
        for addr in [0x10u64, 0x20, 0x30] {
            bytes.extend_from_slice(&addr.to_ne_bytes());
        }
        assert_eq!(unwound_addresses(&bytes), vec![0x10, 0x20]);
        assert!(unwound_addresses(&[1]).is_empty());
    }

    #[test]
    fn walk_time_percentiles_come_from_the_buckets() {
        let mut counts = vec![0u64; WALK_TIME_BUCKETS as usize];
        // 256..320 ns is bucket 4 * 8 + 0; 1024..1280 ns is 4 * 10 + 0.
        counts[32] = 60;
        counts[40] = 40;
        let times = WalkTimes::from_histogram(&counts);
        assert_eq!(times.walks, 100);
        assert_eq!(times.p50_ns, 288.0);
        assert_eq!(times.p90_ns, 1152.0);
        // 448..512 ns is the last quarter of 256..512.
        counts.fill(0);
        counts[35] = 1;
        assert_eq!(WalkTimes::from_histogram(&counts).p50_ns, 480.0);
        assert_eq!(WalkTimes::from_histogram(&[0; 4]).p50_ns, 0.0);
    }

    #[test]
    fn comm_is_cut_at_nul() {
        let mut comm = [0i8; 16];
        for (slot, b) in comm.iter_mut().zip(b"worker") {
            *slot = *b as i8;
        }
        assert_eq!(comm_string(&comm), "worker");
    }

    #[test]
    fn decode_rejects_wrong_sizes() {
        assert_eq!(decode::<u64>(&7u64.to_ne_bytes()), Some(7));
        assert_eq!(decode::<u64>(&[1, 2, 3]), None);
    }
}
