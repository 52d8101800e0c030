// A C++ program of libc + libstdc++ (and libm, libgcc_s): the unwind table
// memory of such a process, measured by benches/unwind/bpf_cost.sh.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <vector>

int main(int argc, char **argv) {
  int rounds = argc > 1 ? std::atoi(argv[1]) : 200;
  std::vector<int> values;
  for (int round = 0; round < rounds; round++) {
    values.clear();
    for (int i = 0; i < 200000; i++)
      values.push_back(i * 7919 % 200000);
    std::sort(values.begin(), values.end());
  }
  std::printf("%d\n", values.empty() ? 0 : values[5]);
  return 0;
}
