// Go twins of goro's own bench workloads, the ones the shared reference
// (../shared/anchors/go) does not have: pipeline (pipeline.go) and ctxbase
// (ctxbase.go). Build with `go build` here; the binary takes goro's bench
// command line, `[-n N] WORKLOAD`, and prints the same `metric value unit`
// lines, so ../shared/bench/compare.py --go-bin can run it.
package main

import (
	"flag"
	"fmt"
	"os"
)

func main() {
	n := flag.Int("n", 1000000, "items / coroutines")
	flag.Parse()
	if flag.NArg() != 1 {
		usage()
	}
	switch flag.Arg(0) {
	case "pipeline":
		pipeline(*n)
	case "ctxbase":
		ctxbase(*n)
	default:
		usage()
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: gorotwins [-n N] pipeline|ctxbase")
	os.Exit(2)
}
