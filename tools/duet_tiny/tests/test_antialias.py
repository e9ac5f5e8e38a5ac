"""BigVGAN's anti-aliased activation as restated in tools/duet_tiny/audio.py (UpSample1d,
DownSample1d, Activation1d with antialias on) against an independent numpy / scipy statement of
the upstream definition (hkchengrex/MMAudio mmaudio/ext/bigvgan/alias_free_torch: filter.py
kaiser_sinc_filter1d and LowPassFilter1d, resample.py UpSample1d and DownSample1d, act.py):

- filter: scipy's Kaiser design formulas (kaiser_atten over kernel_size / 2 taps with width
  4 half_width, kaiser_beta), scipy's symmetric Kaiser window and np.sinc at the centred times,
  normalized to sum 1; cutoff 0.5 / ratio, half width 0.6 / ratio;
- upsampler: input with its edge samples repeated (np.pad 'edge') kernel_size / ratio - 1 times
  each side, zero-stuffed by `ratio`, fully convolved (np.convolve: what a transposed conv
  computes), times ratio, cropped by (kernel_size / ratio - 1) ratio + (kernel_size - ratio) / 2
  in front to ratio x the input length;
- downsampler: edge samples repeated kernel_size / 2 - 1 times in front and kernel_size / 2
  behind (even kernels), cross-correlated (np.correlate) at stride ratio.
Both with the true filter and with random asymmetric filters (which expose a flipped or swapped
filter), at lengths from 1 sample up (the edges are most of a short signal). Plus the alignment
the crops give: the upsampled sample j sits at input time j / 2 - 1/4 and a round trip is
centred (a one-sample slip costs 100 x the passband error).
Run: python -m unittest discover -s tools/duet_tiny/tests -t .
"""
import unittest

import numpy as np
import scipy.signal
import torch

from tools.duet_tiny.audio import (Activation1d, DownSample1d, SnakeBeta, UpSample1d, Vocoder,
                                   kaiser_sinc_lowpass)

RATIO, K = 2, 12


