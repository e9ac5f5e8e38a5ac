#!/bin/sh
# duet play, end to end through the command: --help, a missing file (exit 1, the file named),
# no output device (exit 3 with "no audio output device", quickly, never hanging), and real
# playback through PortAudio's ALSA host API onto ALSA's "null" device (exit 0) for a WAV and
# for the AAC track of an MP4. The device set is pinned with ALSA_CONFIG_PATH, so the result
# does not depend on the machine's sound cards; every run is under `timeout 20`.
# Usage: test_play.sh PATH/TO/duet
set -u
DUET=$1
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
fail() { echo "FAIL $*"; fails=$((fails + 1)); }

# run NAME EXPECTED_RC EXPECTED_TEXT -- command...: exit code and output checked, 20 s at most.
run() {
    name=$1; want_rc=$2; text=$3; shift 4
    start=$(date +%s)
    timeout 20 "$@" >"$T/out.txt" 2>&1
    rc=$?
    secs=$(( $(date +%s) - start ))
    if [ $rc -eq 124 ]; then fail "$name: still running after 20 s"; return; fi
    if [ $rc -ne "$want_rc" ]; then
        fail "$name: exit $rc, expected $want_rc; output:"; cat "$T/out.txt"; return
    fi
    if ! grep -q -- "$text" "$T/out.txt"; then
        fail "$name: no '$text' in:"; cat "$T/out.txt"; return
    fi
    echo "ok   $name (exit $rc, ${secs} s)"
}

# 0.5 s of 16-bit mono silence at 8 kHz: a 44-byte header, then 8000 zero bytes.
wav=$T/tone.wav
{
    printf 'RIFF\144\037\000\000WAVEfmt \020\000\000\000\001\000\001\000'
    printf '\100\037\000\000\200\076\000\000\002\000\020\000data\100\037\000\000'
    head -c 8000 /dev/zero
} >"$wav"

run help 0 "exit codes" -- "$DUET" play --help
grep -q "3 *no audio output device" "$T/out.txt" || fail "help: exit code 3 not documented"
run missing_file 1 "$T/no_such.wav" -- "$DUET" play "$T/no_such.wav"
printf 'RIFF\044\000\000\000WAVEjunk' >"$T/corrupt.wav"
run corrupt_wav 1 "corrupt.wav" -- "$DUET" play "$T/corrupt.wav"
run no_file 2 "no file given" -- "$DUET" play
run bad_device_arg 2 "--device" -- "$DUET" play "$wav" --device x

# No device: ALSA configured with one PCM on a card that does not exist, and a JACK server
# name nobody runs (an empty ALSA configuration makes PortAudio 19.6 abort, so not that).
printf 'pcm.!default { type hw card 99 }\n' >"$T/none.conf"
export JACK_DEFAULT_SERVER=duet-test-no-such-server
ALSA_CONFIG_PATH=$T/none.conf run no_device 3 "duet play: no audio output device" -- \
    "$DUET" play "$wav"
ALSA_CONFIG_PATH=$T/none.conf run no_device_n 3 "no audio output device 4" -- \
    "$DUET" play "$wav" --device 4

# Real streams: ALSA's null plugin takes samples without a sound card.
printf 'pcm.!default { type null }\n' >"$T/null.conf"
ALSA_CONFIG_PATH=$T/null.conf run null_device_wav 0 "played .*tone.wav (0.5 s)" -- \
    "$DUET" play "$wav"
if command -v ffmpeg >/dev/null; then
    ffmpeg -v error -f lavfi -i sine=frequency=440:duration=1 -f lavfi -i color=c=red:s=32x32:d=1 \
        -c:a aac -c:v mpeg4 -shortest "$T/clip.mp4" || fail "ffmpeg could not write clip.mp4"
    ALSA_CONFIG_PATH=$T/null.conf run null_device_mp4 0 "played .*clip.mp4" -- \
        "$DUET" play "$T/clip.mp4" --device 0
    ffmpeg -v error -f lavfi -i color=c=red:s=32x32:d=1 -c:v mpeg4 "$T/silent.mp4" ||
        fail "ffmpeg could not write silent.mp4"
    run mp4_without_audio 1 "silent.mp4" -- "$DUET" play "$T/silent.mp4"
else
    fail "ffmpeg not found (tools/install-deps.sh installs it): MP4 playback not checked"
fi

# This machine as it is: whatever its devices, play must end (played, or no device).
unset JACK_DEFAULT_SERVER ALSA_CONFIG_PATH
timeout 20 "$DUET" play "$wav" --quiet >"$T/out.txt" 2>&1
rc=$?
case $rc in
    0) echo "ok   this_machine (played)" ;;
    3) grep -q "no audio output device" "$T/out.txt" && echo "ok   this_machine (no device)" ||
        fail "this_machine: exit 3 without the message: $(cat "$T/out.txt")" ;;
    *) fail "this_machine: exit $rc: $(cat "$T/out.txt")" ;;
esac

[ $fails -eq 0 ] || { echo "$fails check(s) failed"; exit 1; }
echo "all play checks passed"
