#!/bin/sh
# On a GPU machine with several GPUs (nvidia-h200-x2), for issue 8: the
# EGL devices, the device tests, and gpupipe on one device beside
# gpupipe-all on every hardware device (scaling ratio), for sgemm 2048,
# balanced with the post pool, and tiny. Build first with
# bench/gpu-build.sh; run from the repository root with .gl and .carry
# carried:  sh bench/gpu-devices.sh
set -u
res=/tmp/devices
. bench/gpu-env.sh
nvidia-smi -L
.carry/gpupipe-bench --list-devices || rc=1
for t in test_devices test_pipeline; do
	echo "=== $t"
	.carry/$t >"/tmp/$t.log" 2>&1 || rc=1
	grep -E 'devices|gpupipe-test|FAILED|^ +[0-9]+\. ' "/tmp/$t.log"
done
run sgemm --rounds 3 --items 200 --workload sgemm --n 2048 --prep-threads 4 --modes raw,gpupipe --devices all
run balanced --rounds 3 --items 2000 --workload balanced --prep-threads 8 --post-threads 4 --modes raw,gpupipe --devices all
run tiny --rounds 3 --workload tiny --check sampled --prep-threads 4 --modes raw,gpupipe --devices all
tar czf "$OUT/devices.tgz" -C "$res" .
exit $rc
