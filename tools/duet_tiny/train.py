"""Train duet-tiny end to end and export it for the C engine.

  python -m tools.duet_tiny.train --preset cpu --work runs/duet-tiny-cpu --out models/duet-tiny

Stages, each skipped when its result exists in --work (so a rerun resumes; a stage interrupted
midway resumes from its .partial.pt): data (world clips) -> tokenizer -> video VAE -> audio VAE
-> vocoder -> latents -> DiT + text encoder -> export (+ golden references, demo clips).
Presets (config.py): `cpu` is sized to finish within about two hours on two CPU cores (each
stage also has a wall-clock budget); `gpu` is a larger model for one H100 (~25 minutes; untested).
--scale multiplies every step and time budget (e.g. 0.01 for a smoke run).
--set KEY=VALUE overrides a budget (total_seconds, or STAGE.steps / STAGE.seconds / STAGE.lr ...)
before scaling. To train a finished stage further, remove its <stage>.done.json and the
done files of the stages after it (latents, dit), and raise its budget with --set: the stage
resumes from its .partial.pt (optimizer and schedule position kept; the cosine follows the new
budget), and the later stages run again on its new weights.
"""
import argparse
import json
import os
import time

import torch

from . import config as C
from . import data as D
from . import export as X
from .stage_dit import encode_latents, train_dit
from .stages_ae import all_mels, train_audio_vae, train_video_vae, train_vocoder
from .text import Tokenizer, train_tokenizer


FINISH_RESERVE_S = 600     # export, demo renders and golden files after the DiT stage


class Logger:
    def __init__(self, path):
        self.f = open(path, 'a')
        self.t0 = time.time()

    def __call__(self, msg):
        line = f'[{time.strftime("%H:%M:%S")} +{time.time() - self.t0:.0f}s] {msg}'
        print(line, flush=True)
        self.f.write(line + '\n')
        self.f.flush()


def n_params(m):
    return sum(p.numel() for p in m.parameters())


def stage(work, name, log, fn):
    """Run fn() unless <work>/<name>.done.json exists; returns the stage's info dict."""
    done = os.path.join(work, f'{name}.done.json')
    if os.path.exists(done):
        log(f'{name}: done already')
        return json.load(open(done))
    t = time.time()
    info = fn() or {}
    info['wall_s'] = round(time.time() - t)
    json.dump(info, open(done, 'w'), indent=1)
    log(f'{name}: finished {info}')
    return info


def save_module(work, name, m):
    torch.save(m.state_dict(), os.path.join(work, f'{name}.pt'))


