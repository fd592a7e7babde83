#!/bin/sh
# On a GPU machine with two GPUs (nvidia-h200-x2): does NVIDIA's GL driver
# let two threads of one process dispatch side by side (issue 8's open
# question)? probe-dispatch --parallel 2 (a raw loop per device, alone,
# then both at once from two threads); tiny on device 0 alone and then two
# processes at once (one per device) against gpupipe-all in one process;
# then sgemm and balanced scaling with this library. Build first with
# bench/gpu-build.sh; run from the repository root with .gl and .carry
# carried:  sh bench/gpu-devices-procs.sh
set -u
res=/tmp/devprocs
. bench/gpu-env.sh
.carry/gpupipe-bench --list-devices
echo
echo "=== [probe-parallel] probe-dispatch --parallel 2 --items 20000 --reps 7"
.carry/probe-dispatch --parallel 2 --items 20000 --reps 7 |
	tee "$res/probe-parallel.txt" || rc=1
T="--rounds 3 --workload tiny --check sampled --prep-threads 4 --modes raw,gpupipe"
run tiny-d0-alone --device 0 $T
echo
echo "=== [tiny-2procs] gpupipe-bench --device 0 $T & gpupipe-bench --device 1 $T"
.carry/gpupipe-bench --device 0 $T --json "$res/tiny-2procs-d0.json" \
	>"$res/tiny-2procs-d0.log" 2>&1 &
p0=$!
.carry/gpupipe-bench --device 1 $T --json "$res/tiny-2procs-d1.json" \
	>"$res/tiny-2procs-d1.log" 2>&1 &
p1=$!
wait $p0 || rc=1
wait $p1 || rc=1
grep -hE '^(raw|gpupipe) ' "$res/tiny-2procs-d0.log" "$res/tiny-2procs-d1.log"
run tiny-all --devices all $T
run sgemm-all --devices all --rounds 3 --items 200 --workload sgemm --n 2048 --prep-threads 4 --modes raw,gpupipe
run sgemm-all-p8d4 --devices all --rounds 3 --items 200 --workload sgemm --n 2048 --prep-threads 8 --depth 4 --modes raw,gpupipe
run balanced-all --devices all --rounds 3 --items 2000 --workload balanced --prep-threads 8 --post-threads 4 --modes raw,sync,gpupipe
tar czf "$OUT/devprocs.tgz" -C "$res" .
exit $rc
