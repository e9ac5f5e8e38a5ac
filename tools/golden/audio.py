#!/usr/bin/env python3
"""Golden reference for the audio side (audio/mel.c, audio/vae_*.c, audio/vocoder.c,
encoders/audio_encoder.c).

Regenerate (from the repository root; deterministic, CPU only, a few seconds):

    python3 tools/golden/audio.py tests/golden

Writes tests/golden/audio.safetensors. The modules are the project's PyTorch statement of
MMAudio's mel converter and 1-D VAE and of the BigVGAN-v1 vocoder, tools/duet_tiny/audio.py
(checked against hkchengrex/MMAudio and NVIDIA/BigVGAN), at a tiny size with random weights:
- mel: duet-tiny's (= MMAudio 16 kHz) settings, n_fft 1024, hop 256, 80 slaney mels to 8 kHz;
- VAE: hidden 8, ch_mult [1, 2, 4], 2 res blocks, attention after each block of level 2 (MMAudio
  puts it only in the middle; the level form is exercised too), one x2 downsample, 6 latent
  channels, clip_act 1.5 (so that the +-clip_act clamps really cut: MMAudio's 256 never does
  with random weights);
- vocoder: upsample rates [8, 8, 4] (kernels [16, 16, 8]), 16 initial channels, AMP blocks
  [3, 7, 11] x [1, 3, 5], SnakeBeta log scale, antialias off (duet-tiny's form);
- anti-aliased vocoder (BigVGAN's Activation1d around every SnakeBeta, the released BigVGAN /
  MMAudio form): upsample rates [4, 4, 4, 4] (kernels [8, 8, 8, 8]), 32 initial channels, AMP
  blocks [3, 7] x [1, 3, 5]. Its filters are the kaiser-sinc taps plus a random perturbation
  (+-0.05), different for every filter: the C loader reads them from the file, and asymmetric
  filters, up and down different, expose a flipped or swapped filter that BigVGAN's own
  symmetric, identical pair would hide.
Weights are stored as duet-tiny's export stores them (MP convs baked, tensors with >= 1024
elements in float16, vectors and statistics float32); the reference uses exactly these values
and runs in float64 (the mel's float32 hann window and filterbank buffers are used as stored),
so the float32 outputs are exact to float32 precision.

Stored tensors (PyTorch shapes):
    audio_vae.*, vocoder.*     weights, duet-tiny / upstream names
    in.wav [4096]              waveform (16 kHz, a few samples beyond +-1 to exercise the clamp)
    out.mel [80, 16]           log10 mel of in.wav
    out.latent [8, 6]          VAE encoder mean of out.mel, DiT layout [L, C]
    in.wav_odd [4480]          17 mel frames: the x2 average pool drops the last one
    out.mel_odd [80, 17], out.latent_odd [8, 6]
    in.latent [8, 6]           random latent [L, C]
    out.dec_mel [80, 16]       VAE decode of in.latent (un-normalized log10 mel)
    out.wav [4096]             vocoder(out.dec_mel)
    vocoder_aa.*               the anti-aliased vocoder's weights (filters included)
    out.wav_aa [4096]          vocoder_aa(out.mel)
Metadata: config (JSON: {"mel": ..., "audio_vae": ..., "vocoder": ...}, config.json's form),
config_aa (the same with the anti-aliased vocoder), seed, generator. The anti-aliased case is
drawn after everything else, so the other tensors do not depend on it.
"""
import argparse
import json
import math
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..'))
from tools.golden import sorted_safetensors  # noqa: E402
from tools.duet_tiny import audio, config  # noqa: E402

SEED = 20251124
# MMAudio takes the norm in float32 (vector_norm(..., dtype=float32)) for its bf16 training; the
# float64 reference takes it in float64 so that it carries no float32 rounding of its own.


