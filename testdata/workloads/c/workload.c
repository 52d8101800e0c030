// A CPU workload with a known call tree; see ../README.md.
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

// Iterations of the leaf loop in one unit of work: about a millisecond.
#define UNIT_ITERATIONS 400000
// How long the short-lived child of the `fork` mode runs.
#define CHILD_MS 300
// Elements sorted by one qsort call of the `qsort` mode: large enough that
// the time goes to libc's merge sort, not to refilling the array.
#define QSORT_LENGTH 100000
// Named threads of the `threads` mode.
#define THREADS 8

static volatile unsigned long sink;

// CPU time, not wall time: the workload does the same work on a busy machine.
static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

__attribute__((noinline)) void spin_leaf(unsigned long units)
{
	unsigned long x = sink;
	for (unsigned long i = 0; i < units * UNIT_ITERATIONS; i++)
		x = x * 6364136223846793005UL + 1442695040888963407UL;
	sink = x;
}

__attribute__((noinline)) void hot_branch(void)
{
	spin_leaf(3);
}

__attribute__((noinline)) void cold_branch(void)
{
	spin_leaf(1);
}

__attribute__((noinline)) void run_workload(long ms)
{
	long end = now_ms() + ms;
	while (now_ms() < end) {
		hot_branch();
		cold_branch();
	}
}

static int open_devnull(void)
{
	int fd = open("/dev/null", O_WRONLY);
	if (fd < 0) {
		perror("/dev/null");
		exit(1);
	}
	return fd;
}

// Raw system calls: libc's wrappers have no frame pointer, which would hide
// this function from a frame-pointer unwinder when sampled in the kernel.
static inline long raw_syscall3(long nr, long a, long b, long c)
{
	long ret;
	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(nr), "D"(a), "S"(b), "d"(c)
			 : "rcx", "r11", "memory");
	return ret;
}

__attribute__((noinline)) void syscall_leaf(int fd)
{
	char byte = 0;
	for (int i = 0; i < 1000; i++) {
		raw_syscall3(SYS_getppid, 0, 0, 0);
		if (raw_syscall3(SYS_write, fd, (long)&byte, 1) < 0)
			exit(1);
	}
}

__attribute__((noinline)) void run_syscalls(long ms)
{
	int fd = open_devnull();
	long end = now_ms() + ms;
	while (now_ms() < end)
		syscall_leaf(fd);
}

__attribute__((noinline)) void child_work(void)
{
	long end = now_ms() + CHILD_MS;
	while (now_ms() < end)
		spin_leaf(1);
}

static int compare_longs(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;
	return (x > y) - (x < y);
}

__attribute__((noinline)) void run_qsort(long ms)
{
	static long values[QSORT_LENGTH];
	unsigned long x = 1;
	long end = now_ms() + ms;
	while (now_ms() < end) {
		for (int i = 0; i < QSORT_LENGTH; i++) {
			x = x * 6364136223846793005UL + 1442695040888963407UL;
			values[i] = (long)(x >> 16);
		}
		qsort(values, QSORT_LENGTH, sizeof values[0], compare_longs);
	}
}

// The end of the `threads` mode, in process CPU time.
static long threads_end;

__attribute__((noinline)) void *thread_work(void *arg)
{
	(void)arg;
	while (now_ms() < threads_end)
		spin_leaf(1);
	return NULL;
}

__attribute__((noinline)) void run_threads(long ms)
{
	pthread_t threads[THREADS];
	threads_end = now_ms() + ms;
	for (int i = 0; i < THREADS; i++) {
		char name[16];
		snprintf(name, sizeof name, "worker-%d", i);
		if (pthread_create(&threads[i], NULL, thread_work, NULL) != 0 ||
		    pthread_setname_np(threads[i], name) != 0) {
			perror("pthread");
			exit(1);
		}
	}
	for (int i = 0; i < THREADS; i++)
		pthread_join(threads[i], NULL);
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: %s cpu|syscall|fork|qsort|threads MILLISECONDS\n",
			argv[0]);
		return 2;
	}
	long ms = atol(argv[2]);
	if (strcmp(argv[1], "cpu") == 0) {
		run_workload(ms);
	} else if (strcmp(argv[1], "syscall") == 0) {
		run_syscalls(ms);
	} else if (strcmp(argv[1], "fork") == 0) {
		pid_t child = fork();
		if (child == 0) {
			child_work();
			_exit(0);
		}
		run_workload(ms);
		waitpid(child, NULL, 0);
	} else if (strcmp(argv[1], "qsort") == 0) {
		run_qsort(ms);
	} else if (strcmp(argv[1], "threads") == 0) {
		run_threads(ms);
	} else {
		fprintf(stderr, "unknown mode %s\n", argv[1]);
		return 2;
	}
	return 0;
}
