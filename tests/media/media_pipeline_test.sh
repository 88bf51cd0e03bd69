#!/usr/bin/env bash
# media_pipeline_test.sh CASE -- one media pipeline case: generates its input with
# the ffmpeg CLI, runs it through the capped media child (media_tool run, which
# drives media_runner exactly as the worker does) and checks the outputs
# independently with ffprobe. Prints PASS or FAIL with the reason.
set -uo pipefail

tool=${MEDIA_TOOL:?set MEDIA_TOOL to the media_tool binary}
case_name=${1:?usage: media_pipeline_test.sh CASE}
work=$(mktemp -d "${TMPDIR:-/tmp}/scotty-media-XXXXXX")
cleanup() { rm -rf "$work"; }
trap cleanup EXIT
cd "$work" || exit 1

fail() { echo "FAIL media_$case_name: $*"; exit 1; }
pass() { echo "PASS media_$case_name: $*"; exit 0; }
gen() { ffmpeg -nostdin -v error -y "$@" || fail "could not generate the input: ffmpeg $*"; }
run() { "$tool" run "$@" > out.json || fail "media_tool run $* exited with $?"; }
j() { jq -r "$1" out.json; }
probe() { ffprobe -v error -select_streams "$1" -show_entries "$2" -of default=nw=1:nk=1 "$3" | head -1; }
fmt() { ffprobe -v error -show_entries "format=$1" -of default=nw=1:nk=1 "$2"; }
near() { awk -v a="$1" -v b="$2" -v d="$3" 'BEGIN { x = a - b; if (x < 0) x = -x; exit !(x <= d) }'; }

# Waits up to 10 s for media_tool (pid $1) to start a task child and sets child
# to its pid: a child of the fork server (a media-server child of media_tool),
# or with the fork server off a media-child exec'ed by media_tool itself. Sets
# server to the fork server's pid ("" when off). Kills media_tool and fails
# when no task child appears.
wait_child() {
    local tp=$1 p
    child=""; server=""
    for _ in $(seq 100); do
        for p in $(pgrep -P "$tp"); do
            if grep -q media-server "/proc/$p/cmdline" 2>/dev/null; then
                # not the short-lived child that checks seccomp as the server starts
                server=$p; child=$(pgrep -P "$p" | while read -r c; do
                    [ "$(cat "/proc/$c/comm" 2>/dev/null)" = sandbox-check ] || echo "$c"; done | head -1)
            elif grep -q media-child "/proc/$p/cmdline" 2>/dev/null; then
                child=$p
            fi
        done
        [ -n "$child" ] && break
        sleep 0.1
    done
    [ -n "$child" ] || { kill -9 "$tp"; fail "no media child appeared"; }
}

# Prints the cpu cgroup directory of this shell (v2 with the cpu controller, else
# v1's cpu hierarchy) when a group can be created in it; fails otherwise.
cpu_cgroup_probe() {
    local rel dir
    rel=$(awk -F: '$1 == "0" { print $3 }' /proc/self/cgroup)
    dir=/sys/fs/cgroup$rel
    if [ -n "$rel" ] && grep -qw cpu "$dir/cgroup.controllers" 2>/dev/null; then :
    else
        rel=$(awk -F: '$2 ~ /(^|,)cpu(,|$)/ { print $3 }' /proc/self/cgroup)
        dir=""
        for root in /sys/fs/cgroup/cpu /sys/fs/cgroup/cpu,cpuacct; do
            [ -n "$rel" ] && [ -f "$root$rel/cpu.cfs_quota_us" ] && { dir=$root$rel; break; }
        done
        [ -n "$dir" ] || return 1
    fi
    mkdir "$dir/scotty-probe-$$" 2>/dev/null || return 1
    rmdir "$dir/scotty-probe-$$"
    echo "$dir"
}

expect_ok() {
    [ "$(j .rc)" = 0 ] || fail "the task failed: $(j .error)"
    [ "$(j .result.ok)" = true ] || fail "the child reported failure: $(j .result.error)"
}

# Checks every property Mastodon's transcode promises for original.mp4.
check_mp4() {
    local in=$1 out=$2 w h pos_moov pos_mdat
    [ -s "$out" ] || fail "no output file $out"
    [ "$(probe v:0 stream=codec_name "$out")" = h264 ] || fail "video codec is $(probe v:0 stream=codec_name "$out"), want h264"
    [ "$(probe v:0 stream=pix_fmt "$out")" = yuv420p ] || fail "pixel format is $(probe v:0 stream=pix_fmt "$out"), want yuv420p"
    w=$(probe v:0 stream=width "$out"); h=$(probe v:0 stream=height "$out")
    [ $((w % 2)) = 0 ] && [ $((h % 2)) = 0 ] || fail "odd output size ${w}x$h"
    pos_moov=$(LC_ALL=C grep -obUa moov "$out" | head -1 | cut -d: -f1)
    pos_mdat=$(LC_ALL=C grep -obUa mdat "$out" | head -1 | cut -d: -f1)
    [ -n "$pos_moov" ] && [ -n "$pos_mdat" ] && [ "$pos_moov" -lt "$pos_mdat" ] ||
        fail "moov (at ${pos_moov:-none}) is not before mdat (at ${pos_mdat:-none}): no faststart"
    near "$(fmt duration "$out")" "$(fmt duration "$in")" 0.1 ||
        fail "duration $(fmt duration "$out") differs from the input's $(fmt duration "$in")"
    [ -z "$(ffprobe -v error -show_entries format_tags=title,comment,artist,creation_time -of csv=p=0 "$out" | tr -d ',\n')" ] ||
        fail "metadata was not stripped: $(ffprobe -v error -show_entries format_tags "$out")"
    # file_meta.original is what ffprobe says about the output.
    [ "$(j .result.file_meta.original.width)" = "$w" ] && [ "$(j .result.file_meta.original.height)" = "$h" ] ||
        fail "file_meta size $(j .result.file_meta.original.width)x$(j .result.file_meta.original.height) != ${w}x$h"
    [ "$(j .result.file_meta.original.frame_rate)" = "$(probe v:0 stream=avg_frame_rate "$out")" ] ||
        fail "file_meta frame_rate $(j .result.file_meta.original.frame_rate) != $(probe v:0 stream=avg_frame_rate "$out")"
    near "$(j .result.file_meta.original.duration)" "$(fmt duration "$out")" 0.001 || fail "file_meta duration differs"
    [ "$(j .result.file_meta.original.bitrate)" = "$(fmt bit_rate "$out")" ] || fail "file_meta bitrate differs"
    [ "$(j .result.original.content_type)" = video/mp4 ] || fail "content type $(j .result.original.content_type)"
    # The preview: first frame inside 640x640, PNG, with a 4x4 blurhash.
    [ "$(probe v:0 stream=codec_name "$(j .result.small.path)")" = png ] || fail "small is not a PNG"
    local sw sh; sw=$(probe v:0 stream=width "$(j .result.small.path)"); sh=$(probe v:0 stream=height "$(j .result.small.path)")
    [ "$sw" -le 640 ] && [ "$sh" -le 640 ] || fail "preview ${sw}x$sh does not fit 640x640"
    [ "$(j .result.blurhash | wc -c)" = 37 ] || fail "blurhash '$(j .result.blurhash)' is not 36 characters"
}

