"""Checks of rendered clips for the e2e render tests (standard library + numpy, ffprobe).

  clip_checks.py probe CLIP.mp4 JOB.json [WIDTH]
      h264 + aac streams, both starting at 0, video and audio durations each within one frame
      of the script's length: the sum of the shots' frames (round(duration_s * fps), halves up)
      minus each crossfade's overlap (round(transition_ms * fps / 1000), at least one frame,
      at most the incoming shot and what the previous shot's own crossfade leaves of it), as
      docs/job-script.md states it. WIDTH: the video's expected width (--scale).
  clip_checks.py corr A.wav B.wav MIN
      Pearson correlation of two 16-bit mono WAVs at the same rate over their common length
      (after checking the rates agree); fails below MIN.
  clip_checks.py upsample IN.wav OUT.wav RATE SECONDS
      IN's first SECONDS as a stereo (both channels equal) 16-bit WAV at RATE (linear
      interpolation), to exercise duet's resampling and downmix of reference audio.
Prints what it measured; exit status 1 on a failed check."""
import json
import math
import subprocess
import sys
import wave

import numpy as np


def expected_seconds(job_path):
    with open(job_path) as f:
        job = json.load(f)
    fps = job.get('fps', 16)
    frames, overlaps, prev_n, prev_in = 0, 0, 0, 0
    for i, s in enumerate(job['shots']):
        n = math.floor(s['duration_s'] * fps + 0.5)
        ov = 0
        if i > 0 and s.get('transition') == 'crossfade':
            ov = max(1, math.floor(s.get('transition_ms', 250) * fps / 1000 + 0.5))
            ov = min(ov, n, prev_n - prev_in)
        frames += n
        overlaps += ov
        prev_n, prev_in = n, ov
    return (frames - overlaps) / fps, fps


def probe(clip, job_path, width=None):
    want, fps = expected_seconds(job_path)
    out = subprocess.run(['ffprobe', '-v', 'error', '-show_entries',
                          'stream=codec_type,codec_name,start_time,duration,width',
                          '-of', 'json', clip], capture_output=True, text=True, check=True)
    streams = json.loads(out.stdout)['streams']
    ok = True
    for kind, codec in (('video', 'h264'), ('audio', 'aac')):
        st = [s for s in streams if s.get('codec_type') == kind]
        if len(st) != 1 or st[0].get('codec_name') != codec:
            print(f'FAIL: {clip}: expected one {codec} {kind} stream, got {st}')
            ok = False
            continue
        start, dur = float(st[0]['start_time']), float(st[0]['duration'])
        print(f'{kind}: {codec}, start {start:.6f} s, duration {dur:.6f} s '
              f'(script: {want:.6f} s, one frame {1 / fps:.4f} s)')
        if start != 0:
            print(f'FAIL: {kind} starts at {start}, not 0')
            ok = False
        if abs(dur - want) > 1 / fps + 1e-6:
            print(f'FAIL: {kind} lasts {dur} s, the script {want} s')
            ok = False
        if kind == 'video' and width is not None and st[0].get('width') != width:
            print(f'FAIL: video is {st[0].get("width")} wide, expected {width}')
            ok = False
    return ok


def read_wav(path):
    with wave.open(path) as w:
        if w.getsampwidth() != 2 or w.getnchannels() != 1:
            raise SystemExit(f'{path}: expected 16-bit mono')
        return np.frombuffer(w.readframes(w.getnframes()), '<i2').astype(np.float64), \
            w.getframerate()


def corr(a_path, b_path, minimum):
    a, ra = read_wav(a_path)
    b, rb = read_wav(b_path)
    if ra != rb:
        print(f'FAIL: rates differ: {ra} Hz and {rb} Hz')
        return False
    n = min(len(a), len(b))
    c = float(np.corrcoef(a[:n], b[:n])[0, 1]) if n > 1 else float('nan')
    print(f'correlation of {a_path} and {b_path} over {n} samples: {c:.6f} (min {minimum})')
    if not c >= minimum:
        print('FAIL: correlation too low')
        return False
    return True


def upsample(src, dst, rate, seconds):
    x, r = read_wav(src)
    x = x[:int(seconds * r)]
    t = np.arange(int(len(x) * rate / r)) * (r / rate)
    y = np.interp(t, np.arange(len(x)), x).round().clip(-32768, 32767).astype('<i2')
    with wave.open(dst, 'wb') as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(np.stack([y, y], axis=1).tobytes())
    return True


if __name__ == '__main__':
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == 'probe':
        ok = probe(args[0], args[1], int(args[2]) if len(args) > 2 else None)
    elif cmd == 'corr':
        ok = corr(args[0], args[1], float(args[2]))
    elif cmd == 'upsample':
        ok = upsample(args[0], args[1], int(args[2]), float(args[3]))
    else:
        raise SystemExit(f'unknown command {cmd}')
    sys.exit(0 if ok else 1)
