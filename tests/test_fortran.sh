#!/bin/sh
# The Fortran interface, include/gpupipe.f03, against gpupipe.h:
#  - it compiles on its own as Fortran 2003 (-std=f2003 -pedantic);
#  - every function of gpupipe.h is bound (bind(c, name='...')) or named
#    "not bound" with its reason;
#  - every struct of gpupipe.h, field by field, has a Fortran type of the
#    same size and array stride, each component at the C field's offset
#    and of its size, and every numeric constant has the C value: a C
#    program made here from the header's own declarations prints them,
#    tests/test_fortran layout prints the Fortran side, and the two must
#    be equal line for line;
#  - tests/test_fortran calls runs every bound function.
# Run only when configure found a Fortran compiler (FC).
set -u
top=${srcdir:-.}
build=${GPUPIPE_BUILDDIR:-.}
header="$top/include/gpupipe.h"
f03="$top/include/gpupipe.f03"
cc=${CC:-cc}
fc=${FC:-gfortran}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "${srcdir:-.}/tests/cases.sh"

# 1. Fortran 2003, no extensions.
cat >"$tmp/mod.f90" <<'EOF'
module gpupipe
  use, intrinsic :: iso_c_binding
  implicit none
  include 'gpupipe.f03'
end module gpupipe
EOF
inc=$(cd "$top/include" && pwd)
if (cd "$tmp" && $fc -std=f2003 -pedantic -Wall -Wextra -Werror -I"$inc" \
	-c mod.f90) >"$tmp/fc.err" 2>&1; then
	ok "gpupipe.f03 compiles as Fortran 2003 ($fc -std=f2003 -pedantic)"
else
	bad "gpupipe.f03 compiles as Fortran 2003" "$(cat "$tmp/fc.err")"
fi

# 2. Every public function: bound, or "NAME: not bound" with a reason.
funcs=$(awk '/^GPUPIPE_PUBLIC/ { p = 1; s = "" }
	     p { s = s " " $0; if ($0 ~ /;[[:space:]]*$/) { print s; p = 0 } }' \
	     "$header" | sed -E 's/^.*[ *](gpupipe_[a-z_]+)\(.*/\1/')
missing=""
nbound=0
for f in $funcs; do
	if grep -qi "bind(c, name='$f')" "$f03"; then
		nbound=$((nbound + 1))
	elif ! grep -q "^! $f: not bound (" "$f03"; then
		missing="$missing $f"
	fi
done
if [ -z "$missing" ]; then
	ok "every function bound ($nbound), or named not bound with why\
 ($(($(echo $funcs | wc -w) - nbound)))"
else
	bad "every function of gpupipe.h in gpupipe.f03" "missing:$missing"
fi

# 3. Layout and constants. "STRUCT FIELD" for each field of each struct of
# the header (comments removed, "unsigned a, b, c;" is three fields).
awk '{
	line = $0; out = ""
	while (line != "") {
		if (incomment) {
			i = index(line, "*/")
			if (!i) break
			line = substr(line, i + 2); incomment = 0
		} else {
			i = index(line, "/*")
			if (!i) { out = out line; break }
			out = out substr(line, 1, i - 1)
			line = substr(line, i + 2); incomment = 1
		}
	}
	$0 = out
}
/^struct gpupipe_[a-z_]+ \{/ { s = $2; decl = ""; next }
s && /^\};/ { s = ""; next }
s {
	decl = decl " " $0
	while ((i = index(decl, ";"))) {
		d = substr(decl, 1, i - 1); decl = substr(decl, i + 1)
		gsub(/\[[^]]*\]/, "", d); gsub(/\*/, " ", d)
		n = split(d, part, ",")
		m = split(part[1], w, " "); print s, w[m]
		for (k = 2; k <= n; k++) { split(part[k], w, " "); print s, w[1] }
	}
}' "$header" >"$tmp/fields"
# Numeric #defines, enumerators, and the codes of GPUPIPE_ERRNO_MAP.
{
	num='(0x[0-9a-fA-F]+|[0-9]+)u?([[:space:]].*)?$'
	sed -nE "s/^#define (GPUPIPE_[A-Z0-9_]+)[[:space:]]+$num/\\1/p" \
		"$header"
	awk '/^enum gpupipe_[a-z_]+ \{/ { e = 1; next } e && /^\};/ { e = 0 }
	     e && /^[[:space:]]*GPUPIPE_[A-Z0-9_]+[[:space:]]*(=|,|\/|$)/ {
		sub(/^[[:space:]]*/, ""); sub(/[[:space:]=,].*/, ""); print }' \
		"$header"
	sed -nE 's/^[[:space:]]*X\((E[A-Z]+),.*/GPUPIPE_\1/p' "$header"
} | sort -u >"$tmp/consts"

{
	cat <<'EOF'
#include <stddef.h>
#include <stdio.h>
#include <gpupipe.h>
#define F(s, f) printf("field %s.%s %zu %zu\n", #s, #f, \
	offsetof(struct s, f), sizeof(((struct s *)0)->f))
#define S(s) printf("size %s %zu\nstride %s %zu\n", #s, \
	sizeof(struct s), #s, sizeof(struct s))
#define K(k) printf("const %s %lld\n", #k, (long long)(k))
EOF
	echo 'int main(void)'
	echo '{'
	for s in $(cut -d' ' -f1 "$tmp/fields" | uniq); do
		echo "	S($s);"
		awk -v s="$s" '$1 == s { print "\tF(" s ", " $2 ");" }' \
			"$tmp/fields"
	done
	sed 's/.*/	K(&);/' "$tmp/consts"
	echo '	return 0;'
	echo '}'
} >"$tmp/layout.c"
nstructs=$(cut -d' ' -f1 "$tmp/fields" | uniq | wc -l)
nfields=$(wc -l <"$tmp/fields")
nconsts=$(wc -l <"$tmp/consts")

if $cc -std=c11 -I"$top/include" "$tmp/layout.c" -o "$tmp/layout" \
	2>"$tmp/cc.err" && "$tmp/layout" | sort >"$tmp/c.out"; then
	ok "gpupipe.h's layout: $nstructs structs, $nfields fields,\
 $nconsts constants"
else
	bad "gpupipe.h's layout" "$(cat "$tmp/cc.err")"
fi
if "$build/tests/test_fortran" layout | sort >"$tmp/f.out" &&
   [ "$nstructs" -ge 6 ] && [ "$nfields" -ge 100 ] &&
   diff "$tmp/c.out" "$tmp/f.out" >"$tmp/diff"; then
	ok "gpupipe.f03's types: sizes, strides and every component's\
 offset and size equal gpupipe.h's"
	ok "gpupipe.f03's constants equal gpupipe.h's"
else
	bad "gpupipe.f03 against gpupipe.h (< C, > Fortran)" \
	    "$(grep '^[<>]' "$tmp/diff")"
fi

# 4. Every bound function, called.
"$build/tests/test_fortran" calls >"$tmp/calls" 2>&1
rc=$?
while IFS= read -r line; do
	case $line in
	"pass "*) ok "${line#pass }" ;;
	"fail "*) bad "${line#fail }" "" ;;
	*) echo "$line" ;;
	esac
done <"$tmp/calls"
if [ $rc != 0 ] || ! grep -q '^pass gpupipe_destroy$' "$tmp/calls"; then
	bad "tests/test_fortran calls ran to its end" "exit status $rc"
fi

finish fortran
