#!/bin/sh
# The manual against the header: every public function has a section-3
# page; each page's SYNOPSIS matches the header's prototype; every
# GPUPIPE_E* code appears in some page's ERRORS section; every page renders
# without warnings (groff -man -ww).
set -u
top=${srcdir:-.}
header="$top/include/gpupipe.h"
man="$top/man"
. "${srcdir:-.}/tests/cases.sh"

# One normalised prototype per line: "int gpupipe_push(gpupipe *p, ...);"
normalise() {
	sed -e 's/GPUPIPE_PUBLIC //' -e 's/GPUPIPE_PRINTF([^)]*)//' \
	    -e 's/[[:space:]][[:space:]]*/ /g' -e 's/( /(/g' -e 's/ )/)/g' \
	    -e 's/ ;/;/g' -e 's/^ //' -e 's/ $//'
}

protos=$(awk '/^GPUPIPE_PUBLIC/ { p = 1; s = "" }
	      p { s = s " " $0; if ($0 ~ /;[[:space:]]*$/) { print s; p = 0 } }' \
	      "$header" | normalise)
funcs=$(echo "$protos" | sed -E 's/^.*[ *](gpupipe_[a-z_]+)\(.*/\1/')

# Every public function has a page (its own, or an alias to its family's).
missing=""
for f in $funcs; do
	[ -f "$man/man3/$f.3" ] || missing="$missing $f"
done
if [ -z "$missing" ]; then ok "every function has a page ($(echo $funcs | wc -w))"; else
	bad "every function has a page" "no page for:$missing"; fi

# Each SYNOPSIS prototype is the header's, to the character (spaces
# aside).
synopsis() {
	awk '/^\.SH SYNOPSIS/ { s = 1; next } /^\.SH/ { s = 0 }
	     s && /^\.(BI|B) / && !/#include/ {
		line = $0; sub(/^\.(BI|B) /, "", line); out = ""; q = 0
		for (i = 1; i <= length(line); i++) {
			c = substr(line, i, 1)
			if (c == "\"") { q = !q; continue }
			if (!q && c == " ") continue
			out = out c
		}
		# A prototype folded over several lines ends with ";".
		acc = acc (acc == "" ? "" : " ") out
		if (acc ~ /;[[:space:]]*$/) { print acc; acc = "" }
	     }' "$1" | normalise
}
mismatch=""
npages=0
for page in "$man"/man3/*.3; do
	grep -q '^\.so ' "$page" && continue
	npages=$((npages + 1))
	for p in $(synopsis "$page" | tr ' ' '\001'); do
		p=$(echo "$p" | tr '\001' ' ')
		echo "$protos" | grep -qxF "$p" ||
			mismatch="$mismatch
    $(basename "$page"): $p"
	done
done
if [ -z "$mismatch" ]; then ok "SYNOPSIS matches gpupipe.h ($npages pages)"; else
	bad "SYNOPSIS matches gpupipe.h" "$mismatch"; fi

# Every error code is documented in an ERRORS section.
codes=$(sed -n 's/^[[:space:]]*X(\(E[A-Z]*\),.*/GPUPIPE_\1/p' "$header")
errors=$(for page in "$man"/man3/*.3; do
	awk '/^\.SH ERRORS/ { e = 1; next } /^\.SH/ { e = 0 } e' "$page"
done)
undoc=""
for c in $codes; do
	echo "$errors" | grep -q "$c" || undoc="$undoc $c"
done
if [ -n "$codes" ] && [ -z "$undoc" ]; then
	ok "every GPUPIPE_E* code in an ERRORS section ($(echo $codes | wc -w))"
else
	bad "every GPUPIPE_E* code in an ERRORS section" "missing:$undoc"
fi

# Aliases resolve, and every page renders without a warning.
# The bad-input table in gpupipe(7) is tests/test_bad_input.c's, row for
# row: "function<TAB>input<TAB>code", the function without its gpupipe_
# (the table's heading says it) so that the table fits 80 columns.
rows=$(sed -n '/} table\[\] = {/,/^};/p' "$top/tests/test_bad_input.c" |
	tr '\n\t' '  ' | grep -oE '\{ *"[^"]+", *"[^"]+", *[a-z_0-9]+, *[A-Z_0-9]+ *\}' |
	sed -E 's/\{ *"([^"]+)", *"([^"]+)", *[a-z_0-9]+, *([A-Z_0-9]+) *\}/\1	\2	\3/' |
	sed 's/^gpupipe_//')
nrows=$(echo "$rows" | grep -c .)
missing=$(echo "$rows" | while IFS= read -r row; do
	grep -qxF "$row" "$man/man7/gpupipe.7" || echo "    $row"
done)
if [ "$nrows" -gt 0 ] && [ -z "$missing" ]; then
	ok "gpupipe(7) lists the bad-input table ($nrows rows)"
else
	bad "gpupipe(7) lists the bad-input table" "rows missing ($nrows in the test):
$missing"
fi

# On an 80-column terminal (man-db formats for MANWIDTH=80 with a 78n
# line): no warning, and no line past column 80 (tables and SYNOPSIS
# lines are not folded by groff; they overflow instead).
if command -v groff >/dev/null 2>&1; then
	warn=$(cd "$man" && for page in man1/*.1 man3/*.3 man7/*.7; do
		groff -man -t -Tascii -rLL=78n -ww -z "$page" 2>&1 |
			sed "s|^|$page: |"
		groff -man -t -Tascii -rLL=78n -P-c "$page" 2>/dev/null |
			sed 's/.\x08//g' |
			awk -v p="$page" 'length($0) > 80 {
				print p ": line " NR " has " length($0) \
				    " columns: " substr($0, 1, 50) "..." }'
	done)
	if [ -z "$warn" ]; then
		ok "pages render at 80 columns without warnings"
	else
		bad "pages render at 80 columns without warnings" "$warn"
	fi
else
	bad "pages render without warnings" "groff is not installed"
fi

finish man
