#!/bin/sh
# bench/gpu/run, the GPU runner, on this machine's renderer with small
# counts (-q): every suite runs on this build and passes (cuda and probes
# may be skipped: no NVIDIA GPU, no probes built; targets passes without
# its CUDA part; profile is skipped where perf cannot record), says which EGL vendor file it took, and writes
# well-formed JSON; the table suite's JSON makes RESULTS.md's table, the
# targets suite's the targets table; the A/B harness runs a build against
# itself, and fails when an output is wrong.
set -u
src=${srcdir:-.}
build=${GPUPIPE_BUILDDIR:-.}
run="bash $src/bench/gpu/run -q -b $build"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$src/tests/cases.sh"

# The scripts parse.
for f in "$src"/bench/gpu/run "$src"/bench/gpu/build "$src"/bench/gpu/*.sh; do
	if bash -n "$f" 2>"$tmp/n.err"; then
		ok "bash -n ${f#"$src"/}"
	else
		bad "bash -n ${f#"$src"/}" "$(cat "$tmp/n.err")"
	fi
done

# status_of SUITE: the status its suite.json gives.
status_of() {
	sed -n 's/^{"suite": "[a-z]*", "status": "\([a-z]*\)".*/\1/p' \
		"$tmp/all/$1/suite.json" 2>/dev/null
}

# Every suite, quick.
suites="check timeout table devices probes cuda targets profile"
$run -o "$tmp/all" $suites >"$tmp/all.out" 2>&1
rc=$?
if [ $rc = 0 ]; then
	ok "bench/gpu/run -q $suites: exit 0"
else
	bad "bench/gpu/run -q (every suite)" "exit $rc"
	cat "$tmp/all.out"
fi
for s in $suites; do
	st=$(status_of $s)
	case $s/$st in
	*/ok | cuda/skipped | probes/skipped | profile/skipped)
		ok "suite $s: $st" ;;
	*) bad "suite $s" "status '$st'" ;;
	esac
done
if grep -q '^EGL vendor file: .*(\(no NVIDIA GPU here: Mesa.s\|an NVIDIA GPU is here: NVIDIA.s\|no NVIDIA GPU and no .*\|named by the caller\))$' \
	"$tmp/all.out" && grep -q '^GL renderer: .' "$tmp/all.out"; then
	ok "it names the EGL vendor file, why, and the GL renderer"
else
	bad "EGL vendor file and renderer" "$(head -n 8 "$tmp/all.out")"
fi

# The profile suite, where perf records: each of the pipeline's threads
# by its name, and a prep thread's symbols (which of them rank depends
# on the build: a sanitizer's runtime can bury the library's).
if [ "$(status_of profile)" = ok ]; then
	f=$tmp/all/profile/tiny-gpupipe
	if grep -q ' gp-submit ' "$f-threads.txt" &&
		grep -q ' gp-prep0 ' "$f-threads.txt" &&
		grep -q ' gp-readback ' "$f-threads.txt" &&
		grep -Eq ' gp-prep0 .* \[[.k]\] ' "$f-symbols.txt"; then
		ok "profile: CPU by thread, and by symbol"
	else
		bad "profile: threads and symbols" "$(head -n 30 "$f-threads.txt")"
	fi
fi

