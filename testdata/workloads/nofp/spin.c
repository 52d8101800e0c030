// CPU workloads without frame pointers, for testing a DWARF (.eh_frame)
// unwinder against `perf record --call-graph dwarf`; see README.md.
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

// Iterations of the leaf loop in one unit of work: about a millisecond.
#define UNIT_ITERATIONS 400000
// Elements sorted by one call of qsort in the `qsort` mode.
#define SORT_ELEMENTS 256
// Iterations of the comparator's spin: enough that most of the sorting
// time is spent inside compare_slow rather than in libc's merge sort.
#define COMPARE_SPIN 200
// Iterations of the generated loop per call in the `jit` mode: a fraction
// of a millisecond, so the CPU-time clock is read often enough.
#define JIT_ITERATIONS 1000000
// CPU time the `dlopen` mode spins before loading the library: long
// enough for the process to be sampled and get its unwind tables while
// the library is not yet in its mappings.
#define BEFORE_DLOPEN_MS 300

static volatile unsigned long sink;

// CPU time, not wall time: the workload does the same work on a busy machine.
static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

// Returns its result so that callers use it after the call: a call whose
// result is used afterwards cannot become a tail call, so every frame of
// the chain stays on the stack.
__attribute__((noinline)) unsigned long spin_leaf(unsigned long units)
{
	unsigned long x = sink;
	for (unsigned long i = 0; i < units * UNIT_ITERATIONS; i++)
		x = x * 6364136223846793005UL + 1442695040888963407UL;
	sink = x;
	return x;
}

// Writes every byte: an array only partly used would be shrunk by the
// compiler, and the frames of the chain would end up the same size.
static inline void touch(volatile unsigned char *pad, unsigned long size)
{
	for (unsigned long i = 0; i < size; i++)
		pad[i] = (unsigned char)i;
}

// The volatile arrays give the three callers frames of different sizes,
// so their CFA offsets differ; with no frame pointer nothing but the
// unwind tables says where each return address is.
__attribute__((noinline)) unsigned long hot_branch(void)
{
	volatile unsigned char pad[96];
	touch(pad, sizeof pad);
	unsigned long x = spin_leaf(3);
	return x + pad[sizeof pad - 1];
}

__attribute__((noinline)) unsigned long cold_branch(void)
{
	volatile unsigned char pad[40];
	touch(pad, sizeof pad);
	unsigned long x = spin_leaf(1);
	return x + pad[sizeof pad - 1];
}

__attribute__((noinline)) unsigned long run_workload(long ms)
{
	volatile unsigned char pad[200];
	unsigned long total = 0;
	long end = now_ms() + ms;
	touch(pad, sizeof pad);
	while (now_ms() < end) {
		total += hot_branch();
		total += cold_branch();
	}
	return total + pad[sizeof pad - 1];
}

// Called back by qsort: spins before comparing, so samples of the `qsort`
// mode mostly have this function as their leaf, under libc's frames.
__attribute__((noinline)) int compare_slow(const void *a, const void *b)
{
	unsigned long x = sink;
	for (int i = 0; i < COMPARE_SPIN; i++)
		x = x * 6364136223846793005UL + 1442695040888963407UL;
	sink = x;
	unsigned int l = *(const unsigned int *)a, r = *(const unsigned int *)b;
	return (l > r) - (l < r);
}

__attribute__((noinline)) unsigned long sort_loop(long ms)
{
	unsigned int values[SORT_ELEMENTS];
	unsigned int seed = 1;
	unsigned long total = 0;
	long end = now_ms() + ms;
	while (now_ms() < end) {
		// Fresh pseudo-random input each round, so every sort does the
		// same amount of comparing.
		for (int i = 0; i < SORT_ELEMENTS; i++) {
			seed = seed * 1103515245u + 12345u;
			values[i] = seed >> 8;
		}
		qsort(values, SORT_ELEMENTS, sizeof values[0], compare_slow);
		total += values[SORT_ELEMENTS / 2];
	}
	return total;
}

