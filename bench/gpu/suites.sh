# SPDX-License-Identifier: MIT
# Sourced by bench/gpu/run: the suites. Each is one function, suite_NAME,
# between suite_begin and suite_end (bench/gpu/lib.sh); $profile (gpu,
# llvmpipe or quick) picks the workloads' sizes.

# wl_args WORKLOAD: gpupipe-bench's arguments for WORKLOAD. gpu: the
# H100 figures of bench/RESULTS.md; llvmpipe: the bench's llvmpipe
# defaults (fewer items, N 128) on 2 prep threads; quick: seconds in all.
# WORKLOAD@bN: the same at fixed batch N (--batch N). tiny runs on the
# library's default 2 prep threads: with 4, prep threads that run dry
# cost the pusher a wakeup per item and a run lands at one of two paces,
# in 245bc6e and since alike (doc/performance.md, "Two modes of tiny").
wl_args() {
	case $profile/$1 in
	gpu/tiny) echo --rounds 5 --workload tiny --check sampled \
		--prep-threads 2 ;;
	gpu/balanced) echo --rounds 3 --items 2000 --workload balanced \
		--prep-threads 8 --post-threads 4 ;;
	gpu/sgemm) echo --rounds 3 --items 200 --workload sgemm --n 2048 \
		--prep-threads 4 ;;
	gpu/stream) echo --rounds 3 --workload stream --prep-threads 4 \
		--post-threads 4 ;;
	llvmpipe/tiny) echo --workload tiny --check sampled --prep-threads 2 ;;
	llvmpipe/balanced) echo --workload balanced --prep-threads 2 ;;
	llvmpipe/sgemm) echo --workload sgemm --prep-threads 2 ;;
	llvmpipe/stream) echo --workload stream --prep-threads 2 \
		--post-threads 2 ;;
	quick/tiny) echo $quick_args --workload tiny --items 200 \
		--check sampled ;;
	quick/balanced) echo $quick_args --workload balanced --items 60 \
		--prep-us 20 --post-us 20 --gpu-us 20 ;;
	quick/sgemm) echo $quick_args --workload sgemm --n 64 --items 20 ;;
	quick/stream) echo $quick_args --workload stream --items 12 \
		--post-threads 2 ;;
	*/tiny-full) echo "$(wl_args tiny) --check full" ;;
	*@b[1-9]*) echo "$(wl_args "${1%@b*}") --batch ${1##*@b}" ;;
	*) die "no workload '$1': tiny, tiny-full, balanced, sgemm," \
		"stream, each also as WORKLOAD@bN (fixed batch N)" ;;
	esac
}
quick_args="--rounds 2 --warmup-s 0.05 --prep-threads 2"

# fixed_batches WORKLOAD: the fixed batch sizes the table runs.
fixed_batches() {
	case $profile/$1 in
	quick/*) echo 4 ;;
	*/sgemm) echo 1 2 ;;
	*/stream) echo 1 4 ;;
	*) echo 1 4 16 64 ;;
	esac
}

# check: make check's test programs as built (test_timeout too), then a
# soak with every output checked, at depths 1, 3 and 8.
suite_check() {
	local prog soak
	suite_begin check
	export GPUPIPE_TEST_CYCLES=${GPUPIPE_TEST_CYCLES:-$test_cycles}
	export GPUPIPE_STRESS_ROUNDS=${GPUPIPE_STRESS_ROUNDS:-$stress_rounds}
	for prog in $(test_programs); do
		if [ -n "$quick" ]; then
			case ${prog##*/} in test_api | test_pipeline) ;;
			*) continue ;; esac
		fi
		run_test "$prog"
	done
	soak=$(find_prog soak)
	if [ -n "$soak" ]; then
		run_prog soak "$soak" --items "$soak_items" --depths 1,3,8 \
			--batches 1,16 --prep-threads 4
	else
		suite_fail "no soak program in $build"
	fi
	suite_end
}

# test_programs: the build's test programs (tests/test_*, tests/stress).
test_programs() {
	local f
	for f in "$build"/tests/test_* "$build"/tests/stress; do
		case $f in *.sh | *.c | *.o | *.log | *.trs) continue ;; esac
		[ -f "$f" ] && [ -x "$f" ] && echo "$f"
	done
}

