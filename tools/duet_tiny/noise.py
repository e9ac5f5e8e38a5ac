"""duet's deterministic Gaussian noise: the same numbers in the C engine (diffusion/generate.c,
duet_noise_fill) and here, for any backend, because the noise is made on the host.

Definition (the C side states the same):
  Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC 2011; the
  Random123 constants), key = (seed mod 2^32, seed div 2^32) for a 64-bit seed,
  counter = (j mod 2^32, j div 2^32, stream, 0) for block j. Block j gives four uint32
  r0..r3 and the elements 4 j .. 4 j + 3 of the stream by Box-Muller on the pairs (r0, r1) and
  (r2, r3), in double precision:
      u(r) = (r + 0.5) / 2^32,  R = sqrt(-2 ln u(r_even)),  a = 2 pi u(r_odd)
      z[4 j + 2 k] = R cos a,    z[4 j + 2 k + 1] = R sin a
  and each value is rounded to float32. Element i of a latent is element i of its stream in
  PyTorch memory order (video [C, F, H, W], audio [L, C]); the video uses stream 0 and the
  audio stream 1, so neither depends on the other's size.
The transcendental functions are the C library's (Python's math module calls them), so C and
Python agree bit for bit on one machine; across C libraries a float32 value could differ only
where a last-bit difference in double straddles a float32 rounding boundary.
"""
import math

import numpy as np

PHILOX_M0, PHILOX_M1 = 0xD2511F53, 0xCD9E8D57
PHILOX_W0, PHILOX_W1 = 0x9E3779B9, 0xBB67AE85
STREAM_VIDEO, STREAM_AUDIO = 0, 1
_MASK = 0xFFFFFFFF


def philox4x32_10(ctr, key):
    """Four uint32 from a 4-word counter and a 2-word key (Random123's philox4x32, 10 rounds)."""
    c0, c1, c2, c3 = ctr
    k0, k1 = key
    for r in range(10):
        if r:
            k0, k1 = (k0 + PHILOX_W0) & _MASK, (k1 + PHILOX_W1) & _MASK
        p0, p1 = PHILOX_M0 * c0, PHILOX_M1 * c2
        c0, c1, c2, c3 = ((p1 >> 32) ^ c1 ^ k0, p1 & _MASK, (p0 >> 32) ^ c3 ^ k1, p0 & _MASK)
    return c0, c1, c2, c3


def gaussian(n, seed, stream):
    """n float32 standard normal values of `stream` for a 64-bit seed (see the module doc)."""
    key = (seed & _MASK, (seed >> 32) & _MASK)
    out = np.empty(n, dtype=np.float32)
    for j in range((n + 3) // 4):
        r = philox4x32_10((j & _MASK, j >> 32, stream, 0), key)
        for k in range(2):
            u1 = (r[2 * k] + 0.5) / 4294967296.0
            u2 = (r[2 * k + 1] + 0.5) / 4294967296.0
            rad, ang = math.sqrt(-2.0 * math.log(u1)), 2.0 * math.pi * u2
            for m, z in enumerate((rad * math.cos(ang), rad * math.sin(ang))):
                i = 4 * j + 2 * k + m
                if i < n:
                    out[i] = z
    return out


def latent_noise(shape, seed, stream):
    """A float32 array of `shape` (PyTorch order) filled from `stream`."""
    return gaussian(int(np.prod(shape)), seed, stream).reshape(shape)
