#!/bin/sh
# SPDX-License-Identifier: MIT
# Every check CI runs, from a clean tree, on Mesa llvmpipe:
#
#   plain      make check in a plain build
#   distcheck  make distcheck: the release tarball builds out of tree and
#              passes its own make check
#   tsan       make check under ThreadSanitizer
#   asan       make check under AddressSanitizer and UndefinedBehavior-
#              Sanitizer, in the fault-injection build (adds tests/test_faults
#              and the object-level half of tests/test_fault_points.sh)
#
#   tests/check-all.sh [BUILD...]      (default: all four, in that order)
#
# While it runs it prints a line when each build and each test program
# starts and ends (build, seconds since the start, program, its own seconds,
# its count and verdict) and a "still running" line each minute of a long
# program. At the end it prints the log of every program that failed, names
# each failure with its build and log, and closes with one line
# "N passed, N failed" counting test cases (a program that failed without a
# count of its own counts as one failed case). GPUPIPE_CHECK_VERBOSE=1
# prints every log, passed or not. Exit status 0 only if nothing failed.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 2
# Test programs at once in each build (GPUPIPE_CHECK_JOBS; default: cores).
jobs=${GPUPIPE_CHECK_JOBS:-$(nproc 2>/dev/null || echo 2)}
export LP_NUM_THREADS=0
passed=0
failed=0
failures=
t_start=$(date +%s)
export GPUPIPE_PROGRESS_T0="$t_start"

builds=${*:-plain distcheck tsan asan}
for b in $builds; do
	case $b in
	plain|distcheck|tsan|asan) ;;
	*) echo "check-all.sh: unknown build '$b' (plain, distcheck, tsan," \
		"asan)" >&2; exit 2 ;;
	esac
done

elapsed() { echo $(($(date +%s) - t_start)); }
say() { printf '[%-6s %5ss] %s\n' "$1" "$(elapsed)" "$2"; }

say all "autogen"
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

# fail BUILD WHAT LOG: record one failure for the summary.
fail() {
	failures="$failures
  $1: $2 (log: $3)"
}

# count BUILD LOG: add one test program's cases, from its
# "gpupipe-test NAME: N passed, M failed" line, and judge it by the
# "gpupipe-result PROG: VERDICT" line tests/run-test appended.
count() {
	line=$(grep -E '^gpupipe-test [^:]+: [0-9]+ passed, [0-9]+ failed$' \
		"$2" | tail -n 1)
	verdict=$(grep -E '^gpupipe-result ' "$2" | tail -n 1 |
		sed -E 's/^gpupipe-result [^:]+: //')
	prog=${2#"$top"/}
	prog=${prog#build/ci-"$1"/}
	prog=${prog%.log}
	p=0
	f=0
	if [ -n "$line" ]; then
		p=$(echo "$line" | sed -E 's/.*: ([0-9]+) passed, .*/\1/')
		f=$(echo "$line" | sed -E 's/.*, ([0-9]+) failed$/\1/')
	fi
	passed=$((passed + p))
	failed=$((failed + f))
	case $verdict in
	"ok ("*|"skipped ("*)
		[ "${GPUPIPE_CHECK_VERBOSE:-0}" = 1 ] || return 0 ;;
	*)
		# Failed without failing a case of its own: one more.
		[ "$f" = 0 ] && failed=$((failed + 1))
		fail "$1" "$prog: ${verdict:-no verdict (the harness did not run it)}" "$2" ;;
	esac
	echo
	echo "=== $1: $2"
	if [ "$(wc -l <"$2")" -gt 2000 ]; then
		head -n 500 "$2"
		echo "... ($(wc -l <"$2") lines; the middle left out) ..."
		tail -n 1500 "$2"
	else
		cat "$2"
	fi
}

# run_check BUILD DIR TARGET: make TARGET in DIR with the progress file
# followed on our output while it runs.
run_check() {
	progress=$2/progress.txt
	: >"$progress"
	(cd "$2" && GPUPIPE_BUILD_NAME=$1 GPUPIPE_PROGRESS=$progress \
		no_aslr make -j"$jobs" "$3" >"$3.out" 2>&1) &
	pid=$!
	tail -n +1 -s 1 -f --pid="$pid" "$progress" 2>/dev/null
	wait "$pid"
}

# build NAME CONFIGURE-ARGS...: configure, build and `make check` in
# build/ci-NAME, then count the logs.
build() {
	name=$1
	shift
	dir=$top/build/ci-$name
	t0=$(date +%s)
	rm -rf "$dir"
	mkdir -p "$dir"
	say "$name" "configure $* and build"
	if ! (cd "$dir" && ../../configure --enable-fatal-warnings "$@" \
			>configure.out 2>&1 && make -j"$jobs" >make.out 2>&1); then
		tail -n 60 "$dir"/configure.out "$dir"/make.out
		failed=$((failed + 1))
		fail "$name" "the build failed" "$dir/make.out"
		say "$name" "build FAILED after $(($(date +%s) - t0)) s"
		return
	fi
	say "$name" "built in $(($(date +%s) - t0)) s; make check"
	run_check "$name" "$dir" check
	# The harness writes test-suite.log once it has run the tests; without
	# it, make check stopped before them (a missing file, a build error).
	if [ ! -f "$dir/test-suite.log" ]; then
		tail -n 30 "$dir/check.out"
		failed=$((failed + 1))
		fail "$name" "make check did not run the tests" "$dir/check.out"
	else
		for log in "$dir"/tests/*.log; do
			[ -f "$log" ] && count "$name" "$log"
		done
	fi
	say "$name" "done in $(($(date +%s) - t0)) s"
}

# The release tarball builds out of tree and passes its own tests; its
# make check prints progress as "distcheck" too.
distcheck() {
	dir=$top/build/ci-plain
	t0=$(date +%s)
	if [ ! -f "$dir/Makefile" ]; then
		mkdir -p "$dir"
		(cd "$dir" && ../../configure >configure.out 2>&1)
	fi
	say distcheck "make distcheck"
	if run_check distcheck "$dir" distcheck; then
		tail -n 4 "$dir/distcheck.out"
		passed=$((passed + 1))
	else
		tail -n 60 "$dir/distcheck.out"
		failed=$((failed + 1))
		fail distcheck "make distcheck failed" "$dir/distcheck.out"
	fi
	say distcheck "done in $(($(date +%s) - t0)) s"
}

for b in $builds; do
	case $b in
	plain) build plain ;;
	distcheck) distcheck ;;
	tsan)
		TSAN_OPTIONS="halt_on_error=0 second_deadlock_stack=1 exitcode=66 suppressions=$top/tests/tsan.supp" \
			build tsan --enable-sanitizer=thread ;;
	asan)
		# quarantine_size_mb=0: llvmpipe allocates much per dispatch,
		# and ASan's quarantine made it 10-30x slower (DESIGN.md).
		# LeakSanitizer runs at each program's exit; the test programs
		# keep Mesa's driver loaded (dlopen RTLD_NODELETE) so its unload
		# at eglTerminate is not reported as a leak.
		ASAN_OPTIONS="quarantine_size_mb=0:detect_leaks=1:halt_on_error=0" \
		UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
			build asan --enable-sanitizer=address,undefined \
				--enable-fault-injection ;;
	esac
done

echo
say all "finished: $builds"
if [ -n "$failures" ]; then
	echo "FAILED:$failures"
fi
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