# The table suite: 4 workloads x (defaults, block, one fixed batch per
# wait, full checks per wait), every output checked.
# 24 runs of the table, and one traced run (its .trace.json is no run).
n=$(ls "$tmp"/all/table/*-*.json 2>/dev/null | grep -vc '\.trace\.json$')
nok=$(grep -o '"outputs": "ok"' "$tmp/all/table/suite.json" | wc -l)
if [ "$n" = 25 ] && [ "$nok" = 25 ] &&
	[ -s "$tmp/all/table/balanced-trace.trace.json" ]; then
	ok "table: 25 runs (one traced), every output checked"
else
	bad "table" "$n JSON files, $nok runs with outputs ok"
fi

# The targets suite: 6 rows x 3 runs, every output checked; without an
# NVIDIA GPU its CUDA part is skipped with a line saying so.
n=$(ls "$tmp"/all/targets/*-[123].json 2>/dev/null | wc -l)
nok=$(grep -o '"outputs": "ok"' "$tmp/all/targets/suite.json" | wc -l)
if [ "$n" = 18 ] && [ "$nok" = 18 ]; then
	ok "targets: 18 runs (6 rows x 3), every output checked"
else
	bad "targets" "$n JSON files, $nok runs with outputs ok"
fi
if [ -f "$tmp/all/targets/cuda.json" ] ||
	grep -q '^CUDA anchor not run (.*): ' "$tmp/all.out"
then
	ok "targets: the CUDA anchor ran, or a line says why not"
else
	bad "targets' CUDA part" "no cuda.json and no line saying why"
fi

# The A/B harness: this build as A and as B, then with a wrong output.
$run -o "$tmp/ab" ab "$build" "$build" tiny tiny@b3 >"$tmp/ab.out" 2>&1
rc=$?
if [ $rc = 0 ] && grep -q '"workload": "tiny", "outputs": "ok"' \
	"$tmp/ab/ab/ab.json" && grep -q '"ratio": [0-9]' "$tmp/ab/ab/ab.json" &&
   grep -q '^| tiny | ' "$tmp/ab/ab/ab.md" &&
   grep -q '^| tiny@b3 | ' "$tmp/ab/ab/ab.md" &&
   grep -q -- '--batch 3 --modes raw,gpupipe' "$tmp/ab.out" &&
   { ! command -v python3 >/dev/null ||
     grep -q '^| tiny@b3-2-B | [0-9.]* | [0-9.]* | .* | [0-9.]*, [0-9.]* | [0-9.]*, [0-9.]*, [0-9.]*, [0-9.]* |$' \
	"$tmp/ab/ab/ab.md"; }; then
	ok "ab: A B A B, medians and B/A with its spread; WORKLOAD@bN; each run's batch, CPU, time in callbacks and sleeps by thread"
else
	bad "ab" "exit $rc: $(tail -n 20 "$tmp/ab.out")"
fi
$run -o "$tmp/abc" -x "--corrupt gpupipe" ab "$build" "$build" tiny \
	>"$tmp/abc.out" 2>&1
rc=$?
if [ $rc = 1 ] && grep -q '"outputs": "FAILED"' "$tmp/abc/ab/ab.json"; then
	ok "ab: a wrong output fails the A/B (exit 1, outputs FAILED)"
else
	bad "ab with a corrupted output" "exit $rc"
fi

# Usage errors exit 2.
$run -o "$tmp/u" nosuch >/dev/null 2>&1
rc=$?
if [ $rc = 2 ]; then ok "an unknown suite exits 2"; else
	bad "an unknown suite" "exit $rc"; fi

# targets_table: json-table.py makes the targets table from the suite's
# JSON, a line per row ending in met or missed; with a cuda.json beside
# it, stream's line has the CUDA ratio and cuda_pool's pool a line.
targets_table() {
	rows='^\| (tiny|tiny-latency|balanced|balanced-inorder|sgemm|stream) \|'
	if python3 "$src/bench/json-table.py" targets "$tmp/all/targets" \
		>"$tmp/tg.md" && [ "$(grep -cE "$rows" "$tmp/tg.md")" = 6 ] &&
		[ "$(grep -E "$rows" "$tmp/tg.md" |
			grep -cE '\| (met|missed[^|]*) \|$')" = 6 ]; then
		ok "bench/json-table.py targets: 6 rows, each met or missed"
	else
		bad "bench/json-table.py targets" "$(cat "$tmp/tg.md")"
	fi
	mkdir -p "$tmp/tgc"
	cp "$tmp"/all/targets/*-[123].json "$tmp/tgc/"
	echo '{"rows": [{"id": "3a", "us_median": 56.13, "us_min": 47.57,' \
		'"us_max": 58.71}], "checks": "OK"}' >"$tmp/tgc/cuda.json"
	if python3 "$src/bench/json-table.py" targets "$tmp/tgc" \
		>"$tmp/tgc.md" &&
		grep -q '^| stream | .*| CUDA pool / gpupipe [0-9]' "$tmp/tgc.md" &&
		grep -q '^| cuda_pool 3a .* | 56.13 (47.57–58.71) |' "$tmp/tgc.md"
	then
		ok "bench/json-table.py targets: cuda_pool's 3a beside stream"
	else
		bad "bench/json-table.py targets with cuda.json" \
			"$(cat "$tmp/tgc.md")"
	fi
}

# Every JSON file is well formed, and json-table.py reads the table's.
if command -v python3 >/dev/null; then
	bad_json=$(find "$tmp" -name '*.json' -exec python3 -c '
import json, sys
for f in sys.argv[1:]:
    try:
        json.load(open(f))
    except ValueError as e:
        print(f, e)' {} +)
	if [ -z "$bad_json" ]; then ok "every JSON file is well formed"; else
		bad "JSON well formed" "$bad_json"; fi
	if python3 "$src/bench/json-table.py" table "$tmp/all/table" \
		>"$tmp/t.md" && [ "$(grep -c '^| tiny | gpupipe' "$tmp/t.md")" = 6 ]
	then
		ok "bench/json-table.py makes the table from the suite's JSON"
	else
		bad "bench/json-table.py table" "$(cat "$tmp/t.md")"
	fi
	targets_table
elif command -v jq >/dev/null; then
	bad_json=$(find "$tmp" -name '*.json' | while read -r f; do
		jq empty "$f" >/dev/null 2>&1 || echo "$f"; done)
	if [ -z "$bad_json" ]; then ok "every JSON file is well formed"; else
		bad "JSON well formed" "$bad_json"; fi
else
	echo "  (no python3 or jq here: JSON not parsed)"
fi

finish gpu_run
