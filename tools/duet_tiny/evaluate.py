"""Evaluate an exported duet-tiny with the tools/metrics scripts (the model card's numbers).

  python3 -m tools.duet_tiny.evaluate --model models/duet-tiny --n 24 --out eval.json

Prompts and references come from TalkingShapes clips the model never saw (seeds from
EVAL_SEED0 on; training uses seeds 0 .. n_clips - 1, metrics/ceilings.py 1e6 .. 3e6). Each task
samples clips with the PyTorch reference sampler (sample.generate, the model's default
settings) and scores them with metrics.score.score_arrays, exactly what `python3 -m
metrics.score` does on an MP4/WAV pair, so the C engine's renders are scored the same way:
  talk     text -> clip for talking clips: lip-sync (r at lag 0, best lag), colour, shape and
           syllable count against the caption
  bounce   text -> clip for bouncing-object clips: impact timing, colour, shape
  i2v      the reference clip's first frame given clean: the character stays that character
           (colour and shape of the head in the generated clip against the reference caption)
  a2v      the reference clip's whole audio given clean: lip-sync of the generated picture to
           the given audio (the same bar as talk)
  recon    no sampling: the reference clip through the video VAE and the audio VAE + vocoder,
           scored the same way: the ceiling the decoders leave for everything above.
Real clips score ~1.0 on every check (tools/talkingshapes/ceilings-2026-11-23.log).

--engine c renders the same prompts and references with the C engine instead (`duet render`
of a one-shot job script per clip: 49 frames at 16 fps, the job seed k, the first frame as a
PNG "image", the speech as a WAV "audio") and scores the MP4 it writes, picture and sound
decoded back by ffmpeg as tools/metrics/score.py does. Its noise comes from the C engine's
generator, so clips differ from PyTorch's one by one; the rates are what compare. recon has
no C counterpart and is skipped.
"""
import argparse
import json
import os
import subprocess
import tempfile
import time

import numpy as np
import torch

from . import config as C
from .data import fit_clip, load_world

EVAL_SEED0 = 5_000_000
TASKS = ('recon', 'talk', 'bounce', 'i2v', 'a2v')


def _metrics():
    try:
        from ..metrics.score import score_arrays
    except (ImportError, ValueError):
        from metrics.score import score_arrays
    return score_arrays


def _media():
    try:
        from ..metrics import media
    except (ImportError, ValueError):
        from metrics import media
    return media


ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def render_c(engine, model, caption, seed, steps, cond, sampler, work):
    """(frames uint8 [49, H, W, 3], audio float32) of the C engine's render of one prompt:
    a one-shot job script run by `duet render` (engine: dict(duet=binary, backend=name)),
    decoded back from the MP4."""
    from ..talkingshapes.pngio import write_png
    media = _media()
    shot = dict(prompt=caption, duration_s=C.CLIP['n_frames'] / C.CLIP['fps'])
    if cond.get('image') is not None:
        write_png(os.path.join(work, 'first.png'), cond['image'])
        shot['image'] = 'first.png'
    if cond.get('audio') is not None:
        media.write_wav(os.path.join(work, 'given.wav'), cond['audio'], C.CLIP['sample_rate_hz'])
        shot['audio'] = 'given.wav'
    job = dict(model=os.path.abspath(model), output='clip.mp4', seed=seed, shots=[shot])
    if steps:
        job['steps'] = steps
    g = {k: sampler[f'{k}_guidance'] for k in ('video', 'audio') if f'{k}_guidance' in sampler}
    if g:
        job['guidance'] = g
    with open(os.path.join(work, 'job.json'), 'w') as f:
        json.dump(job, f)
    r = subprocess.run([engine['duet'], 'render', 'job.json', '--backend', engine['backend'],
                        '--quiet'], cwd=work, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f'duet render failed ({r.returncode}):\n{r.stderr[-2000:]}')
    clip = os.path.join(work, 'clip.mp4')
    frames, _ = media.read_video(clip)
    return frames, media.read_audio_from_video(clip, C.CLIP['sample_rate_hz'])


def reference_clip(seed, kind, world):
    """A world clip forced to the model's geometry: (video uint8 [49, 128, 128, 3], audio, caption)."""
    clip = load_world(world)(seed, n_frames=C.CLIP['n_frames'], size=C.CLIP['size'],
                             fps=C.CLIP['fps'], sr=C.CLIP['sample_rate_hz'], kind=kind)
    return fit_clip(clip)


@torch.no_grad()
def reconstruct(models, video, audio):
    from .sample import decode_audio, encode_audio, tensor_to_video, video_to_tensor
    z = models['video_vae'].encode(video_to_tensor(video))
    frames = tensor_to_video(models['video_vae'].decode(z))
    return frames, decode_audio(models, encode_audio(models, audio))