# table: bench/RESULTS.md's table. Per workload: raw, sync and ring
# beside gpupipe's defaults (signalled wait, adaptive batches); gpupipe
# with each wait at adaptive and fixed batches, raw beside each; both
# waits with every element of every output checked (on an NVIDIA GPU
# fences are really pending: these runs would show a hand-off race).
suite_table() {
	local wl b w a
	suite_begin table
	for wl in $(workloads tiny balanced sgemm stream); do
		a=$(wl_args "$wl")
		run_bench "$wl-base" $a $extra --modes raw,sync,ring,gpupipe
		run_bench "$wl-block-auto" $a $extra --modes raw,gpupipe \
			--wait block
		for b in $(fixed_batches "$wl"); do
			for w in signalled block; do
				run_bench "$wl-$w-b$b" $a $extra \
					--modes raw,gpupipe --wait $w --batch "$b"
			done
		done
		for w in signalled block; do
			run_bench "$wl-$w-full" $a $extra --modes raw,gpupipe \
				--wait $w --check full
		done
	done
	# One timeline (bench/plot timeline): balanced, gpupipe's defaults.
	case " $(workloads tiny balanced sgemm stream) " in
	*" balanced "*)
		run_bench balanced-trace $(wl_args balanced) $extra \
			--modes gpupipe --trace "$dir/balanced-trace.trace.json" ;;
	esac
	markdown table
	suite_end
}

# markdown FORM: the suite's table as bench/RESULTS.md shows it, into
# $dir/table.md and printed (bench/json-table.py needs python3).
markdown() {
	if ! command -v python3 >/dev/null; then
		say "(no python3: make the markdown later with" \
			"bench/json-table.py $1 FOLDER)"
		return 0
	fi
	python3 "$top/bench/json-table.py" "$1" "$dir" >"$dir/table.md" ||
		suite_fail "bench/json-table.py $1 failed"
	say
	cat "$dir/table.md"
}

# devices: the EGL devices, tests/test_devices, two threads dispatching at
# once (probe-dispatch --parallel 2, with and without turns), and gpupipe
# on one device beside gpupipe-all on every hardware device; with two
# devices, also one process per device at once. With fewer than two
# hardware devices, gpupipe-all runs over device 0 twice.
suite_devices() {
	local n devs probe t
	suite_begin devices
	run_prog list-devices "$bench" --list-devices
	n=$(grep -cE '^[0-9]+ +hardware' "$dir/list-devices.log" || true)
	devs=all
	[ "$n" -ge 2 ] || devs=0,0
	say "hardware EGL devices: $n; gpupipe-all over --devices $devs"
	t=$(find_prog test_devices)
	[ -z "$t" ] || run_test "$t"
	probe=$(find_prog probe-dispatch)
	if [ -n "$probe" ]; then
		devices_probe "$probe" "$n"
	else
		say "(no probe-dispatch in $build: make it with bench/gpu/build)"
	fi
	for t in $(workloads tiny sgemm balanced); do
		run_bench "$t-all" $(wl_args "$t") $extra --modes raw,gpupipe \
			--devices "$devs"
	done
	[ "$n" -lt 2 ] || devices_two_processes
	markdown devices
	suite_end
}

# devices_probe PROBE N: two threads dispatching at once, on two devices
# when there are, else two contexts on one; without and with turns.
devices_probe() {
	local probe=$1 one= opt
	[ "$2" -ge 2 ] || one=--one-device
	for opt in "" --locked; do
		run_prog "probe-parallel${opt:+-locked}" "$probe" --parallel 2 \
			$one $opt --items "$probe_items" --reps "$probe_reps"
	done
}

# devices_two_processes: tiny on device 0 alone, then one process per
# device at once.
devices_two_processes() {
	local a p0 p1
	a="$(wl_args tiny) $extra --modes raw,gpupipe"
	run_bench tiny-d0-alone $a --device 0
	say "=== [$suite/tiny-2procs] gpupipe-bench --device 0 & --device 1"
	"$bench" $a --device 0 --json "$dir/tiny-2procs-d0.json" \
		>"$dir/tiny-2procs-d0.log" 2>&1 &
	p0=$!
	"$bench" $a --device 1 --json "$dir/tiny-2procs-d1.json" \
		>"$dir/tiny-2procs-d1.log" 2>&1 &
	p1=$!
	wait $p0 || suite_fail "tiny-2procs-d0: exit $?"
	wait $p1 || suite_fail "tiny-2procs-d1: exit $?"
	grep -hE '^(raw|gpupipe) ' "$dir"/tiny-2procs-d[01].log || true
}

