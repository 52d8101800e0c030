/* A call chain for unwind table tests, built without frame pointers:
 *
 *   main -> level_a -> level_b (variable-length array: RBP-based CFA)
 *        -> qsort (Debian's libc) -> compare -> capture
 *   main -> big_frame (a 40 kB frame: CFA offsets beyond 16 bits)
 *
 * `chain dump FILE` stops in `capture`, the first time qsort calls back,
 * and writes what a profiler would see at that instant: one text line
 * "PC SP FP LEN" (hex), LEN bytes of stack from SP up to the end of the
 * stack mapping, then the text of /proc/self/maps. Any other arguments:
 * the same chain without the dump, exit status 0.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Debian's main-thread stack limit is 8 MiB; the chain uses a few KiB. */
#define STACK_COPY_MAX (8u << 20)

static const char *dump_path;
static int captured;
static unsigned char stack_copy[STACK_COPY_MAX];

/* End of the mapping that holds `sp`, 0 if not found. */
static uint64_t mapping_end(uint64_t sp) {
  FILE *maps = fopen("/proc/self/maps", "r");
  char line[512];
  uint64_t start, end, found = 0;
  if (!maps)
    return 0;
  while (fgets(line, sizeof line, maps))
    if (sscanf(line, "%lx-%lx", &start, &end) == 2 && start <= sp && sp < end)
      found = end;
  fclose(maps);
  return found;
}

static void copy_file(FILE *out, const char *path) {
  char buffer[4096];
  size_t n;
  FILE *in = fopen(path, "r");
  if (!in)
    return;
  while ((n = fread(buffer, 1, sizeof buffer, in)) > 0)
    fwrite(buffer, 1, n, out);
  fclose(in);
}

__attribute__((noinline)) void capture(void) {
  uint64_t pc, sp, fp;
  /* PC is the address of the `mov %rsp`, where RSP still has the value
   * the unwind rule at PC describes. Early clobbers keep the outputs out of
   * RSP and RBP. */
  __asm__ volatile("lea 0(%%rip), %0\n\t"
                   "mov %%rsp, %1\n\t"
                   "mov %%rbp, %2"
                   : "=&r"(pc), "=&r"(sp), "=&r"(fp));
  uint64_t end = mapping_end(sp);
  uint64_t len = end > sp && end - sp <= STACK_COPY_MAX ? end - sp : 0;
  memcpy(stack_copy, (const void *)sp, len);
  FILE *out = fopen(dump_path, "wb");
  if (!out) {
    perror(dump_path);
    exit(2);
  }
  fprintf(out, "%lx %lx %lx %lx\n", pc, sp, fp, len);
  fwrite(stack_copy, 1, len, out);
  copy_file(out, "/proc/self/maps");
  fclose(out);
}

__attribute__((noinline)) int compare(const void *a, const void *b) {
  if (dump_path && !captured) {
    captured = 1;
    capture();
  }
  int x = *(const int *)a, y = *(const int *)b;
  return (x > y) - (x < y);
}

__attribute__((noinline)) int level_b(int n) {
  int values[n];
  for (int i = 0; i < n; i++)
    values[i] = (i * 7919) % n;
  qsort(values, n, sizeof values[0], compare);
  return values[0] + values[n - 1];
}

__attribute__((noinline)) int level_a(int n) {
  int result = level_b(n);
  return result * 3 + n;
}

/* A frame larger than the 16-bit CFA offsets of the table: its rows are
 * marked unsupported. Called after the captured chain, never inside it. */
__attribute__((noinline)) int big_frame(int seed) {
  volatile char buffer[40000];
  buffer[seed % sizeof buffer] = (char)seed;
  return buffer[(seed * 7) % sizeof buffer];
}

int main(int argc, char **argv) {
  if (argc > 2 && strcmp(argv[1], "dump") == 0)
    dump_path = argv[2];
  int result = level_a(64);
  result += big_frame(result);
  printf("%d\n", result);
  return 0;
}
