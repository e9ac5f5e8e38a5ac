"""TalkingShapes non-speech sounds: impact sounds for objects hitting the floor and quiet ambient
beds for places.

Where it sits: world.py adds impact() at each contact time of a bouncing object and ambient()
under the whole clip. Impacts are a few exponentially decaying modes plus a short noise transient
(a modal-synthesis sketch: rubber thuds low and dies fast, wood knocks higher); ambient beds are
filtered noise (rain, wind, waves) or a mains-like hum, kept smooth and about 20 dB under speech
so they add no onsets of their own (no fades either: the
clip starts and ends inside the bed).
"""
import functools

import numpy as np
from scipy import signal

MATERIALS = {  # mode frequency range (Hz), decay time range (s), noise transient share
    'rubber': ((140.0, 380.0), (0.02, 0.04), 0.5),
    'wood': ((450.0, 1400.0), (0.025, 0.05), 0.35),
}
IMPACT_PEAK = 0.55      # peak amplitude of the hardest impact
AMBIENT_RMS = (0.004, 0.012)


@functools.lru_cache(maxsize=64)
def _sos(kind, f1, f2, sr):
    if kind == 'bandpass':
        return signal.butter(2, [f1, min(f2, 0.45 * sr)], btype='bandpass', fs=sr, output='sos')
    return signal.butter(2, f1, btype=kind, fs=sr, output='sos')


def impact(rng, material, strength, sr, length_s=0.25):
    """One impact: float64 [length_s * sr], onset at sample 0, peak ~ IMPACT_PEAK * strength."""
    (flo, fhi), (dlo, dhi), noise_share = MATERIALS[material]
    n = int(length_s * sr)
    t = np.arange(n) / sr
    out = np.zeros(n)
    base = rng.uniform(flo, fhi)
    for k, ratio in enumerate((1.0, 1.58, 2.31, 3.1)[:int(rng.integers(2, 5))]):
        decay = rng.uniform(dlo, dhi) / (1 + 0.4 * k)
        out += np.sin(2 * np.pi * base * ratio * t + rng.uniform(0, 2 * np.pi)) * \
            np.exp(-t / decay) / (1 + k)
    nlen = int(0.006 * sr)
    click = rng.standard_normal(nlen) * np.exp(-np.arange(nlen) / (0.0015 * sr))
    out[:nlen] += noise_share * 2.0 * signal.sosfilt(_sos('highpass', 800.0, 0, sr), click)
    ramp = min(n, int(0.0008 * sr))  # a sub-millisecond fade-in avoids a DC step
    out[:ramp] *= np.linspace(0, 1, ramp, endpoint=False)
    return out * (IMPACT_PEAK * strength / max(np.max(np.abs(out)), 1e-9))


def ambient(rng, name, n, sr):
    """An ambient bed float64 [n] at a low, steady level (RMS within AMBIENT_RMS)."""
    t = np.arange(n) / sr
    white = rng.standard_normal(n)
    if name == 'rain':
        x = signal.sosfilt(_sos('bandpass', 1500.0, 7000.0, sr), white)
    elif name == 'wind':
        x = signal.sosfilt(_sos('bandpass', 200.0, 900.0, sr), white)
        x *= 1.0 + 0.35 * np.sin(2 * np.pi * rng.uniform(0.2, 0.5) * t + rng.uniform(0, 6.3))
    elif name == 'waves':
        x = signal.sosfilt(_sos('bandpass', 300.0, 2500.0, sr), white)
        x *= 0.6 + 0.4 * np.sin(2 * np.pi * rng.uniform(0.15, 0.3) * t + rng.uniform(0, 6.3))
    elif name == 'hum':
        f = rng.choice([50.0, 60.0])
        x = sum(np.sin(2 * np.pi * f * h * t) / h for h in (1, 2, 3))
    else:
        raise ValueError(f'unknown ambient bed {name!r}')
    rms = np.sqrt(np.mean(x * x))
    return x * (rng.uniform(*AMBIENT_RMS) / max(rms, 1e-9))
