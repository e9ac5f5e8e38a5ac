#!/usr/bin/env python3
"""Golden reference for the samplers and the generation loop (diffusion/schedule.c, sampler.c,
noise.c, generate.c).

Regenerate (from the repository root; deterministic, CPU only, a few seconds), after
tools/golden/ovi_dit.py whenever that one changes (the generation cases run its tiny DiT,
loaded from tests/golden/ovi_dit.safetensors):

    python3 tools/golden/sampler.py tests/golden

References: tools/duet_tiny/schedulers.py (shifted_schedule, UniPCSampler, EulerSampler; checked
against Ovi's ovi/utils/fm_solvers_unipc.py), tools/duet_tiny/sample.py (dit_eval: CFG and
skip-layer guidance; the generate loop's clean-token handling), tools/duet_tiny/noise.py (duet's
seeded Gaussian noise) and tools/duet_tiny/dit.py through tools/golden/ovi_dit.py's model. All
tensor arithmetic runs in float64; stored values are float32.

Stored tensors (PyTorch shapes):
  sched.<n>_<shift>.timesteps [n] i32, .sigmas [n + 1] f32   shifted schedules; "schedules"
        lists the (n, shift) pairs. The script also checks them against a literal
        restatement of Ovi's construction (set_timesteps on the float32 unshifted table).
  step.<case>.v [n, 3, 5, 7]       a fixed sequence of "model outputs" (a consistent flow plus
                                   perturbations: the sampler's arithmetic is tested alone)
  step.<case>.x [n + 1, 3, 5, 7]   x[0] the start, x[k + 1] the sample after step k
        cases ("steps": solver, steps, shift): unipc6 (warm-up, order-2 predictor and
        corrector, first-order last step), unipc1, unipc2, euler4
  noise.<name> [n]                 duet_noise_fill output ("noise": seed, stream,
                                   first); the C test wants these bit for bit
  gen.context [7, 24], gen.context_video_neg [3, 24], gen.context_audio_neg [4, 24]
  gen.video_given1 [4, 1, 4, 6], gen.video_given2 [4, 2, 4, 6]  leading latent frames
  gen.audio_given [11, 5], gen.audio_given4 [4, 5]              leading audio tokens
  gen.<case>.video [4, 3, 4, 6], gen.<case>.audio [11, 5]  final latents of whole generations
        with ovi_dit's tiny DiT ("generate": every parameter per case):
        cfg_slg   unipc 3 steps shift 2, guidance 4 / 3, block 1 skipped in the uncond pass
        i2v_a2v   unipc 3 steps shift 5, guidance 2.5 / 1.5, no SLG, first frame and the whole
                  audio given
        cont      euler 2 steps shift 3, no guidance (one pass), 2 leading frames and 4 leading
                  audio tokens given, a seed above 2^32
Metadata: one entry, "golden", a JSON object holding schedules, steps, noise and generate as
above, seed, generator, and ovi_dit_seed (the seed in ovi_dit.safetensors the cases were run
with).
"""
import argparse
import json
import os
import sys

import numpy as np
import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', '..'))
sys.path.insert(0, HERE)
import ovi_dit  # noqa: E402  (also rounds the DiT's sinusoid to float32, as the C side does)
from tools.duet_tiny import dit, noise, schedulers  # noqa: E402
from tools.duet_tiny.sample import dit_eval  # noqa: E402

SEED = 20251124
SCHEDULES = [(1, 1.0), (2, 5.0), (3, 1.0), (5, 2.0), (13, 0.7), (30, 2.0), (50, 5.0),
             (1000, 3.0)]
STEP_SHAPE = (3, 5, 7)
STEP_CASES = {'unipc6': ('unipc', 6, 2.0), 'unipc1': ('unipc', 1, 5.0),
              'unipc2': ('unipc', 2, 1.0), 'euler4': ('euler', 4, 3.0)}
NOISE = {'a': (12345, 0, 0, 103), 'b': (0x0123456789ABCDEF, 1, 0, 50),
         'c': (7, 1, 13, 21)}  # name: (seed, stream, first, n)
