// SPDX-License-Identifier: GPL-2.0
/*
 * Brasa's CPU sampler.
 *
 * One perf_event (PERF_COUNT_SW_CPU_CLOCK) per online CPU fires this program
 * at the sampling frequency. Each sample records who was running (tgid, tid,
 * comm) and where (user stack, kernel stack) by counting the (who, stacks)
 * key in a hash map.
 *
 * User stacks are walked by frame pointers (bpf_get_stackid), or, for the
 * processes user space has given unwind tables (unwind_processes), with
 * those tables: the rules compiled from .eh_frame say where each frame's
 * caller's registers are, so code built without frame pointers unwinds
 * too. Frames no table covers (JIT code, anonymous memory) are walked by
 * frame pointer within the same walk.
 *
 * Maps come in two generations: the program writes into the generation that
 * `generation` names, while user space flips the flag and drains the other
 * one at leisure. A sample therefore lands in exactly one drain: none is
 * lost to a drain in progress and none is read twice.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "sampler.h"

char LICENSE[] SEC("license") = "GPL";

/* ===========================================================================
 * Constants
 * ========================================================================= */

/* errno values are macros, which vmlinux.h (types only) does not carry. */
#define EFAULT 14
#define EEXIST 17
/* task->flags of a kernel thread (include/linux/sched.h). */
#define PF_KTHREAD 0x00200000

/* ===========================================================================
 * Settings (rodata, set by user space between open and load)
 * ========================================================================= */

/* Sample only processes in target_tgids (a process tree) instead of the host. */
const volatile bool filter_tgids = false;
/* A process never to sample: the profiler itself when sampling the host. */
const volatile __u32 skip_tgid = 0;
/* Walk the user stacks of processes in unwind_processes with their tables. */
const volatile bool unwind_tables = false;

/* ===========================================================================
 * State shared with user space (.bss, memory mapped)
 * ========================================================================= */

/* Which generation of maps samples go to; only its lowest bit matters. */
volatile __u32 generation = 0;
/* Bumped by user space before it reuses the rows of an evicted table:
 * remembered rules of older epochs are stale. Starts at 1 so that an empty
 * cache slot (epoch 0) never matches. */
volatile __u32 tables_epoch = 1;

/* Never written: they make the skeleton export these types, so user space
 * decodes ring buffer records, names counters and checks rule codes with
 * the generated ones. */
struct process_event process_event_layout = {};
enum stat_id stat_id_layout = STAT_SAMPLES;
struct unwind_chunk unwind_chunk_layout = {};
struct unwind_process unwind_process_layout = {};
struct unwound_stack unwound_stack_layout = {};
struct python_process python_process_layout = {};
struct python_thread python_thread_layout = {};
struct python_stack python_stack_layout = {};
enum python_frame_flag python_frame_flag_layout = PYTHON_FRAME_ENTRY;
/* The rule codes of unwind rows, checked against the symbolizer's. */
enum cfa_kind cfa_kind_layout = CFA_NONE;
enum fp_kind fp_kind_layout = FP_UNCHANGED;
enum ra_kind ra_kind_layout = RA_UNDEFINED;

/* ===========================================================================
 * Maps
 * ========================================================================= */

/* Stack-trace map: MAX_STACK_DEPTH addresses per stack. */
#define STACK_MAP(name)                                                                            \
	struct {                                                                                   \
		__uint(type, BPF_MAP_TYPE_STACK_TRACE);                                            \
		__uint(max_entries, MAX_STACKS);                                                   \
		__uint(key_size, sizeof(__u32));                                                   \
		__uint(value_size, MAX_STACK_DEPTH * sizeof(__u64));                               \
	} name SEC(".maps")

#define COUNTS_MAP(name)                                                                           \
	struct {                                                                                   \
		__uint(type, BPF_MAP_TYPE_HASH);                                                   \
		__uint(max_entries, MAX_SAMPLE_KEYS);                                              \
		__type(key, struct sample_key);                                                    \
		__type(value, __u64);                                                              \
	} name SEC(".maps")

/* User stacks walked with tables: stack hash -> struct unwound_stack. */
#define UNWOUND_MAP(name)                                                                          \
	struct {                                                                                   \
		__uint(type, BPF_MAP_TYPE_HASH);                                                   \
		__uint(max_entries, MAX_UNWOUND_STACKS);                                           \
		__uint(map_flags, BPF_F_NO_PREALLOC);                                              \
		__type(key, __u64);                                                                \
		__type(value, struct unwound_stack);                                               \
	} name SEC(".maps")

