#!/bin/sh
# On the NVIDIA GPU machine: how fast one CPU thread writes the mapped
# input and reads the mapped output, per set of storage and mapping flags
# and per copy method (bench/probe-mapping; bench/NOTES.md 2.8). Build
# first with bench/gpu-build.sh; run from the repository root with .gl and
# .carry carried:  sh bench/gpu-mapping.sh
set -u
res=/tmp/mapping
. bench/gpu-env.sh
for round in 1 2; do
	echo
	echo "=== [mapping-$round] probe-mapping --device 0 --reps 7"
	.carry/probe-mapping --device 0 --reps 7 |
		tee "$res/mapping-$round.txt" || rc=1
done
tar czf "$OUT/mapping.tgz" -C "$res" .
exit $rc