def run_task(task, models, tok, cfg, n, world, log, steps=None, sampler=None, engine=None,
             model_dir=None, noise='torch'):
    """sampler: overrides of generate()'s settings (video_guidance, audio_guidance, shift).
    engine: None for PyTorch, else dict(duet=binary, backend=name): the C engine renders.
    noise: PyTorch's start noise, 'torch' or 'duet' (the C engine's: then clip k of a task
    starts where the C engine's does, and the two agree clip for clip)."""
    from .sample import generate
    score = _metrics()
    kind = 'bounce' if task == 'bounce' else 'talk'
    rows = []
    for k in range(n):
        seed = EVAL_SEED0 + 10_000 * TASKS.index(task) + k
        video, audio, caption = reference_clip(seed, kind, world)
        t = time.time()
        if task == 'recon':
            frames, wav = reconstruct(models, video, audio)
        else:
            cond = dict(image=video[0]) if task == 'i2v' else \
                dict(audio=audio) if task == 'a2v' else {}
            if engine:
                with tempfile.TemporaryDirectory() as work:
                    frames, wav = render_c(engine, model_dir, caption, k, steps, cond,
                                           sampler or {}, work)
            else:
                frames, wav, _ = generate(models, tok, cfg, caption, seed=k, steps=steps,
                                          cond=cond, noise=noise, **(sampler or {}))
        if task == 'a2v':
            wav = audio          # the given audio is the clip's sound (as duet render does)
        res = score(frames, wav[:C.CLIP['n_samples']], caption, fps=C.CLIP['fps'],
                    sr=C.CLIP['sample_rate_hz'])
        row = dict(seed=seed, caption=caption, seconds=round(time.time() - t, 2),
                   passed=res['passed'])
        a = res['adherence']
        row.update(colour_ok=a['colour_ok'], shape_ok=a['shape_ok'],
                   syllables_ok=a['syllables_ok'], expected=a['expected'], got=a['got'])
        if 'lipsync' in res:
            ls = res['lipsync']
            row.update(r0=float(ls['r0']), best_lag=ls['best_lag'], lip_pass=ls['passed'])
        if 'impacts' in res:
            im = res['impacts']
            row.update(imp_pass=im['passed'], offsets=[int(o) for o in im['offsets']
                                                       if o is not None],
                       count_ok=im['count_ok'])
        rows.append(row)
        log(f'{task} {k + 1}/{n}: ' + ' '.join(f'{key}={row[key]}' for key in
                                              ('r0', 'best_lag', 'colour_ok', 'shape_ok',
                                               'syllables_ok', 'offsets') if key in row))
    return rows


def _rate(rows, key):
    v = [r[key] for r in rows if r.get(key) is not None]
    return (round(float(np.mean(v)), 3), len(v)) if v else (None, 0)


def summarise(rows):
    s = dict(n=len(rows))
    for key in ('colour_ok', 'shape_ok', 'syllables_ok', 'lip_pass', 'imp_pass', 'count_ok'):
        rate, m = _rate(rows, key)
        if m:
            s[key] = rate
    r0 = [r['r0'] for r in rows if 'r0' in r and np.isfinite(r['r0'])]
    if r0:
        s['r0_mean'], s['r0_median'] = round(float(np.mean(r0)), 3), round(float(np.median(r0)), 3)
        lags = [r['best_lag'] for r in rows if r.get('best_lag') is not None]
        s['best_lag_hist'] = {str(k): lags.count(k) for k in sorted(set(lags))}
    offs = [o for r in rows for o in r.get('offsets', [])]
    if offs:
        s['impact_offsets_hist'] = {str(k): offs.count(k) for k in sorted(set(offs))}
        s['impacts_within_1'] = round(float(np.mean([abs(o) <= 1 for o in offs])), 3)
    return s


