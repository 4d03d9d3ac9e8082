// The Go side of goro's `pipeline` workload (examples/bench/pipeline.rs):
// the fan-out/fan-in pipeline of "Concurrency in Go", chapter 4.
//
// A generator sends 0..n down an unbuffered channel; 8 workers each apply
// work() and send on their own unbuffered channel; a fan-in stage (one
// forwarding goroutine per worker, closed through a WaitGroup) merges them;
// main drains the merged stream. Every send is a select against the
// context's Done(). Prints pipeline_ms and pipeline_ns_per_item, and checks
// the count and wrapping sum against a sequential computation.
package main

import (
	"context"
	"fmt"
	"sync"
	"time"
)

const workers = 8

// work: four rounds of the murmur3 finaliser's multiply-xorshift, then a
// last xorshift. Identical to work() in examples/bench/pipeline.rs.
func work(x uint64) uint64 {
	h := x
	for i := 0; i < 4; i++ {
		h ^= h >> 33
		h *= 0xff51afd7ed558ccd
	}
	return h ^ (h >> 33)
}

func generator(ctx context.Context, n uint64) <-chan uint64 {
	out := make(chan uint64)
	go func() {
		defer close(out)
		for i := uint64(0); i < n; i++ {
			select {
			case <-ctx.Done():
				return
			case out <- i:
			}
		}
	}()
	return out
}

func worker(ctx context.Context, in <-chan uint64) <-chan uint64 {
	out := make(chan uint64)
	go func() {
		defer close(out)
		for v := range in {
			select {
			case <-ctx.Done():
				return
			case out <- work(v):
			}
		}
	}()
	return out
}

func fanIn(ctx context.Context, ins []<-chan uint64) <-chan uint64 {
	out := make(chan uint64)
	var wg sync.WaitGroup
	wg.Add(len(ins))
	for _, in := range ins {
		go func(in <-chan uint64) {
			defer wg.Done()
			for v := range in {
				select {
				case <-ctx.Done():
					return
				case out <- v:
				}
			}
		}(in)
	}
	go func() {
		wg.Wait()
		close(out)
	}()
	return out
}

func pipeline(n int) {
	ctx, cancel := context.WithCancel(context.Background())
	t := time.Now()
	src := generator(ctx, uint64(n))
	outs := make([]<-chan uint64, workers)
	for i := range outs {
		outs[i] = worker(ctx, src)
	}
	var count, sum uint64
	for v := range fanIn(ctx, outs) {
		count++
		sum += v
	}
	d := time.Since(t)
	cancel()
	var want uint64
	for i := uint64(0); i < uint64(n); i++ {
		want += work(i)
	}
	if count != uint64(n) || sum != want {
		panic(fmt.Sprintf("pipeline: values lost or duplicated: %d items, sum %d, want %d, %d", count, sum, n, want))
	}
	per := float64(d.Nanoseconds())
	if n > 0 {
		per /= float64(n)
	}
	fmt.Printf("pipeline_ms %.1f ms\npipeline_ns_per_item %.1f ns\n", float64(d.Microseconds())/1000, per)
}