# The encoder's average bitrate stays under Mastodon's maxrate (B + 192 kbit/s).
check_bitrate() {
    local out=$1 w h d b vb
    w=$(probe v:0 stream=width "$out"); h=$(probe v:0 stream=height "$out"); d=$(fmt duration "$out")
    b=$(awk -v w="$w" -v h="$h" -v d="$d" 'BEGIN { p = int(w*h*30*0.11); if (d < 1) d = 1;
        s = int(99*1024*1024*8/d) - 192000; print (p < s ? p : s) }')
    vb=$(probe v:0 stream=bit_rate "$out")
    [ "$vb" -le $((b + 192000)) ] || fail "video bitrate $vb over maxrate $((b + 192000)) (B=$b)"
}

case "$case_name" in
webm_vp9)
    gen -f lavfi -i testsrc2=s=320x240:r=30:d=2 -f lavfi -i sine=d=2 -c:v libvpx-vp9 -deadline realtime -c:a libopus -shortest -metadata title=secret in.webm
    run --in in.webm --out-dir o --threads 2
    expect_ok; check_mp4 in.webm o/original.mp4; check_bitrate o/original.mp4
    [ "$(j .result.type)" = video ] || fail "type $(j .result.type), want video"
    [ "$(j .result.original.passthrough)" = false ] || fail "webm must be transcoded"
    [ "$(probe a:0 stream=codec_name o/original.mp4)" = aac ] || fail "audio is not AAC"
    [ "$(probe v:0 stream=nb_frames o/original.mp4)" = 60 ] || fail "$(probe v:0 stream=nb_frames o/original.mp4) frames, want 60"
    [ "$(j .last_progress)" = 100 ] && [ "$(j .progress_calls)" -ge 2 ] || fail "progress not reported ($(j .progress_calls) calls, last $(j .last_progress))"
    pass "VP9/Opus WebM -> H.264/AAC MP4, faststart, even, bitrate and file_meta checked"
    ;;
mov_hevc)
    gen -f lavfi -i testsrc2=s=320x240:r=30:d=1 -f lavfi -i sine=d=1 -c:v libx265 -x265-params log-level=error -c:a aac -shortest in.mov
    run --in in.mov --out-dir o
    expect_ok; check_mp4 in.mov o/original.mp4; check_bitrate o/original.mp4
    [ "$(j .result.probe.content_type)" = video/quicktime ] || fail "probe says $(j .result.probe.content_type)"
    [ "$(j .result.original.passthrough)" = false ] || fail "QuickTime must be transcoded"
    gen -f lavfi -i testsrc2=s=320x240:r=25:d=1 -f lavfi -i sine=d=1 -c:v libtheora -c:a libvorbis -shortest in.ogv
    run --in in.ogv --out-dir t
    expect_ok; check_mp4 in.ogv t/original.mp4
    [ "$(j .result.probe.content_type)" = video/ogg ] && [ "$(j .result.type)" = video ] || fail "Ogg typed $(j .result.type)"
    pass "HEVC in MOV and Theora/Vorbis in Ogg transcoded"
    ;;
passthrough)
    gen -f lavfi -i testsrc2=s=320x240:r=30:d=2 -f lavfi -i sine=d=2 -c:v libx264 -pix_fmt yuv420p -c:a aac -shortest -metadata title=secret in.mp4
    run --in in.mp4 --out-dir o
    expect_ok; check_mp4 in.mp4 o/original.mp4
    [ "$(j .result.original.passthrough)" = true ] || fail "eligible H.264/AAC/yuv420p MP4 was not passed through"
    [ "$(probe v:0 stream=nb_frames o/original.mp4)" = "$(probe v:0 stream=nb_frames in.mp4)" ] || fail "frame count changed"
    [ "$(probe v:0 stream=bit_rate o/original.mp4)" = "$(probe v:0 stream=bit_rate in.mp4)" ] || fail "video was re-encoded"
    pass "H.264/AAC MP4 remuxed without re-encoding, metadata stripped, moov first"
    ;;
tenbit)
    gen -f lavfi -i testsrc2=s=320x240:r=25:d=1 -c:v libx264 -pix_fmt yuv420p10le in.mp4
    run --in in.mp4 --out-dir o
    expect_ok; check_mp4 in.mp4 o/original.mp4
    [ "$(j .result.original.passthrough)" = false ] || fail "10-bit must be transcoded"
    [ "$(j .result.type)" = gifv ] || fail "silent video should be gifv, got $(j .result.type)"
    [ "$(probe a:0 stream=codec_name o/original.mp4)" = "" ] || fail "silent input got an audio stream"
    pass "10-bit H.264 -> 8-bit yuv420p, silent video typed gifv"
    ;;
