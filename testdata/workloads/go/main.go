// A CPU workload with a known call tree; see ../README.md.
package main

import (
	"fmt"
	"os"
	"strconv"
	"syscall"
	"time"
)

// Iterations of the leaf loop in one unit of work: about a millisecond.
const unitIterations = 400000

var sink uint64

// store is a call that spinLeaf makes with a value live across it: that
// gives spinLeaf a stack frame, and so a saved frame pointer (Go's frameless
// leaf functions would hide their caller from a frame-pointer unwinder).
//
//go:noinline
func store(x uint64) {
	sink = x
}

//go:noinline
func spinLeaf(units uint64) {
	x := sink
	for i := uint64(0); i < units*unitIterations; i++ {
		x = x*6364136223846793005 + 1442695040888963407
	}
	store(x)
	sink += units
}

// The branches keep a value live across the call for the same reason.

//go:noinline
func hotBranch() {
	before := sink
	spinLeaf(3)
	sink ^= before
}

//go:noinline
func coldBranch() {
	before := sink
	spinLeaf(1)
	sink ^= before
}

// cpuTime is the CPU time of the process: the workload does the same work
// on a busy machine.
func cpuTime() time.Duration {
	var usage syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &usage); err != nil {
		panic(err)
	}
	return time.Duration(usage.Utime.Nano() + usage.Stime.Nano())
}

//go:noinline
func runWorkload(d time.Duration) {
	end := cpuTime() + d
	for cpuTime() < end {
		hotBranch()
		coldBranch()
	}
}

func main() {
	if len(os.Args) != 3 || os.Args[1] != "cpu" {
		fmt.Fprintln(os.Stderr, "usage: workload cpu MILLISECONDS")
		os.Exit(2)
	}
	ms, err := strconv.Atoi(os.Args[2])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	runWorkload(time.Duration(ms) * time.Millisecond)
}
