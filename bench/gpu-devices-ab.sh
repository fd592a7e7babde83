#!/bin/sh
# On a GPU machine with two GPUs (nvidia-h200-x2): gpupipe-all on both
# devices against gpupipe on one, for this library (.carry/gpupipe-bench)
# and an earlier one (.carry/gpupipe-bench-base, BASE=<commit>
# bench/gpu-build-base.sh), alternated: tiny, sgemm 2048 and balanced
# (bench/NOTES.md 2.9); WHICH=heavy: sgemm and balanced only, twice;
# ORDER="base new" runs the earlier library first in each pair.
# Build both first; run from the repository root with .gl and .carry
# carried:  sh bench/gpu-devices-ab.sh
set -u
res=/tmp/devab
. bench/gpu-env.sh
T="--devices all --rounds 3 --workload tiny --check sampled --prep-threads 4 --modes gpupipe"
S="--devices all --rounds 3 --items 200 --workload sgemm --n 2048 --prep-threads 4 --modes gpupipe"
B="--devices all --rounds 3 --items 2000 --workload balanced --prep-threads 8 --post-threads 4 --modes raw,sync,gpupipe"
ab() {
	name=$1
	shift
	for v in ${ORDER:-new base}; do
		bin=.carry/gpupipe-bench
		[ "$v" = base ] && bin=.carry/gpupipe-bench-base
		echo
		echo "=== [$name-$v] $bin $*"
		$bin "$@" --json "$res/$name-$v.json" |
			grep -E '^(raw|sync|gpupipe|gpupipe-all) |^scaling|^stages' ||
			rc=1
	done
}
case ${WHICH:-all} in
all)
	ab tiny $T
	ab sgemm $S
	ab balanced $B
	ab tiny-2 $T
	;;
heavy) # sgemm and balanced again, twice
	for round in 2 3; do
		ab "sgemm-$round" $S
		ab "balanced-$round" $B
	done
	;;
esac
tar czf "$OUT/devab.tgz" -C "$res" .
exit $rc
