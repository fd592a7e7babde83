#!/bin/sh
# On the NVIDIA GPU machine: one run of each workload with the library's
# defaults, and the plain blocking wait beside it (the short form of
# bench/gpu-sweep.sh). Build first with bench/gpu-build.sh; run from the
# repository root with .gl and .carry carried:  sh bench/gpu-final.sh
set -u
res=/tmp/final
. bench/gpu-env.sh
R="--rounds ${ROUNDS:-5}"
run tiny $R --workload tiny --check sampled --prep-threads 4
run tiny-block $R --workload tiny --check sampled --prep-threads 4 --modes raw,gpupipe --wait block
run tiny-b64 $R --workload tiny --check sampled --prep-threads 4 --modes raw,gpupipe --batch 64
run sgemm $R --workload sgemm --n 2048 --prep-threads 4 --modes raw,sync,gpupipe
run balanced $R --workload balanced --prep-threads 4 --modes raw,sync,gpupipe
run stream $R --workload stream --prep-threads 4 --post-threads 4 --modes raw,sync,gpupipe
tar czf "$OUT/final.tgz" -C "$res" .
exit $rc
