#!/bin/sh
# On the NVIDIA GPU machine: a short check of the adaptive batches (tiny
# and balanced, library defaults). Build first with bench/gpu-build.sh.
set -u
res=/tmp/quick
. bench/gpu-env.sh
run tiny --rounds 3 --workload tiny --check sampled --prep-threads 4 --modes raw,gpupipe
run balanced --rounds 3 --items 2000 --workload balanced --prep-threads 4 --modes raw,sync,gpupipe
tar czf "$OUT/quick.tgz" -C "$res" .
exit $rc
