#!/bin/sh
# Builds gpupipe statically (libtool's wrapper scripts of a shared build
# hold this machine's paths and break elsewhere) and copies the programs
# the GPU machine runs into .carry/ (ignored by git). Carry .gl and .carry.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
[ -x configure ] || ./autogen.sh >/dev/null
mkdir -p build/gpu .carry
cd build/gpu
[ -f Makefile ] || ../../configure --disable-shared --enable-fatal-warnings >/dev/null
make -j"$(nproc)" >/dev/null
make -j"$(nproc)" check TESTS= >/dev/null
make bench/probe-dispatch bench/probe-mapping >/dev/null
for prog in tests/test_pipeline tests/test_api tests/test_lifecycle \
	tests/test_batching tests/test_timeout tests/test_devices \
	tests/soak examples/minimal bench/gpupipe-bench bench/probe-dispatch \
	bench/probe-mapping; do
	[ -x "$prog" ] && cp "$prog" "$top/.carry/"
done
ls -la "$top/.carry"
