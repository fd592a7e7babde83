#!/bin/sh
# On the NVIDIA GPU machine: the bench's four workloads, every mode, with
# JSON into $OUT (or /tmp). Build first with bench/gpu-build.sh, then run
# from the repository root with .gl and .carry carried:
#   sh bench/gpu-bench.sh [extra gpupipe-bench options]
set -u
for f in .gl/*.deb; do dpkg -x "$f" /; done
ldconfig
export __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
export GPUPIPE_SHADER_DIR="$PWD/shaders"
out=${OUT:-/tmp}
nvidia-smi --query-gpu=name,driver_version,clocks.sm,temperature.gpu --format=csv,noheader
nproc
rc=0
run() {
	name=$1
	shift
	echo
	echo "=== gpupipe-bench $*"
	.carry/gpupipe-bench "$@" --json "$out/$name.json" || rc=1
}
run tiny --workload tiny --prep-threads 2 "$@"
run tiny-b16 --workload tiny --modes raw,gpupipe --depth 4 --batch 16 "$@"
run sgemm --workload sgemm --n 2048 --prep-threads 4 "$@"
run stream --workload stream --prep-threads 4 "$@"
run balanced --workload balanced --prep-threads 4 "$@"
exit $rc