/* Python frames: stack hash -> struct python_stack. */
#define PYTHON_STACKS_MAP(name)                                                                    \
	struct {                                                                                   \
		__uint(type, BPF_MAP_TYPE_HASH);                                                   \
		__uint(max_entries, MAX_PYTHON_STACKS);                                            \
		__uint(map_flags, BPF_F_NO_PREALLOC);                                              \
		__type(key, __u64);                                                                \
		__type(value, struct python_stack);                                                \
	} name SEC(".maps")

STACK_MAP(stacks_0);
STACK_MAP(stacks_1);
COUNTS_MAP(counts_0);
COUNTS_MAP(counts_1);
UNWOUND_MAP(unwound_0);
UNWOUND_MAP(unwound_1);
PYTHON_STACKS_MAP(python_stacks_0);
PYTHON_STACKS_MAP(python_stacks_1);

/* Processes running a supported CPython: tgid -> struct python_process. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_PYTHON_PROCESSES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32);
	__type(value, struct python_process);
} python_processes SEC(".maps");

/* Their threads: tid -> struct python_thread. The program adds a thread
 * it does not know with no state (so it asks user space once), user space
 * writes the state it finds; least recently used entries go first. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, MAX_PYTHON_THREADS);
	__type(key, __u32);
	__type(value, struct python_thread);
} python_threads SEC(".maps");

/* Per-CPU room for one Python walk. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct python_scratch);
} python_scratch SEC(".maps");

/* The rows of every loaded unwind table. User space sizes it before load
 * (the kernel memory tables may use) and writes rows through mmap. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct unwind_chunk);
} unwind_rows SEC(".maps");

/* Processes walked with tables: tgid -> struct unwind_process. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_UNWIND_PROCESSES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32);
	__type(value, struct unwind_process);
} unwind_processes SEC(".maps");

/* Rules found by binary search, per CPU, indexed by a hash of the PC. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, ROW_CACHE_SLOTS);
	__type(key, __u32);
	__type(value, struct row_cache_entry);
} row_cache SEC(".maps");

/* How long walks with tables take: counts per bucket of nanoseconds, per
 * CPU; bucket 4 * floor(log2(ns)) + the two bits below the leading one. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, WALK_TIME_BUCKETS);
	__type(key, __u32);
	__type(value, __u64);
} walk_time SEC(".maps");

/* Scratch space of a walk: too large for the BPF stack. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct unwound_stack);
} unwind_scratch SEC(".maps");

/* Processes to sample when filter_tgids is set: tgid -> enum target_kind. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_TARGET_TGIDS);
	__type(key, __u32);
	__type(value, enum target_kind);
} target_tgids SEC(".maps");

/* Processes already announced to user space (LRU: old ones age out). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, MAX_SEEN_TGIDS);
	__type(key, __u32);
	__type(value, __u8);
} seen_tgids SEC(".maps");

/* Process events (struct process_event), so user space reads memory maps
 * while the processes still exist. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, PROCESS_EVENT_RING_BYTES);
} process_events SEC(".maps");

/* One counter per outcome (enum stat_id), per CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, STAT_COUNT);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

_Static_assert(sizeof(struct sample_key) == 48, "sample_key has no padding");
_Static_assert(sizeof(struct python_frame) == 24, "python_frame has no padding");
_Static_assert(PYTHON_FRAME_WINDOW == 128, "window offsets are masked with 0x7f");
_Static_assert((MAX_PYTHON_FRAMES & (MAX_PYTHON_FRAMES - 1)) == 0,
	       "Python frame slots are masked with MAX_PYTHON_FRAMES - 1");
_Static_assert(sizeof(struct unwind_row) == 12, "unwind_row matches the symbolizer's Row");
_Static_assert(__builtin_offsetof(struct unwind_row, cfa_offset) == 8, "unwind_row layout");
_Static_assert(sizeof(struct exec_mapping) == 32, "exec_mapping has no padding");
_Static_assert((ROW_CACHE_SLOTS & (ROW_CACHE_SLOTS - 1)) == 0, "cache slots are a power of two");
_Static_assert((MAX_PROCESS_MAPPINGS & (MAX_PROCESS_MAPPINGS - 1)) == 0 &&
		   (1 << (MAX_MAPPING_SEARCH_STEPS - 1)) >= MAX_PROCESS_MAPPINGS,
	       "the mapping search covers every mapping");
_Static_assert(MAX_STACK_DEPTH <= 127, "the kernel records at most 127 frames");
_Static_assert((PROCESS_EVENT_RING_BYTES & (PROCESS_EVENT_RING_BYTES - 1)) == 0,
	       "ring buffer size is a power of two");

/* ===========================================================================
 * Helpers
 * ========================================================================= */

