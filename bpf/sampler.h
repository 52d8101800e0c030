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
/* Distinct user stacks unwound with tables, per drain interval and generation. */
#define MAX_UNWOUND_STACKS 16384
/* Processes whose user stacks are unwound with tables. */
#define MAX_UNWIND_PROCESSES 8192
/* Executable mappings of one such process (the rest use frame pointers). */
#define MAX_PROCESS_MAPPINGS 128
/* Unwind rows per element of the rows map; an element is 3 KiB. */
#define UNWIND_ROWS_PER_CHUNK 256
/* Binary search steps over one table: tables hold at most 2^24 rows. */
#define MAX_TABLE_SEARCH_STEPS 24
/* Binary search steps over a process's mappings (2^7 = 128). */
#define MAX_MAPPING_SEARCH_STEPS 8
/* Buckets of the walk-time histogram: 4 per power of two of nanoseconds. */
#define WALK_TIME_BUCKETS 128
/* Rules found by binary search, remembered per CPU by PC (a power of two):
 * the same return addresses come back sample after sample. */
#define ROW_CACHE_SLOTS 4096
/* Python frames walked per sample at most; deeper stacks keep their leaf part. */
#define MAX_PYTHON_FRAMES 64
/* Distinct Python stacks kept per drain interval and generation. */
#define MAX_PYTHON_STACKS 16384
/* Processes running a supported CPython. */
#define MAX_PYTHON_PROCESSES 4096
/* Threads of those processes whose thread state user space has looked up. */
#define MAX_PYTHON_THREADS 65536
/* Most bytes of a _PyInterpreterFrame read at once; every field the walk
 * reads must lie within them (user space checks its offsets against it). */
#define PYTHON_FRAME_WINDOW 128

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
	STAT_SAMPLES = 0,	    /* samples recorded */
	STAT_IDLE_SKIPPED,	    /* the idle task was running */
	STAT_FILTERED,		    /* not a target process */
	STAT_NO_USER_STACK,	    /* kernel thread or user stack unreadable */
	STAT_USER_STACK_ERROR,	    /* stack map full or hash collision (user) */
	STAT_KERNEL_STACK_ERROR,    /* stack map full or hash collision (kernel) */
	STAT_COUNTS_FULL,	    /* counts map full: the sample is lost */
	STAT_PROCESS_EVENT_DROPPED, /* ring buffer full: process event lost */
	/* User stacks walked with unwind tables, and why each walk stopped. */
	STAT_UNWIND_WALKS,	     /* samples whose user stack was walked with tables */
	STAT_UNWIND_END,	     /* reached the outermost frame */
	STAT_UNWIND_DEPTH_LIMIT,     /* MAX_STACK_DEPTH frames collected */
	STAT_UNWIND_UNSUPPORTED,     /* a rule the program cannot evaluate */
	STAT_UNWIND_READ_FAILED,     /* reading the user stack failed */
	STAT_UNWIND_NOT_PROGRESSING, /* the stack did not grow towards the caller */
	STAT_UNWIND_UNKNOWN_MAPPING, /* a return address outside every known mapping */
	STAT_UNWIND_TABLE_MISS,	     /* frames without a table: walked by frame pointer */
	STAT_UNWIND_STACK_ERROR,     /* unwound-stacks map full: the user stack is lost */
	STAT_UNWIND_FRAMES,	     /* frames those walks recorded, in total */
	STAT_UNWIND_NANOS,	     /* nanoseconds those walks took, in total */
	STAT_UNWIND_CACHE_HITS,	     /* frames whose rule came from the row cache */
	/* Python stacks walked in the interpreter's memory, and why each walk stopped. */
	STAT_PYTHON_WALKS,	    /* samples of a known Python thread whose frames were walked */
	STAT_PYTHON_END,	    /* reached the outermost Python frame */
	STAT_PYTHON_DEPTH_LIMIT,    /* MAX_PYTHON_FRAMES frames collected */
	STAT_PYTHON_READ_FAILED,    /* reading the interpreter's memory failed */
	STAT_PYTHON_THREAD_UNKNOWN, /* a thread of a Python process not looked up yet */
	STAT_PYTHON_NO_STATE,	    /* a thread that runs no Python (no thread state) */
	STAT_PYTHON_WRONG_THREAD,   /* the thread state belongs to another thread */
	STAT_PYTHON_STACK_ERROR,    /* Python stacks map full: the Python frames are lost */
	STAT_PYTHON_FRAMES,	    /* Python frames those walks recorded, in total */
	STAT_PYTHON_NANOS,	    /* nanoseconds those walks took, in total */
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
	/* Key of the user stack in the unwound-stacks map of the same
	 * generation when it was walked with unwind tables; 0: none (the
	 * stack, if any, is user_stack_id's). */
	__u64 unwound_stack;
	/* Key of the thread's Python frames in the Python-stacks map of the
	 * same generation; 0: none. */
	__u64 python_stack;
};

