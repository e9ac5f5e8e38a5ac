"""TalkingShapes world tests: determinism, the near-black mouth convention, the mouth shut in
silence and on m/b/p, audio length, caption format, colour-safe scenes, shards.

    python3 -m unittest discover -s tools/tests        (from the repository root)
"""
import json
import re
import tempfile
import unittest

import numpy as np

try:
    from . import _path  # noqa: F401
except ImportError:
    import _path  # noqa: F401

from talkingshapes import batches, palette as P, render, speech, stream
from talkingshapes.captions import parse
from talkingshapes.make_shards import load_shard, write_shards
from talkingshapes.world import KINDS, frame_bounds, sample_clip

SEEDS = {'talk': range(0, 6), 'bounce': range(10, 14), 'mixed': range(20, 24)}


def near_black(video):
    return (video < P.NEAR_BLACK).all(-1)


class Determinism(unittest.TestCase):
    def test_same_seed_same_clip(self):
        for seed in (0, 7, 12345):
            a, b = sample_clip(seed), sample_clip(seed)
            self.assertTrue(np.array_equal(a['video'], b['video']), seed)
            self.assertTrue(np.array_equal(a['audio'], b['audio']), seed)
            self.assertEqual(a['caption'], b['caption'])
            self.assertEqual(json.dumps(a['meta']), json.dumps(b['meta']))

    def test_drawn_kind_equals_explicit_kind(self):
        a = sample_clip(3)
        b = sample_clip(3, kind=a['meta']['kind'])
        self.assertTrue(np.array_equal(a['video'], b['video']))
        self.assertTrue(np.array_equal(a['audio'], b['audio']))

    def test_seeds_differ(self):
        a, b = sample_clip(1, kind='talk'), sample_clip(2, kind='talk')
        self.assertFalse(np.array_equal(a['audio'], b['audio']))
        self.assertNotEqual(a['caption'], b['caption'])

    def test_kinds_drawn(self):
        kinds = {sample_clip(s, n_frames=8, size=32)['meta']['kind'] for s in range(40)}
        self.assertEqual(kinds, set(KINDS))


class Shapes(unittest.TestCase):
    def test_audio_length_and_range(self):
        for F, fps, sr, size in ((48, 16, 16000, 128), (49, 16, 16000, 128),
                                 (17, 24, 16000, 64), (20, 16, 22050, 96)):
            for kind in KINDS:
                c = sample_clip(5, n_frames=F, size=size, fps=fps, sr=sr, kind=kind)
                self.assertEqual(c['video'].shape, (F, size, size, 3))
                self.assertEqual(c['video'].dtype, np.uint8)
                self.assertEqual(c['audio'].dtype, np.float32)
                self.assertEqual(len(c['audio']), int(round(F * sr / fps)), (F, fps, sr))
                self.assertTrue(np.isfinite(c['audio']).all())
                self.assertLessEqual(float(np.abs(c['audio']).max()), 1.0)
                self.assertGreater(float(np.abs(c['audio']).max()), 0.05, (kind, F))
                self.assertEqual(len(c['meta']['mouth_open']), F)
                json.dumps(c['meta'])  # meta must be JSON-serialisable


