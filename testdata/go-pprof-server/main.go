// A Go program that serves net/http/pprof while it runs workloads with
// distinctive function names, for the pull-mode tests of Brasa: each
// profile Go serves has something of its own to show.
//
//	main.burnCPU         CPU time, in bursts              process_cpu
//	main.retainMemory    memory kept live for good        memory (inuse_space)
//	main.allocateGarbage short-lived allocations          allocs, memory (alloc_space)
//	main.parkedWorker    a pool of goroutines parked      goroutine
//	main.contendMutex    goroutines fighting for a lock   mutex
//	main.blockOnChannel  receives that wait on a channel  block
package main

import (
	"flag"
	"fmt"
	"net"
	"net/http"
	_ "net/http/pprof"
	"os"
	"runtime"
	"sync"
	"time"
)

var (
	listen    = flag.String("listen", "127.0.0.1:0", "address to serve /debug/pprof on (port 0 picks a free one)")
	retainMiB = flag.Int("retain-mib", 32, "MiB that main.retainMemory keeps live")
	parked    = flag.Int("parked", 16, "goroutines parked in main.parkedWorker")
	lifetime  = flag.Duration("lifetime", 10*time.Minute, "exit after this long")
)

// Kept live, so that the heap profile shows it as in use.
var retained [][]byte

// Where garbage goes, so that the compiler keeps the allocations.
var sink []byte

//go:noinline
func burnCPU() {
	x := uint64(1)
	for {
		// About half of one CPU: work for 10 ms, rest for 10 ms.
		start := time.Now()
		for time.Since(start) < 10*time.Millisecond {
			for i := 0; i < 1000; i++ {
				x = x*6364136223846793005 + 1442695040888963407
			}
		}
		if x == 0 {
			fmt.Println(x)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

//go:noinline
func retainMemory(mib int) {
	for i := 0; i < mib; i++ {
		chunk := make([]byte, 1<<20)
		for j := range chunk {
			chunk[j] = byte(i + j)
		}
		retained = append(retained, chunk)
	}
}

//go:noinline
func allocateGarbage() {
	for {
		// 256 KiB every 10 ms, dropped at once.
		for i := 0; i < 4; i++ {
			sink = make([]byte, 64<<10)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

//go:noinline
func parkedWorker(never chan struct{}, ready *sync.WaitGroup) {
	ready.Done()
	<-never
}

//go:noinline
func contendMutex(mu *sync.Mutex) {
	for {
		mu.Lock()
		time.Sleep(200 * time.Microsecond)
		mu.Unlock()
	}
}

//go:noinline
func blockOnChannel(ticks chan struct{}) {
	for range ticks {
	}
}

func feed(ticks chan struct{}) {
	for {
		time.Sleep(time.Millisecond)
		ticks <- struct{}{}
	}
}

func main() {
	flag.Parse()
	// Every contention and blocking event is recorded.
	runtime.SetMutexProfileFraction(1)
	runtime.SetBlockProfileRate(1)

	retainMemory(*retainMiB)
	// The heap profile reflects the last collection: make one now.
	runtime.GC()

	never := make(chan struct{})
	var ready sync.WaitGroup
	ready.Add(*parked)
	for i := 0; i < *parked; i++ {
		go parkedWorker(never, &ready)
	}
	ready.Wait()

	var mu sync.Mutex
	for i := 0; i < 4; i++ {
		go contendMutex(&mu)
	}
	ticks := make(chan struct{})
	go blockOnChannel(ticks)
	go feed(ticks)
	go allocateGarbage()
	go burnCPU()

	listener, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintln(os.Stderr, "go-pprof-server:", err)
		os.Exit(1)
	}
	// Tests read this line to find the port.
	fmt.Printf("go-pprof-server listening on http://%s\n", listener.Addr())
	go func() {
		time.Sleep(*lifetime)
		fmt.Fprintln(os.Stderr, "go-pprof-server: lifetime over, exiting")
		os.Exit(0)
	}()
	if err := http.Serve(listener, nil); err != nil {
		fmt.Fprintln(os.Stderr, "go-pprof-server:", err)
		os.Exit(1)
	}
	runtime.KeepAlive(retained)
}
