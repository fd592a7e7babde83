#!/bin/sh
# Sourced by the GPU-machine scripts: unpacks the carried GL run-time
# packages (.gl), points glvnd at NVIDIA's EGL, finds the shaders, and
# defines run NAME ARGS..., which runs gpupipe-bench with JSON into $res.
for f in .gl/*.deb; do dpkg -x "$f" /; done
ldconfig
export __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
export GPUPIPE_SHADER_DIR="$PWD/shaders"
nvidia-smi --query-gpu=name,driver_version,clocks.sm,temperature.gpu \
	--format=csv,noheader
rc=0
res=${res:-/tmp/results}
mkdir -p "$res"
run() {
	name=$1
	shift
	echo
	echo "=== [$name] gpupipe-bench $*"
	t0=$(date +%s)
	.carry/gpupipe-bench "$@" --json "$res/$name.json" | grep -v '^$' ||
		rc=1
	echo "($(($(date +%s) - t0)) s)"
}
