#!/bin/sh
# On the NVIDIA GPU machine: the issue 5 check of the adaptive batch search
# (library defaults; fixed 16 beside it), tiny, balanced and sgemm. Build
# first with bench/gpu-build.sh; run from a folder holding .gl, .carry
# (gpupipe-bench), shaders and this script beside gpu-env.sh:
#   sh gpu-issue5.sh
set -u
res=/tmp/issue5
here=$(dirname "$0")
[ -f "$here/gpu-env.sh" ] && . "$here/gpu-env.sh" || . bench/gpu-env.sh
T="--workload tiny --check sampled --prep-threads 4"
GPUPIPE_DEBUG_SEARCH=1 run tiny --rounds 5 $T --modes raw,gpupipe 2>"$res/tiny.search"
run tiny-b16 --rounds 3 $T --modes raw,gpupipe --batch 16
GPUPIPE_DEBUG_SEARCH=1 run balanced --rounds 3 --items 2000 --workload balanced --prep-threads 4 --modes raw,sync,gpupipe 2>"$res/balanced.search"
GPUPIPE_DEBUG_SEARCH=1 run sgemm --rounds 3 --items 200 --workload sgemm --n 2048 --prep-threads 4 --modes raw,gpupipe 2>"$res/sgemm.search"
tar czf "$OUT/issue5.tgz" -C "$res" .
exit $rc
