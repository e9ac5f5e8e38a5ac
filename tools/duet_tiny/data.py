"""duet-tiny training data: clips from the TalkingShapes world (tools/talkingshapes/world.py,
sample_clip(seed, n_frames, size, fps, sr) -> video uint8 [F, H, W, 3], audio float32 [N], caption)
cached once as numpy memmaps, plus the batch samplers each training stage uses.

Layout of a data directory: videos.npy uint8 [n, 49, 128, 128, 3], audio.npy float32
[n, 49152] (the world's 49000 samples zero padded to a whole number of latent tokens),
captions.json, progress.json (clips done, so an interrupted build resumes).
"""
import importlib
import json
import multiprocessing
import os

import numpy as np
from numpy.lib.format import open_memmap

from . import config as C

DEFAULT_WORLD = 'tools.talkingshapes.world:sample_clip'


def load_world(spec=DEFAULT_WORLD):
    mod, fn = spec.split(':')
    return getattr(importlib.import_module(mod), fn)


def fit_clip(clip):
    """Force a world clip to the training geometry (frames, size, samples)."""
    v, a = np.asarray(clip['video'], np.uint8), np.asarray(clip['audio'], np.float32)
    nf, size, ns = C.CLIP['n_frames'], C.CLIP['size'], C.CLIP['n_samples']
    assert v.shape[1:] == (size, size, 3), f'world clip has shape {v.shape}'
    if v.shape[0] < nf:
        v = np.concatenate([v, np.repeat(v[-1:], nf - v.shape[0], 0)])
    a = np.pad(a[:ns], (0, max(0, ns - a.shape[0])))
    return v[:nf], a, str(clip['caption'])


def _make(args):
    spec, seed = args
    clip = load_world(spec)(seed, n_frames=C.CLIP['n_frames'], size=C.CLIP['size'],
                            fps=C.CLIP['fps'], sr=C.CLIP['sample_rate_hz'])
    return fit_clip(clip)


def build(world_spec, n, out_dir, seed0=0, log=print, workers=1):
    """Generate (or finish generating) n clips of world_spec ('module:function') into out_dir;
    clip i uses seed seed0 + i whatever the number of worker processes."""
    os.makedirs(out_dir, exist_ok=True)
    prog_path = os.path.join(out_dir, 'progress.json')
    prog = json.load(open(prog_path)) if os.path.exists(prog_path) else dict(done=0, n=n)
    if prog['n'] != n:
        raise ValueError(f'{out_dir}: built for {prog["n"]} clips, asked for {n}')
    nf, size, ns = C.CLIP['n_frames'], C.CLIP['size'], C.CLIP['n_samples']
    vpath, apath = os.path.join(out_dir, 'videos.npy'), os.path.join(out_dir, 'audio.npy')
    mode = 'r+' if prog['done'] else 'w+'
    videos = open_memmap(vpath, mode, np.uint8, (n, nf, size, size, 3))
    audio = open_memmap(apath, mode, np.float32, (n, ns))
    cap_path = os.path.join(out_dir, 'captions.json')
    captions = json.load(open(cap_path)) if prog['done'] else []
    jobs = [(world_spec, seed0 + i) for i in range(prog['done'], n)]
    pool = multiprocessing.Pool(workers) if workers > 1 else None
    results = pool.imap(_make, jobs, chunksize=4) if pool else map(_make, jobs)
    for i, (v, a, cap) in enumerate(results, start=prog['done']):
        videos[i], audio[i] = v, a
        captions.append(cap)
        if (i + 1) % 20 == 0 or i + 1 == n:
            videos.flush()
            audio.flush()
            json.dump(captions, open(cap_path, 'w'))
            prog['done'] = i + 1
            json.dump(prog, open(prog_path, 'w'))
            log(f'data: {i + 1}/{n} clips')
    if pool:
        pool.close()
    return Clips(out_dir)


class Clips:
    def __init__(self, d):
        self.videos = np.load(os.path.join(d, 'videos.npy'), mmap_mode='r')
        self.audio = np.load(os.path.join(d, 'audio.npy'), mmap_mode='r')
        self.captions = json.load(open(os.path.join(d, 'captions.json')))
        self.n = len(self.captions)

    def split(self, n_val):
        """Indices (train, val): the last n_val clips are held out."""
        return np.arange(self.n - n_val), np.arange(self.n - n_val, self.n)

    def video_windows(self, rng, idx, batch, frames, crop):
        """uint8 [B, frames, crop, crop, 3]: random clips, start frames and crops."""
        out = np.empty((batch, frames, crop, crop, 3), np.uint8)
        size, nf = self.videos.shape[2], self.videos.shape[1]
        for b in range(batch):
            i = idx[rng.integers(len(idx))]
            f0 = 0 if rng.random() < 0.25 else rng.integers(nf - frames + 1)
            y0, x0 = rng.integers(size - crop + 1, size=2)
            out[b] = self.videos[i, f0:f0 + frames, y0:y0 + crop, x0:x0 + crop]
        return out
