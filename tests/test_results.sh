#!/bin/sh
# bench/RESULTS.md shows what its JSON says: each table that names
# "Markdown: `bench/json-table.py FORM DIR`" holds every row that command
# prints from the committed JSON, and every plot that README.md and
# RESULTS.md show is in the tree. (bench/RESULTS.md: "Each table names
# the suite that rebuilds it and the folder under bench/results/ that
# holds its JSON and nothing else".)
set -u
src=${srcdir:-.}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$src/tests/cases.sh"

results=$src/bench/RESULTS.md
if [ ! -d "$src/bench/results" ]; then
	echo "bench/results/ is not in this tree (a release tarball): skipped"
	exit 77
fi
py=$(command -v python3 || command -v /usr/bin/python3)

# Each table's markdown, made again from its folder, row by row.
grep -o 'Markdown: `bench/json-table.py [a-z]* [^`]*`' "$results" |
	sed 's/^Markdown: `bench\/json-table.py //; s/`$//' >"$tmp/tables"
[ -s "$tmp/tables" ] || bad "RESULTS.md names its tables' commands" "none found"
while read -r form dir; do
	if ! "$py" "$src/bench/json-table.py" "$form" "$src/$dir" \
		>"$tmp/md" 2>&1; then
		bad "json-table.py $form $dir" "$(tail -n 3 "$tmp/md")"
		continue
	fi
	grep '^|' "$tmp/md" | grep -v '^| ---' >"$tmp/rows"
	missing=$(grep -cvxF -f "$results" "$tmp/rows")
	total=$(wc -l <"$tmp/rows")
	if [ "$total" -gt 0 ] && [ "$missing" = 0 ]; then
		ok "RESULTS.md holds the $total rows of $dir's JSON ($form)"
	else
		bad "RESULTS.md holds $dir's rows" \
			"$missing of $total rows differ, the first: $(grep -vxF -f "$results" "$tmp/rows" | head -n 1)"
	fi
done <"$tmp/tables"

# Every image the two documents show exists.
for doc in README.md bench/RESULTS.md; do
	dir=$(dirname "$src/$doc")
	grep -o '!\[[^]]*\]([^)]*)' "$src/$doc" | sed 's/.*(//; s/)$//' |
		while read -r img; do
			if [ -f "$dir/$img" ]; then
				echo "ok $doc $img"
			else
				echo "missing $doc $img"
			fi
		done
done >"$tmp/imgs"
n=$(grep -c '^ok' "$tmp/imgs")
if [ "$n" -gt 0 ] && ! grep -q '^missing' "$tmp/imgs"; then
	ok "the $n plots README.md and RESULTS.md show are in the tree"
else
	bad "the plots the documents show" "$(grep '^missing' "$tmp/imgs" | head -n 3)"
fi

finish results
