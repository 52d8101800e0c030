//! The BPF CPU sampler: load, attach to one CPU clock per online CPU,
//! follow a process tree, drain.
//!
//! Draining never loses nor double-counts a sample: the program writes
//! into the generation of maps (counts + stack traces) that the `generation`
//! flag names; [`Sampler::drain`] flips the flag, waits until no program
//! can still be writing the old generation, then reads and clears it
//! (`drain`).
//!
//! With [`SamplingOptions::unwind_tables`], user stacks are walked with
//! unwind tables compiled from `.eh_frame` (see [`crate::unwind`]), which
//! [`Sampler::poll_process_events`] keeps loaded for every sampled process.
//!
//! - [`options`]: what to sample, and the defaults the commands share;
//! - [`stats`]: the program's counters, one table for every reader;
//! - `events`: the target set ([`TargetKind`]) and [`ProcessEvent`]s;
//! - [`drain_loop`]: the loop `brasa record` and the agent both run.

mod drain;
pub mod drain_loop;
mod events;
pub mod options;
pub mod stats;

use std::{
    cell::RefCell,
    mem::MaybeUninit,
    os::fd::{AsRawFd, IntoRawFd},
    ptr::NonNull,
    rc::Rc,
    time::Duration,
};

use libbpf_rs::{
    skel::{OpenSkel, SkelBuilder},
    Link, MapCore, MapFlags, OpenObject, RingBuffer, RingBufferBuilder,
};

pub use events::{ProcessEvent, TargetKind};
pub use options::{
    SamplerOptions, SamplingOptions, AGENT_FREQUENCY, MAX_FREQUENCY, RECORD_FREQUENCY,
};
pub use stats::{SamplerStats, WalkTimes};

use crate::{
    perf_event::{online_cpus, open_cpu_clock},
    pod::decode,
    python::threads::{PythonMaps, PythonThreads},
    raw::RawSample,
    skel::{types, SamplerSkel, SamplerSkelBuilder},
    unwind::{KernelTables, UnwindStats},
    Error, Result,
};
use drain::Generation;

/// How long to wait after flipping generations before reading the old one.
/// A sampler run takes microseconds, with preemption disabled, so a program
/// that read the old flag has finished long before this.
const GENERATION_GRACE: Duration = Duration::from_millis(5);

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

/// A loaded and attached sampler (see the module docs).
pub struct Sampler<'obj> {
    skel: SamplerSkel<'obj>,
    links: Vec<Link>,
    ring: RingBuffer<'static>,
    events: Rc<RefCell<Vec<ProcessEvent>>>,
    generation: u32,
    tables: Option<KernelTables>,
    python: PythonThreads,
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
        let sampling = &options.sampling;
        if sampling.frequency == 0 || sampling.frequency > MAX_FREQUENCY {
            return Err(Error::InvalidOption(format!(
                "frequency {} Hz is outside 1..={MAX_FREQUENCY}",
                sampling.frequency
            )));
        }
        let chunks = if sampling.unwind_tables {
            KernelTables::chunks(sampling.table_rows)?
        } else {
            1
        };
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
        rodata.unwind_tables = sampling.unwind_tables;
        open.maps
            .unwind_rows
            .set_max_entries(chunks)
            .map_err(|e| Error::bpf("sizing the unwind table map", e))?;
        let skel = open
            .load()
            .map_err(|e| Error::bpf("loading the BPF sampler into the kernel", e))?;
        let tables = if sampling.unwind_tables {
            let data = skel
                .maps
                .data_data
                .as_deref()
                .expect("the sampler has .data");
            // The skeleton's .data stays mapped for as long as the sampler.
            let epoch = NonNull::from(&data.tables_epoch);
            Some(KernelTables::map(&skel.maps.unwind_rows, chunks, epoch)?)
        } else {
            None
        };

        let events = Rc::new(RefCell::new(Vec::new()));
        let sink = Rc::clone(&events);
        let mut ring = RingBufferBuilder::new();
        ring.add(&skel.maps.process_events, move |data: &[u8]| {
            if let Some(event) = ProcessEvent::from_record(data) {
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
            python: PythonThreads::default(),
        };
        sampler.attach(sampling.frequency)?;
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
        self.skel
            .maps
            .target_tgids
            .update(
                &pid.to_ne_bytes(),
                &kind.to_kernel().0.to_ne_bytes(),
                MapFlags::ANY,
            )
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
        let timeout = match self.tables.as_ref().and_then(|t| t.next_refresh_in()) {
            Some(due) => timeout.min(due),
            None => timeout,
        };
        match self.ring.poll(timeout) {
            // A signal (Ctrl-C) cut the wait short: the caller checks its flag.
            Err(e) if e.kind() == libbpf_rs::ErrorKind::Interrupted => {}
            other => other.map_err(|e| Error::bpf("polling process events", e))?,
        }
        let events = std::mem::take(&mut *self.events.borrow_mut());
        // Python processes first: finding their thread states is quick,
        // and each moment without them is samples without Python frames.
        let maps = PythonMaps {
            processes: &self.skel.maps.python_processes,
            threads: &self.skel.maps.python_threads,
        };
        self.python.handle(&events, &maps);
        if let Some(tables) = self.tables.as_mut() {
            tables.handle(&events, &self.skel.maps.unwind_processes);
        }
        Ok(events)
    }

    /// Python processes whose frames the program walks now.
    pub fn python_processes(&self) -> usize {
        self.python.processes()
    }

    /// How the unwind tables are doing; `None` without
    /// [`SamplingOptions::unwind_tables`].
    pub fn unwind_stats(&self) -> Option<UnwindStats> {
        self.tables.as_ref().map(KernelTables::stats)
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
                python_stacks: &maps.python_stacks_0,
            }
        } else {
            Generation {
                counts: &maps.counts_1,
                stacks: &maps.stacks_1,
                unwound: &maps.unwound_1,
                python_stacks: &maps.python_stacks_1,
            }
        };
        let samples = generation.drain()?;
        let python = PythonMaps {
            processes: &maps.python_processes,
            threads: &maps.python_threads,
        };
        self.python.refresh(&python);
        Ok(samples)
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
        self.per_cpu_sum(&self.skel.maps.stats, id.0, "reading sampler stats")
    }

    /// A per-CPU u64 of a per-CPU array, summed over CPUs.
    fn per_cpu_sum(&self, map: &impl MapCore, index: u32, action: &str) -> Result<u64> {
        let per_cpu = map
            .lookup_percpu(&index.to_ne_bytes(), MapFlags::ANY)
            .map_err(|e| Error::bpf(action, e))?
            .unwrap_or_default();
        Ok(per_cpu
            .iter()
            .filter_map(|v| decode::<u64>(v.get(..8)?))
            .sum())
    }

    /// How long the walks with unwind tables took so far.
    pub fn walk_times(&self) -> Result<WalkTimes> {
        let histogram = &self.skel.maps.walk_time;
        let counts = (0..histogram.max_entries())
            .map(|bucket| self.per_cpu_sum(histogram, bucket, "reading the walk-time histogram"))
            .collect::<Result<Vec<u64>>>()?;
        Ok(WalkTimes::from_histogram(&counts))
    }

    /// The program's counters, summed over CPUs.
    pub fn stats(&self) -> Result<SamplerStats> {
        SamplerStats::read(|id| self.stat(id))
    }
}