# timeout: tests/test_timeout, a kernel that spins past fence_timeout_ms
# under each wait (on llvmpipe the dispatch ends before its fence exists,
# so only an NVIDIA GPU times out); its figures into figures.json.
suite_timeout() {
	local t
	suite_begin timeout
	t=$(find_prog test_timeout)
	if [ -n "$t" ]; then
		run_test "$t"
		timeout_figures "$dir/test_timeout.log" >"$dir/figures.json"
		markdown timeout
	else
		suite_fail "no test_timeout in $build"
	fi
	suite_end
}

# timeout_figures LOG: per wait, when item 0 was TIMEDOUT and how long
# destroy took, as a JSON array.
timeout_figures() {
	awk '
	/: spin .* TIMEDOUT after/ {
		w = $1; sub(/:$/, "", w)
		t = $0; sub(/.*TIMEDOUT after /, "", t); sub(/ ms.*/, "", t)
	}
	/destroy returned in/ && w != "" {
		d = $0; sub(/.*destroy returned in /, "", d); sub(/ ms.*/, "", d)
		printf "%s{\"wait\": \"%s\", \"timedout_ms\": %s, " \
			"\"destroy_ms\": %s}", sep, w, t, d
		sep = ", "; w = ""
	}
	BEGIN { printf "[" }
	END { print "]" }' "$1"
}

# probes: where a dispatch's cost goes (probe-dispatch's GL setups at
# batches of 16 and 64, and with turns), and how fast one CPU thread
# writes and reads mapped buffers per set of flags (probe-mapping), and
# how late timed sleeps end, with the default timer slack and 1 ns
# (probe-sleep), and what a wakeup and a clock read cost (probe-wake).
suite_probes() {
	local p s w b opt
	suite_begin probes
	p=$(find_prog probe-dispatch)
	for b in 16 64; do
		for opt in "" --locked; do
			[ -z "$p" ] || run_prog "dispatch-b$b${opt:+-locked}" \
				"$p" --device 0 --items "$probe_items" \
				--reps "$probe_reps" --batch $b $opt
		done
	done
	p=$(find_prog probe-mapping)
	[ -z "$p" ] || run_prog mapping "$p" --device 0 --reps "$probe_reps"
	s=$(find_prog probe-sleep)
	[ -z "$s" ] || run_prog sleep "$s" --reps $((probe_reps * 40))
	w=$(find_prog probe-wake)
	[ -z "$w" ] || run_prog wake "$w" --reps $((probe_reps * 40))
	[ -n "$(find_prog probe-dispatch)$p$s$w" ] || suite_skip "no probes" \
		"in $build (bench/gpu/build makes them, as does make" \
		"bench/probes/probe-dispatch bench/probes/probe-mapping" \
		"bench/probes/probe-sleep bench/probes/probe-wake)"
	suite_end
}

# profile: each workload of -w (rows of the targets; default tiny) under
# perf record (cpu-clock, 10 kHz), in gpupipe's mode and in raw's: where
# each thread's CPU goes, by library and by symbol, and the library's
# hottest functions instruction by instruction (a line that two threads
# write in turn shows as the instruction after its store). perf comes
# from .carry/perf (bench/gpu/build --perf: the GPU machine has none),
# else this machine's. tiny's rows run 300 000 items a round, so that
# the samples are the run's and not its start.
suite_profile() {
	local w m perf
	suite_begin profile
	perf=$(perf_cmd)
	if [ -z "$perf" ]; then
		suite_skip "no perf here and no .carry/perf (bench/gpu/build" \
			"--perf carries this machine's)"
		suite_end
		return 0
	fi
	# A container may forbid perf_event_open: say so, not fail.
	if ! $perf record -e cpu-clock -o "$dir/probe.data" -- true \
		>"$dir/probe.log" 2>&1; then
		suite_skip "perf cannot record here: $(grep -m 1 . \
			"$dir/probe.log")"
		suite_end
		return 0
	fi
	rm -f "$dir/probe.data" "$dir/probe.log"
	for w in $(workloads tiny); do
		for m in gpupipe raw; do
			profile_one "$w-$m" "$perf" $(profile_args "$w") \
				$extra --modes "$m"
		done
	done
	suite_end
}

