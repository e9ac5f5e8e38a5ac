#!/bin/sh
# duet render with the shipped duet-tiny (models/duet-tiny, committed): Vulkan and CPU renders
# of the same short shot agree: PSNR of the decoded frames of the two MP4s >= 30 dB (ffmpeg's
# psnr filter; luma and chroma averaged over every frame). Vulkan is lavapipe where there is
# no GPU: a 1 s shot at 6 steps keeps it short. (The lip-sync bar on renders is not asserted
# here: the shipped cpu-preset model does not reach it yet; see models/duet-tiny/MODEL_CARD.md.)
# Usage: test_render_trained.sh PATH/TO/duet SOURCE_ROOT
set -u
DUET=$1; SRC=$2
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
export DUET_MODELS="$SRC/models"
fails=0
cat >"$T/short.json" <<'EOF'
{"model": "duet-tiny", "output": "short.mp4", "seed": 3, "steps": 6,
 "shots": [{"prompt": "close-up of a green square head on a beach, talking. <S>ma ko<E>",
            "duration_s": 1}]}
EOF
for b in cpu vulkan; do
    "$DUET" render "$T/short.json" --backend $b --quiet -o "$T/$b.mp4" \
        || { echo "FAIL: render on $b"; fails=1; }
done
if [ -s "$T/cpu.mp4" ] && [ -s "$T/vulkan.mp4" ]; then
    ffmpeg -nostats -i "$T/cpu.mp4" -i "$T/vulkan.mp4" -lavfi psnr -f null - 2>&1 \
        | grep -o 'average:[0-9.a-z]*' >"$T/psnr"
    psnr=$(sed 's/average://' "$T/psnr")
    echo "Vulkan vs CPU: PSNR average $psnr dB"
    case "$psnr" in
        inf) ;;
        ''|*[!0-9.]*) echo "FAIL: no PSNR from ffmpeg"; fails=1 ;;
        *) awk -v p="$psnr" 'BEGIN { exit !(p >= 30) }' || { echo "FAIL: PSNR < 30 dB"; fails=1; } ;;
    esac
fi
[ $fails -eq 0 ] && echo "ok: trained-model renders"
exit $fails
