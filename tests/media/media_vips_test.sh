#!/usr/bin/env bash
# media_vips_test.sh CASE -- the media child's libvips work, through the runner
# (media_tool run --task ...) as the worker drives it. Expected sizes come from
# Mastodon's style rules (Account::Avatar 400x400#, Account::Header 750,000 px,
# PreviewCard 230,400 px; LazyThumbnail's PixelGeometryParser and its ffmpeg
# GIF filter); images are measured independently with vipsheader and ffprobe.
# Prints PASS or FAIL with the reason.
set -uo pipefail

tool=${MEDIA_TOOL:?set MEDIA_TOOL to the media_tool binary}
case_name=${1:?usage: media_vips_test.sh CASE}
work=$(mktemp -d "${TMPDIR:-/tmp}/scotty-vips-XXXXXX")
cleanup() { rm -rf "$work"; }
trap cleanup EXIT
cd "$work" || exit 1

fail() { echo "FAIL media_vips_$case_name: $*"; exit 1; }
pass() { echo "PASS media_vips_$case_name: $*"; exit 0; }
gen() { ffmpeg -nostdin -v error -y "$@" || fail "could not generate the input: ffmpeg $*"; }
# task TASK IN: runs one task into o-TASK-IN/, the outcome in out.json.
task() {
    rm -rf "o-$1-$2"
    "$tool" run --task "$1" --in "$2" --out-dir "o-$1-$2" > out.json || fail "media_tool run --task $1 exited with $?"
}
j() { jq -r "$1" out.json; }
ok() { [ "$(j .rc)" = 0 ] && [ "$(j .result.ok)" = true ] || fail "$1: the task failed: $(j .error)"; }
# dims FILE: "WxH" as vipsheader reads it.
dims() { echo "$(vipsheader -f width "$1")x$(vipsheader -f height "$1")"; }
# style STYLE WxH TYPE: the result's style has that size (also on disk) and content type.
style() {
    local path
    path=$(j ".result.$1.path")
    [ -f "$path" ] || fail "$1: no file ($path)"
    [ "$(dims "$path")" = "$2" ] || fail "$1 of $(j .result.input.content_type): $(dims "$path") on disk, expected $2"
    [ "$(j ".result.$1.width")x$(j ".result.$1.height")" = "$2" ] || fail "$1: the result says $(j ".result.$1.width")x$(j ".result.$1.height")"
    [ "$(j ".result.$1.content_type")" = "$3" ] || fail "$1: content type $(j ".result.$1.content_type"), expected $3"
    [ "$(j ".result.$1.size")" = "$(stat -c %s "$path")" ] || fail "$1: size $(j ".result.$1.size") is not the file's"
}
# pixel_target W H PX: Mastodon's PixelGeometryParser, round(sqrt(px*W/H)) x round(sqrt(px*H/W)).
pixel_target() { awk -v w="$1" -v h="$2" -v p="$3" 'BEGIN { printf "%dx%d", int(sqrt(p*w/h)+0.5), int(sqrt(p*h/w)+0.5) }'; }
# thumb IN SIZE: the size vipsthumbnail makes for Mastodon's thumbnail call
# (SIZE "WxH>" for size: :down, "WxH" with --smartcrop centre for crop: :centre).
thumb() {
    local extra=()
    [ "${3:-}" = crop ] && extra=(--smartcrop centre)
    vipsthumbnail "$1" --size "$2" "${extra[@]}" -o "$work/thumb-%s.v" || fail "vipsthumbnail $1 --size $2 failed"
    dims "$work/thumb-${1%.*}.v"
}
frames() { ffprobe -v error -count_frames -select_streams v:0 -show_entries stream=nb_read_frames -of csv=p=0 "$1"; }