/* Why user space is told about a process. */
enum process_event_kind {
	/* First sample of a process not announced before. */
	PROCESS_SAMPLED = 1,
	/* A followed process called exec: its memory maps changed. */
	PROCESS_EXECED = 2,
	/* A followed process forked: the child starts with its parent's maps. */
	PROCESS_FORKED = 3,
	/* A process with unwind tables ran code outside its known mappings
	 * (a library loaded since): its tables need refreshing. */
	PROCESS_UNWIND_MISS = 4,
	/* A thread of a Python process ran whose thread state user space has
	 * not looked up (a thread started since): `tid` names it. */
	PROCESS_PYTHON_MISS = 5,
};

/* Announcement of a process whose memory maps user space should read now,
 * while the process still exists. */
struct process_event {
	__u32 tgid;
	/* The parent for PROCESS_FORKED, else 0. */
	__u32 parent_tgid;
	enum process_event_kind kind;
	/* The thread for PROCESS_PYTHON_MISS, else 0. */
	__u32 tid;
};

/* ---------------------------------------------------------------------------
 * Unwind tables
 *
 * The rows of every loaded table live in one array map (unwind_rows), in
 * chunks of UNWIND_ROWS_PER_CHUNK; a table is a run of consecutive rows,
 * sorted by pc. The layout of a row is symbolizer/src/unwind's `Row`.
 * ------------------------------------------------------------------------- */

/* How to find the canonical frame address (CFA). */
enum cfa_kind {
	CFA_NONE = 0,	     /* no unwind information here */
	CFA_SP_OFFSET = 1,   /* SP + cfa_offset */
	CFA_FP_OFFSET = 2,   /* FP + cfa_offset */
	CFA_PLT = 3,	     /* SP + cfa_offset, + 8 from (pc & 15) >= aux on */
	CFA_UNSUPPORTED = 4, /* anything else: the walk stops */
};

/* Where the caller's frame pointer is. */
enum fp_kind {
	FP_UNCHANGED = 0,     /* still in the register */
	FP_AT_CFA_OFFSET = 1, /* saved at CFA + fp_offset */
	FP_UNSUPPORTED = 2,
};

/* Where the return address is. */
enum ra_kind {
	RA_UNDEFINED = 0,      /* outermost frame */
	RA_AT_CFA_MINUS_8 = 1, /* x86-64: pushed by the call */
	RA_UNSUPPORTED = 2,
};

struct unwind_row {
	__u32 pc; /* first ELF address covered */
	__u8 cfa_kind;
	__u8 fp_kind;
	__u8 ra_kind;
	__u8 aux;
	__s16 cfa_offset;
	__s16 fp_offset;
};

struct unwind_chunk {
	struct unwind_row rows[UNWIND_ROWS_PER_CHUNK];
};

