#!/bin/sh
# On the NVIDIA GPU machine: the adaptive batch search (issue 5) against
# fixed batches, tiny, balanced and sgemm. Build first with
# bench/gpu-build.sh; run from a folder holding .gl, .carry (gpupipe-bench),
# shaders and this script beside gpu-env.sh:  sh gpu-adapt.sh
# GPUPIPE_DEBUG_SEARCH=1 logs each epoch of the search into NAME.search.
set -u
res=/tmp/adapt
here=$(dirname "$0")
[ -f "$here/gpu-env.sh" ] && . "$here/gpu-env.sh" || . bench/gpu-env.sh
T="--workload tiny --check sampled --prep-threads 4"
B="--items 2000 --workload balanced --prep-threads 4"
GPUPIPE_DEBUG_SEARCH=1 run tiny --rounds 5 $T --modes raw,gpupipe 2>"$res/tiny.search"
GPUPIPE_DEBUG_SEARCH=1 run tiny-lat100 --rounds 5 $T --modes raw,gpupipe --batch-latency-us 100 2>"$res/tiny-lat100.search"
for b in 16 32; do
	run tiny-b$b --rounds 3 $T --modes raw,gpupipe --batch $b
done
GPUPIPE_DEBUG_SEARCH=1 run balanced --rounds 3 $B --modes raw,sync,gpupipe 2>"$res/balanced.search"
run balanced-b1 --rounds 3 $B --modes raw,gpupipe --batch 1
GPUPIPE_DEBUG_SEARCH=1 run sgemm --rounds 3 --items 200 --workload sgemm --n 2048 --prep-threads 4 --modes raw,gpupipe 2>"$res/sgemm.search"
run stream --rounds 3 --workload stream --prep-threads 4 --post-threads 4 --modes raw,gpupipe
tar czf "$OUT/adapt.tgz" -C "$res" .
exit $rc
