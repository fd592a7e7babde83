#!/bin/sh
# ABI hygiene: the shared library exports exactly the functions gpupipe.h
# declares GPUPIPE_PUBLIC; the header compiles on its own, twice, as C11
# with -Wall -Wextra -Werror, and as C++.
set -u
top=${srcdir:-.}
header="$top/include/gpupipe.h"
lib="${GPUPIPE_LIBDIR:-.libs}/libgpupipe.so"
cc=${CC:-cc}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "${srcdir:-.}/tests/cases.sh"

# A fault-injection build also exports the test controls of src/fault.h.
headers=$header
[ "${GPUPIPE_FAULT_INJECTION:-no}" = yes ] && headers="$header $top/src/fault.h"
awk '/^GPUPIPE_PUBLIC/ { p = 1; s = "" }
     p { s = s " " $0; if ($0 ~ /;[[:space:]]*$/) { print s; p = 0 } }' \
	$headers | sed -E 's/^.*[ *](gpupipe_[a-z_]+)\(.*/\1/' | sort \
	>"$tmp/declared"

# (mangle_path: libgcov's, linked in by ./configure --enable-coverage.)
if [ -f "$lib" ]; then
	nm -D --defined-only "$lib" | awk '$2 ~ /^[TDBRW]$/ { print $3 }' |
		grep -v '^_' | grep -vx 'mangle_path' | sort >"$tmp/exported"
	if cmp -s "$tmp/declared" "$tmp/exported"; then
		ok "exports equal GPUPIPE_PUBLIC ($(wc -l <"$tmp/declared"))"
	else
		bad "exports equal GPUPIPE_PUBLIC" \
		    "$(diff "$tmp/declared" "$tmp/exported" | grep '^[<>]')"
	fi
else
	echo "  (no shared library at $lib: a static build; export check skipped)"
fi

printf '#include <gpupipe.h>\n#include <gpupipe.h>\nint main(void) { return gpupipe_strerror(GPUPIPE_EINVAL) == 0; }\n' \
	>"$tmp/c.c"
if $cc -std=c11 -Wall -Wextra -Werror -pedantic -I"$top/include" -c \
	"$tmp/c.c" -o "$tmp/c.o" 2>"$tmp/c.err"; then
	ok "gpupipe.h alone, twice, C11 -Werror -pedantic"
else
	bad "gpupipe.h alone, twice, C11 -Werror" "$(cat "$tmp/c.err")"
fi

cxx=${CXX:-c++}
if command -v "$cxx" >/dev/null 2>&1; then
	printf '#include <gpupipe.h>\nint main() { gpupipe_config c = {}; (void)c; return gpupipe_strerror(GPUPIPE_EINVAL) == nullptr; }\n' \
		>"$tmp/x.cc"
	if $cxx -std=c++11 -Wall -Wextra -Werror -I"$top/include" -c \
		"$tmp/x.cc" -o "$tmp/x.o" 2>"$tmp/x.err" &&
	   nm "$tmp/x.o" | grep -q ' U gpupipe_strerror$'; then
		ok "gpupipe.h as C++ (extern \"C\" linkage)"
	else
		bad "gpupipe.h as C++" "$(cat "$tmp/x.err")"
	fi
else
	bad "gpupipe.h as C++" "no C++ compiler ($cxx)"
fi

finish abi
