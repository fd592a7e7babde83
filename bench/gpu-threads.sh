#!/bin/sh
# On a GPU machine with two GPUs (nvidia-h200-x2): what two threads of one
# process dispatching at once cost, and whether taking turns under one
# process-wide lock (a batch of 16 dispatches each) avoids it:
# probe-dispatch --parallel 2 on two devices and on one, without and with
# --locked (bench/NOTES.md 2.9). Build first with bench/gpu-build.sh; run
# from the repository root with .gl and .carry carried:
#   sh bench/gpu-threads.sh
set -u
res=/tmp/threads
. bench/gpu-env.sh
for round in 1 2; do
	for opt in "" "--locked" "--one-device" "--one-device --locked"; do
		name=$(echo "par$opt" | tr -d ' -')
		echo
		echo "=== [$name-$round] probe-dispatch --parallel 2 $opt --items 20000 --reps 5"
		.carry/probe-dispatch --parallel 2 $opt --items 20000 --reps 5 |
			tee "$res/$name-$round.txt" || rc=1
	done
done
tar czf "$OUT/threads.tgz" -C "$res" .
exit $rc
