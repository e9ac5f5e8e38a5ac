#!/bin/sh
# duet render end to end on the samples beyond talking_closeup (test_render_model.sh renders
# that one at full steps and checks same-seed frame hashes), with the random model of
# make_random_model.py on the CPU backend at 2 sampling steps (steps do not change the
# plumbing). Every render: exit 0, no temporary left, and tests/e2e/clip_checks.py probe:
# h264 + aac, both starting at 0, each lasting the script's length (shots minus crossfade
# overlaps) within one frame. Per case:
#   three_shots      a cut and a continuation: the continuation encodes a reference frame, the
#                    --frames PNGs are the shots' own (32 + 40 + 32);
#   lipsync_audio    the MP4's audio and --wav are voice.wav itself (correlation > 0.99; the
#                    generated sound of a random model correlates near 0), the audio decoders
#                    do not run; the same voice as 44.1 kHz stereo is resampled and downmixed;
#   reference_image  face.png is used at its size; a 200x120 image is centre-cropped and
#                    scaled (said on stderr) and changes the first frame;
#   crossfade        three shots joined by crossfades (one with an image), --scale 2: 2.75 s
#                    from 3.5 s of shots, 256 px wide.
# Usage: test_render_samples.sh PATH/TO/duet SOURCE_ROOT CASE
set -u
DUET=$1; SRC=$2; CASE=$3
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
CHECK="$SRC/tests/e2e/clip_checks.py"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
"$PY" "$SRC/tests/e2e/make_random_model.py" "$SRC" "$T/models/duet-tiny" || exit 1
cp "$SRC"/samples/* "$T/"
command -v ffprobe >/dev/null && command -v ffmpeg >/dev/null || {
    echo "FAIL: ffprobe/ffmpeg not found (tools/install-deps.sh installs ffmpeg)"; exit 1; }
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# render NAME JOB [options]: renders $T/JOB to $T/NAME.mp4 and checks it against the script.
render() {
    name=$1; job=$2; shift 2
    DUET_MODELS="$T/models" "$DUET" render "$T/$job" -o "$T/$name.mp4" --backend cpu --steps 2 \
        --progress=json "$@" >"$T/$name.out" 2>"$T/$name.err"
    rc=$?
    cat "$T/$name.err"
    grep '"summary"' "$T/$name.out"
    [ $rc -eq 0 ] || fail "$name: exit $rc"
    ! ls "$T"/*.tmp* >/dev/null 2>&1 || fail "$name: temporary left"
    [ -s "$T/$name.mp4" ] || { fail "$name: no MP4"; return; }
    "$PY" "$CHECK" probe "$T/$name.mp4" "$T/$job" ${width:-} || fail "$name: streams"
}

case $CASE in
three_shots)
    mkdir "$T/f"
    render three_shots three_shots.json --frames "$T/f"
    n=$(ls "$T/f" | wc -l)
    [ "$n" -eq 104 ] || fail "$n frames written, expected 32 + 40 + 32"
    grep -q '"shot":2,"stage":"reference_encode","state":"done"' "$T/three_shots.out" ||
        fail "the continuation did not encode the previous shot's last frame"
    grep -q '"shot":1,"stage":"reference_encode"' "$T/three_shots.out" &&
        fail "shot 1 (a cut) encoded a reference"
    ;;
lipsync_audio)
    render lipsync lipsync_audio.json --wav "$T/lipsync.wav"
    "$PY" "$CHECK" corr "$T/lipsync.wav" "$T/voice.wav" 0.99 || fail "--wav is not voice.wav"
    ffmpeg -v error -i "$T/lipsync.mp4" -ac 1 -ar 16000 "$T/from_mp4.wav" &&
        "$PY" "$CHECK" corr "$T/from_mp4.wav" "$T/voice.wav" 0.99 || fail "the MP4's audio is not voice.wav"
    grep -q '"shot":0,"stage":"reference_encode","state":"done"' "$T/lipsync.out" ||
        fail "the reference audio was not encoded"
    grep -q '"audio_vae_s"\|"vocoder_s"' "$T/lipsync.out" && fail "the audio decoders ran"
    "$PY" "$CHECK" upsample "$T/voice.wav" "$T/voice44.wav" 44100 1 || exit 1
    sed -e 's/voice.wav/voice44.wav/' -e 's/"duration_s": 3/"duration_s": 1/' \
        "$T/lipsync_audio.json" >"$T/lipsync44.json"
    render lipsync44 lipsync44.json --wav "$T/lipsync44.wav"
    "$PY" "$CHECK" corr "$T/lipsync44.wav" "$T/voice.wav" 0.99 ||
        fail "44.1 kHz stereo reference: --wav is not the voice"
    ;;
reference_image)
    mkdir "$T/fa" "$T/fb"
    render reference_image reference_image.json --frames "$T/fa"
    grep -q "centre-cropped" "$T/reference_image.err" && fail "a 128x128 image was rescaled"
    grep -q '"shot":0,"stage":"reference_encode","state":"done"' "$T/reference_image.out" ||
        fail "the image was not encoded"
    ffmpeg -v error -f lavfi -i testsrc=size=200x120:rate=1 -frames:v 1 "$T/wide.png" || exit 1
    sed 's/face.png/wide.png/' "$T/reference_image.json" >"$T/wide.json"
    render wide wide.json --frames "$T/fb"
    grep -q "image .*wide.png is 200x120: centre-cropped to the frame's aspect and scaled to 128x128" \
        "$T/wide.err" || fail "no word of the 200x120 image being fitted"
    cmp -s "$T/fa/shot00_0000.png" "$T/fb/shot00_0000.png" &&
        fail "a different image gave the same first frame"
    ;;
crossfade)
    cat >"$T/crossfade.json" <<'J'
{"model": "duet-tiny", "output": "crossfade.mp4", "seed": 3,
 "shots": [
  {"prompt": "wide shot of a blue square head on a beach, talking. <S>ta ki<E>", "duration_s": 1},
  {"prompt": "close-up of a blue square head on a beach. <S>mo ba<E>", "duration_s": 1.5,
   "transition": "crossfade", "transition_ms": 250},
  {"prompt": "close-up of a red round head in a room. <S>ka lu<E>", "duration_s": 1,
   "transition": "crossfade", "transition_ms": 500, "image": "face.png"}]}
J
    mkdir "$T/f"
    width=256 render crossfade crossfade.json --scale 2 --frames "$T/f"
    n=$(ls "$T/f" | wc -l)
    [ "$n" -eq 56 ] || fail "$n shot frames written, expected 16 + 24 + 16"
    ;;
*)
    echo "unknown case $CASE"; exit 1 ;;
esac
[ $fails -eq 0 ] && echo "ok: $CASE rendered end to end"
exit $fails
