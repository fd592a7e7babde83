#!/bin/sh
# On this machine (no GPU): the four workloads on Mesa's llvmpipe with the
# plain build, for RESULTS.md's llvmpipe rows beside the H100's. Run from
# the repository root after building in build/plain:
#   sh bench/llvmpipe-table.sh OUTDIR
set -u
out=${1:-/tmp/llvmpipe-table}
mkdir -p "$out"
export LP_NUM_THREADS=0 GPUPIPE_SHADER_DIR="$PWD/shaders"
bench=build/plain/bench/gpupipe-bench
rc=0
for w in "tiny --check sampled" "balanced" "sgemm" "stream --post-threads 2"; do
	set -- $w
	echo "=== gpupipe-bench --workload $* --prep-threads 2"
	$bench --workload "$@" --prep-threads 2 --json "$out/$1.json" |
		grep -v '^$' || rc=1
done
exit $rc