class Mouth(unittest.TestCase):
    def test_near_black_only_in_the_mouth(self):
        for kind, seeds in SEEDS.items():
            for seed in seeds:
                c = sample_clip(seed, kind=kind)
                nb = near_black(c['video'])
                counts = nb.sum((1, 2))
                m = c['meta']
                if kind == 'bounce':
                    self.assertEqual(int(counts.sum()), 0, seed)
                    continue
                opened = np.array(m['mouth_open']) > 0
                self.assertTrue(np.all(counts[~opened] == 0), (kind, seed))
                self.assertTrue(np.all(counts[opened] > 0), (kind, seed))
                mx, my = m['character']['mouth_center']
                r = m['character']['radius']
                for f in np.flatnonzero(opened):
                    ys, xs = np.nonzero(nb[f])
                    dy = m['head_bob_px'][f]
                    self.assertLessEqual(np.abs(xs + 0.5 - mx).max(), 0.55 * r + 1, (seed, f))
                    self.assertLessEqual(np.abs(ys + 0.5 - my - dy).max(), 0.35 * r + 1,
                                         (seed, f))

    def test_everything_else_at_least_floor(self):
        for kind, seeds in SEEDS.items():
            c = sample_clip(seeds[0], kind=kind)
            v = c['video']
            rest = v[~near_black(v)]
            self.assertGreaterEqual(int(rest.min()), P.FLOOR, kind)
            self.assertGreaterEqual(int(rest.max(-1).min()), P.BRIGHT, kind)
            mouth = v[near_black(v)]
            if len(mouth):
                self.assertLessEqual(int(mouth.max()), P.NEAR_BLACK - 25, kind)

    def test_mouth_shut_in_silence(self):
        for seed in list(SEEDS['talk']) + list(SEEDS['mixed']):
            c = sample_clip(seed)
            m = c['meta']
            fps = m['fps']
            spans = [(s['start'], s['end']) for s in m['syllables']]
            counts = near_black(c['video']).sum((1, 2))
            silent = 0
            for f in range(m['n_frames']):
                t0, t1 = f / fps, (f + 1) / fps
                if not any(a < t1 and b > t0 for a, b in spans):
                    silent += 1
                    self.assertEqual(m['mouth_open'][f], 0.0, (seed, f))
                    self.assertEqual(int(counts[f]), 0, (seed, f))
            self.assertGreater(silent, 0, seed)  # every talk clip has a silent lead-in

    def test_lips_shut_on_m_b_p_and_widest_on_a(self):
        rng = np.random.default_rng(0)
        voice = dict(name='mid', pitch_hz=160.0, formant_scale=1.0, speed='normal', rate=1.0,
                     loudness=1.0)
        sr, n = 16000, 16000
        peaks = {}
        for syl in ('ma', 'ba', 'pa', 'mi', 'ta', 'la'):
            utt = speech.plan_speech(np.random.default_rng(1), voice, 0.1, 0.9, 1)
            s = utt[0]['syllables'][0]
            s['text'], s['amp'] = syl, P.VOWELS[syl[1]][1]
            segs = [(k, t0, t1, c) for k, t0, t1, c in s['segments'] if k == 'vowel']
            t = s['start']
            cons = []
            for kind, d, closed in speech.consonant_segments(syl[0], 1.0):
                cons.append((kind, t, t + d, closed))
                t += d
            vd = segs[0][2] - segs[0][1]
            s['segments'] = cons + [('vowel', t, t + vd, False)]
            s['end'], s['vowel_start'] = t + vd, t
            utt = [dict(start=s['start'], end=s['end'], syllables=[s])]
            wave, mouth, _ = speech.render_speech(utt, voice, n, sr, rng)
            c0, c1 = int(s['start'] * sr), int(t * sr)
            shut = [(a, b) for _, a, b, closed in cons if closed]
            if syl[0] in 'mbp':  # closure, burst and murmur with the lips shut (not aspiration)
                for a, b in shut:
                    self.assertEqual(float(mouth[int(a * sr):int(b * sr)].max()), 0.0, syl)
                if syl[0] == 'm':  # the lips are shut while the nasal murmur sounds
                    self.assertGreater(float(np.abs(wave[c0:c1]).max()), 0.01)
            else:
                self.assertGreater(float(mouth[c0:c1].max()), 0.0, syl)
            peaks[syl] = float(mouth.max())
        self.assertGreater(peaks['ma'], peaks['mi'] * 1.2)

    def test_mouth_area_follows_openness(self):
        head = render.Head('round', P.COLOURS['red'], 64.0, 64.0, 40.0, 0.0)
        areas = []
        for o in (0.2, 0.4, 0.6, 0.8, 1.0):
            fr = np.full((128, 128, 3), 128, np.uint8)
            head.paste(fr, 0, True)
            head.draw_mouth(fr, 0, o, P.VOWELS['a'][2])
            areas.append(int(near_black(fr[None]).sum()))
        self.assertTrue(all(b > a for a, b in zip(areas, areas[1:])), areas)
        ratio = np.array(areas) / np.array([0.2, 0.4, 0.6, 0.8, 1.0])
        self.assertLess(ratio.max() / ratio.min(), 1.25, areas)  # area ~ openness