# perf_cmd: how to run perf: the carried one with its own loader and
# libraries (the GPU machine's C library may differ), else this machine's.
perf_cmd() {
	local c=$top/.carry/perf
	if [ -x "$c/perf" ] && [ -x "$c/ld-linux-x86-64.so.2" ]; then
		echo "$c/ld-linux-x86-64.so.2 --library-path $c/lib $c/perf"
	elif command -v perf >/dev/null 2>&1; then
		command -v perf
	fi
}

# profile_args ROW: the targets' arguments for ROW, tiny's with more items.
profile_args() {
	case $profile/$1 in
	quick/* | llvmpipe/*) target_args "$1" ;;
	*/tiny*) echo "$(target_args "$1") --items 300000 --rounds 3" ;;
	*) target_args "$1" ;;
	esac
}

# profile_one NAME PERF ARG...: gpupipe-bench ARG... under perf; NAME.log
# and NAME.json as any bench run, NAME-threads.txt (CPU by thread and
# library), NAME-symbols.txt (by thread, library and symbol) and
# NAME-annotated.txt (the library's six hottest functions).
profile_one() {
	local name=$1 perf=$2 data fn
	shift 2
	data=$dir/$name.data
	run_logged "$name" $perf record -e cpu-clock -F 10000 -o "$data" -- \
		"$bench" "$@" --json "$dir/$name.json"
	record "$name" command "gpupipe-bench $*" \
		outputs "$(outputs_of "$dir/$name.json")" json "$name.json" \
		log "$name.log"
	if [ "$rc" != 0 ] || [ ! -s "$data" ]; then
		tail -n 5 "$dir/$name.log"
		suite_fail "$name: exit $rc"
		rm -f "$data"
		return 0
	fi
	$perf report -i "$data" --stdio --sort comm,dso \
		>"$dir/$name-threads.txt" 2>/dev/null
	$perf report -i "$data" --stdio --sort comm,dso,sym \
		--percent-limit 0.1 >"$dir/$name-symbols.txt" 2>/dev/null
	for fn in $(awk '$3 ~ /^(gpupipe-bench|libgpupipe)/ && $4 == "[.]" {
		print $5 }' \
		"$dir/$name-symbols.txt" | awk '!seen[$0]++' | head -n 6); do
		$perf annotate -i "$data" --stdio -s "$fn" 2>/dev/null |
			grep -v '^ *0\.00 :' | head -n 120
	done >"$dir/$name-annotated.txt"
	grep -v '^#' "$dir/$name-threads.txt" | grep . | head -n 12
	rm -f "$data"
}

# cuda: the CUDA anchor, then gpupipe's stream beside it, so that both
# figures come from one machine and one hour.
suite_cuda() {
	suite_begin cuda
	if cuda_anchor; then
		run_bench stream $(wl_args stream) $extra --modes raw,gpupipe
	elif [ -n "$cuda_missing" ]; then
		suite_skip "$cuda_missing"
	fi
	suite_end
}

