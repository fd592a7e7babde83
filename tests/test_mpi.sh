#!/bin/sh
# examples/mpi: one pipeline per MPI rank under mpirun. Every run is
# bounded by timeout, so a rank waiting forever on another fails this
# program instead of hanging it. Each case quotes the sentence of
# examples/mpi.c (its comment or --help) that it checks.
set -u
build=${GPUPIPE_BUILDDIR:-.}
. "${srcdir:-.}/tests/cases.sh"

# GPUPIPE_MPI is configure's verdict (make check sets it); a program left
# in the build tree by an earlier configure does not count.
prog=$build/examples/mpi
case ${GPUPIPE_MPI:-} in
no)
	echo "skipped: no MPI (configure found neither ompi-c nor mpicc)"
	exit 77 ;;
yes)
	if [ ! -x "$prog" ]; then
		echo "configure found MPI, but $prog was not built"
		exit 1
	fi ;;
*)
	if [ ! -x "$prog" ]; then
		echo "skipped: no MPI ($prog not built)"
		exit 77
	fi ;;
esac

# Open MPI refuses root unless told twice (the flag for 4.x and later,
# the variables for the versions that read only those).
LP_NUM_THREADS=${LP_NUM_THREADS:-0}
export LP_NUM_THREADS
root=
if [ "$(id -u)" = 0 ]; then
	root=--allow-run-as-root
	OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
	export OMPI_ALLOW_RUN_AS_ROOT OMPI_ALLOW_RUN_AS_ROOT_CONFIRM
fi
# Under AddressSanitizer, LeakSanitizer reports what Open MPI itself
# still holds at exit, from components it has unloaded by then (stacks of
# "<unknown module>": nothing to suppress by name), and no frame of ours.
# The ranks run with leak detection off; every other check of ASan and
# UBSan stays on. (examples/mpi's own memory is the ordinary kind:
# freed on every path, as the other examples' under ASan.)
case "${SAN_CFLAGS:-}" in
*address*)
	ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
	export ASAN_OPTIONS
	san=-x\ ASAN_OPTIONS ;;
*) san= ;;
esac
mpi() {
	limit=$1 np=$2
	shift 2
	timeout "$limit" mpirun $root --oversubscribe -np "$np" \
		-x LP_NUM_THREADS $san "$prog" "$@" 2>&1
}

# "Rank 0 ... prints one line for the job and one per rank, and ... each
# exits 0 only if every item is correct."
for np in 2 3; do
	out=$(mpi 120 $np --items 600)
	rc=$?
	want="^mpi: 600 items of 256 floats, $np ranks: 600 correct,"
	want="$want 0 wrong, 0 failed, [0-9]* items/s\$"
	lines=0 r=0
	while [ $r -lt $np ]; do
		n=$(( (600 - r + np - 1) / np ))
		line="^mpi: rank $r: $n items, [0-9]* items/s"
		echo "$out" | grep -q "$line" && lines=$((lines + 1))
		r=$((r + 1))
	done
	if [ $rc = 0 ] && echo "$out" | grep -q "$want" && [ $lines = $np ]
	then
		ok "examples/mpi on $np ranks: 600 correct, $np rank lines"
	else
		bad "examples/mpi on $np ranks" "status $rc: $out"
	fi
	echo "$out"
done

# "--fail-rank R --fail-every K: rank R's prep_cb fails every K-th of its
# own items (its K-th, 2K-th, ...), which complete GPUPIPE_FAILED; rank 0
# lists their global numbers and the job exits 1." Rank 1 of 2 has items
# 1, 3, 5, ...; its 7th, 14th, ... are 13, 27, 41, ...: 600 / 2 / 7 = 42
# of them, and the other 558 are correct.
want_failed=$(awk 'BEGIN { for (j = 1; j <= 300; j++)
	if (j % 7 == 0) printf " %d", 1 + 2 * (j - 1) }')
out=$(mpi 60 2 --items 600 --fail-rank 1 --fail-every 7)
rc=$?
want='^mpi: 600 items of 256 floats, 2 ranks: 558 correct, 0 wrong,'
want="$want 42 failed, "
if [ $rc = 1 ] && echo "$out" | grep -q "$want" &&
   echo "$out" | grep -qx "mpi: failed items:$want_failed"; then
	ok "examples/mpi --fail-rank 1 --fail-every 7: status 1, 42 listed"
else
	bad "examples/mpi --fail-rank 1 --fail-every 7" \
		"status $rc (want 1; 124 is the timeout): $out"
fi
echo "$out"

# "--help: print this and exit" (status 0, the usage on stdout).
out=$(mpi 60 2 --help)
rc=$?
if [ $rc = 0 ] && echo "$out" | grep -q '^usage: mpirun -np RANKS mpi'; then
	ok "examples/mpi --help: the usage, status 0"
else
	bad "examples/mpi --help" "status $rc: $out"
fi
finish mpi
