#!/bin/sh
# duet render end to end with a model present (random weights in export.py's layout, made
# here): samples/talking_closeup.json -> MP4 (exit 0), JSON progress through every stage and
# the summary (seconds per stage, model load, mux, peak memory),
# --frames gets 48 PNGs with the same bytes on a same-seed rerun (CPU), --wav 3.0 s, and when
# ffprobe (required; Debian's ffmpeg): h264 + aac, both starting at 0, both 3.000 s (48 frames at 16 fps).
# The random model is drawn by tests/e2e/make_random_model.py from a committed manifest with
# numpy only (Debian's python3-numpy), so this test runs wherever the test suite runs.
# Usage: test_render_model.sh PATH/TO/duet SOURCE_ROOT
set -u
DUET=$1; SRC=$2
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
"$PY" "$SRC/tests/e2e/make_random_model.py" "$SRC" "$T/models/duet-tiny" || exit 1
cp "$SRC/samples/talking_closeup.json" "$T/job.json"
mkdir "$T/f1" "$T/f2"
DUET_MODELS="$T/models" "$DUET" render "$T/job.json" --backend cpu --progress=json \
    --frames "$T/f1" --wav "$T/o.wav" >"$T/out" 2>"$T/err"; rc=$?
cat "$T/out" "$T/err"
fails=0
[ $rc -eq 0 ] || { echo "FAIL: exit $rc"; fails=1; }
grep -q '"stage":"load","state":"done"' "$T/out" || { echo "FAIL: model did not load"; fails=1; }
grep -q '"stage":"tokenize","state":"done"' "$T/out" || { echo "FAIL: no tokenize"; fails=1; }
grep -q '"stage":"text_encoder","state":"done"' "$T/out" || { echo "FAIL: no text encoding"; fails=1; }
grep -q '"stage":"sample","step":30,"steps":30' "$T/out" || { echo "FAIL: sampling did not finish"; fails=1; }
for st in video_vae audio_vae vocoder; do
    grep -q "\"shot\":0,\"stage\":\"$st\",\"state\":\"done\"" "$T/out" || { echo "FAIL: no $st"; fails=1; }
done
grep -q '"stage":"mux","state":"done"' "$T/out" || { echo "FAIL: no mux"; fails=1; }
grep -q '"reference_encode' "$T/out" && { echo "FAIL: a text-only shot encoded a reference"; fails=1; }
grep -q '"summary":{"load_s":[0-9.]*,"mux_s":[0-9.]*,"peak_rss_mib":[0-9.]*,"shots":\[{"seed":7,"steps":30,"tokenize_s":[0-9.]*,"text_encoder_s":[0-9.]*,"sample_s":[0-9.]*,"video_vae_s":[0-9.]*,"audio_vae_s":[0-9.]*,"vocoder_s":[0-9.]*}\]}}' "$T/out" \
    || { echo "FAIL: summary line"; fails=1; }
[ -s "$T/talking_closeup.mp4" ] || { echo "FAIL: no MP4"; fails=1; }
! ls "$T"/*.tmp >/dev/null 2>&1 || { echo "FAIL: temporary left"; fails=1; }
[ "$(wc -c <"$T/o.wav")" -eq 96044 ] || { echo "FAIL: wav is not 48000 samples"; fails=1; }
if command -v ffprobe >/dev/null; then
    ffprobe -v error -show_entries stream=codec_name,start_time,duration -of compact \
        "$T/talking_closeup.mp4" >"$T/probe"
    cat "$T/probe"
    grep -q "codec_name=h264|start_time=0.000000|duration=3.000000" "$T/probe" \
        || { echo "FAIL: video stream"; fails=1; }
    grep -q "codec_name=aac|start_time=0.000000|duration=3.000000" "$T/probe" \
        || { echo "FAIL: audio stream"; fails=1; }
else
    echo "FAIL: ffprobe not found (tools/install-deps.sh installs ffmpeg); stream checks not run"
    fails=1
fi
# 3 s at 16 fps: 48 frames of 128x128, the same bytes on a rerun with the same seed (CPU).
n=$(ls "$T/f1" | wc -l)
[ "$n" -eq 48 ] || { echo "FAIL: $n frames, expected 48"; fails=1; }
DUET_MODELS="$T/models" "$DUET" render "$T/job.json" --backend cpu --quiet --frames "$T/f2" \
    2>/dev/null
(cd "$T/f1" && md5sum *) >"$T/a.md5"; (cd "$T/f2" && md5sum *) >"$T/b.md5"
cmp -s "$T/a.md5" "$T/b.md5" || { echo "FAIL: frames differ on rerun with the same seed"; fails=1; }
[ $fails -eq 0 ] && echo "ok: rendered end to end"
exit $fails