def markdown(summary):
    """The model card's table."""
    cols = [('colour_ok', 'colour'), ('shape_ok', 'shape'), ('syllables_ok', 'syllables'),
            ('lip_pass', 'lip-sync pass'), ('r0_mean', 'lip r (mean)'),
            ('best_lag_hist', 'best lag'), ('impacts_within_1', 'impacts ±1 frame')]
    lines = ['| task | n | ' + ' | '.join(c[1] for c in cols) + ' |',
             '|' + '---|' * (len(cols) + 2)]
    for task, s in summary.items():
        cells = []
        for key, _ in cols:
            v = s.get(key)
            cells.append('—' if v is None else json.dumps(v) if isinstance(v, dict) else
                         f'{100 * v:.0f} %' if key.endswith(('_ok', '_pass', '_within_1'))
                         else f'{v}')
        lines.append(f'| {task} | {s["n"]} | ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)


CARD_BEGIN, CARD_END = '<!-- evaluate.py: begin -->', '<!-- evaluate.py: end -->'


def write_card_section(path, a, table):
    """Replace (or append) the card's evaluation section, between its markers."""
    text = open(path).read()
    sec = '\n'.join([
        CARD_BEGIN, '## Evaluation', '',
        f'`python3 -m tools.duet_tiny.evaluate --n {a.n}` ({time.strftime("%Y-%m-%d")}, '
        f'{a.steps or "default"} sampler steps, {a.threads} threads): {a.n} held-out prompts '
        f'per task (world seeds from {EVAL_SEED0}), scored by tools/metrics. Tasks: recon = '
        'the reference clip through the VAEs and vocoder (the decoders\' ceiling); talk / '
        'bounce = text to clip; i2v = first frame given; a2v = speech audio given. Bars: '
        'lip-sync r >= 0.5 at lag 0 with the best lag within 1 frame; impacts within 1 frame; '
        'colour and shape >= 90 %; syllables >= 70 %. Real clips score 100 % on every check.',
        '', table, '', CARD_END])
    if CARD_BEGIN in text and CARD_END in text:
        head, rest = text.split(CARD_BEGIN, 1)
        text = head + sec + rest.split(CARD_END, 1)[1]
    else:
        text = text.rstrip('\n') + '\n\n' + sec + '\n'
    with open(path + '.tmp', 'w') as f:
        f.write(text)
    os.replace(path + '.tmp', path)


def main():
    from .export import load
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--model', default='models/duet-tiny')
    ap.add_argument('--n', type=int, default=24, help='clips per task')
    ap.add_argument('--tasks', default=','.join(TASKS))
    ap.add_argument('--steps', type=int, help='sampler steps (default: the model\'s)')
    ap.add_argument('--video-guidance', type=float, help='default: the model\'s')
    ap.add_argument('--audio-guidance', type=float, help='default: the model\'s')
    ap.add_argument('--shift', type=float, help='default: the model\'s')
    ap.add_argument('--engine', choices=['torch', 'c'], default='torch',
                    help='who samples: the PyTorch reference (default) or the C engine')
    ap.add_argument('--duet', default=os.path.join(ROOT, 'build', 'cli', 'duet'),
                    help='the duet binary for --engine c')
    ap.add_argument('--backend', default='cpu', help='duet render --backend for --engine c')
    ap.add_argument('--noise', choices=['torch', 'duet'], default='torch',
                    help='PyTorch\'s start noise; duet: the C engine\'s, clip for clip')
    ap.add_argument('--world', default='tools.talkingshapes.world:sample_clip')
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--out', help='JSON with every row and the summaries')
    ap.add_argument('--card', help='MODEL_CARD.md whose evaluation section is (re)written')
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    models, cfg, tok = load(a.model)
    sampler = {k: v for k, v in (('video_guidance', a.video_guidance),
                                 ('audio_guidance', a.audio_guidance), ('shift', a.shift))
               if v is not None}
    engine = None
    if a.engine == 'c':
        if a.card:
            ap.error('--card takes the PyTorch evaluation; --engine c results go to --out')
        if a.shift is not None:
            ap.error('--shift: a job script cannot set the C engine\'s shift (the model\'s '
                     'config.json does)')
        if not os.access(a.duet, os.X_OK):
            ap.error(f'{a.duet}: no duet binary (meson compile -C build, or pass --duet)')
        engine = dict(duet=a.duet, backend=a.backend)
    res, summ = {}, {}
    for task in a.tasks.split(','):
        if task not in TASKS:
            ap.error(f'unknown task {task!r}; tasks: {", ".join(TASKS)}')
        if engine and task == 'recon':
            print('recon: skipped (no C counterpart: it samples nothing)')
            continue
        res[task] = run_task(task, models, tok, cfg, a.n, a.world, print, a.steps, sampler,
                             engine, a.model, a.noise)
        summ[task] = summarise(res[task])
        print(task, json.dumps(summ[task]), flush=True)
    table = markdown(summ)
    print(table)
    if a.card:
        write_card_section(a.card, a, table)
    if a.out:
        with open(a.out, 'w') as f:
            json.dump(dict(model=a.model, engine=a.engine, noise=a.noise, n=a.n, sampler=sampler,
                           summary=summ, rows=res), f,
                      indent=1,
                      default=lambda x: x.item() if hasattr(x, 'item') else str(x))


if __name__ == '__main__':
    main()