def _mp_normalize_f64(x, dim=None, eps=1e-4):
    if dim is None:
        dim = list(range(1, x.ndim))
    norm = torch.linalg.vector_norm(x, dim=dim, keepdim=True)
    norm = torch.add(eps, norm, alpha=math.sqrt(norm.numel() / x.numel()))
    return x / norm


audio.mp_normalize = _mp_normalize_f64

N_WAV, N_WAV_ODD, N_LATENT = 4096, 4480, 8
GAIN_POST = 0.1
MEL = dict(config.MEL)
VAE = dict(data_dim=80, embed_dim=6, hidden_dim=8, ch_mult=[1, 2, 4], num_res_blocks=2,
           attn_layers=[2], down_layers=[0], kernel_size=3, clip_act=1.5)
VOCODER = dict(num_mels=80, upsample_rates=[8, 8, 4], upsample_kernel_sizes=[16, 16, 8],
               upsample_initial_channel=16, resblock='1', resblock_kernel_sizes=[3, 7, 11],
               resblock_dilation_sizes=[[1, 3, 5], [1, 3, 5], [1, 3, 5]],
               activation='snakebeta', snake_logscale=True, antialias=False)
VOCODER_AA = dict(num_mels=80, upsample_rates=[4, 4, 4, 4], upsample_kernel_sizes=[8, 8, 8, 8],
                  upsample_initial_channel=32, resblock='1', resblock_kernel_sizes=[3, 7],
                  resblock_dilation_sizes=[[1, 3, 5], [1, 3, 5]], activation='snakebeta',
                  snake_logscale=True, antialias=True)
FILTER_JITTER = 0.05


def stored_dtype(name, t):
    """duet-tiny's export rule (tools/duet_tiny/export.py _keep_f32)."""
    keep = (t.ndim <= 1 or t.numel() < 1024 or name.endswith('data_mean') or
            name.endswith('data_std'))
    return torch.float32 if keep else torch.float16


def store(module, prefix, values):
    """Round `values` (name -> tensor) to the stored dtypes, load them into `module` (float64)
    and return the stored state under `prefix`."""
    state = {}
    for name, v in values.items():
        state[name] = v.to(stored_dtype(name, v)).contiguous()
    module.load_state_dict({k: v.double() for k, v in state.items()}, strict=True)
    return {prefix + k: v for k, v in state.items()}


def random_vae(vae, gen):
    """MP conv weights drawn from N(0, 1) and baked (unit norm per output channel: MMAudio's
    normalize(w) / sqrt(fan_in), its "weight norm removed" form); gains and statistics random."""
    vae.bake()
    values = {}
    for name, t in vae.state_dict().items():
        if name.endswith('.weight'):
            w = torch.randn(t.shape, generator=gen, dtype=torch.float64)
            w = w / w.flatten(1).norm(dim=1).view(-1, 1, 1)
            values[name] = w.float()
        elif name.endswith('learnable_gain'):
            values[name] = (0.6 * torch.rand([], generator=gen) - 0.3).reshape([])
        elif name == 'data_mean':
            values[name] = -3.0 + torch.randn(t.shape, generator=gen)
        elif name == 'data_std':
            values[name] = 0.5 + torch.rand(t.shape, generator=gen)
        else:
            raise ValueError(name)
    return values


def random_vocoder(voc, gen, cfg=VOCODER):
    """Kernels uniform with variance g^2 / fan-in (transposed convs: per output sample; g 0.5
    in the residual blocks, whose sums would otherwise grow, and GAIN_POST at the end, so that
    the tanh is not saturated), biases +-0.1, snake log-alpha / log-beta +-0.5, antialias
    filters: their kaiser-sinc taps +- FILTER_JITTER."""
    values = {}
    for name, t in voc.state_dict().items():
        u = torch.rand(t.shape, generator=gen) * 2 - 1
        if name.endswith('.filter'):
            values[name] = t.float() + FILTER_JITTER * u
        elif name.endswith('.weight'):
            fan_in = t.shape[1] * t.shape[2]
            if name.startswith('ups.'):
                stride = cfg['upsample_rates'][int(name.split('.')[1])]
                fan_in = t.shape[0] * t.shape[2] // stride
            gain = 0.5 if name.startswith('resblocks.') else 1.0
            gain = GAIN_POST if name.startswith('conv_post.') else gain
            values[name] = u * gain * (3.0 / fan_in) ** 0.5
        elif name.endswith('.bias'):
            values[name] = 0.1 * u
        else:
            values[name] = 0.5 * u
    return values


