"""Metric tests: each metric on constructed inputs with a known answer (so it can fail), plus
the MP4 path of the score CLI when the ffmpeg CLI is present.

    python3 -m unittest discover -s tools/tests        (from the repository root)
"""
import io
import json
import os
import tempfile
import unittest
from contextlib import redirect_stdout

import numpy as np

try:
    from . import _path  # noqa: F401
except ImportError:
    import _path  # noqa: F401

from metrics import media, score
from metrics.adherence import classify, count_syllables, region_features, shape_of
from metrics.impacts import audio_onsets, impacts, visual_contacts
from metrics.lipsync import frame_rms, lipsync
from talkingshapes import palette as P, render
from talkingshapes.world import sample_clip


def mouth_video(areas, size=32):
    """Frames with a near-black square of the given pixel areas on grey."""
    v = np.full((len(areas), size, size, 3), 128, np.uint8)
    for f, a in enumerate(areas):
        v[f].reshape(-1, 3)[:int(a)] = 10
    return v


class LipSync(unittest.TestCase):
    def setUp(self):
        rng = np.random.default_rng(0)
        self.level = np.clip(rng.uniform(-0.5, 1.0, 48), 0, None)  # loudness per frame
        self.audio = np.concatenate([np.sin(np.arange(1000) * 0.3) * l for l in self.level])

    def test_in_sync(self):
        r = lipsync(mouth_video(self.level * 200), self.audio)
        self.assertGreater(r['r0'], 0.99)
        self.assertEqual(r['best_lag'], 0)
        self.assertTrue(r['passed'])

    def test_audio_two_frames_late_fails(self):
        late = np.concatenate([np.zeros(2000), self.audio[:-2000]])
        r = lipsync(mouth_video(self.level * 200), late)
        self.assertEqual(r['best_lag'], 2)
        self.assertFalse(r['passed'])

    def test_mouth_never_opens_fails(self):
        r = lipsync(mouth_video(np.zeros(48)), self.audio)
        self.assertFalse(r['passed'])
        self.assertTrue(np.isnan(r['r0']))

    def test_frame_rms_windows(self):
        x = np.zeros(4000)
        x[1000:2000] = 0.5
        np.testing.assert_allclose(frame_rms(x, 4, 16000, 16), [0, 0.5, 0, 0])


class Impacts(unittest.TestCase):
    def test_onsets_at_clicks(self):
        sr = 16000
        rng = np.random.default_rng(1)
        x = rng.standard_normal(48000) * 0.003
        times = [0.41, 1.234, 2.5]
        for t in times:
            i = int(t * sr)
            x[i:i + 800] += 0.4 * np.exp(-np.arange(800) / 150) * np.sin(np.arange(800) * 0.2)
        on = audio_onsets(x, sr)
        self.assertEqual(len(on), 3, on)
        np.testing.assert_allclose(on, times, atol=0.003)

    def test_visual_contacts(self):
        b = [10, 30, 60, 90, 100, 80, 70, 80, 100, 100, 100]
        self.assertEqual(visual_contacts(b), [4, 8])

    def test_offsets_and_pass(self):
        sr, fps = 16000, 16
        x = np.zeros(48000)
        for f in (10, 20):  # sounds in frames 10 and 21
            i = int((f + (1 if f == 20 else 0) + 0.3) / fps * sr)
            x[i:i + 400] = 0.5 * np.sin(np.arange(400))
        r = impacts(audio=x, sr=sr, fps=fps, contacts=[10, 20])
        self.assertEqual(r['offsets'], [0, 1])
        self.assertTrue(r['passed'])
        r = impacts(audio=x, sr=sr, fps=fps, contacts=[10, 23])
        self.assertEqual(r['offsets'], [0, -2])
        self.assertFalse(r['passed'])

    def test_world_bounce_found_in_video(self):
        c = sample_clip(11, kind='bounce')
        r = impacts(c['video'], c['audio'])
        self.assertEqual(r['contacts'], [i['frame'] for i in c['meta']['impacts']])
        self.assertTrue(r['passed'])


class Adherence(unittest.TestCase):
    def test_shapes_classified(self):
        for shape in P.HEAD_SHAPES:
            for r in (12.0, 20.0, 40.0):
                n = int(2 * r) + 9
                yy, xx = np.mgrid[0:n, 0:n] + 0.5
                m = render.shape_mask(shape, xx - n / 2, yy - n / 2, r)
                self.assertEqual(shape_of(region_features(m)), shape, (shape, r))

    def test_colour_and_shape_from_frames(self):
        for seed, kind in ((0, 'talk'), (3, 'talk'), (11, 'bounce'), (21, 'mixed')):
            c = sample_clip(seed, kind=kind)
            m = c['meta']
            want = (m['character']['colour'], m['character']['shape']) if kind != 'bounce' \
                else (m['object']['colour'], P.OBJECTS[m['object']['name']][0])
            self.assertEqual(classify(c['video']), want, (seed, kind))

    def test_syllable_count(self):
        for seed in (0, 1, 2, 3):
            c = sample_clip(seed, kind='talk')
            self.assertEqual(count_syllables(c['audio']), len(c['meta']['syllables']), seed)
        self.assertEqual(count_syllables(np.zeros(16000)), 0)


class ScoreCLI(unittest.TestCase):
    # Needs the ffmpeg CLI (tools/install-deps.sh installs it): without it this fails, not skips.
    def test_mp4_round_trip(self):
        c = sample_clip(21, kind='mixed')
        with tempfile.TemporaryDirectory() as d:
            p = os.path.join(d, 'c.mp4')
            media.write_mp4(p, c['video'], c['audio'])
            buf = io.StringIO()
            with redirect_stdout(buf):
                rc = score.main(['--video', p, '--caption', c['caption'], '--json', '--strict'])
            res = json.loads(buf.getvalue())
        self.assertEqual(rc, 0, res)
        self.assertTrue(res['lipsync']['passed'])
        self.assertTrue(res['impacts']['passed'])
        self.assertTrue(res['adherence']['syllables_ok'])

    def test_wrong_caption_fails(self):
        c = sample_clip(0, kind='talk')
        cap = c['caption'].replace(c['meta']['character']['colour'], 'zzz', 1)
        for name in P.COLOURS:
            if name != c['meta']['character']['colour']:
                cap = c['caption'].replace(c['meta']['character']['colour'], name, 1)
                break
        res = score.score_arrays(c['video'], c['audio'], cap)
        self.assertFalse(res['adherence']['colour_ok'])
        self.assertFalse(res['passed'])


if __name__ == '__main__':
    unittest.main()
