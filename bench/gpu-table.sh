#!/bin/sh
# On the NVIDIA GPU machine: issue 5's done-when table. For each of the
# four workloads, raw, sync and ring once beside gpupipe's defaults
# (signalled wait, adaptive batches), then gpupipe with each wait strategy
# (signalled, block) at fixed batch 1, at fixed batches around the best,
# and adaptive, raw beside every run; and each wait strategy's full-check
# run. Build first with bench/gpu-build.sh; run from the repository root
# with .gl and .carry carried:  sh bench/gpu-table.sh
# bench/json-table.py turns the JSON into RESULTS.md's table.
set -u
res=/tmp/table
. bench/gpu-env.sh
TINY="--rounds 5 --workload tiny --check sampled --prep-threads 4"
BAL="--rounds 3 --items 2000 --workload balanced --prep-threads 8 --post-threads 4"
SGEMM="--rounds 3 --items 200 --workload sgemm --n 2048 --prep-threads 4"
STREAM="--rounds 3 --workload stream --prep-threads 4 --post-threads 4"
# table NAME "FIXED BATCHES" ARGS...
# (run sets name: this one keeps its own, wl.)
table() {
	wl=$1
	fixed=$2
	shift 2
	run "$wl-base" "$@" --modes raw,sync,ring,gpupipe
	run "$wl-block-auto" "$@" --modes raw,gpupipe --wait block
	for b in $fixed; do
		for w in signalled block; do
			run "$wl-$w-b$b" "$@" --modes raw,gpupipe --wait $w \
				--batch "$b"
		done
	done
	for w in signalled block; do
		run "$wl-$w-full" "$@" --modes raw,gpupipe --wait $w \
			--check full
	done
}
table tiny "1 4 16 64" $TINY
table balanced "1 4 16 64" $BAL
table sgemm "1 2" $SGEMM
table stream "1 4" $STREAM
tar czf "$OUT/table.tgz" -C "$res" .
exit $rc
