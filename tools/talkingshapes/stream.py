"""On-the-fly TalkingShapes clips for a training loop: an endless, seeded generator, and fixed
size batches stacked into arrays. Clip i of a stream started at seed s is sample_clip(s + i), so
a run can resume from any index and two streams with different seeds do not overlap for
spans shorter than their seed distance.
"""
import numpy as np

from .world import sample_clip


def stream(seed=0, start=0, n=None, **clip_kw):
    """Yield clips sample_clip(seed + i, **clip_kw) for i = start, start + 1, ... (n of them,
    or forever when n is None)."""
    i = start
    while n is None or i < start + n:
        yield sample_clip(seed + i, **clip_kw)
        i += 1


def batches(batch_size, seed=0, start=0, **clip_kw):
    """Yield dict(video uint8 [B, F, H, W, 3], audio float32 [B, N], captions [B], meta [B])."""
    it = stream(seed, start, None, **clip_kw)
    while True:
        clips = [next(it) for _ in range(batch_size)]
        yield dict(video=np.stack([c['video'] for c in clips]),
                   audio=np.stack([c['audio'] for c in clips]),
                   captions=[c['caption'] for c in clips], meta=[c['meta'] for c in clips])
