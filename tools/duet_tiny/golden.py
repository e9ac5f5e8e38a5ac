"""Golden references for the C engine's duet-tiny tests, computed by these PyTorch modules from
the exported model (models/duet-tiny, loaded exactly as the C engine sees it: f16 weights
widened to f32) with fixed inputs.

  python -m tools.duet_tiny.golden [--model models/duet-tiny] [--out tests/golden/tiny]

Writes small safetensors files (f32 unless noted); each file's metadata holds `model_sha256` (the
model.safetensors they belong to), `description` and file-specific JSON fields:
  tokenizer      ids.N int32 for the prompts in metadata "prompts" (EOS appended; the last one
                 is truncated to text_len ids, EOS kept last)
  text_encoder   ids int32 [L]; out [L, dim] (final RMSNorm output, before zero padding)
  dit_block      fusion block 0 on a small grid: in.video [Lv, dim], in.audio [La, dim],
                 in.e0_video [Lv, 6, dim], in.e0_audio [La, 6, dim] (time_projection outputs),
                 in.ctx_video / in.ctx_audio [text_len, dim] (after the text MLP);
                 out.video, out.audio. grid (f, h, w) and audio length in metadata.
  dit_full       whole DiT at the model's geometry, first latent frame given clean:
                 in.video [z, F, h, w], in.audio [L, C], in.t_video [F h w], in.t_audio [L],
                 in.ctx_pos / in.ctx_neg_video / in.ctx_neg_audio [n, text_dim] (text encoder
                 outputs, trimmed), ids.* int32; out.pos_video/.pos_audio (conditional),
                 out.neg_video/.neg_audio (negatives, skip layer slg_layer),
                 out.video/.audio (guided with the scales in metadata).
  sampler        schedules and 6-step UniPC / Euler trajectories on a toy linear velocity field
                 v = x A + c (A, c given): timesteps int32, sigmas, x.i per step.
  video_vae      decode: in.latent [z, 2, 2, 2] (normalized) -> out.video [3, 5, 32, 32]
                 (clamped, decoded one latent frame at a time); encode: in.frames int32
                 [5, 32, 32, 3] (0..255) -> out.latent [z, 2, 2, 2] (normalized mean).
                 (Small sizes: lavapipe runs the C side of these tests, about 50x slower than
                 the CPU backend.)
  audio          in.wav [4096] -> out.mel [80, 16] (log10 mel); audio VAE encode out.latent
                 [20, 8]; decode of that latent -> out.mel_decoded [80, 16]; vocoder of
                 out.mel_decoded -> out.wav_vocoded [4096].
"""
import argparse
import os

import numpy as np
import torch

from ..golden import sorted_safetensors
from .export import file_sha256, load
from .sample import video_to_tensor
from .schedulers import make_sampler

PROMPTS = ['A red round head talks. <S>hello there<E> <AUDCAP>a calm voice<ENDAUDCAP>',
           '', 'Two shapes; a ball bounces off the floor. <AUDCAP>thud<ENDAUDCAP>',
           'caf\u00e9 \u2014 Zo\u00eb says \u201chi\u201d',
           ' '.join(['a green square head sings  \t loudly;'] * 16)]  # past text_len


def _save(out_dir, name, tensors, meta, log):
    """<out_dir>/<name>.safetensors, byte-identical on every rerun (tools/golden/
    sorted_safetensors.py), so regenerating reproduces the committed files exactly."""
    path = os.path.join(out_dir, f'{name}.safetensors')
    sorted_safetensors.save(path, tensors, meta)
    log(f'golden: {path} {os.path.getsize(path) / 1e3:.0f} kB')


def _ids(tok, text, cfg):
    return torch.tensor(tok.encode(text, cfg['text']['text_len']), dtype=torch.int32)


def g_text(models, tok, cfg, meta, out, log):
    tens = {f'ids.{i}': _ids(tok, p, cfg) for i, p in enumerate(PROMPTS)}
    _save(out, 'tokenizer', tens, dict(meta, prompts=PROMPTS, description='SentencePiece ids'), log)
    ids = _ids(tok, PROMPTS[0], cfg)
    y = models['text_encoder'](ids.long()[None])[0]
    _save(out, 'text_encoder', {'ids': ids, 'out': y},
          dict(meta, prompt=PROMPTS[0], description='T5 encoder output'), log)


