#!/bin/sh
# On a machine with several GPUs: tiny and balanced (post pool) on one
# device beside every hardware device, after the per-device batch search.
# Build first with bench/gpu-build.sh; carry .gl and .carry.
set -u
res=/tmp/devices-quick
. bench/gpu-env.sh
run tiny --rounds 3 --workload tiny --check sampled --prep-threads 4 --modes raw,gpupipe --devices all
run balanced --rounds 3 --items 2000 --workload balanced --prep-threads 8 --post-threads 4 --modes raw,sync,gpupipe --devices all
tar czf "$OUT/devices-quick.tgz" -C "$res" .
exit $rc
