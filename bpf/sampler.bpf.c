// SPDX-License-Identifier: GPL-2.0
/*
 * Brasa's CPU sampler.
 *
 * One perf_event (PERF_COUNT_SW_CPU_CLOCK) per online CPU fires this program
 * at the sampling frequency. Each sample records who was running (tgid, tid,
 * comm) and where (user stack by frame pointers, kernel stack) by counting
 * the (who, stacks) key in a hash map.
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

/* ===========================================================================
 * Settings (rodata, set by user space between open and load)
 * ========================================================================= */

/* Sample only processes in target_tgids (a process tree) instead of the host. */
const volatile bool filter_tgids = false;
/* A process never to sample: the profiler itself when sampling the host. */
const volatile __u32 skip_tgid = 0;

/* ===========================================================================
 * State shared with user space (.bss, memory mapped)
 * ========================================================================= */

/* Which generation of maps samples go to; only its lowest bit matters. */
volatile __u32 generation = 0;

/* Never written: they make the skeleton export these types, so user space
 * decodes ring buffer records and names counters with the generated ones. */
struct process_event process_event_layout = {};
enum stat_id stat_id_layout = STAT_SAMPLES;

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

STACK_MAP(stacks_0);
STACK_MAP(stacks_1);
COUNTS_MAP(counts_0);
COUNTS_MAP(counts_1);

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

_Static_assert(sizeof(struct sample_key) == 32, "sample_key has no padding");
_Static_assert(MAX_STACK_DEPTH <= 127, "the kernel records at most 127 frames");
_Static_assert((PROCESS_EVENT_RING_BYTES & (PROCESS_EVENT_RING_BYTES - 1)) == 0,
	       "ring buffer size is a power of two");

/* ===========================================================================
 * Helpers
 * ========================================================================= */

static __always_inline void count_stat(enum stat_id id)
{
	__u64 *counter = bpf_map_lookup_elem(&stats, &id);

	/* Per-CPU, but a sample (NMI-like context) may interrupt a tracepoint
	 * program on the same CPU: add atomically. */
	if (counter)
		__sync_fetch_and_add(counter, 1);
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
static __always_inline bool send_process_event(__u32 tgid, __u32 parent_tgid,
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
	bpf_ringbuf_submit(event, 0);
	return true;
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
 * Programs
 * ========================================================================= */

SEC("perf_event")
int sample_cpu(struct bpf_perf_event_data *ctx)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct sample_key key = {};
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
	if (generation & 1) {
		key.user_stack_id = stack_id(ctx, &stacks_1, BPF_F_USER_STACK);
		key.kernel_stack_id = stack_id(ctx, &stacks_1, 0);
		count_sample(&counts_1, &key);
	} else {
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
	if (filter_tgids && is_target(tgid))
		send_process_event(tgid, 0, PROCESS_EXECED);
	return 0;
}