static __always_inline void add_stat(enum stat_id id, __u64 amount)
{
	__u64 *counter = bpf_map_lookup_elem(&stats, &id);

	/* Per-CPU, but a sample (NMI-like context) may interrupt a tracepoint
	 * program on the same CPU: add atomically. */
	if (counter)
		__sync_fetch_and_add(counter, amount);
}

static __always_inline void count_stat(enum stat_id id)
{
	add_stat(id, 1);
}

static __always_inline bool is_target(__u32 tgid)
{
	enum target_kind *kind;

	if (tgid == skip_tgid)
		return false;
	if (!filter_tgids)
		return true;
	kind = bpf_map_lookup_elem(&target_tgids, &tgid);
	return kind && *kind == TARGET_SAMPLE;
}

/* Queues a process event for user space; false when the ring is full. */
static __always_inline bool send_thread_event(__u32 tgid, __u32 parent_tgid, __u32 tid,
					      enum process_event_kind kind)
{
	struct process_event *event;

	event = bpf_ringbuf_reserve(&process_events, sizeof(*event), 0);
	if (!event) {
		count_stat(STAT_PROCESS_EVENT_DROPPED);
		return false;
	}
	event->tgid = tgid;
	event->parent_tgid = parent_tgid;
	event->kind = kind;
	event->tid = tid;
	bpf_ringbuf_submit(event, 0);
	return true;
}

static __always_inline bool send_process_event(__u32 tgid, __u32 parent_tgid,
					       enum process_event_kind kind)
{
	return send_thread_event(tgid, parent_tgid, 0, kind);
}

/* Tells user space about a process the first time it is sampled. */
static __always_inline void announce_if_new(__u32 tgid)
{
	__u8 one = 1;

	if (bpf_map_lookup_elem(&seen_tgids, &tgid))
		return;
	/* When the ring is full the process is not marked as seen, so the
	 * next sample tries again. */
	if (send_process_event(tgid, 0, PROCESS_SAMPLED))
		bpf_map_update_elem(&seen_tgids, &tgid, &one, BPF_ANY);
}

/* A stack id, or a negative errno; counts the failures that lose data. */
static __always_inline __s32 stack_id(void *ctx, void *stack_map, __u64 flags)
{
	long id = bpf_get_stackid(ctx, stack_map, flags);

	if (id >= 0)
		return id;
	if (id == -EFAULT) {
		/* No stack of that kind: a kernel thread has no user stack, and a
		 * sample taken in user mode has no kernel stack. */
		if (flags & BPF_F_USER_STACK)
			count_stat(STAT_NO_USER_STACK);
	} else {
		/* -ENOMEM: stack map full; -EEXIST: hash collision. */
		count_stat((flags & BPF_F_USER_STACK) ? STAT_USER_STACK_ERROR
						      : STAT_KERNEL_STACK_ERROR);
	}
	return id;
}

static __always_inline void count_sample(void *counts, struct sample_key *key)
{
	__u64 one = 1, *count;

	count = bpf_map_lookup_elem(counts, key);
	if (count) {
		__sync_fetch_and_add(count, 1);
		return;
	}
	if (bpf_map_update_elem(counts, key, &one, BPF_NOEXIST) == 0)
		return;
	/* Another CPU inserted the same key in between: add to its entry. */
	count = bpf_map_lookup_elem(counts, key);
	if (count) {
		__sync_fetch_and_add(count, 1);
		return;
	}
	count_stat(STAT_COUNTS_FULL);
}

/* ===========================================================================
 * Walking user stacks with unwind tables
 * ========================================================================= */

/* x86-64 PLT entries are 16 bytes; the PLT rule looks at the PC's offset. */
#define PLT_ENTRY_MASK 15
/* What the PLT entry pushes before jumping to the resolver. */
#define PLT_PUSH 8

/* State of one walk, carried from frame to frame by bpf_loop. */
struct walk {
	struct unwound_stack *stack;
	struct unwind_process *process;
	__u64 pc, sp, fp;
	__u64 hash;
	/* The enum stat_id of why the walk stopped, 0 while it goes on. */
	__u32 stop;
	/* The frame was reached by frame pointer: its PC is less trustworthy. */
	bool by_frame_pointer;
	/* 1 + the index of the mapping of the previous frame, 0: none. Callers
	 * are often in the same binary as their callee: no search then. */
	__u32 last_mapping;
};

/* A binary search for the last element at or below a target, in bpf_loop
 * steps: the verifier checks one step instead of every unrolled one. */