rotated)
    gen -f lavfi -i testsrc2=s=320x240:r=30:d=1 -f lavfi -i sine=d=1 -c:v mpeg4 -c:a aac -shortest flat.mov
    gen -i flat.mov -c copy -metadata:s:v:0 rotate=90 in.mov
    run --in in.mov --out-dir o
    expect_ok; check_mp4 in.mov o/original.mp4
    [ "$(j .result.probe.width)x$(j .result.probe.height)" = 240x320 ] || fail "probe did not apply rotation: $(j .result.probe.width)x$(j .result.probe.height)"
    [ "$(probe v:0 stream=width o/original.mp4)x$(probe v:0 stream=height o/original.mp4)" = 240x320 ] || fail "output is not upright"
    [ -z "$(ffprobe -v error -show_entries stream_side_data=rotation -of csv=p=0 o/original.mp4)" ] || fail "output still carries a rotation"
    [ "$(probe v:0 stream=width o/small.png)x$(probe v:0 stream=height o/small.png)" = 240x320 ] || fail "preview is not upright"
    pass "rotated MPEG-4 MOV turned upright (240x320), no display matrix left"
    ;;
fps240)
    gen -f lavfi -i testsrc2=s=160x120:r=240:d=1 -c:v libx264 in.mp4
    run --in in.mp4 --out-dir o
    [ "$(j .rc)" = -1 ] || fail "240 fps video was accepted"
    j .error | grep -q "240 fps) is over Mastodon's limit of 120 fps" || fail "unclear reason: $(j .error)"
    [ ! -e o/original.mp4 ] || fail "an output was written for a rejected file"
    pass "240 fps rejected: $(j .error)"
    ;;
vfr)
    # r_frame_rate 240 but 60 frames a second on average: VFR output, no duplicated frames.
    gen -f lavfi -i testsrc2=s=160x120:r=240:d=1 -vf "select='lt(mod(n\,8)\,2)'" -fps_mode vfr -c:v mpeg4 in.mp4
    run --in in.mp4 --out-dir o
    expect_ok; check_mp4 in.mp4 o/original.mp4
    n=$(ffprobe -v error -count_frames -select_streams v:0 -show_entries stream=nb_read_frames -of csv=p=0 o/original.mp4)
    [ "$n" = "$(probe v:0 stream=nb_frames in.mp4)" ] || fail "$n frames out of $(probe v:0 stream=nb_frames in.mp4): VFR not kept"
    pass "r_frame_rate 240 input kept as VFR ($n frames)"
    ;;
frame_cap)
    # 301 s at 120 fps = 36,120 frames: the output stops at Mastodon's 36,000.
    gen -f lavfi -i "color=c=blue:s=32x32:r=120" -t 301 -c:v libx264 -preset ultrafast -f mov in.mov
    run --in in.mov --out-dir o
    expect_ok
    n=$(probe v:0 stream=nb_frames o/original.mp4)
    [ "$n" = 36000 ] || fail "$n frames out of $(probe v:0 stream=nb_frames in.mov), want 36000"
    pass "36,120 input frames capped at 36,000"
    ;;
gif)
    gen -f lavfi -i testsrc2=s=160x120:r=10:d=1 in.gif
    gen -f lavfi -i testsrc2=s=160x120 -frames:v 1 still.gif
    run --in in.gif --out-dir o
    expect_ok; check_mp4 in.gif o/original.mp4
    [ "$(j .result.type)" = gifv ] || fail "animated GIF typed $(j .result.type)"
    run --in still.gif --out-dir s
    expect_ok
    [ "$(j .result.type)" = image ] && [ "$(j .result.probe.container)" = gif ] ||
        fail "static GIF typed $(j .result.type), probed by $(j .result.probe.container)"
    cmp -s still.gif s/original.gif && cmp -s still.gif s/small.gif || fail "static GIF was not kept unchanged"
    pass "animated GIF -> gifv MP4, static GIF kept as image"
    ;;
odd_size)
    gen -f lavfi -i testsrc2=s=161x121:r=30:d=1 -f lavfi -i sine=d=1 -vf setsar=4/3 -c:v libvpx-vp9 -deadline realtime -c:a libopus -shortest in.webm
    run --in in.webm --out-dir o
    expect_ok; check_mp4 in.webm o/original.mp4
    [ "$(probe v:0 stream=width o/original.mp4)x$(probe v:0 stream=height o/original.mp4)" = 160x120 ] || fail "not cropped to 160x120"
    [ "$(probe v:0 stream=sample_aspect_ratio o/original.mp4)" = "$(probe v:0 stream=sample_aspect_ratio in.webm)" ] ||
        fail "pixel aspect $(probe v:0 stream=sample_aspect_ratio o/original.mp4), input $(probe v:0 stream=sample_aspect_ratio in.webm)"
    pass "161x121 cropped to 160x120 (no scaling), pixel aspect kept"
    ;;