// x86-64 machine code of `unsigned long count_down(unsigned long n)`
// (n must be non-zero); it touches neither the stack nor RBP, and has no
// unwind information anywhere, like code from a JIT:
static const unsigned char count_down_code[] = {
	0x48, 0x89, 0xf8, //     mov %rdi,%rax   (REX.W 89 /r, ModRM 11 111 000)
	0x48, 0x83, 0xe8, 0x01, // 1: sub $1,%rax (REX.W 83 /5 ib, ModRM 11 101 000)
	0x75, 0xfa, //           jnz 1b          (rel8 -6: back over sub and jnz)
	0xc3, //                 ret
};

// Without frame pointers, RBP inside the generated code holds whatever
// value run_jit's callers left in it as a general register, so a
// frame-pointer walk from there follows garbage or stops; only an unwinder
// that assumes the return address is at the top of the stack (RSP) at an
// address without unwind information can get back to run_jit and main.
__attribute__((noinline)) unsigned long run_jit(long ms)
{
	long page = sysconf(_SC_PAGESIZE);
	void *code = mmap(NULL, page, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (code == MAP_FAILED) {
		perror("mmap");
		exit(1);
	}
	memcpy(code, count_down_code, sizeof count_down_code);
	if (mprotect(code, page, PROT_READ | PROT_EXEC) != 0) {
		perror("mprotect");
		exit(1);
	}
	unsigned long (*count_down)(unsigned long) =
		(unsigned long (*)(unsigned long))code;
	unsigned long calls = 0;
	long end = now_ms() + ms;
	while (now_ms() < end)
		calls += 1 + count_down(JIT_ITERATIONS);
	munmap(code, page);
	return calls;
}

// The callback of the `dlopen` mode: plugin.c's plugin_middle calls it,
// so its frames are under the library's, themselves under run_plugin's.
__attribute__((noinline)) unsigned long plugin_leaf(unsigned long units)
{
	unsigned long x = sink;
	for (unsigned long i = 0; i < units * UNIT_ITERATIONS; i++)
		x = x * 6364136223846793005UL + 1442695040888963407UL;
	sink = x;
	return x;
}

typedef unsigned long (*plugin_run_fn)(long, unsigned long (*)(unsigned long));

// Loads plugin.c's build (from `path`) and returns its plugin_run; it
// returns before the library runs, so its frame is not in the chain.
__attribute__((noinline)) plugin_run_fn load_plugin(const char *path)
{
	void *library = dlopen(path, RTLD_NOW);
	if (!library) {
		fprintf(stderr, "dlopen: %s\n", dlerror());
		exit(1);
	}
	plugin_run_fn plugin_run = (plugin_run_fn)dlsym(library, "plugin_run");
	if (!plugin_run) {
		fprintf(stderr, "dlsym: %s\n", dlerror());
		exit(1);
	}
	return plugin_run;
}

// Calls into the library; the volatile array gives it a frame of its own
// size, like the callers of the `cpu` mode.
__attribute__((noinline)) unsigned long run_plugin(plugin_run_fn plugin_run,
						   long ms)
{
	volatile unsigned char pad[24];
	touch(pad, sizeof pad);
	unsigned long x = plugin_run(ms, plugin_leaf);
	return x + pad[sizeof pad - 1];
}

int main(int argc, char **argv)
{
	// The `dlopen` mode alone takes a third argument.
	int args = argc > 1 && strcmp(argv[1], "dlopen") == 0 ? 4 : 3;
	if (argc != args) {
		fprintf(stderr,
			"usage: %s cpu|qsort|jit MILLISECONDS\n"
			"       %s dlopen MILLISECONDS LIBRARY_PATH\n",
			argv[0], argv[0]);
		return 2;
	}
	long ms = atol(argv[2]);
	unsigned long result;
	if (strcmp(argv[1], "cpu") == 0) {
		result = run_workload(ms);
	} else if (strcmp(argv[1], "qsort") == 0) {
		result = sort_loop(ms);
	} else if (strcmp(argv[1], "jit") == 0) {
		result = run_jit(ms);
	} else if (strcmp(argv[1], "dlopen") == 0) {
		// Sampled first with only the program and libc mapped, so the
		// process's tables predate the library: its first samples in
		// the library have to ask for a refresh.
		result = run_workload(BEFORE_DLOPEN_MS);
		result += run_plugin(load_plugin(argv[3]), ms);
	} else {
		fprintf(stderr, "unknown mode %s\n", argv[1]);
		return 2;
	}
	// Printed so that the compiler cannot drop the work.
	printf("%lu\n", result);
	return 0;
}