struct search {
	void *base;  /* struct unwind_process, or unused for rows */
	__u32 first; /* first row of the table (row searches) */
	__u32 lo, hi;
	__u64 target;
};

/* One step over a process's mappings; false when the search is over. */
static __always_inline bool mapping_step(struct search *search)
{
	struct unwind_process *process = search->base;
	__u32 mid;

	if (search->lo >= search->hi)
		return false;
	mid = (search->lo + search->hi) / 2;
	if (process->mappings[mid & (MAX_PROCESS_MAPPINGS - 1)].start <= search->target)
		search->lo = mid + 1;
	else
		search->hi = mid;
	return true;
}

/* One search step per call: unrolling several makes the verifier's work
 * grow many times over for no gain once the row cache answers. */
static long mapping_search_steps(__u32 index, void *context)
{
	return mapping_step(context) ? 0 : 1;
}

/* The mapping of `process` holding `pc`, or NULL; `*last` is 1 + the index
 * of the mapping found before (0: none), tried first and updated. */
static __always_inline struct exec_mapping *find_mapping(struct unwind_process *process, __u64 pc,
							 __u32 *last)
{
	struct search search = {.base = process, .hi = process->mapping_count, .target = pc};
	struct exec_mapping *mapping;

	if (*last) {
		mapping = &process->mappings[(*last - 1) & (MAX_PROCESS_MAPPINGS - 1)];
		if (mapping->start <= pc && pc < mapping->end)
			return mapping;
	}

	if (search.hi > MAX_PROCESS_MAPPINGS)
		search.hi = MAX_PROCESS_MAPPINGS;
	/* Past the last mapping starting at or below pc, then one back. */
	bpf_loop(MAX_MAPPING_SEARCH_STEPS, mapping_search_steps, &search, 0);
	if (search.lo == 0)
		return NULL;
	mapping = &process->mappings[(search.lo - 1) & (MAX_PROCESS_MAPPINGS - 1)];
	if (pc >= mapping->end)
		return NULL;
	*last = search.lo;
	return mapping;
}

static __always_inline struct unwind_row *row_at(__u32 index)
{
	__u32 chunk_index = index / UNWIND_ROWS_PER_CHUNK;
	struct unwind_chunk *chunk = bpf_map_lookup_elem(&unwind_rows, &chunk_index);

	if (!chunk)
		return NULL;
	return &chunk->rows[index % UNWIND_ROWS_PER_CHUNK];
}

/* One step over a table's rows; false when the search is over. */
static __always_inline bool row_step(struct search *search)
{
	struct unwind_row *row;
	__u32 mid;

	if (search->lo >= search->hi)
		return false;
	mid = (search->lo + search->hi) / 2;
	row = row_at(search->first + mid);
	if (!row) {
		search->lo = search->hi = 0; /* beyond the map: no row */
		return false;
	}
	if (row->pc <= (__u32)search->target)
		search->lo = mid + 1;
	else
		search->hi = mid;
	return true;
}

static long row_search_steps(__u32 index, void *context)
{
	return row_step(context) ? 0 : 1;
}

/* The last row of the mapping's table at or before the ELF `address`. */
static __always_inline struct unwind_row *find_row(struct exec_mapping *mapping, __u64 address)
{
	struct search search = {
	    .first = mapping->table_start,
	    .hi = mapping->table_rows,
	    .target = address,
	};

	if (address > 0xffffffffULL)
		return NULL;
	bpf_loop(MAX_TABLE_SEARCH_STEPS, row_search_steps, &search, 0);
	if (search.lo == 0)
		return NULL;
	return row_at(search.first + search.lo - 1);
}

/* The rule at the ELF address `lookup_pc - bias` of the mapping's table,
 * from the per-CPU cache or by binary search; NULL: no rule. */
static __always_inline struct unwind_row *rule_at(struct exec_mapping *mapping, __u64 lookup_pc)
{
	__u32 slot = (__u32)((lookup_pc * 0x9e3779b97f4a7c15ULL) >> 52) & (ROW_CACHE_SLOTS - 1);
	struct row_cache_entry *cached = bpf_map_lookup_elem(&row_cache, &slot);
	__u32 epoch = tables_epoch;
	struct unwind_row *row;

	if (!cached)
		return find_row(mapping, lookup_pc - mapping->bias);
	if (cached->epoch == epoch && cached->pc == lookup_pc && cached->bias == mapping->bias &&
	    cached->table_start == mapping->table_start) {
		count_stat(STAT_UNWIND_CACHE_HITS);
		return &cached->row;
	}
	row = find_row(mapping, lookup_pc - mapping->bias);
	if (!row)
		return NULL;
	cached->pc = lookup_pc;
	cached->bias = mapping->bias;
	cached->table_start = mapping->table_start;
	cached->epoch = epoch;
	cached->row = *row;
	return row;
}

