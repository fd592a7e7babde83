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

out=$(timeout 300 "$build/examples/interop" 2>&1)
if [ $? = 0 ] && echo "$out" | grep -q ': 0 wrong values, 0 failed items$'; then
	ok "examples/interop: outputs copied in the application's context"
else
	bad "examples/interop" "$out"
fi

echo "$out"

if [ -x "$build/examples/blur" ]; then
	out=$(timeout 300 "$build/examples/blur" --selftest 2>&1)
	if [ $? = 0 ] && echo "$out" | grep -q 'channels off by more than 1'; then
		ok "examples/blur: a PNG blurred in tiles matches the CPU blur"
	else
		bad "examples/blur" "$out"
	fi
	echo "$out"
else
	bad "examples/blur" "not built: configure found no libpng"
fi
finish examples
