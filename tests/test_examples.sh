#!/bin/sh
# The examples run and check their own results (each bounded by timeout,
# so a hang fails this program instead of the run).
set -u
build=${GPUPIPE_BUILDDIR:-.}
. "${srcdir:-.}/tests/cases.sh"

out=$(timeout 300 "$build/examples/minimal" 500 2>&1)
if [ $? = 0 ] && echo "$out" | grep -q '^500 items: 500 correct, 0 wrong'; then
	ok "examples/minimal: 500 items correct"
else
	bad "examples/minimal" "$out"
fi

# examples/saxpy.f90: the Fortran interface, z = a * x + y checked in done_cb
# against Fortran's own arithmetic, in push order.
if [ "${GPUPIPE_FORTRAN:-no}" = yes ]; then
	out=$(timeout 300 "$build/examples/saxpy" 300 2>&1)
	rc=$?
	want='^saxpy: 300 items of 1024 floats, .*: 300 correct, 0 wrong,'
	want="$want 0 not done, 0 out of order\$"
	if [ $rc = 0 ] && echo "$out" | grep -q "$want"; then
		ok "examples/saxpy (Fortran): 300 items correct, in push order"
	else
		bad "examples/saxpy (Fortran)" "$out"
	fi
	echo "$out"
else
	echo "  (examples/saxpy: skipped: configure found no Fortran compiler)"
fi

out=$(timeout 300 "$build/examples/interop" 2>&1)
if [ $? = 0 ] && echo "$out" | grep -q ': 0 wrong values, 0 failed items$'; then
	ok "examples/interop: outputs copied in the application's context"
else
	bad "examples/interop" "$out"
fi

echo "$out"

# blur's command line, its failed writes and transparent images. Each case
# quotes the sentence of `blur --help` (or the behaviour) that it checks.
blur_cases() {
	blur=$build/examples/blur alpha=${srcdir:-.}/tests/blur_alpha.py
	use='^usage: blur IN.png OUT.png \[RADIUS\]'
	tmp=$(mktemp -d) || return
	trap 'rm -rf "$tmp"' EXIT

	# "blur -h | --help   print this and exit" (on stdout, status 0),
	# "RADIUS: the Gaussian's radius in pixels, 1..8 (default 3)."
	for h in --help -h; do
		timeout 300 "$blur" $h >"$tmp/out" 2>"$tmp/err"
		rc=$?
		if [ $rc = 0 ] && [ ! -s "$tmp/err" ] &&
		   grep -q "$use" "$tmp/out" &&
		   grep -q '1\.\.8 (default 3)' "$tmp/out"; then
			ok "examples/blur $h: usage, radius 1..8 (default 3)"
		else
			bad "examples/blur $h" \
				"status $rc: $(cat "$tmp/out" "$tmp/err")"
		fi
	done

	# "Exit status: ... 2 bad arguments.": the reason and the usage on
	# stderr, nothing on stdout (an unknown option, files missing, a
	# radius out of 1..8 or not a number, too many arguments).
	for args in "--bogus" "a.png" "a.png b.png 9" "a.png b.png 0" \
		    "a.png b.png 3x" "a.png b.png 3 4" "--selftest x"; do
		timeout 300 "$blur" $args >"$tmp/out" 2>"$tmp/err"
		rc=$?
		if [ $rc = 2 ] && [ ! -s "$tmp/out" ] &&
		   grep -q "$use" "$tmp/err"; then
			ok "examples/blur $args: usage on stderr, status 2"
		else
			bad "examples/blur $args" \
				"status $rc: $(cat "$tmp/out" "$tmp/err")"
		fi
	done

	# "Exit status: ... 1 failed (... unwritable output ...)": one error
	# naming the file and the reason, and no summary. A directory that
	# does not exist fails at the open; /dev/full at the write (through
	# a link: libpng's own file writer removes the file it fails on).
	if ! python3 "$alpha" make "$tmp/in.png"; then
		bad "examples/blur's failed writes and transparency" \
			"no python3 to write the input PNG"
		return
	fi
	ln -s /dev/full "$tmp/full.png"
	for o in "$tmp/no/such/dir/out.png:No such file or directory" \
		 "$tmp/full.png:No space left on device"; do
		path=${o%:*} why=${o##*:}
		timeout 300 "$blur" "$tmp/in.png" "$path" \
			>"$tmp/out" 2>"$tmp/err"
		rc=$?
		if [ $rc = 1 ] && [ ! -s "$tmp/out" ] &&
		   [ "$(cat "$tmp/err")" = "blur: $path: $why" ]; then
			ok "examples/blur to ${path#"$tmp"/}: one error, $why"
		else
			bad "examples/blur to ${path#"$tmp"/}" \
				"status $rc: $(cat "$tmp/out" "$tmp/err")"
		fi
	done

	# "Colour is blended in premultiplied alpha: transparent pixels add
	# none.": white strokes on transparent pixels of any colour stay pure
	# white wherever alpha > 0, and alpha is the plain blur of the alpha
	# channel. tests/blur_alpha.py writes the PNG and checks the result
	# in closed form, with its own PNG reader and 2-D convolution.
	out=$(timeout 300 "$blur" "$tmp/in.png" "$tmp/out.png" 5 2>&1 &&
	      python3 "$alpha" check "$tmp/in.png" "$tmp/out.png" 5 2>&1)
	if [ $? = 0 ]; then
		ok "examples/blur on a transparent image: white stays white"
	else
		bad "examples/blur on a transparent image" "$out"
	fi
	echo "$out"
}

if [ -x "$build/examples/blur" ]; then
	out=$(timeout 300 "$build/examples/blur" --selftest 2>&1)
	if [ $? = 0 ] && echo "$out" | grep -q 'channels off by more than 1'; then
		ok "examples/blur: a PNG blurred in tiles matches the CPU blur"
	else
		bad "examples/blur" "$out"
	fi
	echo "$out"
	blur_cases
else
	bad "examples/blur" "not built: configure found no libpng"
fi
finish examples