image)
    gen -f lavfi -i testsrc2=s=800x600 -frames:v 1 in.jpg
    gen -f lavfi -i testsrc2=s=800x600 -frames:v 1 in.png
    gen -f lavfi -i testsrc2=s=4000x2500 -frames:v 1 big.jpg
    run --in in.jpg --out-dir j
    expect_ok
    [ "$(j .result.type)" = image ] && [ "$(j .result.original.content_type)" = image/jpeg ] || fail "JPEG typed $(j .result.type) $(j .result.original.content_type)"
    [ "$(j .result.small.extension)" = jpeg ] || fail "small of a JPEG is $(j .result.small.extension)"
    sw=$(probe v:0 stream=width j/small.jpeg); sh=$(probe v:0 stream=height j/small.jpeg)
    [ "$sw"x"$sh" = 554x416 ] || fail "small is ${sw}x$sh, want 554x416 (230,400 px rule)"
    [ "$(j .result.file_meta.small.size)" = 554x416 ] && [ "$(j .result.file_meta.original.size)" = 800x600 ] || fail "file_meta $(j -c .result.file_meta)"
    [ "$(j .result.blurhash | cut -c1)" = U ] || fail "blurhash $(j .result.blurhash) is not 4x4"
    # A still picture is probed from its libvips header alone; libav probes the rest.
    [ "$(j .result.probe.container)" = "libvips jpeg" ] && [ "$(j .result.probe.width)x$(j .result.probe.height)" = 800x600 ] ||
        fail "JPEG probed by $(j .result.probe.container) as $(j .result.probe.width)x$(j .result.probe.height)"
    # The unconverted original is the input's bytes (a hard link); the task run again
    # into the same directory (a lost task's retry) leaves input and output whole.
    cp in.jpg in-copy.jpg
    run --in in.jpg --out-dir j
    expect_ok
    cmp -s in.jpg in-copy.jpg && cmp -s in.jpg j/original.jpeg || fail "a second run into j changed the input or its original"
    run --in in.png --out-dir p
    expect_ok
    [ "$(j .result.probe.container)" = "libvips png" ] || fail "PNG probed by $(j .result.probe.container)"
    [ "$(probe v:0 stream=codec_name p/small.png)" = png ] || fail "small of a PNG is not PNG"
    gen -f lavfi -i testsrc2=s=800x600 -frames:v 1 in.webp
    run --in in.webp --out-dir w
    expect_ok
    [ "$(probe v:0 stream=codec_name w/small.webp)" = webp ] && [ "$(j .result.small.content_type)" = image/webp ] ||
        fail "small of a WebP is $(j .result.small.content_type)"
    head -c $((2600 * 2300 * 3)) /dev/urandom > noise.rgb
    gen -f rawvideo -pix_fmt rgb24 -s 2600x2300 -i noise.rgb heavy.png
    run --in heavy.png --out-dir h
    j .error | grep -q "over Mastodon's limit of 16 MB for images" || fail "$(stat -c %s heavy.png)-byte PNG: $(j .error)"
    run --in big.jpg --out-dir b
    expect_ok
    bw=$(probe v:0 stream=width b/original.jpeg); bh=$(probe v:0 stream=height b/original.jpeg)
    [ "$bw"x"$bh" = 3643x2277 ] || fail "10 MP original became ${bw}x$bh, want 3643x2277"
    pass "JPEG/PNG/WebP styles: original <= 8.3 MP, small 230,400 px, blurhash, file_meta; 16 MB image limit"
    ;;
audio)
    gen -f lavfi -i testsrc2=s=800x600 -frames:v 1 cover.jpg
    gen -f lavfi -i sine=d=2 -i cover.jpg -map 0 -map 1 -c:a libmp3lame -c:v mjpeg -disposition:v attached_pic -metadata title=Song in.mp3
    gen -f lavfi -i sine=d=2 -c:a flac in.flac
    gen -f lavfi -i sine=d=1 -c:a libvorbis in.oga
    gen -f lavfi -i sine=d=1 -c:a wmav2 in.wma
    gen -f lavfi -i sine=d=1 in.wav
    run --in in.mp3 --out-dir o
    expect_ok
    [ "$(j .result.type)" = audio ] || fail "typed $(j .result.type)"
    [ "$(probe a:0 stream=codec_name o/original.mp3)" = mp3 ] || fail "not MP3"
    near "$(fmt duration o/original.mp3)" 2 0.1 || fail "duration $(fmt duration o/original.mp3)"
    [ "$(probe v:0 stream=codec_name o/thumbnail.png)" = png ] || fail "no cover art thumbnail"
    [ "$(j .result.file_meta.small.size)" = 554x416 ] || fail "thumbnail geometry $(j -c .result.file_meta.small)"
    [ "$(j .result.file_meta.original.width)" = null ] || fail "audio file_meta has a width"
    j '.result.file_meta.colors | .background + .foreground + .accent' | grep -Eq '^(#[0-9a-f]{6}){3}$' ||
        fail "thumbnail colors missing: $(j -c .result.file_meta.colors)"
    [ "$(probe v:0 stream=codec_name o/original.mp3)" = png ] || fail "cover not kept in the MP3 as PNG, as the CLI does"
    [ "$(ffprobe -v error -show_entries format_tags=title -of csv=p=0 o/original.mp3)" = Song ] || fail "tags not kept"
    for f in in.flac in.oga in.wma in.wav; do
        run --in "$f" --out-dir "o-$f"
        expect_ok
        [ "$(j .result.type)" = audio ] && [ "$(probe a:0 stream=codec_name "o-$f/original.mp3")" = mp3 ] ||
            fail "$f typed $(j .result.type), not converted to MP3"
    done
    pass "MP3 with cover -> MP3 VBR (tags, PNG cover kept) + PNG thumbnail; FLAC, Vorbis, WMA (ASF), WAV -> MP3"
    ;;
