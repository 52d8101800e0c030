// cpuwork burns CPU in a small, known call tree and writes a runtime/pprof
// CPU profile of itself. It produces Brasa's Go fixture (see ../README.md).
package main

import (
	"crypto/sha256"
	"flag"
	"log"
	"os"
	"runtime/pprof"
	"sort"
	"time"
)

var sink uint64

// hashWork hashes a buffer over and over: a stdlib-heavy leaf.
func hashWork(d time.Duration) {
	buf := make([]byte, 4096)
	for end := time.Now().Add(d); time.Now().Before(end); {
		sum := sha256.Sum256(buf)
		buf[0] = sum[0]
	}
}

// sortWork sorts pseudo-random slices: a callback-heavy leaf.
func sortWork(d time.Duration) {
	xs := make([]int, 2048)
	seed := uint64(1)
	for end := time.Now().Add(d); time.Now().Before(end); {
		for i := range xs {
			seed = seed*6364136223846793005 + 1442695040888963407
			xs[i] = int(seed >> 33)
		}
		sort.Ints(xs)
	}
}

// spin is a pure arithmetic loop in user code.
func spin(d time.Duration) {
	for end := time.Now().Add(d); time.Now().Before(end); {
		for i := 0; i < 10000; i++ {
			sink += uint64(i) * 2654435761
		}
	}
}

func run(total time.Duration) {
	hashWork(total / 2)
	sortWork(total / 4)
	spin(total / 4)
}

// The tree workload walks a pseudo-random path through four mutually
// recursive functions, six calls deep: up to 4^6 distinct stacks, closer to
// the stack variety of a real service than run's handful.
var treeSeed uint64 = 1

//go:noinline
func treeA(depth int) { treeStep(depth) }

//go:noinline
func treeB(depth int) { treeStep(depth) }

//go:noinline
func treeC(depth int) { treeStep(depth) }

//go:noinline
func treeD(depth int) { treeStep(depth) }

func treeStep(depth int) {
	if depth == 0 {
		for i := 0; i < 2000; i++ {
			sink += uint64(i) ^ sink
		}
		return
	}
	treeSeed = treeSeed*6364136223846793005 + 1442695040888963407
	switch (treeSeed >> 40) % 4 {
	case 0:
		treeA(depth - 1)
	case 1:
		treeB(depth - 1)
	case 2:
		treeC(depth - 1)
	default:
		treeD(depth - 1)
	}
}

func tree(total time.Duration) {
	for end := time.Now().Add(total); time.Now().Before(end); {
		treeStep(6)
	}
}

func main() {
	out := flag.String("o", "cpu.pb.gz", "output profile")
	seconds := flag.Float64("seconds", 2, "how long to burn CPU")
	variety := flag.Bool("tree", false, "run the many-stacks tree workload instead")
	flag.Parse()
	f, err := os.Create(*out)
	if err != nil {
		log.Fatal(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		log.Fatal(err)
	}
	if *variety {
		tree(time.Duration(*seconds * float64(time.Second)))
	} else {
		run(time.Duration(*seconds * float64(time.Second)))
	}
	pprof.StopCPUProfile()
	if err := f.Close(); err != nil {
		log.Fatal(err)
	}
}
