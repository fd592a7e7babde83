#!/bin/sh
# On the NVIDIA GPU machine: one run of each workload with the library's
# defaults, and the plain blocking wait beside it (the short form of
# bench/gpu-sweep.sh). Build first with bench/gpu-build.sh; run from the
# repository root with .gl and .carry carried:  sh bench/gpu-final.sh
set -u
for f in .gl/*.deb; do dpkg -x "$f" /; done
ldconfig
export __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
export GPUPIPE_SHADER_DIR="$PWD/shaders"
res=/tmp/final
mkdir -p "$res"
nvidia-smi --query-gpu=name,driver_version,clocks.sm,temperature.gpu --format=csv,noheader
rc=0
run() {
	name=$1
	shift
	echo
	echo "=== [$name] gpupipe-bench $*"
	.carry/gpupipe-bench "$@" --json "$res/$name.json" | tail -n +4 | grep -v '^$' || rc=1
}
R="--rounds ${ROUNDS:-5}"
run tiny $R --workload tiny --check sampled --prep-threads 4
run tiny-block $R --workload tiny --check sampled --prep-threads 4 --modes raw,gpupipe --wait block
run tiny-b64 $R --workload tiny --check sampled --prep-threads 4 --modes raw,gpupipe --batch 64
run sgemm $R --workload sgemm --n 2048 --prep-threads 4 --modes raw,sync,gpupipe
run balanced $R --workload balanced --prep-threads 4 --modes raw,sync,gpupipe
run stream $R --workload stream --prep-threads 4 --post-threads 4 --modes raw,sync,gpupipe
tar czf "$OUT/final.tgz" -C "$res" .
exit $rc