class Captions(unittest.TestCase):
    def test_format(self):
        for kind, seeds in SEEDS.items():
            for seed in seeds:
                c = sample_clip(seed, kind=kind)
                cap, m = c['caption'], c['meta']
                self.assertEqual(cap.count('<AUDCAP>'), 1, cap)
                self.assertTrue(cap.endswith('<ENDAUDCAP>'), cap)
                self.assertEqual(cap.count('<S>'), cap.count('<E>'), cap)
                self.assertEqual(cap.count('<S>'), len(m['utterances']), cap)
                spoken = re.findall(r'<S>(.*?)<E>', cap)
                self.assertEqual([u.split() for u in spoken],
                                 [[s['text'] for s in u['syllables']] for u in m['utterances']])
                for syl in ' '.join(spoken).split():
                    self.assertRegex(syl, r'^[bpdtkmnlsf][aeiou]$')
                p = parse(cap)
                if kind != 'bounce':
                    ch = m['character']
                    self.assertEqual(p['head'], (ch['colour'], ch['shape']))
                    self.assertGreaterEqual(p['n_syllables'], 1, cap)
                if kind != 'talk':
                    self.assertEqual(p['object'], (m['object']['colour'], m['object']['name']))
                    self.assertEqual(p['n_impacts'], len(m['impacts']))
                    self.assertGreaterEqual(len(m['impacts']), 1)
                self.assertNotIn('  ', cap)


class Scene(unittest.TestCase):
    def test_backgrounds_keep_clear_of_subject_colours(self):
        pal = np.array(list(P.COLOURS.values()), np.float64)
        for place in P.PLACES:
            for seed in range(3):
                bg, _ = render.background(place, 96, np.random.default_rng(seed))
                x = bg.reshape(-1, 3).astype(np.float64)
                d = np.sqrt(((x[:, None] - pal[None]) ** 2).sum(-1)).min()
                self.assertGreaterEqual(d, P.MIN_PALETTE_DIST, place)
                self.assertGreaterEqual(int(bg.min()), P.FLOOR, place)
                self.assertGreaterEqual(int(bg.max(-1).min()), P.BRIGHT, place)

    def test_impacts_on_the_floor_and_audible(self):
        for seed in SEEDS['bounce']:
            c = sample_clip(seed, kind='bounce')
            m = c['meta']
            sr = m['sr']
            for imp in m['impacts']:
                f = imp['frame']
                self.assertEqual(m['object_bottom'][f], m['floor_y'])
                i = int(round(imp['time'] * sr))
                pre = np.sqrt(np.mean(c['audio'][max(0, i - 160):i] ** 2)) + 1e-6
                post = np.sqrt(np.mean(c['audio'][i:i + 160] ** 2))
                self.assertGreater(post / pre, 4.0, (seed, imp))
            frames = [i['frame'] for i in m['impacts']]
            self.assertEqual(frames, sorted(set(frames)))
            self.assertTrue(all(b - a >= 3 for a, b in zip(frames, frames[1:])), frames)

    def test_frame_bounds(self):
        b = frame_bounds(48, 16000, 16)
        self.assertEqual(b[0], 0)
        self.assertEqual(b[-1], 48000)
        self.assertTrue(np.all(np.diff(b) == 1000))


class Delivery(unittest.TestCase):
    def test_stream_and_batches(self):
        kw = dict(n_frames=8, size=32)
        clips = list(stream(seed=40, n=3, **kw))
        self.assertEqual(len(clips), 3)
        self.assertTrue(np.array_equal(clips[1]['video'], sample_clip(41, **kw)['video']))
        b = next(batches(2, seed=40, **kw))
        self.assertEqual(b['video'].shape, (2, 8, 32, 32, 3))
        self.assertEqual(b['audio'].shape, (2, 8000))
        self.assertEqual(b['captions'][0], clips[0]['caption'])

    def test_shards_round_trip(self):
        kw = dict(n_frames=8, size=32, fps=16, sr=16000)
        with tempfile.TemporaryDirectory() as d:
            idx = write_shards(d, 5, 70, per_shard=2, log=lambda *_: None, **kw)
            self.assertEqual([s['n'] for s in idx['shards']], [2, 2, 1])
            sh = load_shard(f"{d}/{idx['shards'][1]['file']}")
            ref = sample_clip(72, **kw)
            self.assertTrue(np.array_equal(sh['video'][0], ref['video']))
            self.assertLess(float(np.abs(sh['audio'][0] - ref['audio']).max()), 1.0 / 32767)
            self.assertEqual(sh['captions'][0], ref['caption'])
            self.assertEqual(sh['meta'][0]['seed'], 72)


if __name__ == '__main__':
    unittest.main()
