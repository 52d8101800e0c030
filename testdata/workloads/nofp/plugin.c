// A shared library without frame pointers, loaded with dlopen by the
// `dlopen` mode of spin.c: it calls back into the main program, so stacks
// go main program -> this library -> main program; see README.md.
#include <time.h>

static volatile unsigned long sink;

// CPU time, not wall time, as in spin.c: the same work on a busy machine.
static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

// The volatile array gives this frame a size of its own: only the
// library's unwind table says where the return address into plugin_run
// is. The callback's result is used after the call, so the call is not a
// tail call. Static, so plugin_run calls it directly, not through the PLT.
__attribute__((noinline)) static unsigned long
plugin_middle(unsigned long (*callback)(unsigned long))
{
	volatile unsigned char pad[64];
	for (unsigned long i = 0; i < sizeof pad; i++)
		pad[i] = (unsigned char)i;
	unsigned long x = callback(1);
	return x + pad[sizeof pad - 1];
}

// Called through dlsym: keeps calling back into the main program until
// `ms` milliseconds of CPU time have passed.
__attribute__((noinline)) unsigned long
plugin_run(long ms, unsigned long (*callback)(unsigned long))
{
	unsigned long total = sink;
	long end = now_ms() + ms;
	while (now_ms() < end)
		total += plugin_middle(callback);
	sink = total;
	return total;
}
