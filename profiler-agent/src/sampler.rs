//! The BPF CPU sampler: load, attach to one CPU clock per online CPU,
//! follow a process tree, drain.
//!
//! Draining never loses nor double-counts a sample: the program writes
//! into the generation of maps (counts + stack traces) that the `generation`
//! flag names; [`Sampler::drain`] flips the flag, waits until no program
//! can still be writing the old generation, then reads and clears it.

use std::{
    cell::RefCell,
    collections::HashMap,
    mem::MaybeUninit,
    os::fd::{AsRawFd, IntoRawFd},
    rc::Rc,
    time::Duration,
};

use libbpf_rs::{
    skel::{OpenSkel, SkelBuilder},
    Link, MapCore, MapFlags, MapMut, OpenObject, RingBuffer, RingBufferBuilder,
};

use crate::{
    perf_event::{online_cpus, open_cpu_clock},
    raw::RawSample,
    skel::{types, SamplerSkel, SamplerSkelBuilder},
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
}

impl Default for SamplerOptions {
    fn default() -> Self {
        Self {
            frequency: 19,
            follow_targets: false,
            skip_pid: None,
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
}

/// A loaded and attached sampler (see the module docs).
pub struct Sampler<'obj> {
    skel: SamplerSkel<'obj>,
    links: Vec<Link>,
    ring: RingBuffer<'static>,
    events: Rc<RefCell<Vec<ProcessEvent>>>,
    generation: u32,
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
        let skel = open
            .load()
            .map_err(|e| Error::bpf("loading the BPF sampler into the kernel", e))?;

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

    /// Waits up to `timeout` for process events and returns those queued.
    pub fn poll_process_events(&self, timeout: Duration) -> Result<Vec<ProcessEvent>> {
        match self.ring.poll(timeout) {
            // A signal (Ctrl-C) cut the wait short: the caller checks its flag.
            Err(e) if e.kind() == libbpf_rs::ErrorKind::Interrupted => {}
            other => other.map_err(|e| Error::bpf("polling process events", e))?,
        }
        Ok(std::mem::take(&mut *self.events.borrow_mut()))
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
        let (counts, stacks) = if old == 0 {
            (&maps.counts_0, &maps.stacks_0)
        } else {
            (&maps.counts_1, &maps.stacks_1)
        };
        drain_generation(counts, stacks)
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
        })
    }
}

/// Reads every count of one generation with its stacks, then clears it.
fn drain_generation(counts: &MapMut<'_>, stacks: &MapMut<'_>) -> Result<Vec<RawSample>> {
    let keys: Vec<Vec<u8>> = counts.keys().collect();
    let mut stack_cache: HashMap<i32, Vec<u64>> = HashMap::new();
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
        samples.push(RawSample {
            pid: key.tgid,
            tid: key.tid,
            comm: comm_string(&key.comm),
            user: stack(key.user_stack_id)?,
            kernel: stack(key.kernel_stack_id)?,
            count,
        });
    }
    let stack_ids: Vec<Vec<u8>> = stacks.keys().collect();
    for id in stack_ids {
        match stacks.delete(&id) {
            Ok(()) => {}
            Err(e) if e.kind() == libbpf_rs::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::bpf("clearing stack traces", e)),
        }
    }
    Ok(samples)
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
