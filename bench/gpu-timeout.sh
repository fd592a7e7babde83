#!/bin/sh
# On the NVIDIA GPU machine, for issue 6: the GPU timeout proven with a
# kernel that spins past fence_timeout_ms (tests/test_timeout, both wait
# modes), then the correctness suites. Build first with bench/gpu-build.sh.
set -u
. bench/gpu-env.sh
for t in test_timeout test_pipeline test_api test_lifecycle test_batching; do
	echo "=== $t"
	.carry/$t >"/tmp/$t.log" 2>&1 || rc=1
	grep -vE '^[[:space:]]*$|CUnit - A|cunit.sourceforge' "/tmp/$t.log" |
		grep -vE '^  Test: .*passed$' | tail -n 40
done
exit $rc
