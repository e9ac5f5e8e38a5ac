"""evaluate.py --engine c: the C engine renders the held-out prompts and references through
`duet render` and its MP4 is scored as the PyTorch samples are (2 sampler steps here: this
checks the plumbing, not quality)."""
import os
import tempfile
import unittest

import numpy as np

from tools.duet_tiny import evaluate as E
from tools.duet_tiny import config as C
from tools.duet_tiny.export import load

DUET = os.environ.get('DUET_BIN') or os.path.join(E.ROOT, 'build', 'cli', 'duet')
MODEL = os.path.join(E.ROOT, 'models', 'duet-tiny')


class EngineC(unittest.TestCase):
    def test_tasks_render_and_score(self):
        self.assertTrue(os.access(DUET, os.X_OK), f'{DUET} not built (meson compile -C build, '
                        'or set DUET_BIN)')
        models, cfg, tok = load(MODEL)
        engine = dict(duet=DUET, backend='cpu')
        for task in ('talk', 'i2v', 'a2v'):
            rows = E.run_task(task, models, tok, cfg, 1, 'tools.talkingshapes.world:sample_clip',
                              lambda *_: None, steps=2, engine=engine, model_dir=MODEL)
            self.assertEqual(len(rows), 1, task)
            r = rows[0]
            for key in ('colour_ok', 'shape_ok', 'syllables_ok', 'r0', 'best_lag', 'lip_pass'):
                self.assertIn(key, r, task)
            self.assertEqual(r['seed'], E.EVAL_SEED0 + 10_000 * E.TASKS.index(task))

    def test_render_c_geometry(self):
        """One clip as the metrics see it: 49 frames of 128 x 128 at 16 fps and 3.06 s of
        16 kHz sound decoded back from the MP4."""
        video, audio, caption = E.reference_clip(E.EVAL_SEED0, 'talk',
                                                 'tools.talkingshapes.world:sample_clip')
        with tempfile.TemporaryDirectory() as work:
            frames, wav = E.render_c(dict(duet=DUET, backend='cpu'), MODEL, caption, 0, 2,
                                     dict(image=video[0]), {}, work)
        self.assertEqual(frames.shape, (C.CLIP['n_frames'], 128, 128, 3))
        n = C.CLIP['n_frames'] * C.CLIP['sample_rate_hz'] // C.CLIP['fps']
        self.assertLessEqual(abs(len(wav) - n), 1024, len(wav))   # AAC frames of 1024
        self.assertGreater(float(np.abs(wav).max()), 0.01)


if __name__ == '__main__':
    unittest.main()
