"""The C engine against the PyTorch reference end to end: from the same seeded noise
(tools/duet_tiny/noise.py) a whole `duet render` and sample.generate give the same clip; and
evaluate.py --engine c renders the held-out prompts and references through `duet render` and
scores its MP4 as the PyTorch samples are (2 sampler steps there: that checks the plumbing)."""
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


    def test_render_equals_pytorch(self):
        """A talking prompt, 10 UniPC steps with CFG, the shipped duet-tiny, 49 frames: the
        frames `duet render --frames` writes are within 40 dB PSNR of PyTorch's (measured: 93 dB
        at 30 steps, at most 1 level apart) and its --wav is PyTorch's waveform (correlation
        0.99999999 measured; the C engine's is loudness-normalized: a gain)."""
        import json
        import subprocess
        from scipy.io import wavfile
        from tools.duet_tiny.sample import generate
        models, cfg, tok = load(MODEL)
        prompt = ('A red round head in a room, close-up, says <S>ba di mo ka<E>. '
                  '<AUDCAP>a mid voice speaks, a low hum<ENDAUDCAP>')
        want, want_wav, _ = generate(models, tok, cfg, prompt, seed=7, steps=10, noise='duet')
        with tempfile.TemporaryDirectory() as work:
            job = dict(model=MODEL, output='c.mp4', seed=7, steps=10, shots=[dict(
                prompt=prompt, duration_s=C.CLIP['n_frames'] / C.CLIP['fps'])])
            with open(os.path.join(work, 'job.json'), 'w') as f:
                json.dump(job, f)
            os.mkdir(os.path.join(work, 'fr'))
            subprocess.run([DUET, 'render', 'job.json', '--backend', 'cpu', '--quiet',
                            '--frames', 'fr', '--wav', 'c.wav'], cwd=work, check=True)
            got = _pngs(os.path.join(work, 'fr'))
            _, got_wav = wavfile.read(os.path.join(work, 'c.wav'))
        self.assertEqual(got.shape, want.shape)
        mse = float(((got.astype(np.float64) - want) ** 2).mean())
        psnr = 10 * np.log10(255.0 ** 2 / max(mse, 1e-12))
        self.assertGreater(psnr, 40.0, psnr)
        n = min(len(got_wav), len(want_wav))
        self.assertGreater(len(got_wav), 48000)
        corr = float(np.corrcoef(got_wav[:n].astype(np.float64), want_wav[:n])[0, 1])
        self.assertGreater(corr, 0.9999, corr)


def _pngs(folder):
    """uint8 [n, H, W, 3] of duet render --frames PNGs (shot00_0000.png, ...), decoded
    losslessly by ffmpeg."""
    import struct
    import subprocess
    names = sorted(os.listdir(folder))
    with open(os.path.join(folder, names[0]), 'rb') as f:
        w, h = struct.unpack('>II', f.read(24)[16:24])
    raw = subprocess.run(['ffmpeg', '-v', 'error', '-i', os.path.join(folder, 'shot00_%04d.png'),
                          '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'], capture_output=True,
                         check=True).stdout
    return np.frombuffer(raw, np.uint8).reshape(len(names), h, w, 3)


if __name__ == '__main__':
    unittest.main()
