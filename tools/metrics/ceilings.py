"""Ceilings: the metrics on real TalkingShapes clips (what a perfect model would score).

    python3 -m metrics.ceilings --talk 200 --bounce 100 --mixed 100 --mp4 40 --degraded 40 \
        --out ceilings.json

Clips are sample_clip(seed0 + i, kind=...) with disjoint seed ranges per kind. Each clip is
scored from arrays (score.score_arrays, contacts found in the video, not taken from meta) and,
for the first --mp4 clips of each kind, again after an H.264 (crf 18, yuv420p) + AAC round trip
through the ffmpeg CLI, the way the engine's output will be scored, and for the first
--degraded clips after degrade.py's blur/noise/mel-Griffin-Lim stand-in for decoder losses.
"""
import argparse
import json
import os
import tempfile
import time

import numpy as np

from . import media
from .degrade import degrade_audio, degrade_video
from ._world import captions
from .score import score_arrays

try:
    from ..talkingshapes import sample_clip
except (ImportError, ValueError):
    from talkingshapes import sample_clip

SEED0 = {'talk': 1_000_000, 'bounce': 2_000_000, 'mixed': 3_000_000}


def _row(res, clip):
    want = captions.parse(clip['caption'])
    a = res['adherence']
    row = dict(seed=clip['meta']['seed'], colour_ok=a['colour_ok'], shape_ok=a['shape_ok'],
               expected=a['expected'], got=a['got'], syl_exp=a['syllables_expected'],
               syl_got=a['syllables_got'], passed=res['passed'])
    if 'lipsync' in res:
        ls = res['lipsync']
        row.update(r0=ls['r0'], best_lag=ls['best_lag'], lip_pass=ls['passed'])
    if 'impacts' in res:
        im = res['impacts']
        meta_frames = [i['frame'] for i in clip['meta']['impacts']]
        row.update(imp_pass=im['passed'], offsets=im['offsets'], contacts=im['contacts'],
                   contacts_match_meta=im['contacts'] == meta_frames,
                   count_ok=len(im['contacts']) == want['n_impacts'])
    return row


def summarise(rows):
    s = dict(n=len(rows), all_pass=np.mean([r['passed'] for r in rows]))
    s['colour_acc'] = np.mean([bool(r['colour_ok']) for r in rows])
    s['shape_acc'] = np.mean([bool(r['shape_ok']) for r in rows])
    conf = {}
    for r in rows:
        if not r['shape_ok']:
            k = f"{r['expected'][1]}->{r['got'][1] if r['got'] else None}"
            conf[k] = conf.get(k, 0) + 1
    s['shape_errors'] = conf
    syl = [r for r in rows if r['syl_exp']]
    if syl:
        d = np.array([r['syl_got'] - r['syl_exp'] for r in syl])
        s.update(syllable_acc=np.mean(d == 0), syllable_mean_abs_err=np.mean(np.abs(d)),
                 syllable_err_hist={str(k): int((d == k).sum()) for k in np.unique(d)})
    lip = [r for r in rows if 'r0' in r]
    if lip:
        r0 = np.array([r['r0'] for r in lip], np.float64)
        s.update(lipsync_r0_mean=np.nanmean(r0), lipsync_r0_min=np.nanmin(r0),
                 lipsync_r0_p5=np.nanpercentile(r0, 5),
                 lipsync_pass=np.mean([r['lip_pass'] for r in lip]),
                 lipsync_best_lag_hist={str(k): sum(r['best_lag'] == k for r in lip)
                                        for k in sorted({r['best_lag'] for r in lip},
                                                        key=lambda v: (v is None, v or 0))})
    imp = [r for r in rows if 'imp_pass' in r]
    if imp:
        offs = [o for r in imp for o in r['offsets']]
        s.update(impacts_pass=np.mean([r['imp_pass'] for r in imp]),
                 impact_contacts=len(offs),
                 impact_offset_hist={str(k): sum(o == k for o in offs)
                                     for k in sorted(set(offs), key=lambda v: (v is None, v or 0))},
                 contacts_match_meta=np.mean([r['contacts_match_meta'] for r in imp]),
                 impact_count_acc=np.mean([r['count_ok'] for r in imp]))
    return {k: (round(float(v), 4) if isinstance(v, (float, np.floating)) else v)
            for k, v in s.items()}


def run(counts, n_mp4, n_degraded=0, log=print, **clip_kw):
    out = {}
    for kind, n in counts.items():
        rows, rows_mp4, rows_deg, t0 = [], [], [], time.perf_counter()
        for i in range(n):
            clip = sample_clip(SEED0[kind] + i, kind=kind, **clip_kw)
            fps, sr = clip['meta']['fps'], clip['meta']['sr']
            res = score_arrays(clip['video'], clip['audio'], clip['caption'], fps, sr)
            rows.append(_row(res, clip))
            if i < n_mp4:
                with tempfile.TemporaryDirectory() as d:
                    p = os.path.join(d, 'c.mp4')
                    media.write_mp4(p, clip['video'], clip['audio'], fps, sr)
                    v, vfps = media.read_video(p)
                    a = media.read_audio_from_video(p, sr)
                res = score_arrays(v, a, clip['caption'], vfps, sr)
                rows_mp4.append(_row(res, clip))
            if i < n_degraded:
                v = degrade_video(clip['video'], np.random.default_rng(i))
                a = degrade_audio(clip['audio'], sr, seed=i)
                rows_deg.append(_row(score_arrays(v, a, clip['caption'], fps, sr), clip))
            if not rows[-1]['passed']:
                log(f'{kind} seed {rows[-1]["seed"]}: FAIL {rows[-1]}')
        out[kind] = dict(arrays=summarise(rows), rows=rows,
                         seconds=round(time.perf_counter() - t0, 1))
        if rows_mp4:
            out[kind]['mp4'] = summarise(rows_mp4)
            out[kind]['rows_mp4'] = rows_mp4
        if rows_deg:
            out[kind]['degraded'] = summarise(rows_deg)
            out[kind]['rows_degraded'] = rows_deg
        for k in ('arrays', 'mp4', 'degraded'):
            if k in out[kind]:
                log(f"{kind} ({k}): {json.dumps(out[kind][k])}")
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--talk', type=int, default=200)
    ap.add_argument('--bounce', type=int, default=100)
    ap.add_argument('--mixed', type=int, default=100)
    ap.add_argument('--mp4', type=int, default=40, help='clips per kind also scored via MP4')
    ap.add_argument('--degraded', type=int, default=40,
                    help='clips per kind also scored after degrade.py')
    ap.add_argument('--out', help='write the full results (JSON) here')
    a = ap.parse_args(argv)
    res = run(dict(talk=a.talk, bounce=a.bounce, mixed=a.mixed), a.mp4, a.degraded)
    if a.out:
        with open(a.out, 'w') as f:
            json.dump(res, f, indent=1, default=float)


if __name__ == '__main__':
    main()
