"""Prompt adherence: does the clip show the colour and shape the caption names, and say as many
syllables as its <S>...<E> spans hold?

Colour and shape: pixels within max_dist of a TalkingShapes subject colour are labelled with it;
the largest connected region of the most common label is the subject (the head; in bounce clips
the object), with holes (eyes, mouth) filled. Shape comes from that region's bounding box: fill
ratio (square ~1, round/oval ~0.79, triangle/diamond ~0.5), aspect (oval is 0.75 wide per unit
of height) and the row where it is widest (triangle: bottom, diamond: middle). Frames where the
region touches the border are skipped; the answer is a majority vote over sampled frames.

Syllables: energy of the 150-1500 Hz band (where vowels' first formant lies, fricative noise
does not) in 10 ms hops, smoothed; peaks at least 70 ms apart, at least 56 ms wide (impacts are
narrower) and standing out by a prominence of 0.3 of the loudest such peak each count one.
"""
import numpy as np
from scipy import ndimage, signal

from ._world import captions, palette as P
from .impacts import palette_labels

OBJECT_SHAPES = {shape: name for name, (shape, _) in P.OBJECTS.items()}


def region_features(mask):
    """dict(fill, aspect, widest, corners, bbox) of a boolean region, or None when empty.

    corners: filled share of the bounding box's corners (|u| + |v| > 1.3 in coordinates
    normalised to the box): ~1 for a square, < 0.35 for round shapes even when blurred, where
    the plain fill ratio of a small blurred box drifts towards a disc's."""
    ys, xs = np.nonzero(mask)
    if len(ys) == 0:
        return None
    y0, y1, x0, x1 = ys.min(), ys.max(), xs.min(), xs.max()
    h, w = y1 - y0 + 1, x1 - x0 + 1
    sub = mask[y0:y1 + 1, x0:x1 + 1]
    widths = sub.sum(1)
    widest = np.flatnonzero(widths >= widths.max() - max(1, 0.03 * w))
    v, u = np.ogrid[0:h, 0:w]
    corner = np.abs((u + 0.5 - w / 2) / (w / 2)) + np.abs((v + 0.5 - h / 2) / (h / 2)) > 1.3
    return dict(fill=float(len(ys) / (h * w)), aspect=float(w / h),
                widest=float(widest.mean() / max(h - 1, 1)),
                corners=float(sub[corner].mean()) if corner.any() else 0.0,
                bbox=[int(x0), int(y0), int(w), int(h)])


def shape_of(feat):
    if feat['fill'] < 0.62:
        return 'triangle' if feat['widest'] > 0.7 else 'diamond'
    if feat['corners'] > 0.42:
        return 'square'
    return 'oval' if feat['aspect'] < 0.87 else 'round'


def subjects(frame, labels=None, min_px=30):
    """Regions in one frame, largest first: [dict(colour, shape, area, features)]."""
    lab = palette_labels(frame[None])[0] if labels is None else labels
    names = list(P.COLOURS)
    H, W = lab.shape
    out = []
    for k in np.unique(lab[lab >= 0]):
        cc, n = ndimage.label(lab == k)
        if n == 0:
            continue
        sizes = ndimage.sum_labels(np.ones_like(cc), cc, np.arange(1, n + 1))
        big = int(np.argmax(sizes)) + 1
        region = ndimage.binary_fill_holes(cc == big)
        if region.sum() < min_px:
            continue
        f = region_features(region)
        x0, y0, w, h = f['bbox']
        f['touches_border'] = x0 == 0 or y0 == 0 or x0 + w == W or y0 + h == H
        out.append(dict(colour=names[k], shape=shape_of(f), area=int(region.sum()), features=f))
    return sorted(out, key=lambda r: -r['area'])


def classify(video, n_samples=7, which=0):
    """Majority (colour, shape) of the which-th largest subject over sampled frames."""
    F = len(video)
    idx = np.unique(np.linspace(0, F - 1, min(F, n_samples)).round().astype(int))
    labs = palette_labels(np.asarray(video)[idx])
    votes = {}
    for i in range(len(idx)):
        regs = [r for r in subjects(video[idx[i]], labs[i])
                if not r['features']['touches_border']]
        if len(regs) <= which:
            continue
        key = (regs[which]['colour'], regs[which]['shape'])
        votes[key] = votes.get(key, 0) + 1
    if not votes:
        return None, None
    return max(votes, key=votes.get)


_BAND = {}


def syllable_envelope(audio, sr=16000, hop_s=0.01):
    if sr not in _BAND:
        _BAND[sr] = signal.butter(4, [150, 1500], btype='bandpass', fs=sr, output='sos')
    x = signal.sosfilt(_BAND[sr], np.asarray(audio, np.float64))
    hop = int(round(hop_s * sr))
    nb = len(x) // hop
    e = np.sqrt((x[:nb * hop].reshape(nb, hop) ** 2).mean(1))
    return np.convolve(e, [0.25, 0.5, 0.25], mode='same')


def count_syllables(audio, sr=16000, rel_prominence=0.3, abs_prominence=0.16, min_gap_s=0.07,
                    min_width_s=0.056):
    """Number of syllable-like energy peaks in the audio.

    A peak must be at least min_width_s wide at half its prominence: vowels last 60 ms and
    more, while impact sounds (a knock or thud) fall away within about 50 ms, so a bouncing
    object in the same clip does not add syllables unless it lands on top of one. Prominence
    thresholds are relative to the highest syllable-like peak."""
    e = syllable_envelope(audio, sr)
    if e.max() <= 1e-6:
        return 0
    e = e / e.max()
    peaks, props = signal.find_peaks(e, prominence=0.02, distance=max(1, int(min_gap_s / 0.01)),
                                     width=0, rel_height=0.5)
    wide = props['widths'] * 0.01 >= min_width_s
    if not wide.any():
        return 0
    ref = e[peaks[wide]].max()
    prom = props['prominences']
    keep = wide & (prom >= rel_prominence * ref) & (prom >= abs_prominence * ref)
    return int(np.sum(keep))


def adherence(video=None, audio=None, caption='', sr=16000):
    """dict(expected, got, colour_ok, shape_ok, syllables_expected, syllables_got,
    syllables_ok) for whatever the caption asks that the inputs can answer."""
    want = captions.parse(caption)
    out = dict(expected=None, got=None, colour_ok=None, shape_ok=None)
    if video is not None:
        if want['head']:
            out['expected'] = list(want['head'])
            got = classify(video, which=0)
        elif want['object']:
            c, name = want['object']
            out['expected'] = [c, P.OBJECTS[name][0]]
            got = classify(video, which=0)
        else:
            got = classify(video, which=0)
        out['got'] = list(got) if got[0] else None
        if out['expected'] and out['got']:
            out['colour_ok'] = out['got'][0] == out['expected'][0]
            out['shape_ok'] = out['got'][1] == out['expected'][1]
        elif out['expected']:
            out['colour_ok'] = out['shape_ok'] = False
    out['syllables_expected'] = want['n_syllables'] if want['utterances'] else None
    out['syllables_got'] = count_syllables(audio, sr) if audio is not None else None
    out['syllables_ok'] = (out['syllables_got'] == out['syllables_expected']
                           if out['syllables_expected'] is not None and audio is not None
                           else None)
    return out
