"""Lip-sync metric: does the mouth open when the audio is loud, in the same frame?

Per video frame f: the mouth area = number of near-black pixels (every channel < 40, the
TalkingShapes convention, DESIGN.md section 7) and the audio RMS over the frame's window,
samples [round(f * sr / fps), round((f + 1) * sr / fps)). Pearson r at lag 0 and at lags within
+-max_lag frames; lag L pairs mouth[f] with rms[f + L] (L > 0: the audio comes L frames late).
Pass: r(0) >= 0.5 and the best lag within +-1.
"""
import numpy as np

NEAR_BLACK = 40
PASS_R = 0.5
PASS_LAG = 1


def mouth_pixels(video, near_black=NEAR_BLACK):
    """int [F]: near-black pixel count per frame of uint8 [F, H, W, 3]."""
    return (np.asarray(video) < near_black).all(-1).sum((1, 2))


def frame_rms(audio, n_frames, sr, fps):
    """float [F]: audio RMS over each frame's window (zero past the end of the audio)."""
    b = np.round(np.arange(n_frames + 1) * sr / fps).astype(np.int64)
    x = np.asarray(audio, np.float64)
    c = np.concatenate([[0.0], np.cumsum(x * x)])
    b = np.minimum(b, len(x))
    n = np.maximum(b[1:] - b[:-1], 1)
    return np.sqrt(np.maximum(c[b[1:]] - c[b[:-1]], 0) / n)


def pearson(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if len(a) < 3:
        return float('nan')
    a, b = a - a.mean(), b - b.mean()
    d = np.sqrt((a * a).sum() * (b * b).sum())
    return float((a * b).sum() / d) if d > 0 else float('nan')


def lagged_r(mouth, rms, max_lag, keep=None):
    """{lag: r} for lag in [-max_lag, max_lag]; mouth[f] against rms[f + lag], over the frames
    f where keep[f] (all when None)."""
    out = {}
    F = len(mouth)
    keep = np.ones(F, bool) if keep is None else np.asarray(keep, bool)
    for lag in range(-max_lag, max_lag + 1):
        lo, hi = max(0, -lag), min(F, F - lag)
        k = keep[lo:hi]
        out[lag] = pearson(mouth[lo:hi][k], rms[lo + lag:hi + lag][k])
    return out


def lipsync(video, audio, sr=16000, fps=16, max_lag=3, exclude=()):
    """dict(r0, best_lag, best_r, r_by_lag, mouth_frames, passed).

    exclude: video frames left out of the correlation (e.g. frames holding an impact sound in
    a clip where an object also bounces: loud without any mouth, by design)."""
    mouth = mouth_pixels(video)
    rms = frame_rms(audio, len(mouth), sr, fps)
    keep = np.ones(len(mouth), bool)
    for f in exclude:
        if 0 <= f < len(keep):
            keep[f] = False
    rs = lagged_r(mouth, rms, max_lag, keep)
    finite = {k: v for k, v in rs.items() if np.isfinite(v)}
    best = max(finite, key=lambda k: (finite[k], -abs(k))) if finite else None
    r0 = rs[0]
    passed = bool(np.isfinite(r0) and r0 >= PASS_R and best is not None and abs(best) <= PASS_LAG)
    return dict(r0=r0, best_lag=best, best_r=finite.get(best, float('nan')) if best is not None
                else float('nan'), r_by_lag={str(k): v for k, v in rs.items()},
                mouth_frames=int((mouth > 0).sum()), passed=passed)
