#!/bin/sh
# On the NVIDIA GPU machine: do the readback thread's GL calls cost the
# dispatching thread less when the two take turns under one lock (the
# dispatcher holding it over each batch)? probe-dispatch at batches of 16
# and 32, without and with --locked, alternated (bench/NOTES.md 2.9).
# Build first with bench/gpu-build.sh; run from the repository root with
# .gl and .carry carried:  sh bench/gpu-turns.sh
set -u
res=/tmp/turns
. bench/gpu-env.sh
for round in 1 2; do
	for b in 16 32; do
		for opt in "" "--locked"; do
			name=$(echo "b$b$opt-$round" | tr -d ' -')
			echo
			echo "=== [$name] probe-dispatch --device 0 --items 20000 --reps 5 --batch $b $opt"
			.carry/probe-dispatch --device 0 --items 20000 \
				--reps 5 --batch $b $opt |
				grep -v ' raw ' | tee "$res/$name.txt" || rc=1
		done
	done
done
tar czf "$OUT/turns.tgz" -C "$res" .
exit $rc