GEN_CASES = {
    'cfg_slg': dict(solver='unipc', steps=3, shift=2.0, video_guidance=4.0, audio_guidance=3.0,
                    slg_layer=1, seed=7, video_given=None, audio_given=None),
    'i2v_a2v': dict(solver='unipc', steps=3, shift=5.0, video_guidance=2.5, audio_guidance=1.5,
                    slg_layer=0, seed=8, video_given='gen.video_given1',
                    audio_given='gen.audio_given'),
    'cont': dict(solver='euler', steps=2, shift=3.0, video_guidance=1.0, audio_guidance=1.0,
                 slg_layer=-1, seed=(1 << 40) + 3, video_given='gen.video_given2',
                 audio_given='gen.audio_given4'),
}


def upstream_schedule(steps, shift):
    """Ovi's FlowUniPCMultistepScheduler(shift=1).set_timesteps(steps, shift=shift), restated
    line by line (fm_solvers_unipc.py __init__ and set_timesteps, final_sigmas_type 'zero')."""
    alphas = np.linspace(1, 1 / 1000, 1000)[::-1].copy()
    table = torch.from_numpy(1.0 - alphas).to(dtype=torch.float32)
    table = 1 * table / (1 + (1 - 1) * table)
    sigma_max, sigma_min = table[0].item(), table[-1].item()
    s = np.linspace(sigma_max, sigma_min, steps + 1).copy()[:-1]
    s = shift * s / (1 + (shift - 1) * s)
    timesteps = torch.from_numpy(s * 1000).to(dtype=torch.int64).numpy()
    return timesteps, np.concatenate([s, [0]]).astype(np.float32)


def schedules(tensors):
    for n, shift in SCHEDULES:
        t, s = schedulers.shifted_schedule(n, shift)
        ut, us = upstream_schedule(n, shift)
        assert (t == ut).all() and (s == us).all(), (n, shift)
        key = f'sched.{n}_{shift:g}'
        tensors[key + '.timesteps'] = torch.from_numpy(t.astype(np.int32))
        tensors[key + '.sigmas'] = torch.from_numpy(s)


def step_cases(tensors, gen):
    for case, (solver, n, shift) in STEP_CASES.items():
        x0 = torch.randn(STEP_SHAPE, generator=gen, dtype=torch.float64)
        eps = torch.randn(STEP_SHAPE, generator=gen, dtype=torch.float64)
        vs = [eps - x0 + 0.3 * torch.randn(STEP_SHAPE, generator=gen, dtype=torch.float64)
              for _ in range(n)]
        vs = [v.float().double() for v in vs]  # the stored values are what the C side uses
        x = eps.float().double()
        xs = [x]
        smp = schedulers.make_sampler(solver, n, shift)
        for v in vs:
            x = smp.step(v, x)
            xs.append(x)
        tensors[f'step.{case}.v'] = torch.stack(vs).float()
        tensors[f'step.{case}.x'] = torch.stack(xs).float()


def noise_cases(tensors):
    for name, (seed, stream, first, n) in NOISE.items():
        tensors[f'noise.{name}'] = torch.from_numpy(noise.gaussian(first + n, seed, stream)[first:])


def load_dit(path):
    state = load_file(path)
    model = dit.FusionModel(ovi_dit.VIDEO, ovi_dit.AUDIO).double().eval()
    weights = {k: v.double() for k, v in state.items() if k.split('.')[0] in
               ('video_model', 'audio_model')}
    model.load_state_dict(weights)
    return model