def load_module(work, name, m):
    dev = next(iter(m.state_dict().values())).device
    m.load_state_dict(torch.load(os.path.join(work, f'{name}.pt'), map_location=dev))
    return m.eval()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--preset', choices=sorted(C.PRESETS), default='cpu')
    ap.add_argument('--work', required=True, help='working directory (data, checkpoints, log)')
    ap.add_argument('--out', default='models/duet-tiny', help='export directory')
    ap.add_argument('--world', default=D.DEFAULT_WORLD, help='module:function clip generator')
    ap.add_argument('--scale', type=float, default=1.0, help='multiply step/time budgets')
    ap.add_argument('--clips', type=int, help='override the preset clip count')
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--workers', type=int, default=1, help='processes generating clips')
    ap.add_argument('--device', default='cpu', help='torch device (cpu, cuda)')
    ap.add_argument('--no-golden', action='store_true')
    ap.add_argument('--set', action='append', default=[], metavar='KEY=VALUE',
                    help='override a budget: total_seconds=N or STAGE.KEY=N (repeatable)')
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    os.makedirs(a.work, exist_ok=True)
    log = Logger(os.path.join(a.work, 'train.log'))
    cfg = C.preset(a.preset)
    for kv in a.set:
        apply_override(ap, cfg, kv)
    for tc in cfg['train'].values():
        tc['steps'] = max(1, int(tc['steps'] * a.scale))
        tc['seconds'] = max(1.0, tc['seconds'] * a.scale)
    n_clips = a.clips or cfg['n_clips']
    n_val = max(2, n_clips // 20)
    log(f'preset {a.preset} scale {a.scale} clips {n_clips} world {a.world}')
    run(a, cfg, n_clips, n_val, log)


def apply_override(ap, cfg, kv):
    key, sep, val = kv.partition('=')
    if not sep:
        ap.error(f'--set {kv}: expected KEY=VALUE')
    try:
        num = float(val)
    except ValueError:
        ap.error(f'--set {kv}: the value must be a number')
    if key == 'total_seconds':
        cfg['total_seconds'] = num
        return
    stage_name, _, field = key.partition('.')
    tc = cfg['train'].get(stage_name)
    if tc is None or field not in tc:
        ap.error(f'--set {kv}: unknown budget; stages {sorted(cfg["train"])}, '
                 f'keys {sorted(next(iter(cfg["train"].values())))}')
    tc[field] = type(tc[field])(num)


def run(a, cfg, n_clips, n_val, log):
    w, tr = a.work, cfg['train']
    ddir = os.path.join(w, 'data')

    def data():
        D.build(a.world, n_clips, ddir, log=log, workers=a.workers)
        return dict(clips=n_clips, world=a.world)
    infos_pre = stage(w, 'data', log, data)
    clips = D.Clips(ddir)
    idx, val_idx = clips.split(n_val)
    tok_prefix = os.path.join(w, 'tokenizer')
    tok_info = stage(w, 'tokenizer', log, lambda: dict(model=train_tokenizer(
        [clips.captions[i] for i in idx], tok_prefix, cfg['text']['vocab_size'])))
    infos_pre['wall_s'] += tok_info['wall_s']
    tok = Tokenizer(tok_prefix + '.model')
    models = X.build(cfg, vocab_size=tok.vocab_size)
    for m in models.values():
        m.to(a.device)
    counts = {k: n_params(m) for k, m in models.items()}
    log(f'parameters: {counts}')

    def video_vae():
        info = train_video_vae(models['video_vae'], clips, idx, tr['video_vae'], w, log)
        save_module(w, 'video_vae', models['video_vae'])
        return info
    infos = dict(video_vae=stage(w, 'video_vae', log, video_vae))
    load_module(w, 'video_vae', models['video_vae'])
    mels = all_mels(models['mel'], clips)

    def audio_vae():
        info = train_audio_vae(models['audio_vae'], mels, idx, tr['audio_vae'], w, log)
        save_module(w, 'audio_vae', models['audio_vae'])
        return info
    infos['audio_vae'] = stage(w, 'audio_vae', log, audio_vae)
    models['audio_vae'].bake()
    load_module(w, 'audio_vae', models['audio_vae'])

    def vocoder():
        info = train_vocoder(models['vocoder'], models['mel'], mels, clips, idx,
                             tr['vocoder'], w, log)
        save_module(w, 'vocoder', models['vocoder'])
        return info
    infos['vocoder'] = stage(w, 'vocoder', log, vocoder)
    load_module(w, 'vocoder', models['vocoder'])

    lat_path = os.path.join(w, 'latents.pt')

    def latents():
        zv, za = encode_latents(models, clips, mels)
        torch.save(dict(video=zv, audio=za), lat_path)
        return dict(video_std=float(zv.std()), audio_std=float(za.std()))
    infos['latents'] = stage(w, 'latents', log, latents)
    lat = torch.load(lat_path, map_location=a.device)

    def dit():
        used = sum(v.get('wall_s', 0) for v in infos.values()) + infos_pre['wall_s']
        left = cfg['total_seconds'] * a.scale - used - FINISH_RESERVE_S * min(1.0, a.scale * 10)
        tr['dit']['seconds'] = max(60.0 * a.scale, min(tr['dit']['seconds'], left))
        log(f'dit: {used:.0f} s used so far, time budget {tr["dit"]["seconds"]:.0f} s')
        info = train_dit(models, tok, cfg, lat['video'], lat['audio'], clips.captions, idx,
                         val_idx, tr['dit'], w, log)
        save_module(w, 'dit', models['dit'])
        save_module(w, 'text_encoder', models['text_encoder'])
        return info
    infos['dit'] = stage(w, 'dit', log, dit)
    load_module(w, 'dit', models['dit'])
    load_module(w, 'text_encoder', models['text_encoder'])
    finish(a, cfg, models, tok, tok_prefix + '.model', clips, val_idx, infos, counts, log)


def finish(a, cfg, models, tok, tok_path, clips, val_idx, infos, counts, log):
    from .card import model_card
    from .sample import generate, write_mp4
    demos = []
    sdir = os.path.join(a.work, 'samples')
    os.makedirs(sdir, exist_ok=True)
    for k, i in enumerate(val_idx[:2]):
        cond = {} if k == 0 else dict(image=clips.videos[i, 0])
        t = time.time()
        frames, wav, _ = generate(models, tok, cfg, clips.captions[i], seed=k, cond=cond)
        path = os.path.join(sdir, f'demo{k}_{"t2v" if k == 0 else "i2v"}.mp4')
        try:
            write_mp4(path, frames, wav, C.CLIP['fps'], C.CLIP['sample_rate_hz'])
        except (OSError, RuntimeError) as e:      # no ffmpeg: keep going, say so
            log(f'demo {path}: {e}')
        demos.append(dict(path=path, caption=clips.captions[i], seconds=round(time.time() - t)))
    card = model_card(a, cfg, infos, counts, demos)
    path = X.save(models, cfg, tok_path, a.out, card)
    total = sum(os.path.getsize(os.path.join(a.out, f)) for f in os.listdir(a.out))
    log(f'exported {a.out}: {total / 1e6:.1f} MB, sha256 {X.file_sha256(path)[:16]}')
    if not a.no_golden:
        from .golden import write_all
        write_all(a.out, 'tests/golden/tiny', log)


if __name__ == '__main__':
    main()
