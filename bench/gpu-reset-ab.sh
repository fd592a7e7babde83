#!/bin/sh
# On the NVIDIA GPU machine: what reset notification (robust contexts,
# glGetGraphicsResetStatus after each fence) and the per-batch error checks
# cost, on tiny: this library with reset notification (new), without it
# (new --no-reset-notification), and the batch search before the fault
# work (base: .carry/gpupipe-bench-base, BASE=perf
# bench/gpu-build-base.sh), alternated, raw beside each.
set -u
res=/tmp/reset-ab
. bench/gpu-env.sh
T="--rounds 3 --workload tiny --check sampled --prep-threads 4 --modes raw,gpupipe"
for round in 1 2; do
	for v in new norst base; do
		bin=.carry/gpupipe-bench
		extra=
		[ "$v" = base ] && bin=.carry/gpupipe-bench-base
		[ "$v" = norst ] && extra=--no-reset-notification
		echo
		echo "=== [tiny-$v-$round] $bin $T $extra"
		$bin $T $extra --json "$res/tiny-$v-$round.json" |
			grep -E '^(raw|gpupipe) |at the end' || rc=1
	done
done
tar czf "$OUT/reset-ab.tgz" -C "$res" .
exit $rc