hostile)
    head -c 50000 /dev/urandom > junk.bin
    gen -f lavfi -i testsrc2=s=320x240:r=30:d=2 -c:v libx264 good.mp4
    head -c 3000 good.mp4 > trunc.mp4
    gen -f lavfi -i color=c=red:s=9000x5000 -frames:v 1 bomb.png
    gen -f lavfi -i testsrc2=s=4000x2200:r=1:d=1 -c:v mpeg4 wide.mkv
    gen -f lavfi -i testsrc2=s=160x120:r=30:d=1 -c:v libvpx-vp9 -deadline realtime webm.webm
    cp webm.webm wrong.jpg
    run --in junk.bin --out-dir o1
    [ "$(j .rc)" = -1 ] && j .error | grep -q "not a readable media file" || fail "random bytes: $(j .error)"
    run --in trunc.mp4 --out-dir o2
    [ "$(j .rc)" = -1 ] && [ "$(j .signal)" = 0 ] || fail "truncated file: rc $(j .rc) signal $(j .signal)"
    run --in bomb.png --out-dir o3
    j .error | grep -q "9000x5000 (45000000 pixels), over Mastodon's limit of 33177600" || fail "bomb: $(j .error)"
    run --in wide.mkv --out-dir o4
    j .error | grep -q "video is 4000x2200 (8800000 pixels), over Mastodon's limit of 8294400" || fail "wide video: $(j .error)"
    # Reference-following formats would make libavformat read other files or URLs.
    printf '#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2.0,\ngood.mp4\n#EXT-X-ENDLIST\n' > playlist.mp4
    printf 'ffconcat version 1.0\nfile good.mp4\n' > concat.webm
    for f in playlist.mp4 concat.webm; do
        run --in "$f" --out-dir "o-$f"
        [ "$(j .rc)" = -1 ] && [ "$(j .result.stage)" = probe ] && j .error | grep -q "type Mastodon accepts" ||
            fail "$f was opened as a $(j .result.probe.container) (stage $(j .result.stage)): $(j .error)"
    done
    run --in wrong.jpg --out-dir o5
    expect_ok
    [ "$(j .result.type)" = gifv ] && [ "$(probe v:0 stream=codec_name o5/original.mp4)" = h264 ] || fail "wrong extension not handled by content"
    pass "junk, truncated, pixel bomb, oversized video, HLS/concat references rejected with reasons; wrong extension handled"
    ;;
corrupt)
    # Damaged streams: every run must end with a result or a clear error, never a
    # crash or a sanitizer report (ctest sets ASAN_OPTIONS exitcode=86).
    gen -f lavfi -i testsrc2=s=320x240:r=30:d=2 -f lavfi -i sine=d=2 -c:v libvpx-vp9 -deadline realtime -c:a libopus -shortest good.webm
    gen -f lavfi -i testsrc2=s=320x240:r=30:d=2 -f lavfi -i sine=d=2 -c:v libx264 -c:a aac -shortest -movflags faststart -f mov good.mov
    outcomes=""
    for src in good.webm good.mov; do
        size=$(stat -c %s "$src")
        for k in 1 2 3 4 5 6 7 8; do
            cp "$src" bad
            head -c 256 /dev/zero | tr '\0' '\377' | dd of=bad bs=1 seek=$((size * k / 9)) conv=notrunc status=none
            [ "$k" = 8 ] && truncate -s $((size * 3 / 5)) bad
            run --in bad --out-dir "o-$src-$k"
            [ "$(j .signal)" = 0 ] || fail "$src damaged at $k/9: child died with signal $(j .signal)"
            [ "$(j .exit_code)" != 86 ] || fail "$src damaged at $k/9: sanitizer report in the child"
            [ "$(j .rc)" = 0 ] || [ -n "$(j .error)" ] || fail "$src damaged at $k/9: failed without a reason"
            outcomes="$outcomes $(j .rc)"
        done
    done
    pass "16 damaged files, no crash; outcomes (0 ok, -1 clear error):$outcomes"
    ;;
timeout)
    mkfifo stuck.mp4   # opened by the child, never written: it hangs until killed
    run --in stuck.mp4 --out-dir o --timeout 1
    [ "$(j .timed_out)" = true ] && [ "$(j .signal)" = 9 ] || fail "child not killed: timed_out $(j .timed_out), signal $(j .signal)"
    j .error | grep -q "wall-clock limit and was killed" || fail "unclear reason: $(j .error)"
    pass "hung child killed with SIGKILL at the deadline and reaped: $(j .error)"
    ;;
stop)
    # Worker shutdown: one task running (stuck on a FIFO), two waiting for the slot.
    mkfifo stuck.mp4
    run --in stuck.mp4 --out-dir o --parallel 3 --slots 1 --timeout 600 --stop-after 1
    [ "$(jq '[.tasks[] | select(.cancelled and .rc == -1 and (.timed_out | not))] | length' out.json)" = 3 ] ||
        fail "not every task was cancelled: $(jq -c '[.tasks[] | {rc, cancelled, timed_out, error}]' out.json)"
    [ "$(jq '[.tasks[] | select(.error == "media task cancelled: the worker is stopping")] | length' out.json)" = 3 ] ||
        fail "unclear reasons: $(jq -c '[.tasks[].error]' out.json)"
    [ "$(jq '[.tasks[] | select(.signal == 9)] | length' out.json)" = 1 ] || fail "the running child was not killed"
    pass "stop killed the running child and failed the 2 waiting tasks"
    ;;
crash)
    # A child that dies of a signal (as a decoder bug would make it): the caller gets the reason.
    mkfifo stuck.mp4
    "$tool" run --in stuck.mp4 --out-dir o --timeout 600 > out.json &
    tp=$!
    wait_child "$tp"
    kill -ABRT "$child"
    wait "$tp" || fail "media_tool itself failed after its child crashed"
    [ "$(j .rc)" = -1 ] && [ "$(j .signal)" = 6 ] && [ "$(j .timed_out)" = false ] || fail "outcome $(jq -c . out.json)"
    j .error | grep -q "crashed with signal 6" || fail "unclear reason: $(j .error)"
    pass "crashed child reported: $(j .error)"
    ;;
