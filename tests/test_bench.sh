#!/bin/sh
# gpupipe-bench, briefly, on the default renderer: every workload runs and
# checks; the JSON has every field; GPU busy never exceeds wall; an output
# corrupted on its way through the GPU makes that mode FAILED and the exit
# status 1; bad usage exits 2 naming the option.
set -u
bench=${BENCH:-bench/gpupipe-bench}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "${srcdir:-.}/tests/cases.sh"

quick="--rounds 2 --warmup-s 0.05"

# Each workload runs every mode with checked outputs.
for w in "tiny --items 200" "sgemm --n 64 --items 20" \
	 "balanced --items 60 --prep-us 20 --post-us 20 --gpu-us 20" \
	 "stream --items 12"; do
	name=${w%% *}
	timeout 600 "$bench" --workload $w $quick --json "$tmp/$name.json" \
		>"$tmp/$name.out" 2>&1
	rc=$?
	# The self-checks compare timings (nothing faster than the ideal
	# bound); on a loaded 2-core machine one short run can be skewed.
	# Only then, and only if every output checked, run it once more.
	if [ $rc = 1 ] && grep -q '^SELF-CHECK FAILED' "$tmp/$name.out" &&
	   ! grep -qE '^[a-z]+: FAILED' "$tmp/$name.out"; then
		echo "  (workload $name: a timing self-check failed; rerun)"
		grep -A3 '^SELF-CHECK FAILED' "$tmp/$name.out"
		timeout 600 "$bench" --workload $w $quick \
			--json "$tmp/$name.json" >"$tmp/$name.out" 2>&1
		rc=$?
	fi
	if [ $rc = 0 ]; then
		ok "workload $name: all modes ran and checked"
	else
		bad "workload $name" "exit status $rc"
		cat "$tmp/$name.out"
	fi
done
cat "$tmp/tiny.out"

# The default output fits 100 columns and ends in words: gpupipe against
# the synchronous loop and the ideal bound, and what sets the bound.
wide=$(awk 'length($0) > 100' "$tmp"/*.out)
if [ -z "$wide" ]; then ok "default output fits 100 columns"; else
	bad "default output fits 100 columns" "$wide"; fi
for name in tiny sgemm balanced stream; do
	words=$(sed -n '/^gpupipe ran /,/^gpupipe-bench: /p' "$tmp/$name.out" |
		grep -v '^gpupipe-bench: ' | tr '\n' ' ')
	if echo "$words" | grep -qE 'gpupipe ran .*(as fast as|slower than) the synchronous loop' &&
	   echo "$words" | grep -qE 'at [0-9]+% of the ideal bound \([0-9.]+ us per item, set by (prep|post|the GPU|the CPU cores)\)\.'; then
		ok "workload $name: the run in words"
	else
		bad "workload $name: the run in words" "'$words'"
	fi
done
# On llvmpipe with fewer cores than the pipeline's threads, the words say
# that the CPU runs the "GPU" as well.
if grep -q '^renderer: llvmpipe' "$tmp/tiny.out" &&
   [ "$(getconf _NPROCESSORS_ONLN)" -lt 4 ]; then
	if tr '\n' ' ' <"$tmp/tiny.out" |
	   grep -q 'the CPU runs both the "GPU" and the pipeline.s 4 threads'; then
		ok "llvmpipe on few cores: said why the pipeline cannot overlap"
	else
		bad "llvmpipe on few cores" "no sentence saying why"
	fi
fi
# --wide: the full table, its ranges and the library's counters.
if "$bench" --items 100 $quick --wide >"$tmp/w.out" 2>&1 &&
   grep -q '^mode  *us/item med (min-max) .* x sync x ideal check$' "$tmp/w.out" &&
   grep -q '^gpupipe at the end: ' "$tmp/w.out"; then
	ok "--wide prints the full table"
else
	bad "--wide prints the full table" "$(cat "$tmp/w.out")"
fi

# The JSON has every field the issue asks for, for every mode.
j="$tmp/tiny.json"
missing=""
for f in renderer version params modes ideal_us_per_item summary; do
	grep -q "\"$f\":" "$j" || missing="$missing $f"
done
for f in mode items wall_s gpu_busy_s utilization us_per_item \
	 latency_us_p50 latency_us_p99 cpu_s_per_item \
	 cpu_us_per_item_by_thread sleeps_per_item_by_thread \
	 callback_us_per_item check; do
	n=$(grep '"mode":' "$j" | grep -c "\"$f\":")
	[ "$n" = 4 ] || missing="$missing $f($n)"
done
if [ -z "$missing" ]; then ok "JSON has every field"; else
	bad "JSON has every field" "missing:$missing"; fi

# gpupipe-bench(1), --wide: "how often per item each slept (voluntary
# context switches ...)": the gpupipe run's threads slept (its pusher at
# least, in the drain that ends the run), the raw run has no such threads.
sleeps() {
	grep "\"mode\": \"$1\"" "$j" |
		sed 's/.*"sleeps_per_item_by_thread": {//; s/}.*//' |
		awk -F'[:,]' '{ print $2 + $4 + $6 + $8 }'
}
if awk -v r="$(sleeps raw)" -v g="$(sleeps gpupipe)" \
	'BEGIN { exit !(r == 0 && g > 0) }'; then
	ok "JSON counts the gpupipe threads' sleeps per item"
