"""duet-tiny DiT stage: the text encoder and the joint DiT trained together with flow matching
on pre-encoded latents.

x_t = (1 - sigma) x0 + sigma noise, target v = noise - x0, sigma = sigmoid(N(0, 1)) per clip and
shared by both modalities (Ovi uses one timestep for both towers). Timesteps given to the model
are 1000 sigma per token. Clean conditioning, drawn per clip: 50 % none, 20 % first latent frame
given (image to video), 15 % whole audio given (lip-sync), 15 % 1-3 leading latent frames given
(continuation); given tokens hold x0 with t = 0 and are left out of the loss. Text dropout: the
caption becomes "" (the sampler's negative prompt), for CFG. The text encoder learns only
through the DiT loss. An EMA of both is what gets exported.
"""
import copy

import torch

from . import loop
from .text import encode_context


@torch.no_grad()
def encode_latents(models, clips, mels, batch=4):
    """Video latents [n, z, 13, 8, 8] and audio latent tokens [n, 96, 20] for every clip."""
    from .sample import video_to_tensor
    vae, avae = models['video_vae'], models['audio_vae']
    dev = next(vae.parameters()).device
    zv = torch.cat([vae.encode(video_to_tensor(clips.videos[i]).to(dev))
                    for i in range(clips.n)])
    za = torch.cat([avae.encode(mels[i:i + batch]).transpose(1, 2)
                    for i in range(0, clips.n, batch)])
    return zv, za


def make_batch(rng, idx, zv, za, captions, batch, text_drop):
    sel = [int(idx[rng.integers(len(idx))]) for _ in range(batch)]
    x0v, x0a = zv[sel], za[sel]
    b, fv = x0v.shape[0], x0v.shape[2]
    dev = x0v.device
    sigma = torch.sigmoid(torch.from_numpy(rng.standard_normal(b)).float()).to(dev)
    clean_v = torch.zeros(b, fv, dtype=torch.bool, device=dev)
    clean_a = torch.zeros(b, dtype=torch.bool, device=dev)
    for j in range(b):
        r = rng.random()
        if 0.5 <= r < 0.7:
            clean_v[j, 0] = True
        elif 0.7 <= r < 0.85:
            clean_a[j] = True
        elif r >= 0.85:
            clean_v[j, :1 + rng.integers(3)] = True
    caps = ['' if rng.random() < text_drop else captions[i] for i in sel]
    return dict(x0v=x0v, x0a=x0a, sigma=sigma, clean_v=clean_v, clean_a=clean_a, caps=caps)


def flow_loss(dit, text_encoder, tok, text_len, bt, gen=None):
    x0v, x0a, sigma = bt['x0v'], bt['x0a'], bt['sigma']
    nv = torch.randn(x0v.shape, generator=gen).to(x0v.device)
    na = torch.randn(x0a.shape, generator=gen).to(x0v.device)
    sv, sa = sigma.view(-1, 1, 1, 1, 1), sigma.view(-1, 1, 1)
    mv = bt['clean_v'][:, None, :, None, None].float()      # 1 = given clean
    ma = bt['clean_a'][:, None, None].float()
    xv = ((1 - sv) * x0v + sv * nv) * (1 - mv) + x0v * mv
    xa = ((1 - sa) * x0a + sa * na) * (1 - ma) + x0a * ma
    b, fv, hh, ww = x0v.shape[0], x0v.shape[2], x0v.shape[3], x0v.shape[4]
    tpf = dit.video_tokens_per_frame(hh, ww)
    t = sigma[:, None] * 1000.0
    tv = (t * (~bt['clean_v']).float()).repeat_interleave(tpf, dim=1)
    ta = (t * (~bt['clean_a'])[:, None].float()).expand(b, x0a.shape[1])
    ids, mask = tok.batch(bt['caps'], text_len)
    ids, mask = ids.to(x0v.device), mask.to(x0v.device)
    ctx = encode_context(text_encoder, ids, mask, text_len)
    pv, pa = dit(xv, xa, tv, ta, ctx, ctx)
    wv, wa = 1 - mv, 1 - ma
    lv = ((pv - (nv - x0v)) ** 2 * wv).sum() / (wv.sum() * x0v[0, :, 0].numel()).clamp(min=1)
    la = ((pa - (na - x0a)) ** 2 * wa).sum() / (wa.sum() * x0a[0].numel()).clamp(min=1)
    return lv, la


def train_dit(models, tok, cfg, zv, za, captions, idx, val_idx, tc, work, log):
    dit, te = models['dit'], models['text_encoder']
    text_len = cfg['text']['text_len']
    ema_dit, ema_te = copy.deepcopy(dit).eval(), copy.deepcopy(te).eval()
    for p in list(ema_dit.parameters()) + list(ema_te.parameters()):
        p.requires_grad_(False)
    params = list(dit.parameters()) + list(te.parameters())
    opt = torch.optim.AdamW(params, lr=tc['lr'], betas=(0.9, 0.99), weight_decay=0.01)
    pairs = list(zip(params, list(ema_dit.parameters()) + list(ema_te.parameters())))

    def loss_fn(step, rng):
        bt = make_batch(rng, idx, zv, za, captions, tc['batch'], tc['text_drop'])
        lv, la = flow_loss(dit, te, tok, text_len, bt)
        if step > 0:
            _ema_update(pairs, min(tc['ema'], (1 + step) / (10 + step)))
        vals = dict(loss_v=lv.item(), loss_a=la.item())
        if step % 250 == 0 and len(val_idx):
            vals.update(val_loss(ema_dit, ema_te, tok, text_len, zv, za, captions, val_idx))
        return lv + la, vals

    info = loop.run('dit', work, dict(dit=dit, te=te), opt, loss_fn, tc, log,
                    extra=dict(ema_dit=ema_dit, ema_te=ema_te), log_every=50)
    info['val'] = val_loss(ema_dit, ema_te, tok, text_len, zv, za, captions, val_idx)
    models['dit'], models['text_encoder'] = ema_dit, ema_te
    return info


@torch.no_grad()
def _ema_update(pairs, decay):
    for p, e in pairs:
        e.mul_(decay).add_(p.detach(), alpha=1 - decay)


@torch.no_grad()
def val_loss(dit, te, tok, text_len, zv, za, captions, val_idx):
    """EMA model's loss on held-out clips at fixed sigmas and noise (no clean tokens)."""
    import numpy as np
    rng = np.random.default_rng(7)
    g = torch.Generator().manual_seed(7)
    tot_v = tot_a = 0.0
    sig = (0.2, 0.5, 0.8)
    for s in sig:
        bt = make_batch(rng, val_idx, zv, za, captions, len(val_idx), 0.0)
        bt['sigma'] = torch.full((len(val_idx),), s, device=zv.device)
        bt['clean_v'][:] = False
        bt['clean_a'][:] = False
        lv, la = flow_loss(dit, te, tok, text_len, bt, gen=g)
        tot_v, tot_a = tot_v + lv.item(), tot_a + la.item()
    return dict(val_v=tot_v / len(sig), val_a=tot_a / len(sig))
