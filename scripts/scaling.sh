#!/usr/bin/env bash
# Scaling of goro against the Go reference with GOMAXPROCS = 1 .. N, side by
# side in one run (the brief's device-machine check; any Linux box works).
#
#   scripts/scaling.sh [GORO_BENCH] [GO_REF] [RUNS] [PROCS...]
#
# GORO_BENCH: goro's `bench` example (default target/release/examples/bench;
#   built first if missing and cargo is there).
# GO_REF: the Go reference built from ../shared/anchors/go (default
#   target/goref; built first if missing and `go` is there). On a machine
#   without Go, build it elsewhere and copy it (e.g. carry target/goref).
# RUNS: runs per (workload, GOMAXPROCS, side), alternating goro and Go
#   (default 3; the table shows medians).
# PROCS: GOMAXPROCS values (default: 1 2 4 8 16, capped at the CPU count).
#
# Prints one row per workload metric and GOMAXPROCS value: Go's median,
# goro's median, and goro/Go (for rates Go/goro), so < 1 means goro is
# better, as in ../shared/bench/compare.py.
set -euo pipefail
cd "$(dirname "$0")/.."

GORO=${1:-target/release/examples/bench}
GOREF=${2:-target/goref}
RUNS=${3:-3}
shift $(( $# < 3 ? $# : 3 ))
NCPU=$(nproc)
if [ $# -gt 0 ]; then
    PROCS=("$@")
else
    PROCS=()
    for p in 1 2 4 8 16; do
        [ "$p" -le "$NCPU" ] && PROCS+=("$p")
    done
fi

if [ ! -x "$GORO" ]; then
    cargo build --release --example bench >&2
fi
if [ ! -x "$GOREF" ]; then
    (cd ../shared/anchors/go && go build -o "$OLDPWD/$GOREF" .) >&2
fi

# The workloads the Go reference has, and the metric each prints that
# scales with workers (rates are "higher is better").
WORKLOADS=(spawn skynet pingpong chan select)
is_rate() { [[ "$1" == *_mmsg_s ]]; }

median() { sort -g | awk '{v[NR]=$1} END {if (NR==0) {print "nan"} else if (NR%2) {print v[(NR+1)/2]} else {print (v[NR/2]+v[NR/2+1])/2}}'; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

for p in "${PROCS[@]}"; do
    for w in "${WORKLOADS[@]}"; do
        for _ in $(seq "$RUNS"); do
            GOMAXPROCS=$p "$GORO" "$w" 2>/dev/null | awk -v d="$tmp" -v p="$p" \
                'NF >= 2 && $2 ~ /^[0-9.]+$/ {print $2 >> (d "/goro." $1 "." p)}'
            GOMAXPROCS=$p "$GOREF" "$w" 2>/dev/null | awk -v d="$tmp" -v p="$p" \
                'NF >= 2 && $2 ~ /^[0-9.]+$/ {print $2 >> (d "/go." $1 "." p)}'
        done
    done
done

printf '%-28s %5s %12s %12s %8s\n' metric procs Go goro goro/Go
for f in "$tmp"/goro.*; do
    base=${f##*/goro.}
    metric=${base%.*}
    echo "$metric"
done | sort -u | while read -r metric; do
    for p in "${PROCS[@]}"; do
        [ -f "$tmp/goro.$metric.$p" ] && [ -f "$tmp/go.$metric.$p" ] || continue
        g=$(median < "$tmp/goro.$metric.$p")
        o=$(median < "$tmp/go.$metric.$p")
        if is_rate "$metric"; then
            r=$(awk -v a="$o" -v b="$g" 'BEGIN {printf "%.2f", (b > 0 ? a / b : 0)}')
        else
            r=$(awk -v a="$g" -v b="$o" 'BEGIN {printf "%.2f", (b > 0 ? a / b : 0)}')
        fi
        printf '%-28s %5s %12s %12s %8s\n' "$metric" "$p" "$o" "$g" "$r"
    done
done
