#!/usr/bin/env python3
"""Golden reference for the joint audio-video DiT (diffusion/dit*.c, `duet dit`).

Regenerate (from the repository root; deterministic, CPU only, a few seconds):

    python3 tools/golden/ovi_dit.py tests/golden

Writes tests/golden/ovi_dit.safetensors and tests/golden/ovi_dit.json (the model config, in the
form `duet dit --config` reads: {"video": {...}, "audio": {...}} with Ovi's field names).

The model is the project's PyTorch statement of Ovi's FusionModel, tools/duet_tiny/dit.py
(itself a restatement of character-ai/Ovi ovi/modules/fusion.py and ovi/modules/model.py), at a
tiny size with random weights: dim 32, 2 heads of 16, FFN 48, 3 fusion blocks, freq_dim 32,
text_dim 24, text_len 10; video latent [4, 3, 4, 6] (patch (1, 2, 2): a 3 x 2 x 3 grid of 18
tokens), audio latent [11, 5] (11 tokens, temporal_rope_scaling_factor 3/11). Every parameter is
re-drawn (dit.py zero-initialises the head), with unit-variance fan-in scaling so that every
layer visibly moves the result.

Weights are stored the way duet-tiny's export stores them: tensors with >= 1024 elements in
float16 (except modulation tables), the rest float32; the reference uses exactly these values.
It runs in float64 (the sinusoid and RoPE cos/sin are rounded to float32 first, as the C side
builds them in double and stores float32 tables), so the stored float32 outputs are exact to
float32 precision and a C implementation is measured on its own rounding only.

Stored tensors (PyTorch shapes):
    video_model.*, audio_model.*   the weights, Ovi's checkpoint names
    in.video [4, 3, 4, 6]          video latent [C, F, H, W]
    in.audio [11, 5]               audio latent [L, C]
    in.context [7, 24]             text context (encoder output, trimmed), both towers
    ctx2.context_audio [5, 24]     a second, shorter context for the audio tower (case ctx2;
                                   not named in.* so that `duet dit` leaves it alone)
    in.t [1]                       timestep (757)
    out.{case}.video [4, 3, 4, 6], out.{case}.audio [11, 5] velocity predictions, cases:
        plain  t everywhere, no skipped block, in.context for both towers
        skip1  block 1 skipped in both towers (Ovi's slg_layer = 1)
        ffc    first latent frame clean (its 6 tokens get t = 0; Ovi first_frame_is_clean)
        ctx2   video tower in.context, audio tower ctx2.context_audio
Metadata: config (the JSON), seed, generator.
"""
import argparse
import json
import os
import sys

import torch
from safetensors.torch import save_file

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..'))
from tools.duet_tiny import dit  # noqa: E402

SEED = 20251123
T = 757.0
VIDEO = dict(model_type='ti2v', patch_size=[1, 2, 2], dim=32, ffn_dim=48, freq_dim=32,
             num_heads=2, num_layers=3, in_dim=4, out_dim=4, text_len=10, text_dim=24,
             window_size=[-1, -1], qk_norm=True, cross_attn_norm=True, eps=1e-6)
AUDIO = dict(VIDEO, model_type='t2a', patch_size=[1], in_dim=5, out_dim=5,
             temporal_rope_scaling_factor=3.0 / 11.0)
VIDEO_SHAPE = (4, 3, 4, 6)
AUDIO_LEN = 11
N_CTX, N_CTX_AUDIO = 7, 5

# The C side builds the sinusoid in double and keeps it as float32, like dit.py; the rest of
# the reference runs in float64 on those rounded values.
_sinusoid_f32 = dit.sinusoidal_embedding_1d
dit.sinusoidal_embedding_1d = lambda dim, t: _sinusoid_f32(dim, t).double()


def stored_dtype(name, t):
    """duet-tiny's export rule (tools/duet_tiny/export.py _keep_f32)."""
    keep = t.ndim <= 1 or t.numel() < 1024 or name.endswith('modulation')
    return torch.float32 if keep else torch.float16