# cuda_anchor: the CUDA anchor (../shared/anchors/cuda_pool.cu, carried
# by bench/gpu/build in .carry/cuda/), compiled here with nvcc when there
# is one, else the binary bench/gpu/build made; its SUMMARY into
# $dir/cuda.json. Returns 1 when it did not run: $cuda_missing says why
# when this machine cannot run it (no NVIDIA GPU, nothing to run), and
# is empty when nvcc failed (which fails the suite).
cuda_anchor() {
	local src bin nvcc
	cuda_missing=
	src=$(first_file "$top/.carry/cuda/cuda_pool.cu" \
		"$top/../shared/anchors/cuda_pool.cu")
	nvcc=$(command -v nvcc || first_file /usr/local/cuda/bin/nvcc)
	bin=$(first_file "$top/.carry/cuda/cuda_pool")
	if [ -z "$nvidia" ]; then
		cuda_missing="no NVIDIA GPU here"
	elif [ -n "$nvcc" ] && [ -n "$src" ]; then
		run_prog nvcc "$nvcc" -O3 -std=c++17 -gencode \
			'arch=compute_90,code=[sm_90,compute_90]' \
			-Xcompiler -O3,-Wall -o "$dir/cuda_pool" "$src" -lpthread
		[ "$rc" = 0 ] || return 1
		bin=$dir/cuda_pool
	elif [ -n "$bin" ]; then
		say "(no nvcc here: the cuda_pool bench/gpu/build made)"
	else
		cuda_missing="no nvcc and no carried .carry/cuda/cuda_pool"
	fi
	[ -z "$cuda_missing" ] && [ -x "$bin" ] || return 1
	run_prog cuda_pool "$bin" auto "$cuda_sections"
	cuda_summary "$dir/cuda_pool.log" >"$dir/cuda.json"
	grep -q '^ALL CHECKS OK' "$dir/cuda_pool.log" ||
		suite_fail "cuda_pool: not every output checked"
	return 0
}

# first_file FILE...: the first FILE that exists.
first_file() {
	local f
	for f in "$@"; do
		[ -e "$f" ] && { echo "$f"; return 0; }
	done
	return 0
}

# cuda_summary LOG: cuda_pool's SUMMARY rows (µs per item, median and
# range of its timed rounds) and its verdict, as JSON.
cuda_summary() {
	awk '
	/^SUMMARY/ { on = 1; next }
	on && NF >= 3 && $3 ~ /^\[/ {
		r = $3; gsub(/[][]/, "", r); split(r, mm, /\.\./)
		printf "%s{\"id\": \"%s\", \"us_median\": %s, \"us_min\": %s, " \
			"\"us_max\": %s}", sep, $1, $2, mm[1], mm[2]
		sep = ", "
	}
	/^ALL CHECKS/ { checks = $3 }
	BEGIN { printf "{\"rows\": [" }
	END { printf "], \"checks\": \"%s\"}\n", checks == "" ? "none" : checks }
	' "$1"
}

# targets: the performance issue's targets table. Each row three times
# (ROW-1, ROW-2, ROW-3), raw and sync beside gpupipe (sync's stage times
# set the ideal bound); then the CUDA anchor, for the stream row; then
# the table, each row met or missed.
suite_targets() {
	local row i a
	suite_begin targets
	for row in $target_rows; do
		a=$(target_args "$row")
		for i in 1 2 3; do
			run_bench "$row-$i" $a $extra --modes raw,sync,gpupipe
		done
	done
	targets_cuda
	markdown targets
	suite_end
}
target_rows="tiny tiny-latency balanced balanced-inorder sgemm stream"

# target_args ROW: gpupipe-bench's arguments for a row of the targets.
# gpu: the issue's (tiny at the default 2 prep threads, balanced in order
# on the defaults' threads, the rest as wl_args); llvmpipe and quick: the
# profile's wl_args, balanced with 2 post threads, in order without.
# tiny-latency: tiny with a latency budget of 50 µs per batch in flight.
target_args() {
	case $profile/$1 in
	gpu/tiny) echo --rounds 5 --workload tiny --check sampled ;;
	gpu/balanced-inorder) echo --rounds 3 --items 2000 \
		--workload balanced ;;
	gpu/balanced) wl_args balanced ;;
	*/balanced) echo "$(wl_args balanced) --post-threads 2" ;;
	*/balanced-inorder) wl_args balanced ;;
	*/tiny-latency) echo "$(target_args tiny) --batch-latency-us 50" ;;
	*) wl_args "$1" ;;
	esac
}

# targets_cuda: the CUDA anchor, whose pool the stream row is measured
# against. Where this machine cannot run it, a line and the suite's note
# say so and the status stays: the table's stream row says "no CUDA run".
targets_cuda() {
	cuda_anchor && return 0
	[ -n "$cuda_missing" ] || return 0
	say
	say "CUDA anchor not run ($cuda_missing): the stream row's CUDA" \
		"target is not judged"
	suite_note="${suite_note:+$suite_note; }no CUDA run: $cuda_missing"
}
