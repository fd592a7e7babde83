#!/bin/sh
# The README's program, as a user copies it: it builds with -std=c11
# -Wall -Wextra without a warning, runs, "says what it checked and exits
# 0, or 1 if anything went wrong" (README.md, "Using it").
set -u
top=${srcdir:-.}
build=${GPUPIPE_BUILDDIR:-.}
cc=${CC:-cc}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$top/tests/cases.sh"

# The first C block after "## Using it".
awk '/^## Using it/ { u = 1 } u && /^```c$/ { c = 1; next }
     c && /^```$/ { exit } c' "$top/README.md" >"$tmp/app.c"
if [ -s "$tmp/app.c" ] && grep -q 'int main' "$tmp/app.c"; then
	ok "README.md's program found ($(wc -l <"$tmp/app.c") lines)"
else
	bad "README.md's program" "no C block with main after '## Using it'"
fi

# Against this build tree: its header and library (shared, or static
# with what the library links).
libs="-L$build/.libs -lgpupipe"
[ -f "$build/.libs/libgpupipe.so" ] ||
	libs="$build/.libs/libgpupipe.a $(pkg-config --libs epoxy egl liburcu-cds) -pthread -lm"
if $cc -std=c11 -Wall -Wextra -Werror ${SAN_CFLAGS:-} -I"$top/include" \
	"$tmp/app.c" $libs -o "$tmp/app" 2>"$tmp/cc.err"; then
	ok "it builds with -std=c11 -Wall -Wextra -Werror"
else
	bad "it builds with -std=c11 -Wall -Wextra -Werror" "$(cat "$tmp/cc.err")"
fi

if [ -x "$tmp/app" ]; then
	LD_LIBRARY_PATH="$build/.libs" timeout 300 "$tmp/app" \
		>"$tmp/out" 2>"$tmp/err"
	rc=$?
	if [ $rc = 0 ] && grep -q \
	   '^1000 items of 256 floats, y = 2x + 1: 1000 checked, 0 wrong$' \
	   "$tmp/out" && [ ! -s "$tmp/err" ]; then
		ok "it checks 1000 items, says so and exits 0"
	else
		bad "it runs" "exit $rc: $(cat "$tmp/out" "$tmp/err")"
	fi
else
	bad "it runs" "not built"
fi
# gpupipe(7)'s EXAMPLES holds the same program (roff escapes and
# indentation aside).
awk '/^\.SH EXAMPLES/ { e = 1 } e && /^\.EX$/ { c = 1; next }
     c && /^\.EE$/ { exit } c' "$top/man/man7/gpupipe.7" |
	sed 's/^\\&//; s/\\e/\\/g; s/\\-/-/g' | tr -d ' \t' >"$tmp/man.c"
if [ -s "$tmp/man.c" ] && tr -d ' \t' <"$tmp/app.c" | cmp -s - "$tmp/man.c"; then
	ok "gpupipe(7)'s EXAMPLES is the same program"
else
	bad "gpupipe(7)'s EXAMPLES is the same program" \
	    "$(tr -d ' \t' <"$tmp/app.c" | diff - "$tmp/man.c" | head -n 6)"
fi
finish readme
