#!/bin/sh
# On the NVIDIA GPU machine: what polling a queue before sleeping buys
# (bench/NOTES.md 2.7). One binary, GPUPIPE_SPIN_US alternated (0: every
# idle consumer sleeps at once, as before; 20: the default), raw beside
# each: tiny (the latency of wakeups against 1.5 us items), balanced and
# sgemm (what polling costs where the CPU stages or the GPU bound the
# pace). Measured library f15c2cd, where GPUPIPE_SPIN_US existed (reverted:
# polling bought nothing, NOTES 2.7). Build first with bench/gpu-build.sh; run from the repository root
# with .gl and .carry carried:  sh bench/gpu-spin.sh
set -u
res=/tmp/spin
. bench/gpu-env.sh
T="--workload tiny --check sampled --prep-threads 4 --modes raw,gpupipe"
for round in 1 2; do
	for s in 0 20 5 50; do
		GPUPIPE_SPIN_US=$s run "tiny-s$s-$round" --rounds 5 $T
	done
done
B="--rounds 3 --items 2000 --workload balanced --prep-threads 8 --post-threads 4 --modes raw,sync,gpupipe"
S="--rounds 3 --items 200 --workload sgemm --n 2048 --prep-threads 4 --modes raw,gpupipe"
for s in 0 20; do
	GPUPIPE_SPIN_US=$s run "balanced-s$s" $B
	GPUPIPE_SPIN_US=$s run "sgemm-s$s" $S
done
tar czf "$OUT/spin.tgz" -C "$res" .
exit $rc
