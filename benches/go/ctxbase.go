// ctxbase: the floor under ctxtree (../shared/anchors/go/extra.go) without
// contexts: n goroutines each wait on a channel of their own, and the main
// goroutine closes the n channels one after the other. Same timing
// boundaries as ctxtree; goro's twin is ctxbase in examples/bench/ctxtree.rs.
package main

import (
	"fmt"
	"sync"
	"time"
)

func ctxbase(n int) {
	var ready, done sync.WaitGroup
	ready.Add(n)
	done.Add(n)
	t := time.Now()
	chans := make([]chan struct{}, n)
	for i := range chans {
		c := make(chan struct{})
		chans[i] = c
		go func() {
			ready.Done()
			if _, ok := <-c; ok {
				panic("ctxbase: a value on a closed channel")
			}
			done.Done()
		}()
	}
	ready.Wait()
	d1 := time.Since(t)
	t2 := time.Now()
	for _, c := range chans {
		close(c)
	}
	done.Wait()
	d2 := time.Since(t2)
	fmt.Printf("ctxbase_build_ms %.1f ms\nctxbase_cancel_ms %.1f ms\n", float64(d1.Microseconds())/1000, float64(d2.Microseconds())/1000)
}