case "$case_name" in
account)
    gen -f lavfi -i testsrc2=s=800x600 -frames:v 1 photo.jpg
    gen -f lavfi -i testsrc2=s=200x100 -frames:v 1 tiny.png
    gen -f lavfi -i testsrc2=s=2000x1000 -frames:v 1 wide.webp
    gen -f lavfi -i testsrc2=s=640x480:r=10 -frames:v 10 anim.gif
    gen -f lavfi -i testsrc2=s=300x200 -frames:v 1 -pix_fmt rgb24 card.png

    # Avatars: 400x400# fills and crops, small pictures included (libvips' thumbnail upscales).
    task avatar photo.jpg; ok avatar; style original 400x400 image/jpeg
    [ "$(j '.result.static')" = null ] || fail "a JPEG avatar has no static style"
    task avatar tiny.png; ok avatar; style original 400x400 image/png
    task avatar wide.webp; ok avatar; style original 400x400 image/webp
    # A GIF stays animated through ffmpeg's filter: fit 400x400 (400x300), then the square crop 300x300.
    task avatar anim.gif; ok avatar; style original 300x300 image/gif; style static 400x400 image/png
    [ "$(frames "$(j .result.original.path)")" = 10 ] || fail "the GIF avatar lost frames: $(frames "$(j .result.original.path)")"
    [ "$(frames "$(j .result.static.path)")" = 1 ] || fail "the static avatar is not one frame"

    # Headers: at most 750,000 px; within it the file is kept as it is.
    task header wide.webp; ok header; style original "$(thumb wide.webp "$(pixel_target 2000 1000 750000)>")" image/webp
    task header photo.jpg; ok header; style original 800x600 image/jpeg
    cmp -s photo.jpg "$(j .result.original.path)" || fail "a header within the budget was re-encoded"
    [ "$(j .result.original.converted)" = false ] || fail "converted says true for a kept header"
    task header anim.gif; ok header; style original 640x480 image/gif; style static 640x480 image/png

    # Preview cards: at most 230,400 px, a GIF becomes a JPEG, and a blurhash.
    task preview_card photo.jpg; ok card; style original "$(thumb photo.jpg "$(pixel_target 800 600 230400)>")" image/jpeg
    hash=$(j .result.blurhash)
    [ "${#hash}" = 36 ] || fail "the card's 4x4 blurhash has ${#hash} characters, not 36: $hash"
    [ "$(j .result.original.blurhash)" = "$hash" ] || fail "the style's blurhash differs from the result's"
    task preview_card anim.gif; ok card; style original "$(thumb anim.gif "$(pixel_target 640 480 230400)>")" image/jpeg
    [ "$(j .result.original.extension)" = jpg ] || fail "a GIF card's extension is $(j .result.original.extension), not jpg"
    task preview_card card.png; ok card; style original 300x200 image/png
    cmp -s card.png "$(j .result.original.path)" || fail "a card within the budget was re-encoded"
    pass "avatar 400x400#, GIF 300x300 animated + static PNG; header 750,000 px; card 230,400 px + blurhash"
    ;;
thumbnail)
    # The process task's image styles against vipsthumbnail run with Mastodon's
    # options (thumbnail WxH, size down; the format by extension with its
    # defaults), and the blurhash against the reference encoder (python3-blurhash,
    # Wolt's C code) fed what Mastodon's BlurhashTranscoder feeds it: thumbnail
    # 100, sRGB, 3 bands.
    bh=/usr/bin/python3
    "$bh" -c 'import blurhash' 2>/dev/null || fail "python3-blurhash is missing (contrib/install-deps.sh)"
    gen -f lavfi -i testsrc2=s=4000x3000 -frames:v 1 big.jpg
    gen -f lavfi -i mandelbrot=s=800x600 -frames:v 1 -pix_fmt rgba alpha.png
    gen -f lavfi -i testsrc2=s=1000x750 -frames:v 1 -pix_fmt gray grey.jpg
    gen -f lavfi -i mandelbrot=s=900x900 -frames:v 1 pic.webp
    gen -f lavfi -i testsrc2=s=640x360 -frames:v 1 fits.jpg
    # A 2x reduction (the JPEG shrinks on load here, not in libvips' own thumbnail),
    # the same picture turned by its EXIF orientation (6: upright it is 720x1280),
    # and as CMYK.
    gen -f lavfi -i testsrc2=s=1280x720 -frames:v 1 hd.jpg
    /usr/bin/python3 - hd.jpg rot.jpg <<'PY' || fail "could not write the EXIF-oriented JPEG"
