#!/bin/sh
# bench/plot draws a short run of gpupipe-bench: the modes, a sweep of
# fixed batch sizes and the timeline of one gpupipe run, each an SVG that
# parses as XML and holds the series it should (bench/plot gives every
# bar, line and span an id).
set -u
bench=${BENCH:-bench/gpupipe-bench}
plot="${srcdir:-.}/bench/plot"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "${srcdir:-.}/tests/cases.sh"

# Debian's python3-matplotlib is for /usr/bin/python3; a python3 earlier
# in PATH (pyenv, a virtualenv) may not have it.
py=
for p in ${PYTHON:-} python3 /usr/bin/python3; do
	if "$p" -c 'import matplotlib' >/dev/null 2>&1; then
		py=$p
		break
	fi
done
if [ -z "$py" ]; then
	bad "python3 with matplotlib" "not found (.ci/install-deps installs python3-matplotlib)"
	finish plot
	exit
fi

# A few seconds of bench: small balanced items, one round, no warm-up.
quick="--workload balanced --prep-us 20 --post-us 20 --gpu-us 20 --items 40
	--rounds 1 --warmup-s 0 --quiet"
# Wrong outputs fail here; a timing self-check that a loaded machine can
# break is test_bench.sh's business, and the run's files are still drawn.
run() {
	out=$1
	shift
	"$bench" $quick "$@" >"$tmp/$out.out" 2>&1 && return
	if grep -q '^SELF-CHECK FAILED' "$tmp/$out.out" &&
	   ! grep -q ': FAILED: wrong outputs' "$tmp/$out.out"; then
		echo "  (gpupipe-bench $*: a timing self-check failed)"
	else
		bad "gpupipe-bench $*" "$(cat "$tmp/$out.out")"
	fi
}
run run --json "$tmp/run.json" --trace "$tmp/trace.json"
for b in 1 4 16; do
	run b$b --modes gpupipe --batch $b --json "$tmp/b$b.json"
done
run auto --modes gpupipe --json "$tmp/auto.json"

# count FILE REGEX [use]: elements whose id matches REGEX, or with "use"
# the markers (<use>) inside them, one per point of a series.
count() {
	"$py" - "$@" <<'PY'
import re
import sys
import xml.etree.ElementTree as ET

root = ET.parse(sys.argv[1]).getroot()
hits = [e for e in root.iter() if re.fullmatch(sys.argv[2], e.get("id", ""))]
if len(sys.argv) > 3:
    hits = [u for e in hits for u in e.iter("{http://www.w3.org/2000/svg}use")]
print(len(hits))
PY
}

# expect NAME FILE REGEX N [use]: the SVG parses and has N of them.
expect() {
	name=$1
	shift
	n=$3
	got=$(count "$1" "$2" ${4:-} 2>&1)
	if [ "$got" = "$n" ]; then ok "$name"; else
		bad "$name" "$1: $n elements '$2'${4:+ ($4)} wanted, got: $got"; fi
}

if "$py" "$plot" modes "$tmp/run.json" -o "$tmp/modes.svg" 2>"$tmp/p.err"; then
	expect "modes: a bar per mode but raw" "$tmp/modes.svg" 'bar-.*' 3
	expect "modes: raw's time as a line" "$tmp/modes.svg" line-raw 1
	expect "modes: the ideal bound as a line" "$tmp/modes.svg" line-ideal 1
else
	bad "bench/plot modes" "$(cat "$tmp/p.err")"
fi

if "$py" "$plot" batch "$tmp"/b*.json "$tmp/auto.json" \
	-o "$tmp/batch.svg" 2>"$tmp/p.err"; then
	expect "batch: throughput at 3 sizes" "$tmp/batch.svg" \
		series-throughput 3 use
	expect "batch: median latency at 3 sizes" "$tmp/batch.svg" \
		series-latency 3 use
	expect "batch: adaptive run as a level line" "$tmp/batch.svg" \
		'line-adaptive-.*' 2
else
	bad "bench/plot batch" "$(cat "$tmp/p.err")"
fi

if "$py" "$plot" timeline "$tmp/trace.json" --items 12 \
	-o "$tmp/timeline.svg" 2>"$tmp/p.err"; then
	for stage in push prep dispatch gpu done; do
		expect "timeline: 12 items' $stage" "$tmp/timeline.svg" \
			"span-$stage-[0-9]+" 12
	done
	n=$(count "$tmp/timeline.svg" 'span-fence-[0-9]+')
	if [ "$n" -ge 1 ]; then ok "timeline: fences ($n)"; else
		bad "timeline: fences" "none"; fi
else
	bad "bench/plot timeline" "$(cat "$tmp/p.err")"
fi

# A bench/gpu/run table folder: every plot of it, by the runs' names.
mkdir -p "$tmp/table"
cp "$tmp/run.json" "$tmp/table/balanced-base.json"
for b in 1 4 16; do
	cp "$tmp/b$b.json" "$tmp/table/balanced-signalled-b$b.json"
done
cp "$tmp/trace.json" "$tmp/table/balanced-trace.trace.json"
if "$py" "$plot" table "$tmp/table" -o "$tmp/plots" >"$tmp/p.out" \
	2>"$tmp/p.err" && [ "$(wc -l <"$tmp/p.out")" = 3 ]; then
	expect "table: the modes plot" "$tmp/plots/balanced-modes.svg" \
		'bar-.*' 3
	expect "table: the batch plot" "$tmp/plots/balanced-batch.svg" \
		'series-throughput' 3 use
	expect "table: the timeline, 24 items" "$tmp/plots/timeline.svg" \
		'span-gpu-[0-9]+' 24
else
	bad "bench/plot table" "$(cat "$tmp/p.out" "$tmp/p.err")"
fi

# A mistake is said, not drawn.
if ! "$py" "$plot" batch "$tmp/auto.json" -o "$tmp/x.svg" 2>"$tmp/p.err" &&
   grep -q 'no run at a fixed --batch' "$tmp/p.err"; then
	ok "batch without fixed sizes: refused"
else
	bad "batch without fixed sizes" "$(cat "$tmp/p.err")"
fi

finish plot
