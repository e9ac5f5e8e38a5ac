#!/bin/sh
# Makes samples/voice.wav, the reference audio of samples/lipsync_audio.json: four
# syllables spoken by espeak-ng with pauses between them (TalkingShapes speech is silent
# between utterances), resampled to 16 kHz mono 16-bit PCM and padded with silence to exactly
# 3.0 s (48 frames at duet-tiny's 16 fps). Needs espeak-ng and ffmpeg (apt-get install -y
# espeak-ng ffmpeg). The output differs slightly between espeak-ng versions; the committed
# file was made with espeak-ng 1.51 and ffmpeg 5.1 (Debian 12).
set -eu
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
espeak-ng -v en -s 130 -w "$tmp/voice22k.wav" "ba, di, mo, ka."
ffmpeg -nostdin -hide_banner -loglevel error -y -i "$tmp/voice22k.wav" \
  -af "aresample=16000,apad=whole_dur=3,atrim=0:3" -ac 1 -c:a pcm_s16le \
  -map_metadata -1 -fflags +bitexact -flags:a +bitexact samples/voice.wav
ls -l samples/voice.wav
