#!/bin/sh
# On the NVIDIA GPU machine: the bench's four workloads, every mode, with
# JSON into $OUT (or /tmp). Build first with bench/gpu-build.sh, then run
# from the repository root with .gl and .carry carried:
#   sh bench/gpu-bench.sh [extra gpupipe-bench options]
set -u
res=${OUT:-/tmp}
. bench/gpu-env.sh
nproc
run tiny --workload tiny --prep-threads 2 "$@"
run tiny-b16 --workload tiny --modes raw,gpupipe --depth 4 --batch 16 "$@"
run sgemm --workload sgemm --n 2048 --prep-threads 4 "$@"
run stream --workload stream --prep-threads 4 "$@"
run balanced --workload balanced --prep-threads 4 "$@"
exit $rc