def generate_ref(model, case, t):
    """tools/duet_tiny/sample.py generate's loop on given latents (no text encoder, no VAE)."""
    c = GEN_CASES[case]
    vshape, la = ovi_dit.VIDEO_SHAPE, ovi_dit.AUDIO_LEN
    xv = torch.from_numpy(noise.latent_noise(vshape, c['seed'], noise.STREAM_VIDEO))
    xa = torch.from_numpy(noise.latent_noise((la, ovi_dit.AUDIO['in_dim']), c['seed'],
                                             noise.STREAM_AUDIO))
    xv, xa = xv.double()[None], xa.double()[None]
    gv = t[c['video_given']].double()[None] if c['video_given'] else None
    ga = t[c['audio_given']].double()[None] if c['audio_given'] else None
    tpf = model.video_tokens_per_frame(vshape[2], vshape[3])
    mv = torch.zeros(vshape[1] * tpf, dtype=torch.bool)
    ma = torch.zeros(la, dtype=torch.bool)
    if gv is not None:
        mv[:gv.shape[2] * tpf] = True
    if ga is not None:
        ma[:ga.shape[1]] = True
    ctx = tuple(t[k].double()[None] for k in ('gen.context', 'gen.context_video_neg',
                                              'gen.context_audio_neg'))
    sv = schedulers.make_sampler(c['solver'], c['steps'], c['shift'])
    sa = schedulers.make_sampler(c['solver'], c['steps'], c['shift'])

    def overwrite(xv, xa):
        if gv is not None:
            xv[:, :, :gv.shape[2]] = gv
        if ga is not None:
            xa[:, :ga.shape[1]] = ga
        return xv, xa

    with torch.no_grad():
        for i in range(c['steps']):
            xv, xa = overwrite(xv, xa)
            tv = torch.where(mv, 0.0, float(sv.timesteps[i])).double()[None]
            ta = torch.where(ma, 0.0, float(sa.timesteps[i])).double()[None]
            v_v, v_a = dit_eval(model, xv, xa, tv, ta, ctx, c['slg_layer'],
                                (c['video_guidance'], c['audio_guidance']))
            xv, xa = sv.step(v_v, xv), sa.step(v_a, xa)
        xv, xa = overwrite(xv, xa)
    return xv[0].float(), xa[0].float()


def gen_cases(tensors, gen, dit_path):
    tdim, vshape = ovi_dit.VIDEO['text_dim'], ovi_dit.VIDEO_SHAPE
    ain = ovi_dit.AUDIO['in_dim']
    tensors['gen.context'] = torch.randn(7, tdim, generator=gen)
    tensors['gen.context_video_neg'] = torch.randn(3, tdim, generator=gen)
    tensors['gen.context_audio_neg'] = torch.randn(4, tdim, generator=gen)
    tensors['gen.video_given2'] = torch.randn(vshape[0], 2, *vshape[2:], generator=gen)
    tensors['gen.video_given1'] = tensors['gen.video_given2'][:, :1].contiguous()
    tensors['gen.audio_given'] = torch.randn(ovi_dit.AUDIO_LEN, ain, generator=gen)
    tensors['gen.audio_given4'] = torch.randn(4, ain, generator=gen)
    model = load_dit(dit_path)
    for case in GEN_CASES:
        ov, oa = generate_ref(model, case, tensors)
        tensors[f'gen.{case}.video'] = ov.contiguous()
        tensors[f'gen.{case}.audio'] = oa.contiguous()
        print(f'  gen.{case}: rms video {ov.pow(2).mean().sqrt():.3f} '
              f'audio {oa.pow(2).mean().sqrt():.3f}')


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('out_dir', help='folder holding ovi_dit.safetensors; sampler.safetensors '
                                    'is written there')
    args = ap.parse_args()
    torch.set_num_threads(1)
    dit_path = os.path.join(args.out_dir, 'ovi_dit.safetensors')
    gen = torch.Generator().manual_seed(SEED)
    tensors = {}
    schedules(tensors)
    step_cases(tensors, gen)
    noise_cases(tensors)
    gen_cases(tensors, gen, dit_path)
    with safe_open(dit_path, 'pt') as f:
        dit_seed = f.metadata()['seed']
    # One metadata entry: safetensors writes several in hash order, which would change the
    # file's bytes from run to run.
    meta = {'golden': json.dumps({'schedules': SCHEDULES, 'steps': STEP_CASES, 'noise': NOISE,
                                  'generate': GEN_CASES, 'ovi_dit_seed': dit_seed, 'seed': SEED,
                                  'generator': 'tools/golden/sampler.py'}, sort_keys=True)}
    path = os.path.join(args.out_dir, 'sampler.safetensors')
    save_file({k: v.contiguous() for k, v in tensors.items()}, path, metadata=meta)
    print(f'wrote {path} ({os.path.getsize(path) / 1e3:.0f} kB)')


if __name__ == '__main__':
    main()
