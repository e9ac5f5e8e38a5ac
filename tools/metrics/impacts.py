"""Impact timing metric: does each impact sound start in the frame where the object touches the
floor?

Audio onsets: log energy in 4 ms blocks; an onset is where a block rises >= rise_db above the
mean of the blocks 8-24 ms before it and is loud enough to matter, timed to the first sample
reaching 15% of the peak that follows (so a codec's pre-echo does not move it); onsets closer
than 60 ms are one.

Visual contacts: the object (the palette colour whose pixels move most vertically, or a given
colour) is tracked by the lowest row of its largest connected region per frame; the floor is
the lowest row it reaches; a contact is the first frame of each run of frames at the floor
(within tol_px = 2, which absorbs the +-1 row an H.264 round trip adds) that follows a frame
above it. The world keeps airborne frames at least 4 px above the floor, so the tolerance never
merges a bounce with its landing. For world clips the contacts can come from meta instead.

Frame convention (world.py): frame f covers [f / fps, (f + 1) / fps), so a contact at time t is
frame floor(t * fps), and an onset at t sits in frame floor(t * fps). Offset = onset frame -
contact frame; pass when every contact has an onset within +-1 frame.
"""
import numpy as np
from scipy import ndimage

from ._world import palette as P

BLOCK_S = 0.004
PASS_FRAMES = 1


def audio_onsets(audio, sr=16000, rise_db=10.0, floor_db=-50.0, merge_s=0.06):
    """Onset times (s) of sudden energy rises."""
    x = np.asarray(audio, np.float64)
    hop = max(1, int(round(BLOCK_S * sr)))
    nb = len(x) // hop
    if nb < 8:
        return np.zeros(0)
    e = (x[:nb * hop].reshape(nb, hop) ** 2).mean(1)
    L = 10 * np.log10(e + 1e-12)
    c = np.concatenate([[0.0], np.cumsum(L)])
    k = np.arange(6, nb)
    before = (c[k - 1] - c[k - 6]) / 5.0      # mean of blocks k-6 .. k-2
    rise = L[k] - before
    cand = k[(rise >= rise_db) & (L[k] >= floor_db)]
    onsets, last = [], -1e9
    for b in cand:
        t = b * hop / sr
        if t - last >= merge_s:
            onsets.append(_refine(x, b, hop, sr) / sr)
            last = t
    return np.array(onsets)


def _refine(x, b, hop, sr, search_s=0.03, rel=0.15):
    """Sample where the onset found in block b starts: the first sample from block b-1 on that
    reaches rel of the peak magnitude within the next search_s. Relative to the peak, so a
    codec's pre-echo (AAC spreads a transient's noise up to a block earlier) does not count."""
    lo = max(0, (b - 1) * hop)
    seg = np.abs(x[lo:lo + hop + int(search_s * sr)])
    hit = np.flatnonzero(seg >= rel * seg.max())
    return lo + int(hit[0]) if len(hit) else b * hop


def palette_labels(video, max_dist=P.CLASSIFY_DIST):
    """int8 [F, H, W]: index of the nearest subject colour within max_dist, else -1."""
    pal = np.array(list(P.COLOURS.values()), np.float32)
    v = np.asarray(video, np.float32)
    d = ((v[..., None, :] - pal) ** 2).sum(-1)
    lab = d.argmin(-1).astype(np.int8)
    lab[np.take_along_axis(d, lab[..., None].astype(np.int64), -1)[..., 0] > max_dist ** 2] = -1
    return lab


def object_bottoms(video, colour=None, min_px=6):
    """(bottom row per frame (nan where absent), colour name): lowest row of the largest
    connected region of the object colour (stray pixels of that colour elsewhere, from noise,
    do not count). colour None picks the colour whose bottom moves most."""
    lab = palette_labels(video)
    names = list(P.COLOURS)
    F = lab.shape[0]
    if colour:
        cands = [names.index(colour)]
    else:  # colours present (min_px) in at least a quarter of the frames
        counts = np.stack([(lab == k).sum((1, 2)) for k in range(len(names))], 1)
        cands = [k for k in range(len(names)) if (counts[:, k] >= min_px).sum() >= F / 4]
    best, best_move = (np.full(F, np.nan), None), -1.0
    for k in cands:
        bottom = np.full(F, np.nan)
        for f in range(F):
            cc, n = ndimage.label(lab[f] == k)
            if n == 0:
                continue
            sizes = np.bincount(cc.ravel())[1:]
            big = int(np.argmax(sizes))
            if sizes[big] >= min_px:
                rows = np.flatnonzero((cc == big + 1).any(1))
                bottom[f] = rows.max()
        ok = np.isfinite(bottom)
        move = float(np.nanmax(bottom) - np.nanmin(bottom)) if ok.sum() >= 2 else -1.0
        if move > best_move:
            best, best_move = (bottom, names[k]), move
    return best


def visual_contacts(bottom, tol_px=2.0):
    """Frames where the object first reaches its floor (lowest row) after being above it."""
    b = np.asarray(bottom, np.float64)
    if not np.isfinite(b).any():
        return []
    floor = np.nanmax(b)
    at = np.isfinite(b) & (b >= floor - tol_px)
    above = np.isfinite(b) & (b < floor - tol_px)
    return [f for f in range(1, len(b)) if at[f] and above[f - 1]]


def impacts(video=None, audio=None, sr=16000, fps=16, contacts=None, colour=None):
    """dict(contacts, onset_frames, offsets, unmatched_onsets, max_abs_offset, passed).

    contacts: contact frames to use (e.g. from meta); otherwise found in the video."""
    found = None
    if contacts is None:
        bottom, found = object_bottoms(video, colour)
        contacts = visual_contacts(bottom)
    on = audio_onsets(audio, sr)
    on_f = np.floor(on * fps).astype(int)
    offsets, used = [], set()
    for c in contacts:
        if len(on_f) == 0:
            offsets.append(None)
            continue
        j = int(np.argmin(np.abs(on_f - c)))
        offsets.append(int(on_f[j] - c))
        used.add(j)
    good = [o for o in offsets if o is not None]
    passed = bool(contacts) and all(o is not None and abs(o) <= PASS_FRAMES for o in offsets)
    return dict(contacts=[int(c) for c in contacts], object_colour=found,
                onset_times=[round(float(t), 4) for t in on], onset_frames=on_f.tolist(),
                offsets=offsets, unmatched_onsets=int(len(on_f) - len(used)),
                max_abs_offset=max((abs(o) for o in good), default=None), passed=passed)
