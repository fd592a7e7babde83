#!/bin/sh
# Every check CI runs, from a clean tree: `make check` in a plain build,
# `make distcheck`, and `make check` again under ThreadSanitizer and under
# AddressSanitizer with UndefinedBehaviorSanitizer, on Mesa llvmpipe. The
# ASan build is also the fault-injection build: it adds tests/test_faults
# (the walk over every injection point, leaks checked at exit) and the
# object-level half of tests/test_fault_points.sh. Prints every test log and
# ends with one line "N passed, N failed" counting test cases.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 2
jobs=$(nproc 2>/dev/null || echo 2)
export LP_NUM_THREADS=0
passed=0
failed=0

./autogen.sh >build-autogen.log 2>&1 || { cat build-autogen.log; exit 1; }

# Runs a command with ASLR off where the kernel lets us: ThreadSanitizer
# fails on kernels with a large mmap randomisation otherwise.
no_aslr() {
	if setarch "$(uname -m)" -R true 2>/dev/null; then
		setarch "$(uname -m)" -R "$@"
	else
		"$@"
	fi
}

# count LOG: add the "gpupipe-test NAME: N passed, M failed" line of one
# test program's log; a program that printed none (it crashed, hung or
# failed to start) counts as one failed case.
count() {
	line=$(grep -E '^gpupipe-test [^:]+: [0-9]+ passed, [0-9]+ failed$' "$1" | tail -n 1)
	if [ -z "$line" ]; then
		echo "!! $1: no summary line: the program crashed or hung"
		failed=$((failed + 1))
		return
	fi
	p=$(echo "$line" | sed -E 's/.*: ([0-9]+) passed, ([0-9]+) failed/\1/')
	f=$(echo "$line" | sed -E 's/.*: ([0-9]+) passed, ([0-9]+) failed/\2/')
	passed=$((passed + p))
	failed=$((failed + f))
	# A program may pass its cases and still fail (a sanitizer report at
	# exit); automake's .trs says so.
	trs=${1%.log}.trs
	if [ "$f" = 0 ] && [ -f "$trs" ] && ! grep -q ':test-result: PASS' "$trs"; then
		echo "!! $1: cases passed but the program failed (see its log)"
		failed=$((failed + 1))
	fi
}

# build NAME CONFIGURE-ARGS...: configure, build and `make check` in
# build/ci-NAME, then print and count the logs.
build() {
	name=$1
	shift
	dir=build/ci-$name
	rm -rf "$dir"
	mkdir -p "$dir"
	echo "=== $name: configure $*"
	if ! (cd "$dir" && ../../configure --enable-fatal-warnings "$@" \
			>configure.out 2>&1 && make -j"$jobs" >make.out 2>&1); then
		echo "!! $name: the build failed"
		tail -n 60 "$dir"/configure.out "$dir"/make.out
		failed=$((failed + 1))
		return
	fi
	(cd "$dir" && no_aslr make -j"$jobs" check >check.out 2>&1)
	# The harness writes test-suite.log once it has run the tests; without
	# it, make check stopped before them (a missing file, a build error).
	if [ ! -f "$dir/test-suite.log" ]; then
		echo "!! $name: make check did not run the tests"
		tail -n 30 "$dir/check.out"
		failed=$((failed + 1))
		return
	fi
	for log in "$dir"/tests/*.log; do
		[ -f "$log" ] || continue
		echo
		echo "=== $name: $log"
		cat "$log"
		count "$log"
	done
}

build plain

# The release tarball builds out of tree and passes its own tests.
echo
echo "=== plain: make distcheck"
if (cd build/ci-plain && make -j"$jobs" distcheck >distcheck.out 2>&1); then
	tail -n 4 build/ci-plain/distcheck.out
	echo "gpupipe-test distcheck: 1 passed, 0 failed"
	passed=$((passed + 1))
else
	tail -n 40 build/ci-plain/distcheck.out
	echo "gpupipe-test distcheck: 0 passed, 1 failed"
	failed=$((failed + 1))
fi

TSAN_OPTIONS="halt_on_error=0 second_deadlock_stack=1 exitcode=66 suppressions=$top/tests/tsan.supp" \
	build tsan --enable-sanitizer=thread
# quarantine_size_mb=0: llvmpipe allocates much per dispatch, and ASan's
# quarantine made it 10-30x slower (DESIGN.md). LeakSanitizer runs at each
# program's exit; the test programs keep Mesa's driver loaded (dlopen
# RTLD_NODELETE) so its unload at eglTerminate is not reported as a leak.
ASAN_OPTIONS="quarantine_size_mb=0:detect_leaks=1:halt_on_error=0" \
UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
	build asan --enable-sanitizer=address,undefined --enable-fault-injection

echo
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
