"""Score one clip: lip-sync, impact timing and prompt adherence, as JSON or text.

    python3 -m metrics.score --video X.mp4 [--wav Y.wav] --caption "..." [--meta M.json] --json

Run from tools/ (or as tools.metrics.score from the repository root). The audio comes from
--wav when given, else from the video's audio stream; it is resampled to --sr. Which metrics run
follows the caption: lip-sync when it has <S>...<E>, impacts when its sound text counts hits
("... hits the ground four times", "... bounces twice") or --meta lists impacts, adherence
always. With --meta (a world clip's meta JSON), contacts come from meta and are also compared
with what the video shows. Exit status: 0, or 1 with --strict when a check fails.
"""
import argparse
import json
import sys

import numpy as np

from . import media
from ._world import captions
from .adherence import adherence
from .impacts import impacts
from .lipsync import lipsync

IMPACT_TAIL_FRAMES = 2  # frames after a contact still holding its sound


def score_arrays(video, audio, caption, fps=16, sr=16000, meta=None):
    """All applicable metrics for arrays; dict with 'lipsync', 'impacts', 'adherence', 'passed'."""
    want = captions.parse(caption)
    out = dict(caption=caption, n_frames=int(len(video)), fps=fps, sr=sr)
    meta_contacts = [int(i['frame']) for i in meta['impacts']] if meta and meta.get('impacts') \
        else None
    contacts = None
    if want['n_impacts'] is not None or meta_contacts:
        colour = want['object'][0] if want['object'] else None
        im = impacts(video, audio, sr, fps, colour=colour)
        im['expected_count'] = want['n_impacts']
        im['count_ok'] = (len(im['contacts']) == want['n_impacts']
                          if want['n_impacts'] is not None else None)
        if meta_contacts is not None:
            im['meta_contacts'] = meta_contacts
            im['video_matches_meta'] = im['contacts'] == meta_contacts
            im['meta'] = impacts(audio=audio, sr=sr, fps=fps, contacts=meta_contacts)
        out['impacts'] = im
        contacts = im['contacts']
    if want['utterances']:
        excl = [c + k for c in (contacts or []) for k in range(IMPACT_TAIL_FRAMES + 1)]
        out['lipsync'] = lipsync(video, audio, sr, fps, exclude=excl)
        out['lipsync']['excluded_frames'] = sorted(set(excl))
    out['adherence'] = adherence(video, audio, caption, sr)
    checks = []
    if 'lipsync' in out:
        checks.append(out['lipsync']['passed'])
    if 'impacts' in out:
        checks.append(out['impacts']['passed'])
    a = out['adherence']
    checks += [v for v in (a['colour_ok'], a['shape_ok'], a['syllables_ok']) if v is not None]
    out['passed'] = bool(all(checks))
    return out


def _text(res):
    lines = [f"caption: {res['caption']}"]
    if 'lipsync' in res:
        ls = res['lipsync']
        lines.append(f"lipsync: r0={ls['r0']:.3f} best_lag={ls['best_lag']} "
                     f"best_r={ls['best_r']:.3f} {'PASS' if ls['passed'] else 'FAIL'}")
    if 'impacts' in res:
        im = res['impacts']
        lines.append(f"impacts: contacts={im['contacts']} onsets={im['onset_frames']} "
                     f"offsets={im['offsets']} {'PASS' if im['passed'] else 'FAIL'}")
    a = res['adherence']
    lines.append(f"adherence: expected={a['expected']} got={a['got']} "
                 f"syllables {a['syllables_got']}/{a['syllables_expected']}")
    lines.append('PASS' if res['passed'] else 'FAIL')
    return '\n'.join(lines)


def _jsonable(x):
    if isinstance(x, dict):
        return {k: _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, (np.floating, float)):
        return None if not np.isfinite(x) else float(x)
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, np.bool_):
        return bool(x)
    return x


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--video', required=True, help='MP4 (or anything ffmpeg reads)')
    ap.add_argument('--wav', help='audio file; default: the video\'s audio stream')
    ap.add_argument('--caption', required=True)
    ap.add_argument('--meta', help='world meta JSON (optional)')
    ap.add_argument('--sr', type=int, default=16000)
    ap.add_argument('--fps', type=float, help='override the video\'s frame rate')
    ap.add_argument('--json', action='store_true')
    ap.add_argument('--strict', action='store_true', help='exit 1 when a check fails')
    a = ap.parse_args(argv)
    video, fps = media.read_video(a.video)
    fps = a.fps or fps
    audio = media.read_wav(a.wav, a.sr) if a.wav else media.read_audio_from_video(a.video, a.sr)
    meta = json.load(open(a.meta)) if a.meta else None
    res = _jsonable(score_arrays(video, audio, a.caption, fps, a.sr, meta))
    print(json.dumps(res, indent=1) if a.json else _text(res))
    return 1 if a.strict and not res['passed'] else 0


if __name__ == '__main__':
    sys.exit(main())
