#!/usr/bin/env bash
# What isolate_generations costs: cold 1800x1200 -> 200x200 crops made in
# this process and in a generation worker, one for one in the same run
# (generator's BenchmarkIsolation), ROUNDS rounds of 300 each. Prints both
# times and the worker/in-process ratio per round, then the median ratio.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"
go test -run '^$' -bench '^BenchmarkIsolation$' -benchtime 300x -count "${ROUNDS:-5}" ./generator |
  awk '/^BenchmarkIsolation/ {
         printf "in-process %.2f ms  worker %.2f ms  ratio %s\n", $5/1e6, $7/1e6, $9
         r[n++] = $9
       }
       END {
         if (n == 0) exit 1
         asort(r); printf "median worker/in-process: %s\n", r[int((n+1)/2)]
       }'
