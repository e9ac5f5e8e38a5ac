#!/bin/sh
# duet render, end to end through the command: bad inputs must fail with a non-zero exit, a
# message naming the problem, and no output file (neither OUT.mp4 nor OUT.mp4.tmp) left.
# Usage: test_render_bad_input.sh PATH/TO/duet
set -u
DUET=$1
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0

# expect NAME EXPECTED_TEXT -- command...
expect() {
    name=$1; text=$2; shift 3
    "$@" >"$T/out.txt" 2>&1
    rc=$?
    if [ $rc -eq 0 ]; then echo "FAIL $name: exit 0"; fails=$((fails + 1)); return; fi
    if ! grep -q -- "$text" "$T/out.txt"; then
        echo "FAIL $name: no '$text' in:"; cat "$T/out.txt"; fails=$((fails + 1)); return
    fi
    if ls "$T"/*.mp4 "$T"/*.mp4.tmp >/dev/null 2>&1; then
        echo "FAIL $name: output left behind"; ls "$T"; fails=$((fails + 1)); return
    fi
    echo "ok   $name (exit $rc)"
}

printf '{"shots": [' >"$T/malformed.json"
expect malformed_json "syntax error" -- "$DUET" render "$T/malformed.json" --backend cpu

cat >"$T/no_model.json" <<'J'
{"model": "duet-tiny", "output": "no_model.mp4", "seed": 1,
 "shots": [{"prompt": "a red round head, talking. <S>ba di<E>", "duration_s": 1}]}
J
DUET_MODELS="$T/nowhere" expect missing_model "model 'duet-tiny' not found" -- \
    "$DUET" render "$T/no_model.json" --backend cpu

cat >"$T/no_ref.json" <<'J'
{"model": "duet-tiny", "output": "no_ref.mp4",
 "shots": [{"prompt": "a red round head", "image": "missing_face.png", "duration_s": 1}]}
J
expect missing_reference "missing_face.png" -- "$DUET" render "$T/no_ref.json" --backend cpu

# A model folder with duet-tiny's settings but no weights: scripts are checked against the
# model's config.json, and what fails later must fail before any weight is looked for.
mkdir -p "$T/settings_only/duet-tiny"
cp "$(dirname "$0")/../../models/duet-tiny/config.json" "$T/settings_only/duet-tiny/"

# Right magic bytes (the script check passes), broken content (decoding fails).
printf '\211PNG\r\n\032\nbroken' >"$T/corrupt.png"
printf 'RIFF\044\000\000\000WAVEjunk' >"$T/corrupt.wav"
cat >"$T/corrupt_ref.json" <<'J'
{"model": "duet-tiny", "output": "corrupt_ref.mp4",
 "shots": [{"prompt": "a red round head", "image": "corrupt.png", "duration_s": 1},
           {"prompt": "a red round head", "audio": "corrupt.wav", "duration_s": 1}]}
J
DUET_MODELS="$T/settings_only" expect corrupt_references "cannot use audio" -- \
    "$DUET" render "$T/corrupt_ref.json" --backend cpu
grep -q "cannot use image" "$T/out.txt" || { echo "FAIL corrupt png not reported"; fails=$((fails + 1)); }

# Conditioning and transitions that cannot work: refused by the script check, before any work.
printf '\211PNG\r\n\032\n' >"$T/face.png"
cat >"$T/continue_image.json" <<'J'
{"shots": [{"prompt": "a red round head", "duration_s": 1},
           {"prompt": "a red round head", "duration_s": 1, "continue": true, "image": "face.png"}]}
J
expect continue_with_image 'cannot be combined with "image"' -- "$DUET" render "$T/continue_image.json" --backend cpu
cat >"$T/continue_first.json" <<'J'
{"shots": [{"prompt": "a red round head", "duration_s": 1, "continue": true}]}
J
expect continue_first_shot "no previous shot to continue" -- "$DUET" render "$T/continue_first.json" --backend cpu
cat >"$T/continue_xfade.json" <<'J'
{"shots": [{"prompt": "a red round head", "duration_s": 1},
           {"prompt": "a red round head", "duration_s": 1, "continue": true, "transition": "crossfade"}]}
J
expect continue_with_crossfade "a continuation has no transition" -- "$DUET" render "$T/continue_xfade.json" --backend cpu
cat >"$T/xfade_first.json" <<'J'
{"shots": [{"prompt": "a red round head", "duration_s": 1, "transition": "crossfade"}]}
J
expect crossfade_first_shot "nothing to crossfade from" -- "$DUET" render "$T/xfade_first.json" --backend cpu
cat >"$T/xfade_long.json" <<'J'
{"shots": [{"prompt": "a red round head", "duration_s": 1},
           {"prompt": "a red round head", "duration_s": 2, "transition": "crossfade", "transition_ms": 1500}]}
J
expect crossfade_too_long "longer than the shorter of the two shots" -- "$DUET" render "$T/xfade_long.json" --backend cpu

# A valid WAV with no samples: nothing for the mouth to follow (found before the model loads).
printf 'RIFF\044\000\000\000WAVEfmt \020\000\000\000\001\000\001\000\200\076\000\000\000\175\000\000\002\000\020\000data\000\000\000\000' >"$T/empty.wav"
cat >"$T/empty_audio.json" <<'J'
{"shots": [{"prompt": "a red round head", "duration_s": 1, "audio": "empty.wav"}]}
J
DUET_MODELS="$T/settings_only" expect empty_audio "audio .*empty.wav has no samples" -- \
    "$DUET" render "$T/empty_audio.json" --backend cpu
grep -q "model file missing" "$T/out.txt" && { echo "FAIL empty_audio: the weights were looked up first"; fails=$((fails + 1)); }

# The model's own settings: its limits apply to the script, a bad config.json is reported at
# the script's "model" field with the file and the field.
cat >"$T/too_big.json" <<'J'
{"output": "too_big.mp4", "width": 512, "shots": [{"prompt": "a red round head", "duration_s": 1}]}
J
DUET_MODELS="$T/settings_only" expect size_over_model_limit "width: must be within \[64, 256\], got 512" -- \
    "$DUET" render "$T/too_big.json" --backend cpu
mkdir -p "$T/bad_sampler/duet-tiny"
sed 's/"solver": "unipc"/"solver": "ddim"/' "$T/settings_only/duet-tiny/config.json" \
    >"$T/bad_sampler/duet-tiny/config.json"
DUET_MODELS="$T/bad_sampler" expect bad_model_sampler "config.json: sampler.solver: must be" -- \
    "$DUET" render "$T/no_model.json" --backend cpu
grep -q "no_model.json:1:11: model: cannot use the model's settings" "$T/out.txt" ||
    { echo "FAIL bad_model_sampler: not reported at the model field"; cat "$T/out.txt"; fails=$((fails + 1)); }

# A model folder lacking its weights.
mkdir -p "$T/models/duet-tiny"
echo '{}' >"$T/models/duet-tiny/config.json"
DUET_MODELS="$T/models" expect incomplete_model "duet-tiny" -- \
    "$DUET" render "$T/no_model.json" --backend cpu

expect no_job "no job script" -- "$DUET" render
expect bad_option "unknown option" -- "$DUET" render "$T/no_model.json" --frobnicate 1
expect bad_steps "bad value for --steps" -- "$DUET" render "$T/no_model.json" --steps 0
expect bad_scale "bad value for --scale" -- "$DUET" render "$T/no_model.json" --scale 17
expect bad_scale0 "bad value for --scale" -- "$DUET" render "$T/no_model.json" --scale 0
expect missing_job "no_such_job.json" -- "$DUET" render "$T/no_such_job.json"

[ $fails -eq 0 ] || { echo "$fails failure(s)"; exit 1; }
echo "all bad-input cases passed"
