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

# Right magic bytes (the script check passes), broken content (decoding fails).
printf '\211PNG\r\n\032\nbroken' >"$T/corrupt.png"
printf 'RIFF\044\000\000\000WAVEjunk' >"$T/corrupt.wav"
cat >"$T/corrupt_ref.json" <<'J'
{"model": "duet-tiny", "output": "corrupt_ref.mp4",
 "shots": [{"prompt": "a red round head", "image": "corrupt.png", "duration_s": 1},
           {"prompt": "a red round head", "audio": "corrupt.wav", "duration_s": 1}]}
J
expect corrupt_references "cannot use audio" -- "$DUET" render "$T/corrupt_ref.json" --backend cpu
grep -q "cannot use image" "$T/out.txt" || { echo "FAIL corrupt png not reported"; fails=$((fails + 1)); }

# A model folder lacking its weights.
mkdir -p "$T/models/duet-tiny"
echo '{}' >"$T/models/duet-tiny/config.json"
DUET_MODELS="$T/models" expect incomplete_model "duet-tiny" -- \
    "$DUET" render "$T/no_model.json" --backend cpu

expect no_job "no job script" -- "$DUET" render
expect bad_option "unknown option" -- "$DUET" render "$T/no_model.json" --frobnicate 1
expect bad_steps "bad value for --steps" -- "$DUET" render "$T/no_model.json" --steps 0
expect missing_job "no_such_job.json" -- "$DUET" render "$T/no_such_job.json"

[ $fails -eq 0 ] || { echo "$fails failure(s)"; exit 1; }
echo "all bad-input cases passed"