orphan)
    # The worker dies (SIGKILL) while its child is stuck: the child must not outlive it.
    mkfifo stuck.mp4
    "$tool" run --in stuck.mp4 --out-dir o --timeout 600 --leak-fd > out.json 2>/dev/null &
    tp=$!
    wait_child "$tp"
    # Once past its start-up (limits applied, blocked on the FIFO) it holds stdio only.
    for _ in $(seq 100); do
        fds=$(ls "/proc/$child/fd" | sort -n | tr '\n' ' ')
        [ "$fds" = "0 1 2 " ] && break
        sleep 0.1
    done
    [ "$fds" = "0 1 2 " ] || { kill -9 "$tp" "$child"; fail "child holds descriptors beyond stdio: $fds"; }
    kill -9 "$tp"; wait "$tp" 2>/dev/null
    state=""
    for _ in $(seq 100); do
        state=$(awk '/^State/ { print $2 }' "/proc/$child/status" 2>/dev/null)
        [ -z "$state" ] || [ "$state" = Z ] && break
        sleep 0.1
    done
    if [ -n "$state" ] && [ "$state" != Z ]; then kill -9 "$child"; fail "child $child outlived its worker (state $state)"; fi
    pass "child $child kept only fds 0-2 and died with its worker (PR_SET_PDEATHSIG)"
    ;;
memory)
    gen -f lavfi -i testsrc2=s=640x480:r=30:d=1 -c:v libvpx-vp9 -deadline realtime in.webm
    run --in in.webm --out-dir o --as-mb 8
    [ "$(j .rc)" = -1 ] || fail "a transcode fit in 8 MB of address space?"
    [ "$(j .signal)" = 0 ] && [ -n "$(j .result.error)" ] || fail "the starved child gave no reason: $(j .error)"
    reason=$(j .error)
    run --in in.webm --out-dir o2
    expect_ok
    pass "RLIMIT_AS starved child failed cleanly ($reason); the next task ran fine"
    ;;
bomb)
    # A decompression bomb that passes every limit: a 640x360 GIF of half a MB that
    # decodes to 20,000 frames. RLIMIT_CPU stops the child; the caller carries on.
    gen -f lavfi -i "color=c=red:s=640x360:r=50,format=rgb8" -t 400 -f gif bomb.gif
    size=$(stat -c %s bomb.gif)
    [ "$size" -lt 1000000 ] || fail "bomb is $size bytes, not small"
    run --in bomb.gif --out-dir o --cpu-seconds 2 --threads 1
    [ "$(j .rc)" = -1 ] && { [ "$(j .signal)" = 24 ] || [ "$(j .signal)" = 9 ]; } ||
        fail "RLIMIT_CPU did not stop the child: rc $(j .rc) signal $(j .signal) error $(j .error)"
    j .error | grep -q "CPU time limit" || fail "unclear reason: $(j .error)"
    reason=$(j .error)
    gen -f lavfi -i testsrc2=s=160x120:r=10:d=1 small.gif
    run --in small.gif --out-dir ok
    expect_ok
    pass "$size-byte GIF bomb (20,000 frames) stopped by RLIMIT_CPU: $reason; next task fine"
    ;;
slots)
    gen -f lavfi -i testsrc2=s=320x240:r=30:d=1 -c:v libvpx-vp9 -deadline realtime in.webm
    run --in in.webm --out-dir o --parallel 3 --slots 1
    [ "$(jq '[.tasks[] | select(.rc == 0)] | length' out.json)" = 3 ] || fail "not every queued task ran: $(jq -c '[.tasks[].error]' out.json)"
    [ "$(jq '[.tasks[].max_running] | max' out.json)" = 1 ] || fail "more than one task ran at once with one slot"
    run --in in.webm --out-dir p --parallel 2 --slots 2
    [ "$(jq '[.tasks[] | select(.rc == 0)] | length' out.json)" = 2 ] || fail "two slots: $(jq -c '[.tasks[].error]' out.json)"
    pass "3 tasks on 1 slot ran one at a time and all finished"
    ;;
cap)
    # A transcode that wants two cores, capped at half a core by the cgroup quota.
    gen -f lavfi -i testsrc2=s=1280x720:r=30:d=3 -c:v libvpx-vp9 -deadline realtime -cpu-used 8 in.webm
    run --in in.webm --out-dir o --threads 2 --quota 0.5 --timeout 120
    expect_ok
    if [ "$(j .cgroup)" = none ]; then
        # Skipped (ctest SKIP_RETURN_CODE 77) only when this machine really has no
        # cpu cgroup we may create a group in; otherwise the runner missed one.
        where=$(cpu_cgroup_probe) && fail "no cgroup used, but a cpu cgroup is writable at $where"
        echo "SKIP media_cap: no writable cpu cgroup here"; exit 77
    fi
    cpu=$(j .result.cpu_seconds); wall=$(j .result.wall_seconds)
    ratio=$(awk -v c="$cpu" -v w="$wall" 'BEGIN { printf "%.3f", c / w }')
    awk -v r="$ratio" 'BEGIN { exit !(r <= 0.5 * 1.05 + 0.02) }' ||
        fail "capped child used $cpu CPU-s in $wall s: ratio $ratio > quota 0.5 (+5%)"
    awk -v c="$cpu" 'BEGIN { exit !(c >= 0.5) }' || fail "too little work ($cpu CPU-s) to judge the cap"
    pass "quota 0.5 core held: $cpu CPU-s over $wall s wall = $ratio (cgroup $(j .cgroup))"
    ;;
scotty_child)
    # The real binary: the runner execs `scotty-media media-child` (media/media_main.c).
    scotty=${SCOTTY_BIN:?set SCOTTY_BIN to the scotty-media binary}
    gen -f lavfi -i testsrc2=s=320x240:r=30:d=1 -f lavfi -i sine=d=1 -c:v libvpx-vp9 -deadline realtime -c:a libopus -shortest in.webm
    run --in in.webm --out-dir o --exe "$scotty"
    expect_ok; check_mp4 in.webm o/original.mp4
    pass "runner -> $scotty media-child -> H.264 MP4"
    ;;
