#!/bin/sh
# On the NVIDIA GPU machine: issue 5's four workloads with the library's
# defaults (adaptive batches, signalled wait), raw and sync beside, after
# readback's one GL call per batch and the search's latency margin
# (bench/NOTES.md 2.7). tiny three times, one of them with the search's
# epoch log (GPUPIPE_DEBUG_SEARCH) kept in search.log. Build first with
# bench/gpu-build.sh; run from the repository root with .gl and .carry
# carried:  sh bench/gpu-issue5b.sh
set -u
res=/tmp/issue5b
. bench/gpu-env.sh
T="--rounds 5 --workload tiny --check sampled --prep-threads 4 --modes raw,gpupipe"
run tiny-1 $T
GPUPIPE_DEBUG_SEARCH=1 run tiny-2 $T 2>"$res/search.log"
run tiny-3 $T
run tiny-full --rounds 3 --workload tiny --check full --prep-threads 4 --modes raw,gpupipe
run balanced --rounds 3 --items 2000 --workload balanced --prep-threads 8 --post-threads 4 --modes raw,sync,gpupipe
run sgemm --rounds 3 --items 200 --workload sgemm --n 2048 --prep-threads 4 --modes raw,gpupipe
run stream --rounds 3 --workload stream --prep-threads 4 --post-threads 4 --modes raw,gpupipe
tar czf "$OUT/issue5b.tgz" -C "$res" .
exit $rc