else
	bad "JSON counts the gpupipe threads' sleeps per item" \
	    "raw: $(sleeps raw); gpupipe: $(sleeps gpupipe)"
fi

# gpupipe-bench(1): "callback_us_per_item (the wall time per item inside
# prep_cb and done_cb, gpupipe only)": the gpupipe run's prep_cb writes
# every input, so it takes some time, at most its prep threads' CPU plus
# their sleeps' share of the wall; raw has no callbacks.
cb() {
	grep "\"mode\": \"$1\"" "$j" |
		sed 's/.*"callback_us_per_item": {"prep_cb": //; s/,.*//'
}
if awk -v r="$(cb raw)" -v g="$(cb gpupipe)" \
	'BEGIN { exit !(r == 0 && g > 0) }'; then
	ok "JSON times the gpupipe run's prep_cb"
else
	bad "JSON times the gpupipe run's prep_cb" \
	    "raw: $(cb raw); gpupipe: $(cb gpupipe)"
fi

# Busy never exceeds wall, in any mode of any workload.
over=$(cat "$tmp"/*.json | grep '"mode":' | awk '
	{ busy = $0; sub(/.*"gpu_busy_s": /, "", busy); sub(/,.*/, "", busy)
	  wall = $0; sub(/.*"gpu_wall_s": /, "", wall); sub(/,.*/, "", wall)
	  util = $0; sub(/.*"utilization_max": /, "", util); sub(/,.*/, "", util)
	  if (busy + 0 > (wall + 0) * 1.01 || util + 0 > 1.01) print $0 }')
if [ -z "$over" ]; then ok "GPU busy <= wall in every mode"; else
	bad "GPU busy <= wall in every mode" "$over"; fi

# A wrong element written by the shader fails exactly that mode.
for m in raw sync ring gpupipe; do
	"$bench" --items 50 $quick --corrupt $m --json "$tmp/c.json" \
		>"$tmp/c.out" 2>&1
	rc=$?
	nfail=$(grep -c '"check": "FAILED"' "$tmp/c.json")
	if [ $rc = 1 ] && [ "$nfail" = 1 ] &&
	   grep -q "\"mode\": \"$m\", \"items\": 50, \"check\": \"FAILED\"" \
		"$tmp/c.json" &&
	   grep -q "^$m: FAILED" "$tmp/c.out"; then
		ok "corrupted output in $m: FAILED, exit 1"
	else
		bad "corrupted output in $m" "exit $rc, $nfail modes FAILED"
		cat "$tmp/c.out"
	fi
done

# Bad usage: exit 2 and a message naming the option.
for args in "--workload nope" "--items 0" "--modes raw,bogus" "--depth 999" \
	    "--shader x.comp" "--frobnicate"; do
	"$bench" $args >"$tmp/u.out" 2>&1
	rc=$?
	opt=${args%% *}
	if [ $rc = 2 ] && grep -q -- "$opt" "$tmp/u.out"; then
		ok "usage error '$args' exits 2"
	else
		bad "usage error '$args'" "exit $rc: $(cat "$tmp/u.out")"
	fi
done

# --list-devices: a line per EGL device, at least the one we run on.
if "$bench" --list-devices >"$tmp/d.out" 2>&1 &&
   grep -q 'EGL device(s)' "$tmp/d.out" &&
   [ "$(grep -cE '^[0-9]+ +(software|hardware)' "$tmp/d.out")" -ge 1 ]; then
	ok "--list-devices lists the EGL devices"
else
	bad "--list-devices" "$(cat "$tmp/d.out")"
fi

# --devices: gpupipe-all over the same device twice, checked, with the
# scaling ratio in the output and the JSON.
if "$bench" --workload tiny --items 200 $quick --modes gpupipe --devices 0,0 \
	--json "$tmp/dv.json" >"$tmp/dv.out" 2>&1 &&
   grep -q '^gpupipe-all .* ok$' "$tmp/dv.out" &&
   grep -q '^scaling: gpupipe-all on 2 devices' "$tmp/dv.out" &&
   grep -q '"devices": 2, "scaling": [0-9]' "$tmp/dv.json"; then
	ok "--devices 0,0: gpupipe-all runs, checks and scales"
else
	bad "--devices 0,0" "$(cat "$tmp/dv.out")"
fi

# A Chrome trace of the gpupipe mode, and a CSV row per mode. The files
# are written whatever the timing self-checks say (a loaded machine can
# skew one); a wrong output fails the case.
"$bench" --items 100 $quick --modes sync,gpupipe --trace "$tmp/t.json" \
	--csv "$tmp/t.csv" >"$tmp/t.out" 2>&1
rc=$?
if { [ $rc = 0 ] || { [ $rc = 1 ] &&
	grep -q '^SELF-CHECK FAILED' "$tmp/t.out" &&
	! grep -qE '^[a-z]+: FAILED' "$tmp/t.out"; }; } &&
   grep -q '"ph":"X"' "$tmp/t.json" && grep -q '"name":"gpu ' "$tmp/t.json" &&
   grep -q 'gp-readback' "$tmp/t.json" && [ "$(wc -l <"$tmp/t.csv")" = 3 ]; then
	ok "trace and CSV written"
else
	bad "trace and CSV written" "exit $rc; missing events or rows: $(tail -n 5 "$tmp/t.out")"
fi

finish bench
