#!/bin/sh
# On the NVIDIA GPU machine: this library (.carry/gpupipe-bench) against
# an earlier one (.carry/gpupipe-bench-base, from BASE=<commit>
# bench/gpu-build-base.sh), alternated, raw beside each: tiny three times,
# tiny with full checks (readback-bound), balanced (8 prep, 4 post threads)
# and sgemm once each. Build both first;
# run from the repository root with .gl and .carry carried:
#   sh bench/gpu-ab.sh
set -u
res=/tmp/ab
. bench/gpu-env.sh
T="--rounds 5 --workload tiny --check sampled --prep-threads 4 --modes raw,gpupipe"
B="--rounds 3 --items 2000 --workload balanced --prep-threads 8 --post-threads 4 --modes raw,sync,gpupipe"
S="--rounds 3 --items 200 --workload sgemm --n 2048 --prep-threads 4 --modes raw,gpupipe"
ab() {
	name=$1
	shift
	for v in new base; do
		bin=.carry/gpupipe-bench
		[ "$v" = base ] && bin=.carry/gpupipe-bench-base
		echo
		echo "=== [$name-$v] $bin $*"
		$bin "$@" --json "$res/$name-$v.json" |
			grep -E '^(raw|sync|gpupipe) |threads, CPU|at the end' ||
			rc=1
	done
}
for round in 1 2 3; do
	ab "tiny-$round" $T
done
ab tiny-full --rounds 3 --workload tiny --check full --prep-threads 4 --modes raw,gpupipe
ab balanced $B
ab sgemm $S
tar czf "$OUT/ab.tgz" -C "$res" .
exit $rc
