#!/usr/bin/env bash
# media-task.sh -- what one image task costs on the media fork server, next to what
# libvips itself spends on the same picture, in one run (issue 18). CPU
# (user + system, the process and every child it waited for) of:
#   task      one 1280x720 JPEG task forked by the fork server (probe, the `small`
#             style, blurhash): media_tool running 16 tasks one after another, less
#             one running 1, over 15, so the server's own start is not counted;
#   fixed     the same for an input refused right after the sandbox: fork, limits,
#             seccomp, the probe that refuses it, the result line, exit;
#   libvips   `vipsthumbnail` making the same 640x360 thumbnail, less `vips
#             --version` (libvips' own start), both with one libvips thread;
#   exec      one bare exec of scotty-media printing its usage (what a task pays
#             when the fork server is off, before it does anything).
# Medians of ROUNDS, then the ratios: the task over libvips' part, and the best
# ratio of image posts/s with and without the fork server that this task cost
# allows ((exec + task) / task: the worker's own work per post left out).
# Usage: tests/bench/media-task.sh [ROUNDS (7)]
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
rounds=${1:-7}
build="${SCOTTY_BUILD:-$here/build-release}"
cmake -S "$here" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j 2 --target media_tool scotty-media >/dev/null
tool="$build/tests/media/media_tool"
media="$build/worker/scotty-media"
work=$(mktemp -d "${TMPDIR:-/tmp}/scotty-media-task-XXXXXX")
trap 'rm -rf "$work"' EXIT
ffmpeg -nostdin -v error -y -f lavfi -i testsrc2=size=1280x720 -frames:v 1 "$work/photo.jpg"
echo garbage >"$work/refused.jpg"

# cpu_ms N COMMAND...: CPU milliseconds of one run of COMMAND, from N runs in a row
# (GNU time counts in hundredths of a second); a failing command stops the benchmark
# unless it is scotty-media's usage (exit 2).
cpu_ms() {
    local n=$1
    shift
    /usr/bin/time -f "%U %S" -o "$work/time" bash -c \
        'for _ in $(seq "$0"); do "$@" >/dev/null 2>&1 || [ $? -eq 2 ] || exit 1; done' "$n" "$@" ||
        { echo "command failed: $*" >&2; exit 1; }
    awk -v n="$n" '{ printf "%.2f\n", ($1 + $2) * 1000 / n }' "$work/time"
}

# per_task INPUT: CPU ms of one fork-server task on INPUT (16 tasks less 1, over 15).
per_task() {
    local one many
    one=$(cpu_ms 3 "$tool" run --in "$1" --out-dir "$work/out1" --parallel 1 --slots 1)
    many=$(cpu_ms 3 "$tool" run --in "$1" --out-dir "$work/out16" --parallel 16 --slots 1)
    awk -v a="$one" -v b="$many" 'BEGIN { printf "%.2f\n", (b - a) / 15 }'
}

# minus A B: A - B
minus() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f\n", a - b }'; }

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

: >"$work/task"; : >"$work/fixed"; : >"$work/vips"; : >"$work/exec"
"$media" >/dev/null 2>&1 || true # the first exec pays for the page cache
for _ in $(seq "$rounds"); do
    per_task "$work/photo.jpg" >>"$work/task"
    per_task "$work/refused.jpg" >>"$work/fixed"
    thumb=$(VIPS_CONCURRENCY=1 cpu_ms 20 vipsthumbnail "$work/photo.jpg" -s 640x360 -o "$work/thumb.jpg")
    minus "$thumb" "$(VIPS_CONCURRENCY=1 cpu_ms 20 vips --version)" >>"$work/vips"
    minus "$(cpu_ms 20 "$media")" "$(cpu_ms 20 /bin/true)" >>"$work/exec"
done
task=$(median <"$work/task"); fixed=$(median <"$work/fixed")
vips=$(median <"$work/vips"); exec_ms=$(median <"$work/exec")
echo "one 1280x720 JPEG image task, $(nproc) CPUs, medians of $rounds rounds, CPU ms:"
printf '  %-66s %6.1f\n' "fork-server task (probe, small style, blurhash)" "$task" \
    "  of it, a task child's fixed cost (input refused after the sandbox)" "$fixed" \
    "vipsthumbnail of the same 640x360, less libvips' start" "$vips" \
    "one bare exec of scotty-media (usage only)" "$exec_ms"
awk -v t="$task" -v v="$vips" -v e="$exec_ms" 'BEGIN {
    printf "ratio task / libvips thumbnail: %.2f\n", t / v
    printf "best ratio of image posts/s, fork server / exec per task, at this task cost: %.2f\n", (e + t) / t }'