static __always_inline bool read_word(__u64 address, __u64 *word)
{
	return bpf_probe_read_user(word, sizeof(*word), (const void *)address) == 0;
}

/* One step by frame pointer: RBP points at the saved RBP, the return
 * address above it. */
static __always_inline void step_by_frame_pointer(struct walk *walk)
{
	__u64 fp = walk->fp, pc, saved_fp;

	if (fp == 0) {
		walk->stop = STAT_UNWIND_END; /* _start clears RBP */
		return;
	}
	if (fp < walk->sp || (fp & 7)) {
		walk->stop = STAT_UNWIND_NOT_PROGRESSING;
		return;
	}
	if (!read_word(fp + 8, &pc) || !read_word(fp, &saved_fp)) {
		walk->stop = STAT_UNWIND_READ_FAILED;
		return;
	}
	walk->pc = pc;
	walk->sp = fp + 16;
	walk->fp = saved_fp;
	walk->by_frame_pointer = true;
	if (pc == 0)
		walk->stop = STAT_UNWIND_END;
}

/* One step by the table's rule at the frame's PC. */
static __always_inline void step_by_rule(struct walk *walk, struct unwind_row *row)
{
	__u64 cfa, pc, fp = walk->fp;

	switch (row->cfa_kind) {
	case CFA_SP_OFFSET:
		cfa = walk->sp + row->cfa_offset;
		break;
	case CFA_FP_OFFSET:
		cfa = walk->fp + row->cfa_offset;
		break;
	case CFA_PLT:
		cfa = walk->sp + row->cfa_offset +
		      ((walk->pc & PLT_ENTRY_MASK) >= row->aux ? PLT_PUSH : 0);
		break;
	default:
		walk->stop = STAT_UNWIND_UNSUPPORTED;
		return;
	}
	if (row->ra_kind == RA_UNDEFINED) {
		walk->stop = STAT_UNWIND_END;
		return;
	}
	if (row->ra_kind != RA_AT_CFA_MINUS_8 || row->fp_kind > FP_AT_CFA_OFFSET) {
		walk->stop = STAT_UNWIND_UNSUPPORTED;
		return;
	}
	if (row->fp_kind == FP_AT_CFA_OFFSET && row->fp_offset == -16) {
		/* The usual prologue (push %rbp after the call): the saved FP
		 * and the return address are neighbours, one read. */
		__u64 pair[2];

		if (bpf_probe_read_user(pair, sizeof(pair), (const void *)(cfa - 16))) {
			walk->stop = STAT_UNWIND_READ_FAILED;
			return;
		}
		fp = pair[0];
		pc = pair[1];
	} else if (!read_word(cfa - 8, &pc) ||
		   (row->fp_kind == FP_AT_CFA_OFFSET && !read_word(cfa + row->fp_offset, &fp))) {
		walk->stop = STAT_UNWIND_READ_FAILED;
		return;
	}
	if (pc == 0) {
		walk->stop = STAT_UNWIND_END;
		return;
	}
	if (cfa <= walk->sp) {
		walk->stop = STAT_UNWIND_NOT_PROGRESSING;
		return;
	}
	walk->pc = pc;
	walk->sp = cfa;
	walk->fp = fp;
	walk->by_frame_pointer = false;
}

/* Counts a walk of `ns` nanoseconds in the walk_time histogram. */
static __always_inline void record_walk_time(__u64 ns)
{
	__u64 rest;
	__u32 log = 0, bucket;
	__u64 *count;

	if (ns >= 1ULL << 31)
		ns = (1ULL << 31) - 1;
	/* floor(log2(ns)) by halving the range. */
	rest = ns;
	if (rest >> 16) {
		rest >>= 16;
		log += 16;
	}
	if (rest >> 8) {
		rest >>= 8;
		log += 8;
	}
	if (rest >> 4) {
		rest >>= 4;
		log += 4;
	}
	if (rest >> 2) {
		rest >>= 2;
		log += 2;
	}
	if (rest >> 1) {
		log += 1;
	}
	bucket = 4 * log + (log >= 2 ? (__u32)(ns >> (log - 2)) & 3 : 0);
	bucket &= WALK_TIME_BUCKETS - 1;
	count = bpf_map_lookup_elem(&walk_time, &bucket);
	if (count)
		__sync_fetch_and_add(count, 1);
}