def g_dit_block(models, cfg, meta, out, log):
    g = torch.Generator().manual_seed(1)
    V, A = models['dit'].video_model, models['dit'].audio_model
    dim, tl = V.dim, cfg['text']['text_len']
    f, h, w, la = 3, 4, 4, 22
    xv, xa = torch.randn(1, f * h * w, dim, generator=g), torch.randn(1, la, dim, generator=g)
    tv = torch.randint(0, 1000, (1, f * h * w), generator=g).float()
    ta = torch.randint(0, 1000, (1, la), generator=g).float()
    _, e0v = V.time(tv)
    _, e0a = A.time(ta)
    cv = V.context(torch.randn(1, 9, V.cfg['text_dim'], generator=g))
    ca = A.context(torch.randn(1, 9, A.cfg['text_dim'], generator=g))
    av, aa = V.angles((f, h, w)), A.angles((la,))
    vb, ab = V.blocks[0], A.blocks[0]
    ya, ma = ab.self_attn_step(xa, e0a, aa)
    yv, mv = vb.self_attn_step(xv, e0v, av)
    og = ya
    ya = ab.cross_ffn_step(ya, ma, ca, aa, yv, av)
    yv = vb.cross_ffn_step(yv, mv, cv, av, og, aa)
    _save(out, 'dit_block', {'in.video': xv[0], 'in.audio': xa[0], 'in.e0_video': e0v[0],
                             'in.e0_audio': e0a[0], 'in.ctx_video': cv[0], 'in.ctx_audio': ca[0],
                             'out.video': yv[0], 'out.audio': ya[0]},
          dict(meta, grid=[f, h, w], audio_len=la, text_len=tl, block=0,
               description='one fusion block'), log)


def g_dit_full(models, tok, cfg, meta, out, log):
    from .config import LATENT
    g = torch.Generator().manual_seed(2)
    s = cfg['sampler']
    z, ca = cfg['video_vae']['z_dim'], cfg['audio_vae']['embed_dim']
    fv, h, w, la = LATENT['video_frames'], LATENT['video_h'], LATENT['video_w'], LATENT[
        'audio_tokens']
    xv, xa = torch.randn(1, z, fv, h, w, generator=g), torch.randn(1, la, ca, generator=g)
    dit = models['dit']
    tpf = dit.video_tokens_per_frame(h, w)
    tv = torch.full((1, fv * tpf), 757.0)
    tv[:, :tpf] = 0.0
    ta = torch.full((1, la), 757.0)
    texts = [PROMPTS[0], s['video_negative_prompt'], s['audio_negative_prompt']]
    ids = [_ids(tok, t, cfg) for t in texts]
    ctx = [models['text_encoder'](i.long()[None]) for i in ids]
    slg = 2 if dit.num_blocks > 2 else -1
    gv, ga = s['video_guidance_scale'], s['audio_guidance_scale']
    pv, pa = dit(xv, xa, tv, ta, ctx[0], ctx[0])
    nv, na = dit(xv, xa, tv, ta, ctx[1], ctx[2], slg_layer=slg)
    tens = {'in.video': xv[0], 'in.audio': xa[0], 'in.t_video': tv[0], 'in.t_audio': ta[0],
            'in.ctx_pos': ctx[0][0], 'in.ctx_neg_video': ctx[1][0],
            'in.ctx_neg_audio': ctx[2][0], 'ids.pos': ids[0], 'ids.neg_video': ids[1],
            'ids.neg_audio': ids[2], 'out.pos_video': pv[0], 'out.pos_audio': pa[0],
            'out.neg_video': nv[0], 'out.neg_audio': na[0],
            'out.video': (nv + gv * (pv - nv))[0], 'out.audio': (na + ga * (pa - na))[0]}
    _save(out, 'dit_full', tens, dict(meta, slg_layer=slg, video_guidance_scale=gv,
                                      audio_guidance_scale=ga, prompts=texts,
                                      description='full DiT with CFG and SLG'), log)