cgroup_fallback)
    # A cgroup root we cannot use: one log line, then the task runs uncapped.
    gen -f lavfi -i testsrc2=s=160x120:r=30:d=1 -c:v libvpx-vp9 -deadline realtime in.webm
    "$tool" run --in in.webm --out-dir o --quota 0.5 --cgroup-root "$work/no/such/cgroup" > out.json 2> err.txt ||
        fail "media_tool exited with $?"
    expect_ok
    [ "$(j .cgroup)" = none ] || fail "cgroup mode $(j .cgroup) for an unusable root"
    [ "$(grep -c 'no CPU quota for media children' err.txt)" = 1 ] || fail "expected one log line, got: $(cat err.txt)"
    pass "unusable cgroup: $(grep -o 'no CPU quota.*' err.txt)"
    ;;
sandbox)
    # Each forbidden thing, tried by the test-only tasks of media_tool's task
    # child (after its limits and sandbox), with the fork server and without.
    gen -f lavfi -i testsrc2=s=160x120 -frames:v 1 in.jpg
    export DATABASE_URL=postgres://scotty:hunter2@db/mastodon DB_PASS=hunter2 REDIS_URL=redis://:pw@redis:6379/0
    export AWS_SECRET_ACCESS_KEY=s3cr3t
    # A network namespace needs privileges; without them seccomp alone keeps the network out.
    if unshare -n true 2>/dev/null; then netns_on=yes; protections="seccomp allowlist, network namespace"
    else netns_on=no; protections="seccomp allowlist, no network namespace"; fi
    for mode in on off; do
        try() { "$tool" run --fork-server "$mode" --in in.jpg --out-dir "o-$mode-$1" --task "$@" > out.json 2> err.txt ||
            fail "$mode: media_tool run --task $* exited with $?"; }
        try try-socket
        [ "$(j .rc)" = -1 ] && j .error | grep -q "called socket (number [0-9]*), which its seccomp allowlist forbids" ||
            fail "$mode: socket() was not stopped: $(j .error)"
        grep -q "WARN: media: a task child was stopped by its sandbox: the media child called socket" err.txt ||
            fail "$mode: the worker did not log why: $(cat err.txt)"
        grep -q "sandbox: env scrubbed, no capabilities, $protections" err.txt ||
            fail "$mode: no start line naming the protections ($protections): $(cat err.txt)"
        try try-exec
        [ "$(j .rc)" = -1 ] && j .error | grep -q "called execve" || fail "$mode: execve was not stopped: $(j .error)"
        try try-env
        [ "$(j .result.ok)" = false ] && [ "$(j .error)" = "media test failed: secrets in the environment: none" ] ||
            fail "$mode: the task child saw the worker's secrets: $(j .error)"
        try try-fsize --fsize-mb 1
        [ "$(j .signal)" = 25 ] && j .error | grep -q "over its size limit (RLIMIT_FSIZE 1 MB)" ||
            fail "$mode: a write past RLIMIT_FSIZE went on: signal $(j .signal), $(j .error)"
        [ "$(stat -c %s "o-$mode-try-fsize.big")" = 1048576 ] || fail "$mode: $(stat -c %s "o-$mode-try-fsize.big") bytes written"
        try try-fork
        [ "$(j .error)" = "media test failed: fork gave -1 (Operation not permitted)" ] || fail "$mode: fork: $(j .error)"
        try try-kill-parent
        j .error | grep -q "called kill" || fail "$mode: kill(parent) was not stopped: $(j .error)"
        try try-prlimit-parent
        j .error | grep -q "called prlimit64" || fail "$mode: prlimit(parent) was not stopped: $(j .error)"
        try try-ptrace
        j .error | grep -q "called ptrace (number [0-9]*), which its seccomp allowlist forbids" ||
            fail "$mode: ptrace was not stopped: $(j .error)"
        try try-peek-environ
        [ "$(j .error)" = "media test failed: environ of the parent: Permission denied; of the runner: Permission denied" ] ||
            fail "$mode: the task child read its parent's or the runner's environ (/proc/<pid>/environ): $(j .error)"
        try try-nofile --nofile 16
        j .error | grep -Eq "opened 1[0-9] descriptors, then: Too many open files" || fail "$mode: RLIMIT_NOFILE: $(j .error)"
        try process
        expect_ok
    done
    # A task child seen from outside: another network namespace, none of the secrets.
    mkfifo stuck.mp4
    "$tool" run --in stuck.mp4 --out-dir o --timeout 600 > out.json 2>/dev/null &
    tp=$!
    wait_child "$tp"
    for _ in $(seq 100); do   # until it is past its sandbox (blocked on the FIFO)
        [ "$(awk '/^NoNewPrivs/ { print $2 }' "/proc/$child/status")" = 1 ] && break
        sleep 0.1
    done
    netns=$(readlink "/proc/$child/ns/net"); envs=$(tr '\0' '\n' < "/proc/$child/environ")
    seccomp=$(awk '/^Seccomp:/ { print $2 }' "/proc/$child/status")
    kill -9 "$child"; wait "$tp"
    [ "$netns_on" = no ] || [ "$netns" != "$(readlink /proc/self/ns/net)" ] ||
        fail "the task child shares the network namespace $netns"
    [ "$seccomp" = 2 ] || fail "the task child runs without a seccomp filter (Seccomp: $seccomp)"
    ! grep -Eq 'DATABASE_URL|DB_PASS|REDIS_URL|AWS_' <<< "$envs" || fail "the task child's environ holds secrets: $envs"
    pass "socket, execve, ptrace, kill(parent) stopped and logged; no secrets, not even in /proc/<runner>/environ; RLIMIT_FSIZE and RLIMIT_NOFILE hold; fork refused; $protections, seccomp filter mode 2 (both with and without the fork server)"
    ;;