/* Asks user space, once per refresh, to read the process's mappings again. */
static __always_inline void report_unknown_mapping(struct unwind_process *process, __u32 tgid)
{
	if (process->miss_reported)
		return;
	if (send_process_event(tgid, 0, PROCESS_UNWIND_MISS))
		process->miss_reported = 1;
}

/* bpf_loop body: records the frame at walk->pc and steps to its caller. */
static long unwind_frame(__u32 index, void *context)
{
	struct walk *walk = context;
	struct exec_mapping *mapping;
	struct unwind_row *row;
	__u64 lookup_pc;
	__u32 slot;

	if (index >= MAX_STACK_DEPTH)
		return 1;
	/* A return address points after the call, maybe past the end of the
	 * caller's function (or mapping): look up the call instruction. */
	lookup_pc = index > 0 ? walk->pc - 1 : walk->pc;
	mapping = find_mapping(walk->process, lookup_pc, &walk->last_mapping);
	if (!mapping && index > 0) {
		/* A return address in no mapping: a library mapped since the
		 * tables were written, or garbage read by a frame-pointer step
		 * through code that keeps none. Stop before recording it. */
		if (!walk->by_frame_pointer)
			report_unknown_mapping(walk->process,
					       (__u32)(bpf_get_current_pid_tgid() >> 32));
		walk->stop = STAT_UNWIND_UNKNOWN_MAPPING;
		return 1;
	}
	slot = index;
	/* Keep the bound check on the very register used as the index. */
	asm volatile("" : "+r"(slot));
	if (slot >= MAX_STACK_DEPTH)
		return 1;
	walk->stack->pcs[slot] = walk->pc;
	walk->stack->len = index + 1;
	walk->hash = (walk->hash ^ walk->pc) * 0x100000001b3ULL;
	walk->hash ^= walk->hash >> 29;
	if (index + 1 == MAX_STACK_DEPTH) {
		walk->stop = STAT_UNWIND_DEPTH_LIMIT;
		return 1;
	}
	row = NULL;
	if (!mapping)
		report_unknown_mapping(walk->process, (__u32)(bpf_get_current_pid_tgid() >> 32));
	else if (mapping->table_rows)
		row = rule_at(mapping, lookup_pc);
	if (row && row->cfa_kind != CFA_NONE) {
		step_by_rule(walk, row);
	} else {
		count_stat(STAT_UNWIND_TABLE_MISS);
		step_by_frame_pointer(walk);
	}
	return walk->stop ? 1 : 0;
}

/* Walks the current task's user stack with the process's tables into the
 * unwound-stacks map; returns the stack's key, 0 when there is none. */
static __always_inline __u64 unwind_user_stack(struct unwind_process *process, void *unwound)
{
	struct task_struct *task = bpf_get_current_task_btf();
	/* For the walk-time statistics. */
	__u64 started = bpf_ktime_get_ns();
	struct pt_regs *regs;
	struct walk walk = {};
	__u32 zero = 0;
	long err;

	if (task->flags & PF_KTHREAD)
		return 0;
	walk.stack = bpf_map_lookup_elem(&unwind_scratch, &zero);
	if (!walk.stack)
		return 0;
	regs = (struct pt_regs *)bpf_task_pt_regs(task);
	walk.process = process;
	walk.pc = regs->ip;
	walk.sp = regs->sp;
	walk.fp = regs->bp;
	walk.hash = 0xcbf29ce484222325ULL;
	walk.stack->len = 0;
	count_stat(STAT_UNWIND_WALKS);
	bpf_loop(MAX_STACK_DEPTH, unwind_frame, &walk, 0);
	if (walk.stop)
		count_stat(walk.stop);
	add_stat(STAT_UNWIND_FRAMES, walk.stack->len);
	started = bpf_ktime_get_ns() - started;
	add_stat(STAT_UNWIND_NANOS, started);
	record_walk_time(started);
	if (walk.stack->len == 0)
		return 0;
	/* 0 means "no stack" in the key. */
	walk.hash |= 1;
	err = bpf_map_update_elem(unwound, &walk.hash, walk.stack, BPF_NOEXIST);
	if (err && err != -EEXIST) {
		count_stat(STAT_UNWIND_STACK_ERROR);
		return 0;
	}
	return walk.hash;
}

/* ===========================================================================
 * CPython frames
 * ========================================================================= */

