"""Flow-matching samplers for duet-tiny: Ovi's shifted schedule, UniPC (order 2, bh2, x0
prediction) and Euler.

Semantics follow Wan/Ovi's FlowUniPCMultistepScheduler (ovi/utils/fm_solvers_unipc.py, itself
from diffusers' UniPCMultistepScheduler) with shift=1 at construction and the shift applied in
set_timesteps, final sigma 0, lower_order_final, no disabled corrector steps:
  sigma = linspace(sigma_max, 0, steps + 1)[:-1], sigma_max = float32(1 - 1/1000);
  sigma' = shift sigma / (1 + (shift - 1) sigma); timesteps = int64(sigma' * 1000) (truncated);
  sigmas = float32(sigma') + [0].
The model predicts the flow v = noise - x0; x_t = (1 - sigma) x0 + sigma noise.
A step: x0 = x - sigma v; UniC corrects the incoming sample with the new x0 (from the second step
on); UniP predicts the next sample with order min(2, steps left, steps done + 1).
Coefficients are computed in float64 from the float32 sigmas.
"""
import math

import numpy as np


def shifted_schedule(steps, shift, num_train_timesteps=1000):
    """(timesteps int64 [steps], sigmas float32 [steps + 1]) as Ovi's scheduler builds them."""
    sigma_max = float(np.float32(1.0 - 1.0 / num_train_timesteps))
    s = np.linspace(sigma_max, 0.0, steps + 1)[:-1]
    s = shift * s / (1 + (shift - 1) * s)
    timesteps = (s * num_train_timesteps).astype(np.int64)
    sigmas = np.concatenate([s, [0.0]]).astype(np.float32)
    return timesteps, sigmas


def _lambda(sigma):
    # log-SNR of flow matching (alpha = 1 - sigma); +inf at sigma = 0.
    sigma = float(sigma)
    return math.inf if sigma == 0.0 else math.log(1.0 - sigma) - math.log(sigma)


class EulerSampler:
    def __init__(self, steps, shift):
        self.timesteps, self.sigmas = shifted_schedule(steps, shift)
        self.i = 0

    def step(self, v, x):
        s0, s1 = float(self.sigmas[self.i]), float(self.sigmas[self.i + 1])
        self.i += 1
        return x + (s1 - s0) * v


class UniPCSampler:
    order = 2

    def __init__(self, steps, shift):
        self.timesteps, self.sigmas = shifted_schedule(steps, shift)
        self.n = steps
        self.i = 0
        self.outputs = [None, None]      # x0 predictions, newest last
        self.last_sample = None
        self.lower_order_nums = 0
        self.this_order = 1

    def _coeffs(self, s_t, s_s0, hist_sigmas):
        """Shared terms of UniP/UniC: h, phi_1, B(h) and the rk ratios of earlier x0s."""
        lt, l0 = _lambda(s_t), _lambda(s_s0)
        h = lt - l0
        hh = -h
        rks = [(_lambda(s) - l0) / h for s in hist_sigmas]
        return hh, math.expm1(hh), rks

    def _predict(self, x, order):
        s_t, s_s0 = float(self.sigmas[self.i + 1]), float(self.sigmas[self.i])
        m0 = self.outputs[-1]
        if s_t == 0.0:
            assert order == 1, 'the last step is first order (lower_order_final)'
            return m0.clone()
        hist = [float(self.sigmas[self.i - 1])] if order == 2 else []
        hh, h_phi_1, rks = self._coeffs(s_t, s_s0, hist)
        alpha_t, b_h = 1.0 - s_t, h_phi_1           # bh2: B(h) = expm1(-h)
        x_t = (s_t / s_s0) * x - alpha_t * h_phi_1 * m0
        if order == 2:
            d1 = (self.outputs[-2] - m0) / rks[0]
            x_t = x_t - alpha_t * b_h * 0.5 * d1      # rhos_p = 0.5 for order 2
        return x_t

    def _correct(self, model_t, x, x_t, order):
        s_t, s_s0 = float(self.sigmas[self.i]), float(self.sigmas[self.i - 1])
        m0 = self.outputs[-1]
        hist = [float(self.sigmas[self.i - 2])] if order == 2 else []
        hh, h_phi_1, rks = self._coeffs(s_t, s_s0, hist)
        rks = rks + [1.0]
        b_h = h_phi_1
        h_phi_k, fact = h_phi_1 / hh - 1.0, 1
        R, b = [], []
        for k in range(1, order + 1):
            R.append([r ** (k - 1) for r in rks])
            b.append(h_phi_k * fact / b_h)
            fact *= k + 1
            h_phi_k = h_phi_k / hh - 1.0 / fact
        rhos = [0.5] if order == 1 else list(np.linalg.solve(np.array(R), np.array(b)))
        alpha_t = 1.0 - s_t
        out = (s_t / s_s0) * x - alpha_t * h_phi_1 * m0
        corr = model_t - m0
        res = rhos[-1] * corr
        if order == 2:
            res = res + rhos[0] * (self.outputs[-2] - m0) / rks[0]
        return out - alpha_t * b_h * res

    def step(self, v, x):
        """v: model velocity at the current sigma; x: current sample. Returns the next sample."""
        x0 = x - float(self.sigmas[self.i]) * v
        if self.i > 0 and self.last_sample is not None:
            x = self._correct(x0, self.last_sample, x, self.this_order)
        self.outputs = [self.outputs[1], x0]
        order = min(self.order, self.n - self.i)
        self.this_order = min(order, self.lower_order_nums + 1)
        self.last_sample = x
        nxt = self._predict(x, self.this_order)
        self.lower_order_nums = min(self.lower_order_nums + 1, self.order)
        self.i += 1
        return nxt


def make_sampler(name, steps, shift):
    if name == 'unipc':
        return UniPCSampler(steps, shift)
    if name == 'euler':
        return EulerSampler(steps, shift)
    raise ValueError(f'unknown solver {name!r}')
