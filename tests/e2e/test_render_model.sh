#!/bin/sh
# duet render with a model present (random weights in export.py's layout, made here): the
# model, text encoder, video VAE and tokenizer load, prompts encode, 30 sampling steps run with
# JSON progress, --frames gets 48 PNGs (same bytes on a same-seed rerun), and the render stops
# at the first stage not wired (audio decode) with "not built yet", a non-zero exit and no MP4.
# When the audio decode and MP4 are wired this becomes the full render check.
# Skips (77) when Python lacks torch/safetensors/sentencepiece.
# Usage: test_render_model.sh PATH/TO/duet SOURCE_ROOT
set -u
DUET=$1; SRC=$2
python3 -c "import torch, safetensors, sentencepiece" 2>/dev/null || { echo "no torch: skip"; exit 77; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
python3 "$SRC/tests/e2e/make_random_model.py" "$SRC" "$T/models/duet-tiny" || exit 1
cp "$SRC/samples/talking_closeup.json" "$T/job.json"
mkdir "$T/f1" "$T/f2"
DUET_MODELS="$T/models" "$DUET" render "$T/job.json" --backend cpu --progress=json \
    --frames "$T/f1" >"$T/out" 2>"$T/err"; rc=$?
cat "$T/out" "$T/err"
fails=0
[ $rc -ne 0 ] || { echo "FAIL: exit 0"; fails=1; }
grep -q '"stage":"load","state":"done"' "$T/out" || { echo "FAIL: model did not load"; fails=1; }
grep -q '"stage":"tokenize","state":"done"' "$T/out" || { echo "FAIL: no tokenize"; fails=1; }
grep -q '"stage":"text_encoder","state":"done"' "$T/out" || { echo "FAIL: no text encoding"; fails=1; }
grep -q '"stage":"sample","step":30,"steps":30' "$T/out" || { echo "FAIL: sampling did not finish"; fails=1; }
grep -q "not built yet" "$T/err" || { echo "FAIL: no 'not built yet'"; fails=1; }
! ls "$T"/*.mp4 "$T"/*.tmp >/dev/null 2>&1 || { echo "FAIL: output left"; fails=1; }
# 3 s at 16 fps: 48 frames of 128x128, the same bytes on a rerun with the same seed (CPU).
n=$(ls "$T/f1" | wc -l)
[ "$n" -eq 48 ] || { echo "FAIL: $n frames, expected 48"; fails=1; }
DUET_MODELS="$T/models" "$DUET" render "$T/job.json" --backend cpu --quiet --frames "$T/f2" \
    2>/dev/null
(cd "$T/f1" && md5sum *) >"$T/a.md5"; (cd "$T/f2" && md5sum *) >"$T/b.md5"
cmp -s "$T/a.md5" "$T/b.md5" || { echo "FAIL: frames differ on rerun with the same seed"; fails=1; }
[ $fails -eq 0 ] && echo "ok: stops at the missing stage"
exit $fails