import struct, sys
d = open(sys.argv[1], 'rb').read()
ifd = struct.pack('>H', 1) + struct.pack('>HHIHH', 0x0112, 3, 1, 6, 0) + struct.pack('>I', 0)
app1 = b'Exif\x00\x00' + b'MM\x00\x2a' + struct.pack('>I', 8) + ifd
open(sys.argv[2], 'wb').write(d[:2] + b'\xff\xe1' + struct.pack('>H', len(app1) + 2) + app1 + d[2:])
PY
    [ "$(vipsheader -f orientation rot.jpg)" = 6 ] || fail "rot.jpg has no EXIF orientation 6"
    vips colourspace hd.jpg cmyk.jpg cmyk || fail "could not write the CMYK JPEG"
    checked=""
    for in in big.jpg alpha.png grey.jpg pic.webp fits.jpg hd.jpg rot.jpg cmyk.jpg; do
        task process "$in"
        ok "process $in"
        w=$(vipsheader -f width "$in"); h=$(vipsheader -f height "$in")
        # upright, as FastImage (Mastodon's geometry) reports it
        [ "$(vipsheader -f orientation "$in" 2>/dev/null || echo 1)" -ge 5 ] && { t=$w; w=$h; h=$t; }
        for st in original:8294400 small:230400; do
            name=${st%%:*}; px=${st##*:}
            ours=$(j ".result.$name.path")
            [ -f "$ours" ] || fail "$in: no $name style"
            ext=${ours##*.}
            if [ $((w * h)) -le "$px" ]; then
                # Within the budget Mastodon keeps the file as it is.
                cmp -s "$in" "$ours" || fail "$in: $name is within $px px but was re-encoded"
                continue
            fi
            ref="ref-$name-${in%.*}.$ext"
            vipsthumbnail "$in" --size "$(pixel_target "$w" "$h" "$px")>" -o "$work/$ref" ||
                fail "vipsthumbnail $in failed"
            [ "$(dims "$ours")" = "$(dims "$ref")" ] || fail "$in $name: $(dims "$ours"), vipsthumbnail $(dims "$ref")"
            [ "$(j ".result.file_meta.$name.size")" = "$(dims "$ref")" ] || fail "$in $name: file_meta says $(j ".result.file_meta.$name.size")"
            [ "$(vipsheader -f bands "$ours")" = "$(vipsheader -f bands "$ref")" ] || fail "$in $name: bands differ"
            vips subtract "$ours" "$ref" diff.v && vips abs diff.v absdiff.v || fail "$in $name: cannot compare"
            mad=$(vips avg absdiff.v); peak=$(vips max absdiff.v)
            # A JPEG reduced 2x or more is decoded shrunk (libjpeg's DCT scaling) where
            # libvips' own thumbnail filters the whole picture: a level and a half.
            bound=1.0
            [ "${in##*.}" = jpg ] && [ $((w / $(vipsheader -f width "$ref"))) -ge 2 ] &&
                [ $((h / $(vipsheader -f height "$ref"))) -ge 2 ] && bound=1.5
            awk -v m="$mad" -v b="$bound" 'BEGIN { exit !(m < b) }' ||
                fail "$in $name: mean pixel difference $mad (peak $peak), over $bound"
            checked="$checked $in:$name(${mad:0:5})"
        done
        # The blurhash: Mastodon's input from the small style, then the reference encoder.
        small=$(j .result.small.path)
        vipsthumbnail "$small" --size 100 -o "$work/bh-${in%.*}.v" &&
            vips colourspace "bh-${in%.*}.v" srgb.v srgb && vips extract_band srgb.v rgb.v 0 --n 3 &&
            vips cast rgb.v rgb8.v uchar && vips pngsave rgb8.v "bh-${in%.*}.png" || fail "$in: cannot make the blurhash input"
        want=$("$bh" -c 'import blurhash, sys; print(blurhash.encode(sys.argv[1], 4, 4))' "bh-${in%.*}.png")
        [ "$(j .result.blurhash)" = "$want" ] || fail "$in: blurhash $(j .result.blurhash), reference $want"
    done
    pass "same sizes as vipsthumbnail, mean |difference| <1 (<1.5 shrunk on load):$checked; blurhashes equal the reference encoder's"
    ;;
bad)
    # Hostile images through the libvips tasks: each gets a clear outcome at the
    # right stage, the child never dies of a signal, and the next task runs.
    gen -f lavfi -i testsrc2=s=640x480 -frames:v 1 good.jpg
    echo "this is not a picture" > text.jpg
    size=$(stat -c %s good.jpg)
    head -c $((size / 2)) good.jpg > truncated.jpg
    /usr/bin/python3 - "$work" <<'PY' || fail "could not write the crafted inputs"
import struct, sys
w = sys.argv[1]
d = bytearray(open(w + '/good.jpg', 'rb').read())
i = d.find(b'\xff\xc0')
if i < 0:
    i = d.find(b'\xff\xc2')
d[i + 5:i + 9] = struct.pack('>HH', 10000, 10000)          # SOF: 100 megapixels declared
open(w + '/huge.jpg', 'wb').write(d)
def chunk(t, b):
    return t + struct.pack('<I', len(b)) + b + (b'\0' if len(b) % 2 else b'')
def u24(v):
    return struct.pack('<I', v)[:3]
# A 1x1 lossless VP8L bitstream (green), the same in every frame.
vp8l = chunk(b'VP8L', bytes([0x2f, 0, 0, 0, 0x10, 0x07, 0x10, 0x11, 0x11, 0x88, 0x88, 0xfe, 0x07, 0x00]))
def bomb(name, side, frames):
    body = chunk(b'VP8X', bytes([0x02, 0, 0, 0]) + u24(side - 1) + u24(side - 1))
    body += chunk(b'ANIM', b'\0\0\0\0' + struct.pack('<H', 0))
    frame = chunk(b'ANMF', u24(0) + u24(0) + u24(0) + u24(0) + u24(10) + bytes([0]) + vp8l)
    body += frame * frames
    open(w + '/' + name, 'wb').write(b'RIFF' + struct.pack('<I', 4 + len(body)) + b'WEBP' + body)
bomb('bomb-canvas.webp', 16000, 20000)   # 256 MP canvas, 20,000 frames
bomb('bomb-frames.webp', 2000, 20000)    # 4 MP canvas, 20,000 frames
PY
    vipsheader bomb-frames.webp > /dev/null || fail "the crafted WebP is not one libvips reads"
    # expect TASK IN STAGE TEXT: the task fails at STAGE with TEXT in its reason.
    expect() {
        task "$1" "$2"
        [ "$(j .signal)" = 0 ] || fail "$1 $2: the child died with signal $(j .signal)"
        [ "$(j .rc)" != 0 ] || fail "$1 $2: accepted"
        [ "$(j .result.stage)" = "$3" ] || fail "$1 $2: stage $(j .result.stage), expected $3 ($(j .error))"
        j .error | grep -q "$4" || fail "$1 $2: the reason does not say '$4': $(j .error)"
        outcomes="$outcomes $1:$2:$3"
    }
    outcomes=""
    expect avatar text.jpg probe "not an image"
    expect avatar truncated.jpg process "Premature end"
    expect avatar huge.jpg validate "10000x10000 images are not supported"
    expect preview_card bomb-canvas.webp validate "16000x16000 images are not supported"
    # Many frames on a canvas within the limit: only the first is decoded, the file is a WebP avatar.
    task avatar bomb-frames.webp
    [ "$(j .signal)" = 0 ] || fail "bomb-frames.webp: the child died with signal $(j .signal)"
    [ "$(j .rc)" = 0 ] || fail "bomb-frames.webp: $(j .error)"
    [ "$(j .result.input.frames)" = 20000 ] || fail "bomb-frames.webp: $(j .result.input.frames) frames seen"
    style original 400x400 image/webp
    # The process task on the same inputs: a clear failure, never a crash.
    for f in text.jpg truncated.jpg huge.jpg bomb-canvas.webp; do
        task process "$f"
        [ "$(j .signal)" = 0 ] || fail "process $f: the child died with signal $(j .signal)"
        [ "$(j .rc)" != 0 ] && [ -n "$(j .error)" ] || fail "process $f: no clear failure (rc $(j .rc))"
        outcomes="$outcomes process:$f:$(j .result.stage)"
    done
    task avatar good.jpg; ok "avatar after the bad ones"; style original 400x400 image/jpeg
    pass "clear outcomes:$outcomes; a 20,000-frame WebP avatar decoded its first frame; the next task ran"
    ;;
emoji)
    # CustomEmoji: the static style is the first frame as PNG at the input's size
    # (no geometry), for every input type; JPEG and files of 256 KB or more refused.
    gen -f lavfi -i testsrc2=s=64x48 -frames:v 1 e.png
    gen -f lavfi -i testsrc2=s=40x30:r=5 -t 1 e.gif
    gen -f lavfi -i testsrc2=s=32x32 -frames:v 1 e.webp
    gen -f lavfi -i testsrc2=s=32x32 -frames:v 1 e.jpg
    task emoji e.png; ok emoji; style static 64x48 image/png
    [ "$(j .result.original)" = null ] || fail "the emoji task makes no original (the worker keeps the input)"
    task emoji e.gif; ok emoji; style static 40x30 image/png
    [ "$(frames "$(j .result.static.path)")" = 1 ] || fail "the static emoji of a GIF is not one frame"
    task emoji e.webp; ok emoji; style static 32x32 image/png
    task emoji e.jpg
    [ "$(j .rc)" != 0 ] && [ "$(j .result.stage)" = validate ] || fail "a JPEG emoji was accepted"
    cp e.png big.png && head -c 262144 /dev/zero >> big.png
    task emoji big.png
    [ "$(j .rc)" != 0 ] && j .error | grep -q 'not under the limit of 262144' || fail "a 256 KB emoji: $(j .error)"
    pass "static PNG of the first frame at its own size for PNG, GIF, WebP; JPEG and 256 KB refused"
    ;;
*)
    fail "unknown case"
    ;;
esac
