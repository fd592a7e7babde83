#!/bin/sh
# On the NVIDIA GPU machine: where a tiny item's dispatch cost goes
# (bench/NOTES.md 2.7). bench/probe-dispatch times the two GL calls per
# item in eight GL setups without the library (plain; robust; a shared
# context idle, or on another thread blocking on pending fences, deleting
# or waiting on signalled ones, or taking them without a GL call;
# gpupipe's signalled and block setups), at batches of 16 and 64, twice;
# then gpupipe-bench runs tiny (raw and gpupipe) for the library's
# figures. Build first with bench/gpu-build.sh; run from the repository
# root with .gl and .carry carried:
#   sh bench/gpu-probe.sh
set -u
res=/tmp/probe
. bench/gpu-env.sh
for round in 1 2; do
	for b in 16 64; do
		echo
		echo "=== [probe-b$b-$round] probe-dispatch --device 0 --items 20000 --reps 7 --batch $b"
		.carry/probe-dispatch --device 0 --items 20000 --reps 7 \
			--batch $b | tee "$res/probe-b$b-$round.txt" || rc=1
	done
done
run tiny --rounds 5 --workload tiny --check sampled --prep-threads 4 \
	--modes raw,gpupipe
tar czf "$OUT/probe.tgz" -C "$res" .
exit $rc