server_restart)
    # The fork server dies under a running task: the task runs once more on a new
    # server (which then reports that task child's crash); a second death fails it.
    mkfifo stuck.mp4
    "$tool" run --in stuck.mp4 --out-dir o --timeout 600 > out.json 2> err.txt &
    tp=$!
    wait_child "$tp"
    first=$server
    kill -9 "$first"
    for _ in $(seq 100); do
        wait_child "$tp"
        [ -n "$server" ] && [ "$server" != "$first" ] && break
        sleep 0.1
    done
    [ "$server" != "$first" ] || { kill -9 "$tp"; fail "no new fork server after the first died"; }
    kill -ABRT "$child"
    wait "$tp" || fail "media_tool failed after its fork server died"
    [ "$(j .rc)" = -1 ] && [ "$(j .signal)" = 6 ] || fail "retried task: $(jq -c . out.json)"
    grep -q "the fork server died while a task ran; running the task once more" err.txt || fail "no log line: $(cat err.txt)"
    grep -q "the fork server (pid $first) died of signal 9 (Killed); it starts again" err.txt ||
        fail "the server's death was not logged: $(cat err.txt)"
    "$tool" run --in stuck.mp4 --out-dir o2 --timeout 600 > out.json 2> err.txt &
    tp=$!
    wait_child "$tp"; kill -9 "$server"
    first=$server
    for _ in $(seq 100); do
        wait_child "$tp"
        [ "$server" != "$first" ] && break
        sleep 0.1
    done
    kill -9 "$server"
    wait "$tp" || fail "media_tool failed after two fork server deaths"
    [ "$(j .rc)" = -1 ] && j .error | grep -q "fork server died twice while the task ran" || fail "second death: $(j .error)"
    reason=$(j .error)
    # Two tasks lose their server at once: both start the next one, on one new server.
    "$tool" run --in stuck.mp4 --out-dir o3 --parallel 2 --slots 2 --timeout 600 > out.json 2> err.txt &
    tp=$!
    wait_child "$tp"
    first=$server
    for _ in $(seq 100); do
        [ "$(pgrep -P "$first" | wc -l)" = 2 ] && break
        sleep 0.1
    done
    kill -9 "$first"
    for _ in $(seq 100); do
        wait_child "$tp"
        [ "$server" != "$first" ] && [ "$(pgrep -P "$server" | wc -l)" = 2 ] && break
        sleep 0.1
    done
    [ "$(pgrep -P "$tp" -f media-server | wc -l)" = 1 ] || { kill -9 "$tp"; fail "not exactly one new fork server"; }
    kill -9 "$server"
    wait "$tp" || fail "media_tool failed after its fork server died under two tasks"
    [ "$(jq '[.tasks[] | select(.rc == -1 and (.error | test("died twice")))] | length' out.json)" = 2 ] ||
        fail "two lost tasks: $(jq -c '[.tasks[].error]' out.json)"
    pass "server killed under a task: task retried on a new server; killed twice: $reason; two tasks share the restart"
    ;;
bad_images)
    # Issue 18's image cases: a corrupt JPEG, 100 megapixels declared in a header,
    # an animated WebP bomb. Each gets a clear outcome, and the next task runs.
    gen -f lavfi -i testsrc2=s=640x480 -frames:v 1 good.jpg
    gen -f lavfi -i testsrc2=s=64x64 -frames:v 1 tiny.png
    ruby -rzlib -e 'd = File.binread("tiny.png"); i = d.index("IHDR"); d[i + 4, 8] = [10000, 10000].pack("NN")
                    d[i + 17, 4] = [Zlib.crc32(d[i, 17])].pack("N"); File.binwrite("huge.png", d)' ||
        fail "could not write huge.png"
    ruby -e 'd = File.binread("good.jpg"); i = d.index("\xFF\xC0".b) || d.index("\xFF\xC2".b)
             d[i + 5, 4] = [10000, 10000].pack("nn"); File.binwrite("huge.jpg", d)' || fail "could not write huge.jpg"
    gen -f lavfi -i testsrc2=s=320x240:r=25 -t 40 -c:v libwebp_anim -loop 0 -q:v 5 anim.webp
    outcomes=""
    size=$(stat -c %s good.jpg)
    for k in 1 2 3 4 5 6; do
        cp good.jpg "bad$k.jpg"
        head -c 64 /dev/urandom | dd of="bad$k.jpg" bs=1 seek=$((size * k / 7)) conv=notrunc status=none
    done
    truncate -s $((size / 2)) bad6.jpg
    for f in bad1.jpg bad2.jpg bad3.jpg bad4.jpg bad5.jpg bad6.jpg huge.png huge.jpg anim.webp; do
        run --in "$f" --out-dir "o-$f"
        [ "$(j .signal)" = 0 ] || fail "$f: child died with signal $(j .signal)"
        [ "$(j .exit_code)" != 86 ] || fail "$f: sanitizer report in the child"
        [ "$(j .rc)" = 0 ] || [ -n "$(j .error)" ] || fail "$f: failed without a reason"
        outcomes="$outcomes $f:$(j .rc)"
    done
    run --in huge.png --out-dir o-huge
    j .error | grep -q "10000x10000 (100000000 pixels), over Mastodon's limit of 33177600" || fail "100 MP PNG header: $(j .error)"
    run --in anim.webp --out-dir o-anim
    [ "$(j .rc)" = 0 ] || [ "$(j .result.stage)" = validate ] || [ "$(j .result.stage)" = probe ] ||
        fail "animated WebP reached stage $(j .result.stage): $(j .error)"
    run --in good.jpg --out-dir o-good
    expect_ok
    pass "corrupt JPEGs, 100 MP headers, 1000-frame WebP: clear outcomes, no crash, next task fine;$outcomes"
    ;;
*)
    fail "unknown case"
    ;;
esac
