#!/bin/sh
# Builds gpupipe-bench of an earlier commit (BASE, default HEAD~1) the way
# bench/gpu-build.sh builds the current one, as .carry/gpupipe-bench-base,
# for A/B runs on the GPU machine.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
base=${BASE:-HEAD~1}
dir=$top/build/gpu-base
rm -rf "$dir"
git -C "$top" worktree remove --force "$dir" 2>/dev/null || true
git -C "$top" worktree add -q --detach "$dir" "$base"
cd "$dir"
./autogen.sh >/dev/null 2>&1
./configure --disable-shared >/dev/null
make -j"$(nproc)" bench/gpupipe-bench >/dev/null
mkdir -p "$top/.carry"
cp bench/gpupipe-bench "$top/.carry/gpupipe-bench-base"
cd "$top"
git worktree remove --force "$dir"
echo "built $(git rev-parse --short "$base") as .carry/gpupipe-bench-base"
