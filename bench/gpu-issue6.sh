#!/bin/sh
# On the NVIDIA GPU machine, for issue 6: the GPU timeout proven with a
# kernel that spins past fence_timeout_ms (tests/test_timeout), the
# correctness suites on the library with per-batch error checks and reset
# notification, and an A/B of what those cost: the tiny and balanced
# workloads with this library (.carry/gpupipe-bench) and with the one
# before it (.carry/gpupipe-bench-base), alternated. Build first with
# bench/gpu-build.sh and BASE=<commit> bench/gpu-build-base.sh.
set -u
res=/tmp/issue6
. bench/gpu-env.sh
echo "=== test_timeout"
.carry/test_timeout 2>&1 | grep -vE '^[[:space:]]*$|CUnit - A|cunit.sourceforge' || rc=1
for t in test_pipeline test_api test_lifecycle test_batching; do
	echo "=== $t"
	.carry/$t >"/tmp/$t.log" 2>&1 || rc=1
	grep -E 'gpupipe-test|FAILED|^ +[0-9]+\. ' "/tmp/$t.log"
done
ab() {
	what=$1
	shift
	for round in 1 2; do
		for lib in base new; do
			bin=.carry/gpupipe-bench
			[ "$lib" = base ] && bin=.carry/gpupipe-bench-base
			echo
			echo "=== [$what-$lib-$round] $lib: gpupipe-bench $*"
			$bin "$@" --json "$res/$what-$lib-$round.json" |
				grep -v '^$' || rc=1
		done
	done
}
ab tiny --rounds 3 --workload tiny --check sampled --prep-threads 4 --modes raw,gpupipe
ab balanced --rounds 3 --items 2000 --workload balanced --prep-threads 4 --modes raw,gpupipe
tar czf "$OUT/issue6.tgz" -C "$res" .
exit $rc
