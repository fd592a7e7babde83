# SPDX-License-Identifier: MIT
# Sourced by bench/gpu/run: printing, JSON records, and the two ways a
# suite runs a program (run_bench for gpupipe-bench, run_test for a test
# program). Each suite writes into $dir (its own folder) and appends one
# JSON object per program run to $dir/.runs; suite_end folds them into
# $dir/suite.json.

say() {
	printf '%s\n' "$*"
}

die() {
	printf 'bench/gpu/run: %s\n' "$*" >&2
	exit 2
}

# json_str TEXT: TEXT as a JSON string literal (control characters dropped).
json_str() {
	printf '"%s"' "$(printf '%s' "$1" | tr '\t\n\r' '   ' |
		tr -d '\000-\037' | sed 's/\\/\\\\/g; s/"/\\"/g')"
}

# json_obj KEY VALUE ...: one JSON object; a VALUE that is a number,
# true, false, null or starts with [ or { goes in as it is.
json_obj() {
	local sep= k v
	printf '{'
	while [ $# -ge 2 ]; do
		k=$1 v=$2
		shift 2
		printf '%s"%s": ' "$sep" "$k"
		case $v in
		true | false | null | \[* | \{*) printf '%s' "$v" ;;
		*) if [[ $v =~ ^-?[0-9]+(\.[0-9]+)?$ ]]; then printf '%s' "$v"
		   else json_str "$v"; fi ;;
		esac
		sep=', '
	done
	printf '}'
}

# suite_begin NAME: a fresh folder for the suite's files.
suite_begin() {
	suite=$1
	dir=$work/$suite
	rm -rf "$dir"
	mkdir -p "$dir"
	: >"$dir/.runs"
	suite_status=ok
	suite_note=
	suite_t0=$(date +%s)
	say
	say "##### suite $suite ($(date -u '+%Y-%m-%d %H:%M:%S UTC'))"
}

# suite_fail / suite_skip WHY: the suite's status, with a note.
suite_fail() {
	suite_status=failed
	suite_note="${suite_note:+$suite_note; }$*"
	say "FAILED: $*"
}

suite_skip() {
	suite_status=skipped
	suite_note=$*
	say "skipped: $*"
}

# suite_end: $dir/suite.json, and the suite's line in the run's summary.
suite_end() {
	local runs
	runs=$(paste -sd, "$dir/.runs")
	json_obj suite "$suite" status "$suite_status" note "$suite_note" \
		seconds $(($(date +%s) - suite_t0)) quick "$quick_json" \
		build "$build" runs "[$runs]" >"$dir/suite.json"
	echo >>"$dir/suite.json"
	rm -f "$dir/.runs"
	printf '%-8s %-8s %s\n' "$suite" "$suite_status" "$suite_note" \
		>>"$work/summary.txt"
	[ "$suite_status" != failed ] || run_status=1
	[ -z "$pack" ] || pack_suite
}

# pack_suite: on the GPU machine at most 8 files come back from $OUT: the
# suite's folder as SUITE.tgz, as soon as it ends (a run cut short by the
# command's time limit keeps what it finished), with run.log and env.json.
pack_suite() {
	tar czf "$out/$suite.tgz" -C "$work" "$suite"
	cp "$work/env.json" "$work/run.log" "$out/"
	say "packed: $out/$suite.tgz"
}

# outputs_of JSON: ok when the bench checked every output of every mode,
# FAILED when a mode's check failed, missing when there is no JSON.
outputs_of() {
	if [ ! -s "$1" ]; then
		echo missing
	elif grep -q '"check": "FAILED"' "$1"; then
		echo FAILED
	else
		echo ok
	fi
}

# run_logged NAME CMD...: CMD under the command timeout, its output into
# $dir/NAME.log; sets rc and secs.
run_logged() {
	local name=$1 t0
	shift
	say
	say "=== [$suite/$name] $*"
	t0=$(date +%s)
	rc=0
	timeout -k 10 "$cmd_timeout" "$@" >"$dir/$name.log" 2>&1 || rc=$?
	secs=$(($(date +%s) - t0))
}

# record NAME KEY VALUE...: one run's JSON object, appended to $dir/.runs.
record() {
	local name=$1
	shift
	json_obj name "$name" exit "$rc" seconds "$secs" "$@" >>"$dir/.runs"
	echo >>"$dir/.runs"
}

# run_prog NAME CMD...: any program; only its exit status judges it.
run_prog() {
	local name=$1
	run_logged "$@"
	cat "$dir/$name.log"
	shift
	record "$name" command "$*" log "$name.log"
	[ "$rc" = 0 ] || suite_fail "$name: exit $rc"
}

# run_bench NAME ARG...: gpupipe-bench ($bench) with JSON into
# $dir/NAME.json. The bench checks every output it produces (post compares
# each with a CPU reference; the JSON says "check": "ok" or "FAILED" per
# mode) and exits 1 if a mode FAILED or a self-check broke: both fail the
# suite.
run_bench() {
	local name=$1 outputs selfcheck
	shift
	run_logged "$name" "$bench" "$@" --json "$dir/$name.json"
	grep -v '^$' "$dir/$name.log" || true
	outputs=$(outputs_of "$dir/$name.json")
	selfcheck=$(sed -n 's/.*"self_check": "\([^"]*\)".*/\1/p' \
		"$dir/$name.json" 2>/dev/null | head -n 1)
	say "($secs s, exit $rc, outputs $outputs)"
	record "$name" command "gpupipe-bench $*" outputs "$outputs" \
		self_check "${selfcheck:-none}" json "$name.json" log "$name.log"
	# A quick run (testing the runner) on a loaded machine can skew a
	# timing self-check; its outputs still count. A measured run fails.
	if [ "$rc" = 1 ] && [ "$outputs" = ok ] && [ -n "$quick" ] &&
		grep -q '^SELF-CHECK FAILED' "$dir/$name.log"; then
		say "(quick run: a timing self-check failed, outputs ok)"
		return 0
	fi
	[ "$rc" = 0 ] && [ "$outputs" = ok ] ||
		suite_fail "$name: exit $rc, outputs $outputs"
}

# run_test PROGRAM [ARG...]: a test program under tests/run-test, the
# harness of `make check`, whose verdict names a failed case, a timeout,
# a signal or a sanitizer report.
run_test() {
	local name verdict counts
	name=$(basename "$1")
	run_logged "$name" env -u GPUPIPE_PROGRESS \
		GPUPIPE_TEST_TIMEOUT="$cmd_timeout" sh "$top/tests/run-test" "$@"
	verdict=$(sed -n 's/^gpupipe-result [^:]*: //p' "$dir/$name.log" |
		tail -n 1)
	counts=$(grep -E '^gpupipe-test [^:]+: [0-9]+ passed' \
		"$dir/$name.log" | tail -n 1 | sed 's/^gpupipe-test [^:]*: //')
	grep -E '^    [^ ]|FAILED|^gpupipe-(test|result)' "$dir/$name.log" |
		tail -n 40 || true
	record "$name" command "$*" verdict "${verdict:-none}" \
		counts "${counts:-none}" log "$name.log"
	[ "$rc" = 0 ] || suite_fail "$name: ${verdict:-exit $rc}"
}

# find_prog NAME: the build's program NAME, wherever the build put it
# (bench/, bench/probes/, tests/).
find_prog() {
	find "$build" -path '*/.libs' -prune -o -type f -name "$1" -perm -u+x \
		-print 2>/dev/null | head -n 1
}
