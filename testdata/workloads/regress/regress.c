// A workload built twice for the regression gate's end-to-end test: the
// same program, once as is and once with -DREGRESS, which makes
// `checksum` do 2.5 times the work. See README.md.
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

// Iterations of a work loop in one unit: about a tenth of a millisecond.
#define UNIT_ITERATIONS 40000

#ifdef REGRESS
// The deliberate regression: checksum does 2.5 times the work.
#define CHECKSUM_UNITS 5
#else
#define CHECKSUM_UNITS 2
#endif

static volatile unsigned long sink;

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

// Each function has its own loop (not a shared helper) so that its
// samples are its own self time.
#define WORK(units)                                                          \
	do {                                                                 \
		unsigned long x = sink;                                      \
		for (unsigned long i = 0; i < (units) * UNIT_ITERATIONS; i++) \
			x = x * 6364136223846793005UL + 1442695040888963407UL; \
		sink = x;                                                    \
	} while (0)

__attribute__((noinline)) void parse_input(void)
{
	WORK(4);
}

__attribute__((noinline)) void compute(void)
{
	WORK(10);
}

__attribute__((noinline)) void checksum(void)
{
	WORK(CHECKSUM_UNITS);
}

__attribute__((noinline)) void format_output(void)
{
	WORK(4);
}

__attribute__((noinline)) void run_requests(long ms)
{
	long end = now_ms() + ms;
	while (now_ms() < end) {
		parse_input();
		compute();
		checksum();
		format_output();
	}
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s MILLISECONDS\n", argv[0]);
		return 2;
	}
	run_requests(atol(argv[1]));
	return 0;
}
