#!/bin/sh
# On the NVIDIA GPU machine: the wait strategies and batch sizes side by
# side on each workload (issue 5's measurements). JSON of every run goes
# into $OUT/sweep.tgz. Build first with bench/gpu-build.sh; run from the
# repository root with .gl and .carry carried:  sh bench/gpu-sweep.sh
set -u
res=/tmp/sweep
. bench/gpu-env.sh
R="--rounds ${ROUNDS:-5}"
T="--workload tiny --check sampled $R"
run tiny-sig-auto $T --prep-threads 4
run tiny-sig-auto-p2 $T --prep-threads 2 --modes raw,gpupipe
run tiny-block-auto $T --prep-threads 4 --modes raw,gpupipe --wait block
run tiny-sig-b1 $T --prep-threads 4 --modes raw,gpupipe --batch 1
run tiny-block-b1 $T --prep-threads 4 --modes raw,gpupipe --wait block --batch 1
run tiny-sig-b64 $T --prep-threads 4 --modes raw,gpupipe --batch 64
run tiny-block-b64 $T --prep-threads 4 --modes raw,gpupipe --wait block --batch 64
run tiny-full $T --prep-threads 4 --modes raw,gpupipe --check full
S="--workload sgemm --n 2048 --prep-threads 4 $R"
run sgemm-sig $S
run sgemm-block $S --modes raw,gpupipe --wait block
B="--workload balanced --prep-threads 4 $R"
run bal-sig $B
run bal-block $B --modes raw,sync,gpupipe --wait block
run bal-sig-b1 $B --modes raw,sync,gpupipe --batch 1
run bal-post2 $B --modes raw,sync,gpupipe --post-threads 2
M="--workload stream --prep-threads 4 --post-threads 4 $R"
run stream-sig $M
run stream-block $M --modes raw,gpupipe --wait block
tar czf "$OUT/sweep.tgz" -C "$res" .
exit $rc
