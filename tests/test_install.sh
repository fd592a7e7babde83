#!/bin/sh
# What a user does: install gpupipe (here into a temporary root), build
# examples/minimal.c with nothing but `pkg-config --cflags --libs gpupipe`,
# and examples/saxpy.f90 against the installed gpupipe.f03, run them, and
# find the man pages where man looks for them.
set -u
top=${srcdir:-.}
build=${GPUPIPE_BUILDDIR:-.}
cc=${CC:-cc}
# A sanitizer build's library needs its runtime loaded first: build the
# consumer the same way (SAN_CFLAGS), as a user of such a build would.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "${srcdir:-.}/tests/cases.sh"

if make -C "$build" install DESTDIR="$tmp/root" >"$tmp/install.log" 2>&1; then
	ok "make install DESTDIR=..."
else
	bad "make install" "$(tail -n 20 "$tmp/install.log")"
fi

pc=$(find "$tmp/root" -name gpupipe.pc | head -n 1)
so=$(find "$tmp/root" -name 'libgpupipe.so' | head -n 1)
static=
[ -n "$so" ] || static=--static

# pkgconf ARG...: pkg-config on the installed gpupipe.pc, as a user's
# build would call it.
pkgconf() {
	PKG_CONFIG_SYSROOT_DIR="$tmp/root" PKG_CONFIG_PATH="$(dirname "$pc")" \
		pkg-config "$@"
}

# run_installed PROGRAM ARG...: run it against the installed library, on
# llvmpipe's one thread, for at most 300 s.
run_installed() {
	LD_LIBRARY_PATH="${so:+$(dirname "$so")}" LP_NUM_THREADS=0 \
		timeout 300 "$@"
}
if [ -n "$pc" ] && flags=$(pkgconf $static --cflags --libs gpupipe) &&
   $cc -std=c11 -Wall -Werror ${SAN_CFLAGS:-} "$top/examples/minimal.c" \
	$flags -lm \
	-o "$tmp/minimal" 2>"$tmp/cc.err"; then
	ok "examples/minimal.c builds with pkg-config only ($flags)"
else
	bad "examples/minimal.c builds with pkg-config only" \
	    "gpupipe.pc at '$pc'; $(cat "$tmp/cc.err" 2>/dev/null)"
fi

if [ -x "$tmp/minimal" ] &&
   run_installed "$tmp/minimal" 300 >"$tmp/run.out" 2>&1 &&
   grep -q '^300 items: 300 correct, 0 wrong, 0 not done$' "$tmp/run.out"; then
	ok "the installed example runs and checks 300 items"
else
	bad "the installed example runs" "$(cat "$tmp/run.out" 2>/dev/null)"
fi

# The other examples, each with the pkg-config modules it names.
for ex in "interop:gpupipe epoxy" "blur:gpupipe libpng"; do
	name=${ex%%:*}
	mods=${ex#*:}
	if ! pkgconf --exists $mods 2>/dev/null; then
		echo "  ($name: pkg-config lacks one of: $mods; not built)"
		continue
	fi
	if flags=$(pkgconf $static --cflags --libs $mods) &&
	   $cc -std=c11 -Wall -Werror ${SAN_CFLAGS:-} "$top/examples/$name.c" \
		$flags -lm -pthread -o "$tmp/$name" 2>"$tmp/cc.err"; then
		ok "examples/$name.c builds with pkg-config only"
	else
		bad "examples/$name.c builds with pkg-config only" \
		    "$(cat "$tmp/cc.err")"
	fi
done
shaders=$(find "$tmp/root" -name blur.comp -printf '%h\n' | head -n 1)
if [ -x "$tmp/blur" ] &&
   out=$(GPUPIPE_SHADER_DIR="$shaders" \
	 run_installed "$tmp/blur" --selftest 2>&1); then
	ok "the installed blur runs with the installed shader"
elif [ -x "$tmp/blur" ]; then
	bad "the installed blur runs" "$out"
fi

# Fortran: gpupipe.f03 beside gpupipe.h, and examples/saxpy.f90 built the
# way gpupipe-fortran(7) says (INCLUDE does not search /usr/include, which
# pkg-config --cflags leaves out: the include directory by name).
h=$(find "$tmp/root" -name gpupipe.h | head -n 1)
if [ -n "$h" ] && [ -f "$(dirname "$h")/gpupipe.f03" ]; then
	ok "gpupipe.f03 installed beside gpupipe.h"
else
	bad "gpupipe.f03 installed beside gpupipe.h" "gpupipe.h at '$h'"
fi
if [ "${GPUPIPE_FORTRAN:-no}" = yes ]; then
	src=$(cd "$top/examples" && pwd)/saxpy.f90
	if inc=$(pkgconf --variable=includedir gpupipe) &&
	   libs=$(pkgconf $static --libs gpupipe) &&
	   (cd "$tmp" && ${FC:-gfortran} ${SAN_CFLAGS:-} "$src" -I"$inc" \
		$libs -o saxpy) >"$tmp/fc.err" 2>&1; then
		ok "examples/saxpy.f90 builds against the installed gpupipe.f03"
	else
		bad "examples/saxpy.f90 builds against the installed copy" \
		    "$(cat "$tmp/fc.err")"
	fi
	if [ -x "$tmp/saxpy" ] &&
	   run_installed "$tmp/saxpy" 100 >"$tmp/run.out" 2>&1 &&
	   grep -q ': 100 correct, 0 wrong, 0 not done, 0 out of order$' \
		"$tmp/run.out"; then
		ok "the installed Fortran example runs and checks 100 items"
	elif [ -x "$tmp/saxpy" ]; then
		bad "the installed Fortran example runs" "$(cat "$tmp/run.out")"
	fi
else
	echo "  (examples/saxpy.f90: skipped: configure found no Fortran" \
	     "compiler)"
fi

pages=""
for p in man7/gpupipe.7 man7/gpupipe-fortran.7 man3/gpupipe_create.3 \
	 man3/gpupipe_destroy.3 man3/gpupipe_push.3 man1/gpupipe-bench.1; do
	find "$tmp/root" -path "*/man/$p" | grep -q . || pages="$pages $p"
done
if [ -z "$pages" ]; then ok "man pages installed under share/man"; else
	bad "man pages installed" "missing:$pages"; fi

finish install