/* State of one walk of a thread's Python frames. */
struct python_walk {
	struct python_offsets *offsets;
	struct python_scratch *scratch;
	/* The next frame to read; 0 past the outermost. */
	__u64 frame;
	__u64 hash;
	/* Why the walk stopped, a stat_id; 0 while it goes on. */
	__u32 stop;
};

/* A field of the frame in the walk's window, at an offset user space
 * checked to lie inside it; masking keeps the verifier's bound. */
static __always_inline __u64 window_u64(struct python_scratch *scratch, __u32 offset)
{
	__u64 value;

	__builtin_memcpy(&value, &scratch->window[offset & 0x7f], sizeof(value));
	return value;
}

static __always_inline __u8 window_u8(struct python_scratch *scratch, __u32 offset)
{
	return scratch->window[offset & 0x7f];
}

/* bpf_loop body: records the frame at walk->frame and moves to the previous one. */
static long python_frame_step(__u32 index, void *context)
{
	struct python_walk *walk = context;
	struct python_offsets *o = walk->offsets;
	struct python_scratch *scratch = walk->scratch;
	struct python_frame *slot;
	__u32 at = index;

	if (walk->frame == 0) {
		walk->stop = STAT_PYTHON_END;
		return 1;
	}
	if (at >= MAX_PYTHON_FRAMES) {
		walk->stop = STAT_PYTHON_DEPTH_LIMIT;
		return 1;
	}
	if (bpf_probe_read_user(scratch->window, o->frame_window & (PYTHON_FRAME_WINDOW - 1),
				(void *)walk->frame)) {
		walk->stop = STAT_PYTHON_READ_FAILED;
		return 1;
	}
	/* at < MAX_PYTHON_FRAMES, a power of two: the mask, which the
	 * compiler may not drop past the barrier, keeps the bound where the
	 * verifier sees it. */
	asm volatile("" : "+r"(at));
	slot = &scratch->stack.frames[at & (MAX_PYTHON_FRAMES - 1)];
	slot->code = window_u64(scratch, o->frame_code);
	slot->prev_instr = window_u64(scratch, o->frame_prev_instr);
	slot->flags = window_u8(scratch, o->frame_is_entry) ? PYTHON_FRAME_ENTRY : 0;
	slot->owner = window_u8(scratch, o->frame_owner);
	scratch->stack.len = at + 1;
	walk->hash = (walk->hash ^ slot->code) * 0x100000001b3ULL;
	walk->hash =
	    (walk->hash ^ slot->prev_instr ^ ((__u64)slot->flags << 56)) * 0x100000001b3ULL;
	walk->hash ^= walk->hash >> 29;
	walk->frame = window_u64(scratch, o->frame_previous);
	return 0;
}

/* Walks the Python frames of the current thread of a Python process into
 * the Python-stacks map; returns the stack's key, 0 when there is none. */
static __always_inline __u64 walk_python_stack(struct python_process *process, __u32 tgid,
					       __u32 tid, void *python_stacks)
{
	struct python_offsets *o = &process->offsets;
	struct python_thread *thread;
	struct python_thread unknown = {.tgid = tgid};
	struct python_walk walk = {};
	__u64 native_id, cframe, started;
	__u32 zero = 0;
	long err;

	thread = bpf_map_lookup_elem(&python_threads, &tid);
	if (!thread || thread->tgid != tgid) {
		/* Ask user space once: until it answers, the thread is known
		 * to have no state. */
		count_stat(STAT_PYTHON_THREAD_UNKNOWN);
		if (bpf_map_update_elem(&python_threads, &tid, &unknown, BPF_ANY) == 0)
			send_thread_event(tgid, 0, tid, PROCESS_PYTHON_MISS);
		return 0;
	}
	if (thread->tstate == 0) {
		count_stat(STAT_PYTHON_NO_STATE);
		return 0;
	}
	count_stat(STAT_PYTHON_WALKS);
	if (!read_word(thread->tstate + o->tstate_native_thread_id, &native_id) ||
	    !read_word(thread->tstate + o->tstate_cframe, &cframe) ||
	    !read_word(cframe + o->cframe_current_frame, &walk.frame)) {
		count_stat(STAT_PYTHON_READ_FAILED);
		return 0;
	}
	if (native_id != tid) {
		/* The thread ended and its state was freed or reused. */
		count_stat(STAT_PYTHON_WRONG_THREAD);
		return 0;
	}
	walk.scratch = bpf_map_lookup_elem(&python_scratch, &zero);
	if (!walk.scratch)
		return 0;
	started = bpf_ktime_get_ns();
	walk.offsets = o;
	walk.hash = 0xcbf29ce484222325ULL;
	walk.scratch->stack.len = 0;
	bpf_loop(MAX_PYTHON_FRAMES + 1, python_frame_step, &walk, 0);
	if (walk.stop)
		count_stat(walk.stop);
	add_stat(STAT_PYTHON_FRAMES, walk.scratch->stack.len);
	add_stat(STAT_PYTHON_NANOS, bpf_ktime_get_ns() - started);
	if (walk.scratch->stack.len == 0)
		return 0;
	walk.hash |= 1;
	err = bpf_map_update_elem(python_stacks, &walk.hash, &walk.scratch->stack, BPF_NOEXIST);
	if (err && err != -EEXIST) {
		count_stat(STAT_PYTHON_STACK_ERROR);
		return 0;
	}
	return walk.hash;
}

