"""A stand-in for what a generative model's decoders do to a clip, to see how much margin the
metrics keep below their ceilings: video blurred (Gaussian, sigma 1 px), shifted in colour and
noised; audio reduced to an 80-band mel spectrogram (MMAudio's 16 kHz settings: n_fft 1024,
hop 256) and brought back by Griffin-Lim phase reconstruction, which keeps the loudness envelope
and formants but loses the phase and fine spectral detail, as a mel vocoder does.
It is a sensitivity check, not a model of duet-tiny's errors.
"""
import functools

import numpy as np
from scipy import ndimage, signal

N_FFT, HOP, N_MELS = 1024, 256, 80


def degrade_video(video, rng, blur_px=1.0, noise=6.0, shift=8.0):
    v = ndimage.gaussian_filter(np.asarray(video, np.float32), (0, blur_px, blur_px, 0))
    v += rng.uniform(-shift, shift, 3).astype(np.float32)
    v += rng.normal(0, noise, v.shape).astype(np.float32)
    return np.clip(np.rint(v), 0, 255).astype(np.uint8)


@functools.lru_cache(maxsize=4)
def _mel_basis(sr):
    """Slaney-style triangular mel filters [N_MELS, N_FFT // 2 + 1] (HTK mel scale)."""
    def mel(f):
        return 2595.0 * np.log10(1.0 + f / 700.0)

    def hz(m):
        return 700.0 * (10 ** (m / 2595.0) - 1.0)
    freqs = np.linspace(0, sr / 2, N_FFT // 2 + 1)
    pts = hz(np.linspace(mel(0.0), mel(sr / 2), N_MELS + 2))
    fb = np.zeros((N_MELS, len(freqs)))
    for i in range(N_MELS):
        lo, c, hi = pts[i:i + 3]
        up = (freqs - lo) / (c - lo)
        down = (hi - freqs) / (hi - c)
        fb[i] = np.maximum(0, np.minimum(up, down)) * 2.0 / (hi - lo)
    return fb


def degrade_audio(audio, sr=16000, n_iter=32, seed=0):
    x = np.asarray(audio, np.float64)
    kw = dict(fs=sr, nperseg=N_FFT, noverlap=N_FFT - HOP, boundary='even', padded=True)
    _, _, Z = signal.stft(x, **kw)
    fb = _mel_basis(sr)
    mel = fb @ np.abs(Z)
    mag = np.maximum(np.linalg.pinv(fb) @ mel, 0.0)  # back to linear frequency, smeared
    rng = np.random.default_rng(seed)
    phase = np.exp(2j * np.pi * rng.random(mag.shape))
    for _ in range(n_iter):
        _, y = signal.istft(mag * phase, **{k: v for k, v in kw.items() if k != 'padded'})
        y = y[:len(x)] if len(y) >= len(x) else np.pad(y, (0, len(x) - len(y)))
        _, _, Z = signal.stft(y, **kw)
        phase = np.exp(1j * np.angle(Z))
    _, y = signal.istft(mag * phase, **{k: v for k, v in kw.items() if k != 'padded'})
    y = y[:len(x)] if len(y) >= len(x) else np.pad(y, (0, len(x) - len(y)))
    return np.clip(y, -1, 1).astype(np.float32)
