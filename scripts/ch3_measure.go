// The Go side of examples/ch3_context_switch.rs and ch3_goroutine_size.rs
// (the book's BenchmarkContextSwitch and memConsumed), for
// docs/benchmarks.md: `go run scripts/ch3_measure.go`.

package main

import (
	"fmt"
	"runtime"
	"sync"
	"time"
)

func memConsumed() uint64 {
	runtime.GC()
	var s runtime.MemStats
	runtime.ReadMemStats(&s)
	return s.Sys
}

func main() {
	// context switch: GOMAXPROCS=1, 200000 messages over an unbuffered channel
	runtime.GOMAXPROCS(1)
	const N = 200000
	var wg sync.WaitGroup
	begin := make(chan struct{})
	c := make(chan struct{})
	wg.Add(2)
	go func() {
		defer wg.Done()
		<-begin
		for i := 0; i < N; i++ {
			c <- struct{}{}
		}
	}()
	go func() {
		defer wg.Done()
		<-begin
		for i := 0; i < N; i++ {
			<-c
		}
	}()
	runtime.Gosched()
	start := time.Now()
	close(begin)
	wg.Wait()
	fmt.Printf("go: %d messages between two goroutines on one P: %.0f ns each\n", N, float64(time.Since(start).Nanoseconds())/N)
	runtime.GOMAXPROCS(runtime.NumCPU())

	var cc <-chan interface{}
	var wg2 sync.WaitGroup
	noop := func() { wg2.Done(); <-cc }
	const num = 10000
	wg2.Add(num)
	before := memConsumed()
	for i := num; i > 0; i-- {
		go noop()
	}
	wg2.Wait()
	after := memConsumed()
	fmt.Printf("go: %d parked goroutines: %.3f KiB each (runtime Sys)\n", num, float64(after-before)/num/1024)
}