/* ===========================================================================
 * Programs
 * ========================================================================= */

SEC("perf_event")
int sample_cpu(struct bpf_perf_event_data *ctx)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct sample_key key = {};
	struct unwind_process *process = NULL;
	struct python_process *python;
	__u32 tgid = pid_tgid >> 32;
	__u32 tid = (__u32)pid_tgid;

	if (tid == 0) {
		count_stat(STAT_IDLE_SKIPPED);
		return 0;
	}
	if (!is_target(tgid)) {
		count_stat(STAT_FILTERED);
		return 0;
	}
	announce_if_new(tgid);

	key.tgid = tgid;
	key.tid = tid;
	bpf_get_current_comm(&key.comm, sizeof(key.comm));
	if (unwind_tables)
		process = bpf_map_lookup_elem(&unwind_processes, &tgid);
	key.user_stack_id = -1;
	python = bpf_map_lookup_elem(&python_processes, &tgid);
	if (generation & 1) {
		if (python)
			key.python_stack = walk_python_stack(python, tgid, tid, &python_stacks_1);
		if (process)
			key.unwound_stack = unwind_user_stack(process, &unwound_1);
		else
			key.user_stack_id = stack_id(ctx, &stacks_1, BPF_F_USER_STACK);
		key.kernel_stack_id = stack_id(ctx, &stacks_1, 0);
		count_sample(&counts_1, &key);
	} else {
		if (python)
			key.python_stack = walk_python_stack(python, tgid, tid, &python_stacks_0);
		if (process)
			key.unwound_stack = unwind_user_stack(process, &unwound_0);
		else
			key.user_stack_id = stack_id(ctx, &stacks_0, BPF_F_USER_STACK);
		key.kernel_stack_id = stack_id(ctx, &stacks_0, 0);
		count_sample(&counts_0, &key);
	}
	count_stat(STAT_SAMPLES);
	return 0;
}

/* Follows a process tree: a child of a followed process is sampled too. The
 * child runs its parent's image until it execs, so user space copies the
 * parent's maps for it: a child that exits before the next drain is still
 * symbolized. */
SEC("tp_btf/sched_process_fork")
int BPF_PROG(follow_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 parent_tgid = parent->tgid;
	__u32 child_tgid = child->tgid;
	enum target_kind kind = TARGET_SAMPLE;

	if (parent_tgid == child_tgid)
		return 0; /* a new thread */
	if (filter_tgids) {
		if (!bpf_map_lookup_elem(&target_tgids, &parent_tgid))
			return 0;
		bpf_map_update_elem(&target_tgids, &child_tgid, &kind, BPF_ANY);
	} else if (!bpf_map_lookup_elem(&seen_tgids, &parent_tgid)) {
		return 0; /* user space knows nothing to copy */
	}
	send_process_event(child_tgid, parent_tgid, PROCESS_FORKED);
	return 0;
}

/* After exec a process has new memory maps: it is announced again at its
 * next sample, once the dynamic loader has mapped the libraries. A followed
 * process is also announced at once, so that one exiting before its first
 * drain is still symbolized; on the whole host that would mean reading the
 * maps of every exec, sampled or not. */
SEC("tp_btf/sched_process_exec")
int BPF_PROG(reread_on_exec, struct task_struct *task, pid_t old_pid, struct linux_binprm *bprm)
{
	__u32 tgid = task->tgid;

	bpf_map_delete_elem(&seen_tgids, &tgid);
	/* The old image's tables describe none of the new one's code: walk by
	 * frame pointer until user space loads the new ones. */
	bpf_map_delete_elem(&unwind_processes, &tgid);
	/* Nor does the old interpreter's state, if it ran one. */
	bpf_map_delete_elem(&python_processes, &tgid);
	if (filter_tgids && is_target(tgid))
		send_process_event(tgid, 0, PROCESS_EXECED);
	return 0;
}
