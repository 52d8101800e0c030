/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Types shared by the CPU sampler (sampler.bpf.c) and the agent that drains
 * its maps. The Rust side uses the skeleton's generated copies of these
 * structs, never hand re-declared ones.
 */
#ifndef BRASA_SAMPLER_H
#define BRASA_SAMPLER_H

/* ---------------------------------------------------------------------------
 * Limits
 * ------------------------------------------------------------------------- */

/* Length of task->comm, TASK_COMM_LEN in the kernel. */
#define COMM_LEN 16
/* Deepest stack the kernel's stack-trace map records (PERF_MAX_STACK_DEPTH). */
#define MAX_STACK_DEPTH 127
/* Distinct stacks kept per drain interval in each of the two stack maps. */
#define MAX_STACKS 16384
/* Distinct (process, thread, stacks) keys per drain interval. */
#define MAX_SAMPLE_KEYS 16384
/* Processes followed when only a process tree is sampled. */
#define MAX_TARGET_TGIDS 8192
/* Processes whose first sample has been announced to user space. */
#define MAX_SEEN_TGIDS 16384
/* Room for process events between two polls (each takes 24 bytes). */
#define PROCESS_EVENT_RING_BYTES (256 * 1024)

/* ---------------------------------------------------------------------------
 * Maps' value semantics
 * ------------------------------------------------------------------------- */

/* Values in the target_tgids map. */
enum target_kind {
	/* Sample this process; its children are followed too. */
	TARGET_SAMPLE = 1,
	/* Only follow this process's children (the launcher of a command). */
	TARGET_PARENT_ONLY = 2,
};

/* Counters in the per-CPU stats map, one per outcome of the program. */
enum stat_id {
	STAT_SAMPLES = 0,         /* samples recorded */
	STAT_IDLE_SKIPPED,        /* the idle task was running */
	STAT_FILTERED,            /* not a target process */
	STAT_NO_USER_STACK,       /* kernel thread or user stack unreadable */
	STAT_USER_STACK_ERROR,    /* stack map full or hash collision (user) */
	STAT_KERNEL_STACK_ERROR,  /* stack map full or hash collision (kernel) */
	STAT_COUNTS_FULL,         /* counts map full: the sample is lost */
	STAT_PROCESS_EVENT_DROPPED, /* ring buffer full: process event lost */
	STAT_COUNT,
};

/* Key of the counts maps: who ran, and where. */
struct sample_key {
	__u32 tgid;
	__u32 tid;
	/* Stack ids in the stack map of the same generation; negative: none. */
	__s32 user_stack_id;
	__s32 kernel_stack_id;
	char comm[COMM_LEN];
};

/* Why user space is told about a process. */
enum process_event_kind {
	/* First sample of a process not announced before. */
	PROCESS_SAMPLED = 1,
	/* A followed process called exec: its memory maps changed. */
	PROCESS_EXECED = 2,
	/* A followed process forked: the child starts with its parent's maps. */
	PROCESS_FORKED = 3,
};

/* Announcement of a process whose memory maps user space should read now,
 * while the process still exists. */
struct process_event {
	__u32 tgid;
	/* The parent for PROCESS_FORKED, else 0. */
	__u32 parent_tgid;
	enum process_event_kind kind;
};

#endif /* BRASA_SAMPLER_H */
