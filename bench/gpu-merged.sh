#!/bin/sh
# On the NVIDIA GPU machine, after merging issue 5's batch search with
# issue 6's fault handling: the correctness suites (the GPU timeout
# included), then issue 5's check (tiny, balanced, sgemm with the library's
# defaults, raw beside). Build first with bench/gpu-build.sh; run from the
# repository root with .gl and .carry carried:  sh bench/gpu-merged.sh
set -u
res=/tmp/merged
. bench/gpu-env.sh
for t in test_timeout test_pipeline test_api test_batching test_lifecycle; do
	echo "=== $t"
	.carry/$t >"/tmp/$t.log" 2>&1 || rc=1
	grep -vE '^[[:space:]]*$|CUnit - A|cunit.sourceforge' "/tmp/$t.log" |
		grep -vE '^  Test: .*passed$|^(Run Summary|Elapsed| +(suites|tests|asserts))' |
		tail -n 20
done
T="--workload tiny --check sampled --prep-threads 4"
run tiny --rounds 5 $T --modes raw,gpupipe
run balanced --rounds 3 --items 2000 --workload balanced --prep-threads 4 --modes raw,sync,gpupipe
run sgemm --rounds 3 --items 200 --workload sgemm --n 2048 --prep-threads 4 --modes raw,gpupipe
tar czf "$OUT/merged.tgz" -C "$res" .
exit $rc
