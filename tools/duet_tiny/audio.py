"""duet-tiny audio side: MMAudio's 16 kHz log-mel, the MMAudio 1-D VAE class at tiny width (20
latent channels at 31.25 Hz) and a BigVGAN-v1-style vocoder.

Mirrors hkchengrex/MMAudio (as vendored in character-ai/Ovi ovi/modules/mmaudio/ext):
- mel_converter.py: clamp to [-1, 1], reflect pad (n_fft - hop) / 2 each side, |STFT| (hann
  1024, hop 256, center=False) as sqrt(re^2 + im^2 + 1e-9), librosa slaney mel matrix (80 bins,
  0-8 kHz), log10(clamp(1e-5)). N samples give N / 256 frames.
- autoencoder/vae.py + vae_modules.py + edm2_utils.py: Encoder1D/Decoder1D of magnitude-preserving
  convs (MPConv1D, no bias), pixel norm, mp_silu, mp_sum(t=0.3), one attention block in the
  middle, one x2 downsample (conv1x1, avg-pool 2, conv1x1) / upsample (nearest x2, conv k3),
  clamp +-256, conv_out gain (1 + learnable_gain). Input mel normalized per bin by data_mean /
  data_std buffers (here measured on the training data). Weights are exported in MMAudio's
  "weight norm removed" form: w = normalize(w) / sqrt(fan_in), so a loader uses them as plain
  conv weights (a converter for MMAudio's v1-16.pth must apply that normalization).
- bigvgan/models.py: BigVGANVocoder with AMPBlock1 (kernels [3, 7, 11], dilations [1, 3, 5]),
  SnakeBeta with log-scale alpha/beta, ConvTranspose1d upsamplers with padding (k - u) / 2,
  average of the resblocks, snake, conv_post, tanh. Config "antialias" (default false, duet-tiny's
  form) chooses BigVGAN's Activation1d: false applies the activations directly, true wraps each
  in the kaiser-sinc x2 upsampler / x2 downsampler of alias_free_torch/{filter,resample,act}.py
  (the released BigVGAN / MMAudio checkpoints' form), with the filters as buffers under
  BigVGAN's names (`upsample.filter`, `downsample.lowpass.filter`). Key names keep the
  `activations.K.act.` level so the loader sees BigVGAN's names. Weights are plain (weight norm
  folded).
Prefixes in model.safetensors: `audio_vae.`, `vocoder.`.
"""
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

# ---------------------------------------------------------------------------------------------
# Mel


def _hz_to_mel(f):
    f = np.asarray(f, dtype=np.float64)
    f_sp, min_log_hz, logstep = 200.0 / 3, 1000.0, math.log(6.4) / 27.0
    mel = f / f_sp
    return np.where(f >= min_log_hz, min_log_hz / f_sp + np.log(np.maximum(f, 1e-10) /
                                                                   min_log_hz) / logstep, mel)


def _mel_to_hz(m):
    m = np.asarray(m, dtype=np.float64)
    f_sp, min_log_hz, logstep = 200.0 / 3, 1000.0, math.log(6.4) / 27.0
    min_log_mel = min_log_hz / f_sp
    return np.where(m >= min_log_mel, min_log_hz * np.exp(logstep * (m - min_log_mel)), m * f_sp)