/* An executable mapping of a process and the table that covers it. */
struct exec_mapping {
	__u64 start;
	__u64 end;
	/* Run-time address minus ELF address. */
	__u64 bias;
	/* The table's first row in unwind_rows and its number of rows; 0 rows:
	 * no table (anonymous or JIT code): walk by frame pointer. */
	__u32 table_start;
	__u32 table_rows;
};

/* The executable mappings of a process, sorted by start. */
struct unwind_process {
	__u32 mapping_count;
	/* Set by the program when it asks user space for a refresh (one
	 * PROCESS_UNWIND_MISS until user space writes the entry again). */
	__u32 miss_reported;
	struct exec_mapping mappings[MAX_PROCESS_MAPPINGS];
};

/* A rule found for a PC, valid while `epoch` is tables_epoch. */
struct row_cache_entry {
	__u64 pc;
	__u64 bias;
	__u32 table_start;
	__u32 epoch;
	struct unwind_row row;
	__u32 reserved;
};

/* A user stack walked with tables: return addresses, leaf first. */
struct unwound_stack {
	__u32 len;
	__u32 reserved;
	__u64 pcs[MAX_STACK_DEPTH];
};

/* ---------------------------------------------------------------------------
 * CPython frames
 *
 * User space finds each thread's PyThreadState (through _PyRuntime) and
 * writes it to python_threads; the program follows the thread's frame
 * chain and records each frame's code object and last instruction. User
 * space names them from the process's memory and puts them where the
 * native walk met the interpreter's eval loop. The offsets come from
 * profiler-agent/src/python/offsets.rs, one table per CPython version.
 * ------------------------------------------------------------------------- */

/* Where a CPython version keeps the fields the walk reads, in bytes. */
struct python_offsets {
	__u32 tstate_cframe;	       /* PyThreadState.cframe */
	__u32 tstate_native_thread_id; /* PyThreadState.native_thread_id */
	__u32 cframe_current_frame;    /* _PyCFrame.current_frame */
	__u32 frame_code;	       /* _PyInterpreterFrame.f_code */
	__u32 frame_previous;	       /* _PyInterpreterFrame.previous */
	__u32 frame_prev_instr;	       /* _PyInterpreterFrame.prev_instr */
	__u32 frame_is_entry;	       /* _PyInterpreterFrame.is_entry (a byte) */
	__u32 frame_owner;	       /* _PyInterpreterFrame.owner (a byte) */
	/* Bytes of a frame read at once: past the last of those fields, below
	 * PYTHON_FRAME_WINDOW. */
	__u32 frame_window;
};

/* A process running a supported CPython. */
struct python_process {
	struct python_offsets offsets;
};

/* A thread of such a process, as user space found it. */
struct python_thread {
	/* Address of its PyThreadState; 0: the thread has none (it runs no
	 * Python), or user space has not looked it up yet. */
	__u64 tstate;
	__u32 tgid;
	__u32 reserved;
};

/* Flags of a recorded Python frame. */
enum python_frame_flag {
	/* The first Python frame of a call of the eval loop. */
	PYTHON_FRAME_ENTRY = 1,
};

/* One Python frame as the program records it. */
struct python_frame {
	__u64 code;	  /* the PyCodeObject */
	__u64 prev_instr; /* the last instruction started, an address */
	__u8 flags;	  /* enum python_frame_flag */
	__u8 owner;	  /* _PyInterpreterFrame.owner */
	__u8 reserved[6];
};

/* A thread's Python frames, innermost first. */
struct python_stack {
	__u32 len;
	__u32 reserved;
	struct python_frame frames[MAX_PYTHON_FRAMES];
};

/* Scratch room of one walk: the stack, and one frame's bytes. */
struct python_scratch {
	struct python_stack stack;
	/* One frame's bytes, with room for a word at any offset below
	 * PYTHON_FRAME_WINDOW. */
	__u8 window[PYTHON_FRAME_WINDOW + 8];
};

#endif /* BRASA_SAMPLER_H */
