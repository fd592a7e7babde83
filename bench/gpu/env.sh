# SPDX-License-Identifier: MIT
# Sourced by bench/gpu/run: the machine before the suites. Unpacks the
# carried run-time packages (.gl) where the build's libraries are missing,
# picks the driver's EGL vendor file, and says what the figures will be
# measured on (GL renderer, version, driver, date) into env.json.

# has_nvidia: an NVIDIA GPU and its driver are here.
has_nvidia() {
	[ -e /proc/driver/nvidia/version ] || nvidia-smi -L >/dev/null 2>&1
}

# missing_libs: how many shared libraries the build's programs (or
# libEGL, which libepoxy opens itself) cannot find.
missing_libs() {
	local n
	local ldc
	n=$(ldd "$bench" $(find_prog test_api) 2>/dev/null |
		grep -c 'not found' || true)
	ldc=$(command -v ldconfig || echo /sbin/ldconfig)
	[ ! -x "$ldc" ] || "$ldc" -p | grep -q 'libEGL\.so\.1 ' ||
		n=$((n + 1))
	echo "$n"
}

# unpack_gl: the .gl packages (../shared/gpu/prepare-gl.sh fetches them)
# into /, only where something is missing: never over a machine's own.
unpack_gl() {
	local f n debs
	debs=$(ls "$top"/.gl/*.deb 2>/dev/null || true)
	n=$(missing_libs)
	if [ "$n" = 0 ]; then
		say ".gl: not unpacked (every library is installed here)"
		return 0
	fi
	[ -n "$debs" ] || die "$n libraries missing and no .gl/*.deb to" \
		"unpack (../shared/gpu/prepare-gl.sh fetches them; carry .gl)"
	[ "$(id -u)" = 0 ] || die "$n libraries missing; unpacking .gl" \
		"into / needs root"
	for f in $debs; do
		dpkg -x "$f" /
	done
	ldconfig
	say ".gl: unpacked $(echo "$debs" | wc -l) packages into /"
	n=$(missing_libs)
	[ "$n" = 0 ] || die "still $n libraries missing after unpacking .gl"
}

# egl_vendor: the EGL vendor file glvnd should load, searched for in the
# egl_vendor.d folders: NVIDIA's when an NVIDIA GPU is here, else Mesa's.
# A file the caller names in __EGL_VENDOR_LIBRARY_FILENAMES is kept.
egl_vendor() {
	local want=mesa d f dirs
	vendor_file=${__EGL_VENDOR_LIBRARY_FILENAMES:-}
	if [ -n "$vendor_file" ]; then
		vendor_why="named by the caller"
		say "EGL vendor file: $vendor_file ($vendor_why)"
		return 0
	fi
	[ -z "$nvidia" ] || want=nvidia
	d=${__EGL_VENDOR_LIBRARY_DIRS:-}
	dirs="${d//:/ } \
		/usr/local/nvidia/share/glvnd/egl_vendor.d \
		/usr/share/glvnd/egl_vendor.d /etc/glvnd/egl_vendor.d \
		/usr/local/share/glvnd/egl_vendor.d"
	for d in $dirs; do
		for f in "$d"/*"$want"*.json; do
			[ -f "$f" ] && vendor_file=$f && break 2
		done
	done
	if [ -z "$vendor_file" ]; then
		[ -z "$nvidia" ] || die "an NVIDIA GPU is here but no" \
			"*nvidia*.json in:" $dirs
		vendor_why="no NVIDIA GPU and no *mesa*.json: glvnd's own choice"
		say "EGL vendor file: none ($vendor_why)"
		return 0
	fi
	vendor_why="no NVIDIA GPU here: Mesa's"
	[ -z "$nvidia" ] || vendor_why="an NVIDIA GPU is here: NVIDIA's"
	export __EGL_VENDOR_LIBRARY_FILENAMES=$vendor_file
	say "EGL vendor file: $vendor_file ($vendor_why)"
}

# gl_info: one short sync run, for the renderer and version its JSON
# names; the driver from nvidia-smi or the GL version. Refuses llvmpipe
# on a machine with an NVIDIA GPU: the figures would be the CPU's.
gl_info() {
	"$bench" --workload tiny --items 64 --rounds 1 --modes sync \
		--warmup-s 0 --json "$work/glinfo.json" >"$work/glinfo.log" 2>&1 ||
		{ cat "$work/glinfo.log"; die "gpupipe-bench does not run here"; }
	renderer=$(sed -n 's/^ *"renderer": "\(.*\)",$/\1/p' "$work/glinfo.json")
	version=$(sed -n 's/^ *"version": "\(.*\)",$/\1/p' "$work/glinfo.json")
	driver=$version
	[ -z "$nvidia" ] || driver=$(nvidia-smi --format=csv,noheader \
		--query-gpu=name,driver_version,clocks.sm,temperature.gpu |
		paste -sd';')
	say "GL renderer: $renderer"
	say "GL version:  $version"
	say "driver:      $driver"
	say "date:        $(date -u '+%Y-%m-%d %H:%M:%S UTC'), $(nproc) CPU cores"
	case $renderer in
	*llvmpipe* | *softpipe*)
		[ -z "$nvidia" ] || die "an NVIDIA GPU is here but GL runs on" \
			"$renderer: the vendor file did not take"
		profile=llvmpipe ;;
	*) profile=gpu ;;
	esac
	[ -z "$quick" ] || profile=quick
}

# setup: all of the above, then env.json.
setup() {
	nvidia=
	! has_nvidia || nvidia=1
	say "bench/gpu/run ${suites[*]} (build $build: $(build_rev "$build"))"
	unpack_gl
	egl_vendor
	if [ -z "$nvidia" ] && [ -z "${LP_NUM_THREADS+set}" ]; then
		export LP_NUM_THREADS=0
		say "LP_NUM_THREADS=0 (no NVIDIA GPU: llvmpipe without its threads)"
	fi
	export GPUPIPE_SHADER_DIR
	GPUPIPE_SHADER_DIR=$(shader_dir "$build")
	gl_info
	json_obj date "$(date -u '+%Y-%m-%dT%H:%M:%SZ')" host "$(uname -n)" \
		cores "$(nproc)" build "$build" rev "$(build_rev "$build")" \
		renderer "$renderer" version "$version" driver "$driver" \
		nvidia "$([ -n "$nvidia" ] && echo true || echo false)" \
		egl_vendor_file "${vendor_file:-none}" \
		egl_vendor_why "$vendor_why" profile "$profile" \
		suites "${suites[*]}" >"$work/env.json"
	echo >>"$work/env.json"
}