def g_sampler(meta, out, log):
    g = torch.Generator().manual_seed(3)
    A = torch.randn(8, 8, generator=g, dtype=torch.float64) * 0.2
    c = torch.randn(1, 8, generator=g, dtype=torch.float64) * 0.1
    x_init = torch.randn(4, 8, generator=g, dtype=torch.float64)
    tens = {'A': A.float(), 'c': c.float(), 'x.init': x_init.float()}
    steps, shift = 6, 5.0
    for name in ('unipc', 'euler'):
        smp = make_sampler(name, steps, shift)
        tens['timesteps'] = torch.as_tensor(smp.timesteps.astype(np.int32))
        tens['sigmas'] = torch.as_tensor(smp.sigmas)
        x = x_init.clone()
        for i in range(steps):
            x = smp.step(x @ A + c, x)
            tens[f'{name}.x.{i}'] = x.float()
    _save(out, 'sampler', tens, dict(meta, steps=steps, shift=shift,
                                     description='UniPC bh2 order 2 and Euler on v = x A + c '
                                                 '(computed in f64)'), log)


def g_video_vae(models, cfg, meta, out, log):
    g = torch.Generator().manual_seed(4)
    vae = models['video_vae']
    lat = torch.randn(1, cfg['video_vae']['z_dim'], 2, 2, 2, generator=g)
    video = vae.decode(lat, chunked=True)
    frames = torch.randint(0, 256, (5, 32, 32, 3), generator=g, dtype=torch.uint8)
    frames = torch.nn.functional.avg_pool2d(frames.permute(0, 3, 1, 2).float(), 5, 1, 2)
    frames = frames.round().to(torch.uint8).permute(0, 2, 3, 1).contiguous()
    enc = vae.encode(video_to_tensor(frames.numpy()), chunked=True)
    # the frames as int32: the C reader (core/safetensors.h) takes F32/F16/BF16/I32 only
    _save(out, 'video_vae', {'in.latent': lat[0], 'out.video': video[0],
                             'in.frames': frames.to(torch.int32),
                             'out.latent': enc[0]},
          dict(meta, description='Wan2.2-class VAE decode (2 latent frames) and encode'), log)


def g_audio(models, meta, out, log):
    g = torch.Generator().manual_seed(5)
    n = 4096
    t = torch.arange(n) / 16000.0
    wav = (0.3 * torch.sin(2 * np.pi * 220 * t) * torch.sin(np.pi * t / t[-1]) +
           0.02 * torch.randn(n, generator=g)).float()
    mel = models['mel'](wav[None])
    lat = models['audio_vae'].encode(mel)
    dec = models['audio_vae'].decode(lat)
    voc = models['vocoder'](dec)[0, 0]
    _save(out, 'audio', {'in.wav': wav, 'out.mel': mel[0], 'out.latent': lat[0],
                         'out.mel_decoded': dec[0], 'out.wav_vocoded': voc},
          dict(meta, description='mel, audio VAE encode/decode, vocoder'), log)


@torch.no_grad()
def write_all(model_dir, out_dir, log=print):
    models, cfg, tok = load(model_dir)
    os.makedirs(out_dir, exist_ok=True)
    meta = dict(model_sha256=file_sha256(os.path.join(model_dir, 'model.safetensors')),
                generator='tools/duet_tiny/golden.py')
    g_text(models, tok, cfg, meta, out_dir, log)
    g_dit_block(models, cfg, meta, out_dir, log)
    g_dit_full(models, tok, cfg, meta, out_dir, log)
    g_sampler(meta, out_dir, log)
    g_video_vae(models, cfg, meta, out_dir, log)
    g_audio(models, meta, out_dir, log)
    total = sum(os.path.getsize(os.path.join(out_dir, f)) for f in os.listdir(out_dir))
    log(f'golden: {total / 1e6:.2f} MB in {out_dir}')


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--model', default='models/duet-tiny')
    ap.add_argument('--out', default='tests/golden/tiny')
    a = ap.parse_args()
    torch.set_num_threads(2)
    write_all(a.model, a.out)


if __name__ == '__main__':
    main()
