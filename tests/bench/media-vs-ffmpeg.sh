#!/usr/bin/env bash
# media-vs-ffmpeg.sh -- scotty's media child against the ffmpeg CLI running
# Mastodon's commands, on the same generated 720p and 1080p clips, in one run.
#
# For each clip it measures (GNU time: wall, user+sys CPU, peak RSS):
#   scotty      `media_tool media-child process` (the code `scotty media-child`
#               runs): probe, transcode, output probe, 640x640 preview, blurhash
#   ffmpeg      Mastodon's pipeline with the CLI: ffprobe, the transcode with
#               Mastodon's options, the preview frame (three processes, summed;
#               peak RSS is the largest of them)
# both at the same thread count (default 1, as --media-threads 1), plus the CLI
# exactly as Mastodon runs it (no -threads: one thread per core), and a capped
# scotty run (--quota 0.5 core, 2 threads) through the runner.
#
# Usage: tests/bench/media-vs-ffmpeg.sh [seconds-per-clip (10)] [threads (1)]
# Builds a release (no sanitizer) copy in ${BUILD:-/work/build-media-bench}.
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
secs=${1:-10}
threads=${2:-1}
build=${BUILD:-/work/build-media-bench}
work=$(mktemp -d "${TMPDIR:-/tmp}/scotty-media-bench-XXXXXX")
trap 'rm -rf "$work"' EXIT

cmake -S "$here" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSCOTTY_SANITIZE=OFF >/dev/null
cmake --build "$build" -j2 --target media_tool >/dev/null
tool="$build/tests/media/media_tool"

# Camera-like clips: moving test pattern with temporal grain, H.264 + AAC in a
# QuickTime container (a phone video: Mastodon always transcodes .mov).
gen_clip() {
    local size=$1 out=$2
    ffmpeg -nostdin -v error -y -f lavfi -i "testsrc2=s=$size:r=30:d=$secs" -f lavfi -i "sine=f=440:d=$secs" \
        -vf "noise=alls=6:allf=t" -c:v libx264 -preset ultrafast -crf 23 -pix_fmt yuv420p \
        -c:a aac -b:a 128k -shortest -f mov "$out"
}

# Runs a command under GNU time; prints "wall cpu rss_kb".
measure() {
    /usr/bin/time -f "%e %U %S %M" -o "$work/time" "$@" >/dev/null 2>"$work/err" ||
        { echo "command failed: $*" >&2; cat "$work/err" >&2; exit 1; }
    awk '{ printf "%.2f %.2f %d\n", $1, $2 + $3, $4 }' "$work/time"
}

# Mastodon's three CLI steps for one video; sums wall and CPU, keeps the peak RSS.
ffmpeg_pipeline() {
    local in=$1 out=$2 thr=$3 w h d b a b_c c
    read -r w h < <(ffprobe -v error -select_streams v:0 -show_entries stream=width,height -of csv=p=0:s=x "$in" | tr x ' ')
    d=$(ffprobe -v error -show_entries format=duration -of csv=p=0 "$in")
    b=$(awk -v w="$w" -v h="$h" -v d="$d" 'BEGIN { p = int(w*h*30*0.11); if (d < 1) d = 1;
        s = int(99*1024*1024*8/d) - 192000; print (p < s ? p : s) }')
    local in_thr=() out_thr=()
    if [ "$thr" != auto ]; then
        in_thr=(-threads "$thr"); out_thr=(-threads "$thr" -filter_threads "$thr")
    fi
    a=$(measure ffprobe -i "$in" -print_format json -show_format -show_streams -show_error -loglevel fatal)
    b_c=$(measure ffmpeg -nostdin "${in_thr[@]}" -i "$in" -loglevel fatal -preset veryfast -movflags faststart \
        -pix_fmt yuv420p -vf 'crop=floor(iw/2)*2:floor(ih/2)*2' -c:v h264 -c:a aac -b:a 192k \
        -map_metadata -1 -frames:v 36000 -b:v "$b" -maxrate $((b + 192000)) -bufsize $((5 * b)) \
        "${out_thr[@]}" -f mp4 -y "$out")
    c=$(measure ffmpeg -nostdin "${in_thr[@]}" -ss 0 -i "$in" -loglevel fatal \
        -vf "scale='min(640,iw)':'min(640,ih)':force_original_aspect_ratio=decrease" "${out_thr[@]}" \
        -f image2 -vframes 1 -y "$work/preview.png")
    printf '%s\n%s\n%s\n' "$a" "$b_c" "$c" | awk '{ w += $1; c += $2; if ($3 > r) r = $3 }
        END { printf "%.2f %.2f %d\n", w, c, r }'
}

row() { # label wall cpu rss
    awk -v l="$1" -v w="$2" -v c="$3" -v r="$4" -v s="$secs" \
        'BEGIN { printf "  %-40s %7.2f %8.2f %10.3f %8.1f\n", l, w, c, c / s, r / 1024 }'
}

echo "media benchmark: ${secs}s clips, H.264+AAC in MOV with grain, $(nproc) CPUs, $(ffmpeg -version | head -1 | cut -d' ' -f1-3)"
for size in 1280x720 1920x1080; do
    clip="$work/clip-$size.mov"
    gen_clip "$size" "$clip"
    echo
    echo "$size ($(du -k "$clip" | cut -f1) KB source)"
    printf '  %-40s %7s %8s %10s %8s\n' run wall_s cpu_s cpu_s/vid_s rss_MB
    read -r sw sc sr < <(measure "$tool" media-child process --in "$clip" --out-dir "$work/s-$size" --threads "$threads")
    row "scotty child, threads $threads" "$sw" "$sc" "$sr"
    read -r fw fc fr < <(ffmpeg_pipeline "$clip" "$work/f-$size.mp4" "$threads")
    row "ffmpeg CLI, threads $threads" "$fw" "$fc" "$fr"
    read -r aw ac ar < <(ffmpeg_pipeline "$clip" "$work/a-$size.mp4" auto)
    row "ffmpeg CLI as Mastodon runs it (auto)" "$aw" "$ac" "$ar"
    awk -v sc="$sc" -v fc="$fc" -v sw="$sw" -v fw="$fw" -v sr="$sr" -v fr="$fr" -v ac="$ac" -v ar="$ar" 'BEGIN {
        printf "  ratios scotty/ffmpeg (same threads): cpu %.3f  wall %.3f  rss %.3f\n", sc / fc, sw / fw, sr / fr
        printf "  ratios scotty/ffmpeg (Mastodon auto): cpu %.3f  rss %.3f\n", sc / ac, sr / ar }'
    if [ "$size" = 1280x720 ]; then
        "$tool" run --in "$clip" --out-dir "$work/q-$size" --threads 2 --quota 0.5 --timeout 600 > "$work/q.json"
        jq -r '"  capped run (quota 0.5 core, 2 threads, cgroup \(.cgroup)): \(.result.cpu_seconds * 100 | round / 100) CPU-s over \(.result.wall_seconds * 100 | round / 100) s wall = \(.result.cpu_seconds / .result.wall_seconds * 1000 | round / 1000) cores"' "$work/q.json"
    fi
done