def np_filter(cutoff, half_width, k):
    beta = scipy.signal.kaiser_beta(scipy.signal.kaiser_atten(k // 2, 4 * half_width))
    t = np.arange(k) - (k - 1) / 2.0
    h = scipy.signal.windows.kaiser(k, beta, sym=True) * np.sinc(2 * cutoff * t)
    return h / h.sum()


def np_upsample(x, h, r):
    k = len(h)
    edge = k // r - 1
    xp = np.pad(x, (edge, edge), mode='edge')
    z = np.zeros(r * (len(xp) - 1) + 1)
    z[::r] = xp
    full = np.convolve(z, h)
    start = edge * r + (k - r) // 2
    return r * full[start:start + r * len(x)]


def np_downsample(y, h, r):
    k = len(h)
    yp = np.pad(y, (k // 2 - (1 - k % 2), k // 2), mode='edge')
    return np.correlate(yp, h, mode='valid')[::r]


class Filter(unittest.TestCase):
    def test_against_scipy(self):
        for k in (12, 11, 8, 24):
            for ratio in (2, 3):
                want = np_filter(0.5 / ratio, 0.6 / ratio, k)
                got = kaiser_sinc_lowpass(0.5 / ratio, 0.6 / ratio, k).numpy()
                self.assertLess(np.abs(got - want).max(), 1e-14, (k, ratio))
        up, down = UpSample1d(RATIO, K), DownSample1d(RATIO, K)
        want = np_filter(0.25, 0.3, K)
        for buf in (up.filter, down.lowpass.filter):
            self.assertEqual(tuple(buf.shape), (1, 1, K))
            self.assertEqual(buf.dtype, torch.float32)
            self.assertLess(np.abs(buf.flatten().double().numpy() - want).max(), 1e-7)
        # Kaiser's formula lands just above 50 dB here: beta 0.1102 (A - 8.7), not the middle branch
        a = scipy.signal.kaiser_atten(K // 2, 1.2)
        self.assertGreater(a, 50.0)
        self.assertAlmostEqual(scipy.signal.kaiser_beta(a), 0.1102 * (a - 8.7), places=12)


class Resample(unittest.TestCase):
    def filters(self, rng):
        yield 'kaiser', np_filter(0.25, 0.3, K), np_filter(0.25, 0.3, K)
        for _ in range(2):
            yield 'random', rng.standard_normal(K), rng.standard_normal(K)

    def test_against_numpy(self):
        rng = np.random.default_rng(7)
        up, down = UpSample1d(RATIO, K).double(), DownSample1d(RATIO, K).double()
        for name, hu, hd in self.filters(rng):
            up.filter.copy_(torch.from_numpy(hu).view(1, 1, K))
            down.lowpass.filter.copy_(torch.from_numpy(hd).view(1, 1, K))
            for n in (1, 2, 3, 5, 6, 11, 40):
                x = rng.standard_normal((2, 3, n))
                with torch.no_grad():
                    y = up(torch.from_numpy(x)).numpy()
                    z = down(torch.from_numpy(y)).numpy()
                self.assertEqual(y.shape, (2, 3, RATIO * n))
                self.assertEqual(z.shape, (2, 3, n))
                for b in range(2):
                    for c in range(3):
                        want_y = np_upsample(x[b, c], hu, RATIO)
                        want_z = np_downsample(y[b, c], hd, RATIO)
                        self.assertLess(np.abs(y[b, c] - want_y).max(), 1e-12, (name, n))
                        self.assertLess(np.abs(z[b, c] - want_z).max(), 1e-12, (name, n))

    def test_alignment(self):
        up, down = UpSample1d(RATIO, K).double(), DownSample1d(RATIO, K).double()
        n, w = 64, 0.3
        x = torch.sin(w * torch.arange(n, dtype=torch.float64)).view(1, 1, n)
        with torch.no_grad():
            y, z = up(x)[0, 0], down(up(x))[0, 0]
        j = torch.arange(2 * n, dtype=torch.float64)
        err = (y - torch.sin(w * (j / 2 - 0.25)))[12:-12].abs().max().item()
        slip = (y - torch.sin(w * (j / 2 + 0.25)))[12:-12].abs().max().item()
        self.assertLess(err, 2e-3)
        self.assertGreater(slip, 100 * err)
        self.assertLess((z - x[0, 0])[6:-6].abs().max().item(), 2e-3)


class Wrapper(unittest.TestCase):
    def test_activation1d(self):
        torch.manual_seed(0)
        act = Activation1d(SnakeBeta(3), antialias=True).double()
        act.act.alpha.data.uniform_(-0.5, 0.5)
        x = torch.randn(1, 3, 9, dtype=torch.float64)
        with torch.no_grad():
            got = act(x)[0].numpy()
            s = act.act(act.upsample(x))[0].numpy()
        h = act.upsample.filter.flatten().double().numpy()
        for c in range(3):
            want = np_downsample(s[c], h, RATIO)
            self.assertLess(np.abs(got[c] - want).max(), 1e-12)
        self.assertEqual(sorted(act.state_dict()), ['act.alpha', 'act.beta',
                                                    'downsample.lowpass.filter',
                                                    'upsample.filter'])
        self.assertEqual(sorted(Activation1d(SnakeBeta(3)).state_dict()),
                         ['act.alpha', 'act.beta'])

    def test_vocoder_keys(self):
        cfg = dict(num_mels=80, upsample_rates=[4, 4], upsample_kernel_sizes=[8, 8],
                   upsample_initial_channel=8, resblock='1', resblock_kernel_sizes=[3],
                   resblock_dilation_sizes=[[1, 3]], activation='snakebeta',
                   snake_logscale=True)
        plain = set(Vocoder(cfg).state_dict())
        aa = set(Vocoder(dict(cfg, antialias=True)).state_dict())
        self.assertEqual(plain, set(Vocoder(dict(cfg, antialias=False)).state_dict()))
        extra = aa - plain
        self.assertEqual(len(extra), 2 * (2 * 1 * 2 * 2 + 1))  # (ups x kernels x 2 dil + post) x 2
        self.assertIn('resblocks.1.activations.3.downsample.lowpass.filter', extra)
        self.assertIn('activation_post.upsample.filter', extra)
        self.assertTrue(plain < aa)


if __name__ == '__main__':
    unittest.main()
