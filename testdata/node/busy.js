// A CPU-bound Node.js workload for Brasa's JIT tests (cli/tests/jit_runtimes.rs):
// `main` calls `brasaFixtureHot` and `brasaFixtureCold`, which do about ten
// times and one time the same work, for the seconds given (default 3).
'use strict';

function brasaFixtureHot(n) {
  let s = 0;
  for (let i = 0; i < n; i++) {
    s = (s + i * i) % 1000003;
  }
  return s;
}

function brasaFixtureCold(n) {
  let s = 0;
  for (let i = 0; i < n; i++) {
    s = (s + i * i) % 1000003;
  }
  return s;
}

function main() {
  const seconds = Number(process.argv[2] || 3);
  const end = Date.now() + seconds * 1000;
  let total = 0;
  while (Date.now() < end) {
    total += brasaFixtureHot(100000);
    total += brasaFixtureCold(10000);
  }
  console.log(`brasa node workload done: ${total}`);
}

main();