def randomize(model, gen):
    """Every parameter re-drawn: matrices and kernels uniform with variance 1/fan_in, biases
    uniform +-0.2, norm weights 1 +- 0.2, modulation tables randn * 0.5. Returns the stored
    (rounded) state dict; the model holds the same values in float64."""
    state = {}
    for name, p in sorted(model.named_parameters()):
        shape = tuple(p.shape)
        u = torch.rand(shape, generator=gen) * 2 - 1
        if name.endswith('modulation'):
            v = 0.5 * torch.randn(shape, generator=gen)
        elif len(shape) >= 2:
            fan_in = p[0].numel()
            v = u * (3.0 / fan_in) ** 0.5
        elif 'norm' in name:
            v = 1 + 0.2 * u
        else:
            v = 0.2 * u
        v = v.to(stored_dtype(name, v))
        state[name] = v.contiguous()
    model.load_state_dict({k: v.double() for k, v in state.items()})
    return state


def run(model, xv, xa, ctx_v, ctx_a, first_frame_clean=False, slg_layer=-1):
    grid = [VIDEO_SHAPE[1], VIDEO_SHAPE[2] // 2, VIDEO_SHAPE[3] // 2]
    n_v = grid[0] * grid[1] * grid[2]
    tv = torch.full((1, n_v), T, dtype=torch.float64)
    if first_frame_clean:
        tv[:, :grid[1] * grid[2]] = 0.0
    ta = torch.full((1, AUDIO_LEN), T, dtype=torch.float64)
    with torch.no_grad():
        ov, oa = model(xv[None].double(), xa[None].double(), tv, ta, ctx_v[None].double(),
                       ctx_a[None].double(), slg_layer=slg_layer)
    return ov[0].float(), oa[0].float()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('out_dir', help='folder to write ovi_dit.safetensors and ovi_dit.json to')
    args = ap.parse_args()
    torch.set_num_threads(1)
    gen = torch.Generator().manual_seed(SEED)
    model = dit.FusionModel(VIDEO, AUDIO).double().eval()
    state = randomize(model, gen)

    xv = torch.randn(VIDEO_SHAPE, generator=gen)
    xa = torch.randn(AUDIO_LEN, AUDIO['in_dim'], generator=gen)
    ctx = torch.randn(N_CTX, VIDEO['text_dim'], generator=gen)
    ctx_a = torch.randn(N_CTX_AUDIO, AUDIO['text_dim'], generator=gen)

    tensors = dict(state)
    tensors.update({'in.video': xv, 'in.audio': xa, 'in.context': ctx,
                    'ctx2.context_audio': ctx_a, 'in.t': torch.tensor([T])})
    cases = {'plain': run(model, xv, xa, ctx, ctx),
             'skip1': run(model, xv, xa, ctx, ctx, slg_layer=1),
             'ffc': run(model, xv, xa, ctx, ctx, first_frame_clean=True),
             'ctx2': run(model, xv, xa, ctx, ctx_a)}
    for case, (ov, oa) in cases.items():
        tensors[f'out.{case}.video'] = ov.contiguous()
        tensors[f'out.{case}.audio'] = oa.contiguous()

    config = {'video': VIDEO, 'audio': AUDIO}
    os.makedirs(args.out_dir, exist_ok=True)
    path = os.path.join(args.out_dir, 'ovi_dit.safetensors')
    save_file(tensors, path, metadata={'config': json.dumps(config), 'seed': str(SEED),
                                       'generator': 'tools/golden/ovi_dit.py'})
    with open(os.path.join(args.out_dir, 'ovi_dit.json'), 'w') as f:
        json.dump(config, f, indent=2)
        f.write('\n')

    def nmse(a, b):
        return float(((a - b) ** 2).sum() / (b ** 2).sum())
    pv, pa = cases['plain']
    print(f'wrote {path} ({os.path.getsize(path) / 1e3:.0f} kB): rms video {pv.pow(2).mean().sqrt():.3f} '
          f'audio {pa.pow(2).mean().sqrt():.3f}')
    for case in ('skip1', 'ffc', 'ctx2'):
        cv, ca = cases[case]
        print(f'  {case}: nmse vs plain video {nmse(cv, pv):.3e} audio {nmse(ca, pa):.3e}')


if __name__ == '__main__':
    main()
