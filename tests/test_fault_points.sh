#!/bin/sh
# No call skips the fault-injection layer (src/fault.h): every
# allocation, thread creation, GL and EGL call of the library goes through
# it, so tests/test_faults can fail each one.
#
# In every build, the sources: no src/*.c but fault.c calls malloc,
# calloc, realloc, strdup, pthread_create or libepoxy's entry points by
# name, and every file that uses GL or EGL includes them through gl.h.
# In a fault-injection build, the objects too: no object of the library
# but fault's references those symbols (so a macro, an #include order or a
# new file cannot slip one past the layer), and gl.h redirects every GL
# and EGL function that fault.c wraps.
set -u
top=${srcdir:-.}
build=${GPUPIPE_BUILDDIR:-.}
. "$top/tests/cases.sh"

direct='(malloc|calloc|realloc|strdup|strndup|aligned_alloc|posix_memalign|pthread_create)'

# Strip comments and strings first, so prose may name the calls.
code() {
	sed -e 's#/\*.*\*/##g' -e '/\/\*/,/\*\//d' -e 's/"[^"]*"//g' "$1"
}

# hits PATTERN FILE...: the lines of code matching PATTERN, by file,
# outside fault.c and gl.h (the layer itself).
hits() {
	pattern=$1
	shift
	for f in "$@"; do
		case $f in */fault.c | */gl.h) continue ;; esac
		code "$f" | grep -nE "$pattern" | sed "s#^#$(basename "$f"):#"
	done
}

h=$(hits "(^|[^_a-zA-Z0-9])$direct[[:space:]]*\(" "$top"/src/*.c)
if [ -z "$h" ]; then
	ok "src/*.c allocate and start threads only through gp_* (fault.h)"
else
	bad "src/*.c allocate and start threads only through gp_*" "$h"
fi

h=$(hits 'epoxy_(gl|egl)[A-Z]|#include <epoxy/' "$top"/src/*.c "$top"/src/*.h)
if [ -z "$h" ]; then
	ok "src/ reaches libepoxy only through gl.h"
else
	bad "src/ reaches libepoxy only through gl.h" "$h"
fi

# Every gl*/egl* function the sources call is redirected in gl.h.
used=$(for f in "$top"/src/*.c; do
	case $f in */fault.c) continue ;; esac
	code "$f"
done | grep -oE '(^|[^_a-zA-Z0-9])e?gl[A-Z][A-Za-z0-9_]*[[:space:]]*\(' |
	sed -E 's/^[^a-z]*//; s/[[:space:]]*\($//' | sort -u)
missing=
for fn in $used; do
	grep -q "^#define $fn gp_fi_$fn\$" "$top/src/gl.h" ||
		missing="$missing $fn"
done
if [ -z "$missing" ]; then
	ok "gl.h redirects every GL/EGL function src/ calls ($(echo "$used" | wc -l))"
else
	bad "gl.h redirects every GL/EGL function src/ calls" "missing:$missing"
fi

# ...and fault.c has a point for each (the names in GP_FAULT_POINTS).
missing=
for fn in $used; do
	case $fn in glGetError | eglGetError) continue ;; esac
	grep -qE "X\($fn\)" "$top/src/fault.h" || missing="$missing $fn"
done
if [ -z "$missing" ]; then
	ok "fault.h has a point for every GL/EGL call but the error queries"
else
	bad "fault.h has a point for every GL/EGL call" "missing:$missing"
fi

if [ "${GPUPIPE_FAULT_INJECTION:-no}" != yes ]; then
	echo "  (not a fault-injection build: the object check is skipped)"
	finish fault-points
	exit $?
fi

objs=$(ls "$build"/src/.libs/libgpupipe_la-*.o "$build"/src/libgpupipe_la-*.o \
	2>/dev/null)
if [ -z "$objs" ]; then
	bad "the library's objects are there" "none under $build/src"
	finish fault-points
	exit $?
fi
hits=
fault_refs=0
for o in $objs; do
	syms=$(nm -u "$o" | awk '{ print $NF }' |
		grep -E "^($direct|epoxy_(gl|egl)[A-Z][A-Za-z0-9_]*)\$")
	case $o in
	*-fault.o) fault_refs=$(echo "$syms" | grep -c epoxy_) ;;
	*) [ -n "$syms" ] && hits="$hits $(basename "$o"): $(echo $syms)" ;;
	esac
done
if [ -z "$hits" ]; then
	ok "no object but fault.o calls malloc/pthread_create/GL/EGL directly"
else
	bad "no object but fault.o calls malloc/pthread_create/GL/EGL directly" \
	    "$hits"
fi
# The check above sees symbols at all: fault.o calls the real ones.
if [ "$fault_refs" -ge "$(echo "$used" | wc -l)" ]; then
	ok "fault.o calls the $fault_refs real GL/EGL entry points it wraps"
else
	bad "fault.o calls the real GL/EGL entry points" \
	    "$fault_refs epoxy symbols, fewer than $(echo "$used" | wc -l)"
fi

finish fault-points