def waveform(n, gen):
    """Two chirps, a decaying tone burst and noise; a few samples pushed beyond +-1."""
    t = torch.arange(n, dtype=torch.float64) / MEL['sample_rate_hz']
    x = 0.5 * torch.sin(2 * math.pi * (200 * t + 3000 * t * t))
    x += 0.3 * torch.sin(2 * math.pi * 1234.5 * t) * torch.exp(-8 * t)
    x += 0.05 * torch.randn(n, generator=gen, dtype=torch.float64)
    x[100:110] *= 3.0
    return x.float()


def nmse(a, b):
    return float(((a.double() - b.double()) ** 2).sum() / (b.double() ** 2).sum())


def report_slips(mel, vae, voc, wav, m, z, latent, dec, out_wav):
    """What plausible semantic slips change, so that the C test's tolerances can be judged:
    each is far above them (CPU 1e-10, Vulkan 1e-9)."""
    def with_norm(fn):
        audio.mp_normalize = fn
        try:
            return vae.encode(m)[0].T, vae.decode(latent.T[None].double())
        finally:
            audio.mp_normalize = _mp_normalize_f64

    def eps_inside(x, dim=None, eps=1e-4):
        return x / torch.sqrt(x.pow(2).mean(dim=dim, keepdim=True) + eps * eps)
    z2, d2 = with_norm(eps_inside)
    print(f'  mp_normalize as x / sqrt(ms + eps^2): latent {nmse(z2, z):.1e}, '
          f'dec_mel {nmse(d2, dec):.1e}')
    clip = vae.encoder.clip_act
    vae.encoder.clip_act = vae.decoder.clip_act = 1e9
    z3, d3 = vae.encode(m)[0].T, vae.decode(latent.T[None].double())
    vae.encoder.clip_act = vae.decoder.clip_act = clip
    print(f'  no clamp: latent {nmse(z3, z):.1e}, dec_mel {nmse(d3, dec):.1e}')
    sym = audio.MelConverter(MEL).double()
    sym.hann_window = torch.hann_window(MEL['win'], periodic=False).double()
    print(f'  symmetric Hann window: mel {nmse(sym(wav[None].double()), m):.1e}')
    for mod in voc.modules():
        if isinstance(mod, audio.SnakeBeta):
            mod.alpha.data, mod.beta.data = mod.alpha.exp(), mod.beta.exp()
    print(f'  snake alpha/beta taken as logs twice: wav {nmse(voc(dec)[0, 0], out_wav):.1e}')


