#!/bin/sh
# On the NVIDIA GPU machine: gpupipe's correctness suites, then a soak of
# 100,000 items per configuration at depths 1, 3 and 8 with every output
# checked. Build first with bench/gpu-build.sh; run from the repository
# root with .gl and .carry carried.
set -u
. bench/gpu-env.sh
export GPUPIPE_TEST_CYCLES=${GPUPIPE_TEST_CYCLES:-100}
for t in test_pipeline test_api test_lifecycle test_batching; do
	echo "=== $t"
	.carry/$t >"/tmp/$t.log" 2>&1 || rc=1
	grep -vE '^[[:space:]]*$|CUnit - A|cunit.sourceforge' "/tmp/$t.log"
done
echo "=== soak"
.carry/soak --items "${SOAK_ITEMS:-100000}" --depths 1,3,8 \
	--batches 1,16 --prep-threads 4 || rc=1
exit $rc