def mel_filterbank(sr=16000, n_fft=1024, n_mels=80, fmin=0.0, fmax=8000.0):
    """librosa.filters.mel(htk=False, norm='slaney') as float32 [n_mels, n_fft // 2 + 1]."""
    fft_f = np.linspace(0, sr / 2, 1 + n_fft // 2)
    mel_f = _mel_to_hz(np.linspace(_hz_to_mel(fmin), _hz_to_mel(fmax), n_mels + 2))
    fdiff = np.diff(mel_f)
    ramps = mel_f[:, None] - fft_f[None, :]
    w = np.zeros((n_mels, len(fft_f)))
    for i in range(n_mels):
        lower = -ramps[i] / fdiff[i]
        upper = ramps[i + 2] / fdiff[i + 1]
        w[i] = np.maximum(0, np.minimum(lower, upper))
    w *= (2.0 / (mel_f[2:n_mels + 2] - mel_f[:n_mels]))[:, None]
    return w.astype(np.float32)


class MelConverter(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.n_fft, self.hop, self.win = c['n_fft'], c['hop'], c['win']
        self.clamp = c['log_clamp']
        fb = mel_filterbank(c['sample_rate_hz'], c['n_fft'], c['n_mels'], c['fmin_hz'],
                            c['fmax_hz'])
        self.register_buffer('mel_basis', torch.from_numpy(fb))
        self.register_buffer('hann_window', torch.hann_window(c['win']))

    def forward(self, wav):
        """wav [B, N] -> log10 mel [B, 80, N // hop]."""
        wav = wav.clamp(-1.0, 1.0)
        p = (self.n_fft - self.hop) // 2
        wav = F.pad(wav.unsqueeze(1), (p, p), mode='reflect').squeeze(1)
        spec = torch.stft(wav, self.n_fft, hop_length=self.hop, win_length=self.win,
                          window=self.hann_window, center=False, normalized=False,
                          onesided=True, return_complex=True)
        mag = torch.sqrt(spec.real.pow(2) + spec.imag.pow(2) + 1e-9)
        return torch.log10(torch.clamp(self.mel_basis @ mag, min=self.clamp))


# ---------------------------------------------------------------------------------------------
# MMAudio VAE (EDM2 magnitude-preserving layers)


def mp_normalize(x, dim=None, eps=1e-4):
    if dim is None:
        dim = list(range(1, x.ndim))
    norm = torch.linalg.vector_norm(x, dim=dim, keepdim=True, dtype=torch.float32)
    norm = torch.add(eps, norm, alpha=math.sqrt(norm.numel() / x.numel()))
    return x / norm.to(x.dtype)


def mp_silu(x):
    return F.silu(x) / 0.596


def mp_sum(a, b, t=0.5):
    return a.lerp(b, t) / math.sqrt((1 - t) ** 2 + t ** 2)


class MPConv1D(nn.Module):
    """Trained with forced weight normalization; after bake() the weight is used as stored."""

    def __init__(self, cin, cout, kernel_size):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(cout, cin, kernel_size))
        self.baked = False

    def effective_weight(self):
        if self.baked:
            return self.weight
        w = mp_normalize(self.weight)
        return w / math.sqrt(w[0].numel())

    def forward(self, x, gain=1):
        w = self.effective_weight() * gain
        return F.conv1d(x, w, padding=w.shape[-1] // 2)

    @torch.no_grad()
    def bake(self):
        self.weight.copy_(self.effective_weight())
        self.baked = True


class ResnetBlock1D(nn.Module):
    def __init__(self, cin, cout, kernel_size=3):
        super().__init__()
        self.cin, self.cout = cin, cout
        self.conv1 = MPConv1D(cin, cout, kernel_size)
        self.conv2 = MPConv1D(cout, cout, kernel_size)
        if cin != cout:
            self.nin_shortcut = MPConv1D(cin, cout, 1)

    def forward(self, x):
        x = mp_normalize(x, dim=1)
        h = self.conv2(mp_silu(self.conv1(mp_silu(x))))
        if self.cin != self.cout:
            x = self.nin_shortcut(x)
        return mp_sum(x, h, t=0.3)


class AttnBlock1D(nn.Module):
    def __init__(self, c, num_heads=1):
        super().__init__()
        self.num_heads = num_heads
        self.qkv = MPConv1D(c, c * 3, 1)
        self.proj_out = MPConv1D(c, c, 1)

    def forward(self, x):
        y = self.qkv(x)
        y = y.reshape(y.shape[0], self.num_heads, -1, 3, y.shape[-1])
        q, k, v = mp_normalize(y, dim=2).unbind(3)        # channels interleave q, k, v
        h = F.scaled_dot_product_attention(q.transpose(-1, -2), k.transpose(-1, -2),
                                           v.transpose(-1, -2))
        h = h.transpose(-1, -2).reshape(x.shape)
        return mp_sum(x, self.proj_out(h), t=0.3)


class Downsample1D(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv1 = MPConv1D(c, c, 1)
        self.conv2 = MPConv1D(c, c, 1)

    def forward(self, x):
        return self.conv2(F.avg_pool1d(self.conv1(x), kernel_size=2, stride=2))


class Upsample1D(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv = MPConv1D(c, c, 3)

    def forward(self, x):
        return self.conv(F.interpolate(x, scale_factor=2.0, mode='nearest-exact'))


class _Level(nn.Module):
    pass


class Encoder1D(nn.Module):
    def __init__(self, c):
        super().__init__()
        dim, mult, k = c['hidden_dim'], c['ch_mult'], c['kernel_size']
        self.nres, self.clip_act = c['num_res_blocks'], c['clip_act']
        self.down_layers = list(c['down_layers'])
        self.conv_in = MPConv1D(c['data_dim'], dim, k)
        in_mult = (1,) + tuple(mult)
        self.down = nn.ModuleList()
        for i, m in enumerate(mult):
            lvl, bin_ = _Level(), dim * in_mult[i]
            lvl.block, lvl.attn = nn.ModuleList(), nn.ModuleList()
            for _ in range(self.nres):
                lvl.block.append(ResnetBlock1D(bin_, dim * m, k))
                bin_ = dim * m
                if i in c['attn_layers']:
                    lvl.attn.append(AttnBlock1D(bin_))
            if i in self.down_layers:
                lvl.downsample = Downsample1D(bin_)
            self.down.append(lvl)
        self.mid = _Level()
        self.mid.block_1 = ResnetBlock1D(bin_, bin_, k)
        self.mid.attn_1 = AttnBlock1D(bin_)
        self.mid.block_2 = ResnetBlock1D(bin_, bin_, k)
        self.conv_out = MPConv1D(bin_, 2 * c['embed_dim'], k)
        self.learnable_gain = nn.Parameter(torch.zeros([]))

    def forward(self, x):
        h = self.conv_in(x)
        for i, lvl in enumerate(self.down):
            for j in range(self.nres):
                h = lvl.block[j](h)
                if len(lvl.attn):
                    h = lvl.attn[j](h)
                h = h.clamp(-self.clip_act, self.clip_act)
            if i in self.down_layers:
                h = lvl.downsample(h)
        h = self.mid.block_2(self.mid.attn_1(self.mid.block_1(h)))
        h = h.clamp(-self.clip_act, self.clip_act)
        return self.conv_out(mp_silu(h), gain=self.learnable_gain + 1)


class Decoder1D(nn.Module):
    def __init__(self, c):
        super().__init__()
        dim, mult, k = c['hidden_dim'], c['ch_mult'], c['kernel_size']
        self.nres, self.clip_act = c['num_res_blocks'], c['clip_act']
        self.up_layers = [i + 1 for i in c['down_layers']]
        bin_ = dim * mult[-1]
        self.conv_in = MPConv1D(c['embed_dim'], bin_, k)
        self.mid = _Level()
        self.mid.block_1 = ResnetBlock1D(bin_, bin_, k)
        self.mid.attn_1 = AttnBlock1D(bin_)
        self.mid.block_2 = ResnetBlock1D(bin_, bin_, k)
        self.up = nn.ModuleList()
        for i in reversed(range(len(mult))):
            lvl = _Level()
            lvl.block, lvl.attn = nn.ModuleList(), nn.ModuleList()
            for _ in range(self.nres + 1):
                lvl.block.append(ResnetBlock1D(bin_, dim * mult[i], k))
                bin_ = dim * mult[i]
                if i in c['attn_layers']:
                    lvl.attn.append(AttnBlock1D(bin_))
            if i in self.up_layers:
                lvl.upsample = Upsample1D(bin_)
            self.up.insert(0, lvl)
        self.conv_out = MPConv1D(bin_, c['data_dim'], k)
        self.learnable_gain = nn.Parameter(torch.zeros([]))

    def forward(self, z):
        h = self.mid.block_2(self.mid.attn_1(self.mid.block_1(self.conv_in(z))))
        h = h.clamp(-self.clip_act, self.clip_act)
        for i in reversed(range(len(self.up))):
            lvl = self.up[i]
            for j in range(self.nres + 1):
                h = lvl.block[j](h)
                if len(lvl.attn):
                    h = lvl.attn[j](h)
                h = h.clamp(-self.clip_act, self.clip_act)
            if i in self.up_layers:
                h = lvl.upsample(h)
        return self.conv_out(mp_silu(h), gain=self.learnable_gain + 1)


class AudioVAE(nn.Module):
    """MMAudio VAE: normalized log-mel [B, 80, 2L] <-> latent [B, 20, L]."""

    def __init__(self, c):
        super().__init__()
        self.cfg = dict(c)
        self.register_buffer('data_mean', torch.zeros(1, c['data_dim'], 1))
        self.register_buffer('data_std', torch.ones(1, c['data_dim'], 1))
        self.encoder = Encoder1D(c)
        self.decoder = Decoder1D(c)

    def encode_moments(self, mel):
        """log-mel -> (mean, logvar)."""
        return self.encoder((mel - self.data_mean) / self.data_std).chunk(2, dim=1)

    def encode(self, mel):
        return self.encode_moments(mel)[0]

    def decode(self, z):
        """latent -> log10 mel (un-normalized, what the vocoder takes)."""
        return self.decoder(z) * self.data_std + self.data_mean

    def bake(self):
        for m in self.modules():
            if isinstance(m, MPConv1D):
                m.bake()

    @torch.no_grad()
    def fold_latent_scale(self, std):
        """Make latents unit-variance per channel without new ops: scale the encoder's mean
        output rows by 1/std and the decoder's first conv input columns by std (baked only)."""
        assert self.encoder.conv_out.baked and self.decoder.conv_in.baked
        e = self.encoder.conv_out.weight
        e[:len(std)] /= std.view(-1, 1, 1)
        self.decoder.conv_in.weight.mul_(std.view(1, -1, 1))


# ---------------------------------------------------------------------------------------------
# BigVGAN v1 vocoder


class SnakeBeta(nn.Module):
    """x + 1 / (exp(beta) + 1e-9) * sin^2(exp(alpha) x), per channel (log scale)."""

    def __init__(self, c):
        super().__init__()
        self.alpha = nn.Parameter(torch.zeros(c))
        self.beta = nn.Parameter(torch.zeros(c))

    def forward(self, x):
        a = torch.exp(self.alpha)[None, :, None]
        b = torch.exp(self.beta)[None, :, None]
        return x + (1.0 / (b + 1e-9)) * torch.sin(x * a).pow(2)


def kaiser_sinc_lowpass(cutoff, half_width, kernel_size):
    """Taps [kernel_size] (float64) of BigVGAN's anti-aliasing low-pass (alias_free_torch/
    filter.py kaiser_sinc_filter1d, itself julius' LowPassFilters): a sinc of cutoff `cutoff`
    (in cycles per sample) under a symmetric Kaiser window, scaled to unit DC gain. The window's
    beta comes from Kaiser's empirical formulas for the attenuation A (dB) that a transition band
    4 half_width wide reaches with kernel_size / 2 taps. The taps sit at the centred times
    n - (kernel_size - 1) / 2 (half-integers when even), so the filter is symmetric."""
    atten = 2.285 * (kernel_size // 2 - 1) * math.pi * (4 * half_width) + 7.95
    if atten > 50.0:
        beta = 0.1102 * (atten - 8.7)
    elif atten >= 21.0:
        beta = 0.5842 * (atten - 21.0) ** 0.4 + 0.07886 * (atten - 21.0)
    else:
        beta = 0.0
    n = torch.arange(kernel_size, dtype=torch.float64)
    r = 2 * n / (kernel_size - 1) - 1 if kernel_size > 1 else n
    window = torch.special.i0(beta * torch.sqrt((1 - r * r).clamp(min=0.0)))
    taps = window * torch.sinc(2 * cutoff * (n - (kernel_size - 1) / 2))
    return taps / taps.sum()


class _SharedLowpass(nn.Module):
    """Holds BigVGAN's kaiser-sinc low-pass for a x`ratio` resampler as the buffer `filter`
    [1, 1, kernel_size] (cutoff 0.5 / ratio, half width 0.6 / ratio), shared by every channel."""

    def __init__(self, ratio=2, kernel_size=12):
        super().__init__()
        self.ratio, self.kernel_size = ratio, kernel_size
        taps = kaiser_sinc_lowpass(0.5 / ratio, 0.6 / ratio, kernel_size)
        self.register_buffer('filter', taps.float().view(1, 1, kernel_size))


class UpSample1d(_SharedLowpass):
    """BigVGAN's x`ratio` upsampler (alias_free_torch/resample.py UpSample1d): the input, its
    edge samples repeated kernel_size / ratio - 1 times on each side, zero-stuffed and filtered
    (a transposed conv of stride `ratio` with the low-pass, the same for every channel), times
    ratio (the zeros took that much energy), cropped to ratio x the input length. Channels are
    folded into the batch: one shared [1, 1, K] filter."""

    def forward(self, x):
        b, c, n = x.shape
        r, k = self.ratio, self.kernel_size
        edge = k // r - 1
        y = F.conv_transpose1d(F.pad(x.reshape(b * c, 1, n), (edge, edge), mode='replicate'),
                               self.filter, stride=r)
        start = edge * r + (k - r) // 2   # the crop upstream takes: (k - r + 1) // 2 at the end
        return (r * y[..., start:start + r * n]).reshape(b, c, r * n)


class _StridedLowpass(_SharedLowpass):
    """The low-pass of BigVGAN's DownSample1d (alias_free_torch/filter.py LowPassFilter1d with
    stride `ratio`): edge samples repeated kernel_size / 2 - 1 times in front (kernel_size / 2
    for odd kernels) and kernel_size / 2 behind, then a strided conv (cross-correlation) with the
    shared filter."""

    def forward(self, x):
        b, c, n = x.shape
        k = self.kernel_size
        front = k // 2 - (1 if k % 2 == 0 else 0)
        y = F.conv1d(F.pad(x.reshape(b * c, 1, n), (front, k // 2), mode='replicate'),
                     self.filter, stride=self.ratio)
        return y.reshape(b, c, -1)


class DownSample1d(nn.Module):
    """BigVGAN's x`ratio` downsampler (alias_free_torch/resample.py DownSample1d)."""

    def __init__(self, ratio=2, kernel_size=12):
        super().__init__()
        self.lowpass = _StridedLowpass(ratio, kernel_size)

    def forward(self, x):
        return self.lowpass(x)


class Activation1d(nn.Module):
    """BigVGAN's wrapper (alias_free_torch/act.py Activation1d with its defaults: ratio 2,
    kernel 12 both ways): x2 upsample, activation, x2 downsample. With antialias off it holds
    only the activation (duet-tiny's form; key names kept)."""

    def __init__(self, act, antialias=False):
        super().__init__()
        self.act = act
        self.antialias = antialias
        if antialias:
            self.upsample = UpSample1d(2, 12)
            self.downsample = DownSample1d(2, 12)

    def forward(self, x):
        if not self.antialias:
            return self.act(x)
        return self.downsample(self.act(self.upsample(x)))


def _pad(k, d):
    return (k * d - d) // 2


class AMPBlock1(nn.Module):
    def __init__(self, ch, k, dil, antialias=False):
        super().__init__()
        self.convs1 = nn.ModuleList([nn.Conv1d(ch, ch, k, 1, dilation=d, padding=_pad(k, d))
                                     for d in dil])
        self.convs2 = nn.ModuleList([nn.Conv1d(ch, ch, k, 1, dilation=1, padding=_pad(k, 1))
                                     for _ in dil])
        self.activations = nn.ModuleList([Activation1d(SnakeBeta(ch), antialias)
                                          for _ in range(2 * len(dil))])
        for conv in list(self.convs1) + list(self.convs2):
            nn.init.normal_(conv.weight, 0.0, 0.01)

    def forward(self, x):
        acts1, acts2 = self.activations[::2], self.activations[1::2]
        for c1, c2, a1, a2 in zip(self.convs1, self.convs2, acts1, acts2):
            x = x + c2(a2(c1(a1(x))))
        return x


class Vocoder(nn.Module):
    """log10 mel [B, 80, T] -> waveform [B, 1, T * prod(upsample_rates)] in [-1, 1]."""

    def __init__(self, c):
        super().__init__()
        self.cfg = dict(c)
        ch0 = c['upsample_initial_channel']
        self.num_kernels = len(c['resblock_kernel_sizes'])
        antialias = bool(c.get('antialias', False))
        self.conv_pre = nn.Conv1d(c['num_mels'], ch0, 7, 1, padding=3)
        self.ups = nn.ModuleList()
        for i, (u, k) in enumerate(zip(c['upsample_rates'], c['upsample_kernel_sizes'])):
            self.ups.append(nn.ModuleList([nn.ConvTranspose1d(
                ch0 // 2 ** i, ch0 // 2 ** (i + 1), k, u, padding=(k - u) // 2)]))
            nn.init.normal_(self.ups[-1][0].weight, 0.0, 0.01)
        self.resblocks = nn.ModuleList()
        for i in range(len(self.ups)):
            ch = ch0 // 2 ** (i + 1)
            for k, d in zip(c['resblock_kernel_sizes'], c['resblock_dilation_sizes']):
                self.resblocks.append(AMPBlock1(ch, k, d, antialias))
        self.activation_post = Activation1d(SnakeBeta(ch), antialias)
        self.conv_post = nn.Conv1d(ch, 1, 7, 1, padding=3)
        nn.init.normal_(self.conv_post.weight, 0.0, 0.01)

    def forward(self, mel):
        x = self.conv_pre(mel)
        for i, up in enumerate(self.ups):
            x = up[0](x)
            xs = None
            for j in range(self.num_kernels):
                y = self.resblocks[i * self.num_kernels + j](x)
                xs = y if xs is None else xs + y
            x = xs / self.num_kernels
        return torch.tanh(self.conv_post(self.activation_post(x)))