def report_slips_aa(voc, m, out):
    """What slips in the anti-aliased activations change (each far above the tolerances)."""
    filters = [(n, b) for n, b in voc.named_buffers() if n.endswith('.filter')]
    saved = [b.clone() for _, b in filters]

    def run(edit):
        for (name, b), s in zip(filters, saved):
            b.copy_(edit(name, s))
        y = voc(m)[0, 0]
        for (_, b), s in zip(filters, saved):
            b.copy_(s)
        return nmse(y, out)
    print(f'  antialias: filters flipped: wav {run(lambda n, s: s.flip(-1)):.1e}')
    by_name = {n: s for (n, _), s in zip(filters, saved)}

    def partner(n, s):
        return by_name[n.replace('downsample.lowpass', 'upsample') if 'downsample' in n else
                       n.replace('upsample', 'downsample.lowpass')]
    print(f'  antialias: up and down filters swapped: wav {run(partner):.1e}')
    up = audio.UpSample1d.forward

    def shifted(self, x):
        y = up(self, x)
        return torch.cat([y[..., :1], y[..., :-1]], dim=-1)
    audio.UpSample1d.forward = shifted
    try:
        print(f'  antialias: upsampled one sample late: wav {nmse(voc(m)[0, 0], out):.1e}')
    finally:
        audio.UpSample1d.forward = up
    for mod in voc.modules():
        if isinstance(mod, audio.Activation1d):
            mod.antialias = False
    print(f'  antialias off: wav {nmse(voc(m)[0, 0], out):.1e}')
    for mod in voc.modules():
        if isinstance(mod, audio.Activation1d):
            mod.antialias = True


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('out_dir', help='folder to write audio.safetensors to')
    args = ap.parse_args()
    torch.set_num_threads(1)
    gen = torch.Generator().manual_seed(SEED)
    mel = audio.MelConverter(MEL).double().eval()
    vae = audio.AudioVAE(VAE).double().eval()
    voc = audio.Vocoder(VOCODER).double().eval()
    tensors = store(vae, 'audio_vae.', random_vae(vae, gen))
    tensors.update(store(voc, 'vocoder.', random_vocoder(voc, gen)))

    wav, wav_odd = waveform(N_WAV, gen), waveform(N_WAV_ODD, gen)
    latent = torch.randn(N_LATENT, VAE['embed_dim'], generator=gen)
    with torch.no_grad():
        m = mel(wav[None].double())
        m_odd = mel(wav_odd[None].double())
        z = vae.encode(m)[0].T
        z_odd = vae.encode(m_odd)[0].T
        dec = vae.decode(latent.T[None].double())
        out_wav = voc(dec)[0, 0]
    tensors.update({'in.wav': wav, 'out.mel': m[0].float(), 'out.latent': z.float(),
                    'in.wav_odd': wav_odd, 'out.mel_odd': m_odd[0].float(),
                    'out.latent_odd': z_odd.float(), 'in.latent': latent,
                    'out.dec_mel': dec[0].float(), 'out.wav': out_wav.float()})
    voc_aa = audio.Vocoder(VOCODER_AA).double().eval()
    tensors.update(store(voc_aa, 'vocoder_aa.', random_vocoder(voc_aa, gen, VOCODER_AA)))
    with torch.no_grad():
        out_aa = voc_aa(m)[0, 0]
    tensors['out.wav_aa'] = out_aa.float()
    tensors = {k: v.contiguous() for k, v in tensors.items()}

    cfg = {'mel': MEL, 'audio_vae': dict(VAE, weights='mp_baked'), 'vocoder': VOCODER}
    cfg_aa = dict(cfg, vocoder=VOCODER_AA)
    os.makedirs(args.out_dir, exist_ok=True)
    path = os.path.join(args.out_dir, 'audio.safetensors')
    sorted_safetensors.save(path, tensors, {'config': json.dumps(cfg), 'seed': str(SEED),
                                            'config_aa': json.dumps(cfg_aa),
                                            'generator': 'tools/golden/audio.py'})

    with torch.no_grad():
        report_slips(mel, vae, voc, wav, m, z, latent, dec, out_wav)
        report_slips_aa(voc_aa, m, out_aa)

    def rms(t):
        return float(t.double().pow(2).mean().sqrt())
    print(f'wrote {path} ({os.path.getsize(path) / 1e3:.0f} kB): rms mel {rms(m):.3f}, '
          f'latent {rms(z):.3f}, dec_mel {rms(dec):.3f}, wav {rms(out_wav):.3f} '
          f'(|wav| > 0.99: {int((out_wav.abs() > 0.99).sum())} of {out_wav.numel()}), '
          f'wav_aa {rms(out_aa):.3f} (|wav_aa| > 0.99: {int((out_aa.abs() > 0.99).sum())})')


if __name__ == '__main__':
    main()
