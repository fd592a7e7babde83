# SPDX-License-Identifier: MIT
# Sourced by bench/gpu/run: the A/B harness, the form every before/after
# claim takes. Two builds (bench/gpu/build REV_A REV_B) run the same
# workloads alternated, A B A B..., in one run on one machine, so that a
# drift of the machine falls on both; raw runs beside gpupipe in every
# run. A run whose outputs did not all check fails the suite and is left
# out of the figures. Reported per workload: each build's median of
# gpupipe's µs per item over the pairs, their range, B/A of the medians,
# and the range of the per-pair ratios (the spread a claim must beat).

suite_ab() {
	local a b pair wl
	suite_begin ab
	[ ${#ab_args[@]} -ge 3 ] || die "ab A B WORKLOAD...: two builds" \
		"and at least one workload"
	a=$(resolve_build "${ab_args[0]}")
	b=$(resolve_build "${ab_args[1]}")
	say "A: $a ($(build_rev "$a"))"
	say "B: $b ($(build_rev "$b"))"
	: >"$dir/ab.tsv"
	for pair in $(seq 1 "$pairs"); do
		for wl in "${ab_args[@]:2}"; do
			ab_run A "$a" "$wl" "$pair"
			ab_run B "$b" "$wl" "$pair"
		done
	done
	ab_summary "$a" "$b" <"$dir/ab.tsv" >"$dir/ab.json"
	{
		echo "A: $(build_rev "$a"); B: $(build_rev "$b"); $pairs pairs" \
			"run A B A B...; $ab_mode µs per item (each run's median" \
			"over its rounds), raw beside; $renderer."
		echo
		ab_markdown <"$dir/ab.json"
		ab_runs
	} >"$dir/ab.md"
	say
	cat "$dir/ab.md"
	suite_end
}

# ab_runs: each run's batch, latency, and CPU and sleeps by thread (what
# tells two levels of one build apart), when python3 is here.
ab_runs() {
	command -v python3 >/dev/null || return 0
	echo
	echo "Each run (bench/json-table.py runs):"
	echo
	python3 "$top/bench/json-table.py" runs "$dir" ||
		suite_fail "bench/json-table.py runs failed"
}

# ab_run V BUILD WORKLOAD PAIR: one run of BUILD, its figures a line of
# $dir/ab.tsv (workload, pair, V, µs/item of $ab_mode, raw's, outputs).
ab_run() {
	local v=$1 name=$3-$4-$1 json bench
	bench=$(build=$2 find_prog gpupipe-bench)
	[ -n "$bench" ] || die "no gpupipe-bench in $2"
	GPUPIPE_SHADER_DIR=$(shader_dir "$2")
	run_bench "$name" $(wl_args "$3") $extra --modes raw,gpupipe
	json=$dir/$name.json
	printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$3" "$4" "$v" \
		"$(mode_us "$json" "$ab_mode")" "$(mode_us "$json" raw)" \
		"$(outputs_of "$json")" >>"$dir/ab.tsv"
}

# mode_us JSON MODE: the mode's µs per item (median of the bench's rounds).
mode_us() {
	grep "\"mode\": \"$2\"," "$1" 2>/dev/null |
		sed -n 's/.*"us_per_item": \([0-9.]*\),.*/\1/p' | head -n 1
}

# ab_summary A B <TSV: the figures as JSON, one object per workload.
ab_summary() {
	awk -F'\t' -v a="$1" -v b="$2" -v ra="$(build_rev "$1")" \
		-v rb="$(build_rev "$2")" -v pairs="$pairs" -v mode="$ab_mode" '
	function median(arr, n,   i, j, t, v) {
		for (i = 1; i <= n; i++) v[i] = arr[i]
		for (i = 2; i <= n; i++)
			for (j = i; j > 1 && v[j - 1] > v[j]; j--) {
				t = v[j]; v[j] = v[j - 1]; v[j - 1] = t
			}
		if (n == 0) return "null"
		return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
	}
	function list(arr, n,   i, s) {
		for (i = 1; i <= n; i++) s = s (i > 1 ? ", " : "") arr[i]
		return "[" s "]"
	}
	function minmax(arr, n, want,   i, m) {
		m = arr[1]
		for (i = 2; i <= n; i++)
			if ((want == "min") == (arr[i] < m)) m = arr[i]
		return n ? m : "null"
	}
	!($1 in seen) { seen[$1] = 1; order[++nw] = $1 }
	$6 != "ok" || $4 == "" { bad[$1]++; next }
	{ k = $1 SUBSEP $3; n[k]++; us[k, n[k]] = $4 + 0; raw[k, n[k]] = $5 + 0
	  pus[$1, $2, $3] = $4 + 0 }
	END {
		printf "{\"a\": {\"build\": \"%s\", \"rev\": \"%s\"}, ", a, ra
		printf "\"b\": {\"build\": \"%s\", \"rev\": \"%s\"}, ", b, rb
		printf "\"pairs\": %d, \"metric\": \"%s us per item, " \
			"median of the bench rounds\", \"workloads\": [", pairs, mode
		for (w = 1; w <= nw; w++) one(order[w], w > 1)
		print "]}"
	}
	function one(wl, comma,   v, i, x, r, nr, m, lo, hi, rw) {
		for (v = 0; v < 2; v++) {
			x = v ? "B" : "A"
			delete cur; delete cr
			for (i = 1; i <= n[wl, x]; i++) {
				cur[i] = us[wl, x, i]; cr[i] = raw[wl, x, i]
			}
			m[x] = median(cur, n[wl, x]); rw[x] = median(cr, n[wl, x])
			lo[x] = minmax(cur, n[wl, x], "min")
			hi[x] = minmax(cur, n[wl, x], "max")
			l[x] = list(cur, n[wl, x])
		}
		nr = 0
		for (i = 1; i <= pairs; i++)
			if ((wl, i, "A") in pus && (wl, i, "B") in pus)
				r[++nr] = pus[wl, i, "B"] / pus[wl, i, "A"]
		printf "%s{\"workload\": \"%s\", \"outputs\": \"%s\", ", \
			comma ? ", " : "", wl, bad[wl] ? "FAILED" : "ok"
		printf "\"a_us\": %s, \"b_us\": %s, ", l["A"], l["B"]
		printf "\"a_median\": %s, \"b_median\": %s, ", m["A"], m["B"]
		printf "\"a_min\": %s, \"a_max\": %s, ", lo["A"], hi["A"]
		printf "\"b_min\": %s, \"b_max\": %s, ", lo["B"], hi["B"]
		printf "\"raw_a_median\": %s, \"raw_b_median\": %s, ", rw["A"], rw["B"]
		x = "null"
		if (m["A"] > 0 && m["B"] != "null") x = sprintf("%.4f", m["B"] / m["A"])
		printf "\"ratio\": %s, ", x
		printf "\"ratio_pairs\": %s, \"ratio_min\": %s, \"ratio_max\": %s}",
			list(r, nr), minmax(r, nr, "min"), minmax(r, nr, "max")
	}'
}

# ab_markdown <JSON: ab.json as a table (one workload object a line).
ab_markdown() {
	echo "| workload | A µs/item median (min–max) | B µs/item median" \
		"(min–max) | B/A | B/A per pair (min–max) | raw A / raw B |" \
		"outputs |"
	echo "| --- | --- | --- | --- | --- | --- | --- |"
	sed 's/"workloads": \[/\n/; s/}, {"workload"/}\n{"workload"/g' |
		grep '^{"workload"' | awk '
	function f(k,   v) {
		v = $0; sub(".*\"" k "\": ", "", v); sub(/[,}].*/, "", v)
		gsub(/"/, "", v); return v
	}
	function n(k,   v) {
		v = f(k); return v == "null" ? "–" : sprintf("%.3f", v)
	}
	{ printf "| %s | %s (%s–%s) | %s (%s–%s) | %s | %s–%s | %s / %s | %s |\n",
		f("workload"), n("a_median"), n("a_min"), n("a_max"),
		n("b_median"), n("b_min"), n("b_max"), n("ratio"),
		n("ratio_min"), n("ratio_max"), n("raw_a_median"),
		n("raw_b_median"), f("outputs") }'
}
