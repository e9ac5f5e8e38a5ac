"""Write TalkingShapes clips to npz shards (and a preview a human can watch).

    python3 -m talkingshapes.make_shards --out DIR --n N --seed S [--kind talk] [--preview]

Run from tools/ (or as tools.talkingshapes.make_shards from the repository root). Clip i is
sample_clip(S + i, ...). Each shard DIR/shard-XXXXX.npz holds: video uint8 [n, F, H, W, 3],
audio int16 [n, N] (x / 32767 gives [-1, 1]) or float32, captions str [n], meta str [n] (JSON),
seeds int64 [n]. DIR/index.json describes the set. --preview also writes DIR/preview.mp4 (the
first clips one after another, enlarged, with their sound; needs the ffmpeg CLI),
DIR/preview.png (8 frames of each) and DIR/preview.txt (their captions).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

from .pngio import write_png
from .world import KINDS, sample_clip


def write_shards(out, n, seed, per_shard=64, kind=None, audio_dtype='int16', compress=True,
                 log=print, **clip_kw):
    os.makedirs(out, exist_ok=True)
    shards = []
    t0 = time.perf_counter()
    for s0 in range(0, n, per_shard):
        seeds = np.arange(seed + s0, seed + min(n, s0 + per_shard), dtype=np.int64)
        clips = [sample_clip(int(s), kind=kind, **clip_kw) for s in seeds]
        audio = np.stack([c['audio'] for c in clips])
        if audio_dtype == 'int16':
            audio = np.round(np.clip(audio, -1, 1) * 32767).astype(np.int16)
        name = f'shard-{s0 // per_shard:05d}.npz'
        (np.savez_compressed if compress else np.savez)(
            os.path.join(out, name), video=np.stack([c['video'] for c in clips]), audio=audio,
            captions=np.array([c['caption'] for c in clips]),
            meta=np.array([json.dumps(c['meta']) for c in clips]), seeds=seeds)
        shards.append(dict(file=name, n=len(seeds), first_seed=int(seeds[0])))
        log(f'{name}: {len(seeds)} clips ({s0 + len(seeds)}/{n}, '
            f'{(time.perf_counter() - t0) / (s0 + len(seeds)):.3f} s/clip)')
    first = sample_clip(seed, kind=kind, **clip_kw) if n else None
    index = dict(n=n, seed=seed, kind=kind, per_shard=per_shard, audio_dtype=audio_dtype,
                 shards=shards, generator='talkingshapes.world.sample_clip', **clip_kw)
    if first is not None:
        index.update(video_shape=list(first['video'].shape[1:]), n_samples=len(first['audio']))
    with open(os.path.join(out, 'index.json'), 'w') as f:
        json.dump(index, f, indent=1)
    return index


def load_shard(path):
    """dict(video uint8, audio float32 in [-1, 1], captions list, meta list of dicts, seeds)."""
    z = np.load(path)
    a = z['audio']
    audio = a.astype(np.float32) / 32767.0 if a.dtype == np.int16 else a.astype(np.float32)
    return dict(video=z['video'], audio=audio, captions=[str(c) for c in z['captions']],
                meta=[json.loads(m) for m in z['meta']], seeds=z['seeds'])


def write_preview(out, seed, n_clips=4, kind=None, scale=3, **clip_kw):
    """DIR/preview.mp4 (+ .png, .txt) of clips seed .. seed + n_clips - 1."""
    clips = [sample_clip(seed + i, kind=kind, **clip_kw) for i in range(n_clips)]
    video = np.concatenate([c['video'] for c in clips])
    audio = np.concatenate([c['audio'] for c in clips])
    fps, sr = clip_kw.get('fps', 16), clip_kw.get('sr', 16000)
    sheet = np.concatenate([np.concatenate(
        [c['video'][i] for i in np.linspace(0, len(c['video']) - 1, 8).astype(int)], 1)
        for c in clips])
    write_png(os.path.join(out, 'preview.png'), sheet)
    with open(os.path.join(out, 'preview.txt'), 'w') as f:
        f.writelines(f'{seed + i}: {c["caption"]}\n' for i, c in enumerate(clips))
    path = os.path.join(out, 'preview.mp4')
    try:
        _mp4(path, video, audio, fps, sr, scale)
    except (OSError, subprocess.CalledProcessError) as e:
        print(f'preview.mp4 not written ({e}); apt-get install -y ffmpeg', file=sys.stderr)
        return None
    return path


def _mp4(path, video, audio, fps, sr, scale):
    from scipy.io import wavfile
    F, H, W, _ = video.shape
    with tempfile.TemporaryDirectory() as d:
        wav = os.path.join(d, 'a.wav')
        wavfile.write(wav, sr, np.round(np.clip(audio, -1, 1) * 32767).astype(np.int16))
        cmd = ['ffmpeg', '-v', 'error', '-y', '-f', 'rawvideo', '-pix_fmt', 'rgb24',
               '-s', f'{W}x{H}', '-r', str(fps), '-i', '-', '-i', wav,
               '-vf', f'scale={W * scale}:{H * scale}:flags=neighbor', '-c:v', 'libx264',
               '-pix_fmt', 'yuv420p', '-crf', '18', '-c:a', 'aac', '-b:a', '128k',
               '-shortest', path]
        subprocess.run(cmd, input=np.ascontiguousarray(video).tobytes(), check=True,
                       capture_output=True)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--out', required=True)
    ap.add_argument('--n', type=int, required=True, help='number of clips')
    ap.add_argument('--seed', type=int, default=0, help='seed of clip 0')
    ap.add_argument('--kind', choices=KINDS, default=None, help='default: drawn per clip')
    ap.add_argument('--per-shard', type=int, default=64)
    ap.add_argument('--frames', type=int, default=48)
    ap.add_argument('--size', type=int, default=128)
    ap.add_argument('--fps', type=int, default=16)
    ap.add_argument('--sr', type=int, default=16000)
    ap.add_argument('--audio-dtype', choices=('int16', 'f32'), default='int16')
    ap.add_argument('--no-compress', action='store_true')
    ap.add_argument('--preview', action='store_true', help='also write preview.mp4/.png/.txt')
    ap.add_argument('--preview-clips', type=int, default=4)
    a = ap.parse_args(argv)
    kw = dict(n_frames=a.frames, size=a.size, fps=a.fps, sr=a.sr)
    write_shards(a.out, a.n, a.seed, a.per_shard, a.kind, a.audio_dtype, not a.no_compress,
                 **kw)
    if a.preview:
        p = write_preview(a.out, a.seed, a.preview_clips, a.kind, **kw)
        if p:
            print(f'preview: {p}')


if __name__ == '__main__':
    main()
