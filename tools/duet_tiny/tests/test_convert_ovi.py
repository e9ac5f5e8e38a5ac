"""tools/convert_ovi.py on a tiny random checkpoint folder in Ovi's ckpts/ layout
(ovi_upstream.py): the model folder it writes (config.json sections and values, every tensor
under its prefix, the DiT copied byte for byte, the parts as their converters make them), the
refusals (a DiT tensor outside video_model. / audio_model., fp8, parts that do not fit
together, an existing output) with nothing left behind, and end to end: the C engine
(build/cli/duet, or $DUET_BIN) renders a two-shot job with the converted folder, loading every
part: DiT, text encoder, video VAE decoder and encoder (a reference image), audio VAE decoder
and encoder (a reference audio) and the vocoder.

The end-to-end conversion is the default one (BigVGAN's anti-aliasing filters kept, vocoder
"antialias": true), which the C vocoder implements.

Run (needs torch + safetensors, and the C build for the end-to-end test; tools/test.sh builds
first): python3 -m unittest discover -s tools/duet_tiny/tests -t ."""
import argparse
import contextlib
import io
import json
import os
import shutil
import struct
import subprocess
import tempfile
import unittest

import numpy as np
import torch
from safetensors import safe_open
from safetensors.torch import save_file

from tools.duet_tiny.tests import ovi_upstream as U
from tools.talkingshapes.pngio import write_png
import convert_ovi  # noqa: E402  (tools/ is on sys.path via ovi_upstream)

DUET = os.environ.get('DUET_BIN') or os.path.join(U.ROOT, 'build', 'cli', 'duet')
COMMON = ['--num-heads', '2', '--upsample-rates', '8,8,4']


class ConvertOviTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.ckpt = os.path.join(cls.tmp.name, 'ckpts')
        cls.paths, cls.stats = U.write_ckpt_dir(cls.ckpt)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def run_convert(self, out, *args, ckpt=None):
        err, stdout = io.StringIO(), io.StringIO()
        argv = ['--ckpt-dir', ckpt or self.ckpt, '-o', out, '--video-latent-stats', self.stats,
                '--quiet', *COMMON, *args]
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(stdout):
            rc = convert_ovi.main(argv)
        return rc, stdout.getvalue(), err.getvalue()

    def convert(self, name, *args):
        out = os.path.join(self.tmp.name, name)
        if not os.path.exists(out):
            rc, _, err = self.run_convert(out, *args)
            self.assertEqual(rc, 0, err)
        return out

    def test_folder(self):
        out = self.convert('ovi-aa')
        self.assertEqual(sorted(os.listdir(out)), ['config.json', 'model.safetensors',
                                                   'tokenizer.model'])
        self.assertFalse(os.path.exists(out + '.partial'))
        with open(os.path.join(out, 'config.json')) as f:
            cfg = json.load(f)
        self.assertEqual(cfg['sampler'], dict(
            solver='unipc', steps=50, shift=5.0, video_guidance_scale=4.0,
            audio_guidance_scale=3.0, slg_layer=11,
            video_negative_prompt='jitter, bad hands, blur, distortion',
            audio_negative_prompt='robotic, muffled, echo, distorted'))
        self.assertEqual(cfg['clip'], dict(fps=24, n_frames=121, size=704, size_multiple=32,
                                           sample_rate_hz=16000, n_samples=80384,
                                           target_area_px=518400,
                                           audio_prompt='<AUDCAP>...<ENDAUDCAP>'))
        self.assertEqual(cfg['latent'], dict(video_frames=31, video_h=44, video_w=44,
                                             audio_tokens=157))
        self.assertEqual(cfg['video_model'], U.VIDEO)
        self.assertEqual(cfg['audio_model'], U.AUDIO)
        self.assertEqual(cfg['video_vae'], U.VAE)
        self.assertEqual(cfg['audio_vae'], dict(U.AVAE, weights='mp_baked'))
        self.assertEqual(cfg['vocoder'], dict(U.VOC, antialias=True))
        self.assertEqual({k: cfg['text_encoder'][k] for k in U.T5}, U.T5)
        self.assertEqual((cfg['text_encoder']['pad_id'], cfg['text_encoder']['eos_id']), (0, 1))
        self.assertEqual(cfg['mel']['hop'], 256)
        with open(os.path.join(out, 'tokenizer.model'), 'rb') as a, open(U.TOKENIZER, 'rb') as b:
            self.assertEqual(a.read(), b.read())
        with safe_open(os.path.join(out, 'model.safetensors'), framework='pt') as f:
            names = list(f.keys())
            dit = {k: f.get_tensor(k) for k in names if k.startswith(('video_model.',
                                                                       'audio_model.'))}
            voc_filters = [k for k in names if k.startswith('vocoder.') and 'filter' in k]
            self.assertEqual(f.metadata()['model'], 'ovi-720x720_5s')
        self.assertTrue(all(k.startswith(tuple(cfg['prefixes'])) for k in names))
        src = U.dit_state()
        self.assertEqual(set(dit), set(src))
        for k, v in src.items():   # byte for byte, still bf16
            self.assertEqual(dit[k].dtype, torch.bfloat16, k)
            self.assertTrue(torch.equal(dit[k].view(torch.int16), v.view(torch.int16)), k)
        self.assertEqual(len(voc_filters), 2 * (9 * 6 + 1))   # every Activation1d's two filters
        n = {p: sum(k.startswith(p) for k in names) for p in cfg['prefixes']}
        self.assertEqual(n['text_encoder.'], len(U.t5_state()))
        self.assertEqual(n['video_vae.'], len(U.wan_vae_state()) + 2)
        self.assertEqual(n['audio_vae.'], len(U.mmaudio_state()))

    def test_check_only_writes_nothing(self):
        out = os.path.join(self.tmp.name, 'never')
        rc, stdout, err = self.run_convert(out, '--check-only')
        self.assertEqual(rc, 0, err)
        self.assertIn('"slg_layer": 11', stdout)
        self.assertFalse(os.path.exists(out))

    def refused(self, needle, dit=None, avae=None, args=(), out_exists=False):
        root = tempfile.mkdtemp(dir=self.tmp.name)
        ckpt = os.path.join(root, 'ckpts')
        shutil.copytree(self.ckpt, ckpt)
        if dit is not None:
            save_file(dit, os.path.join(ckpt, U.LAYOUT['dit']))
        if avae is not None:
            torch.save(avae, os.path.join(ckpt, U.LAYOUT['audio_vae']))
        out = os.path.join(root, 'model')
        if out_exists:
            os.makedirs(out)
        rc, _, err = self.run_convert(out, *args, ckpt=ckpt)
        self.assertEqual(rc, 1, err)
        self.assertIn(needle, err)
        self.assertEqual(os.path.exists(out), out_exists)
        self.assertFalse(os.path.exists(out + '.partial'))

    def test_refusals(self):
        dit = U.dit_state()
        self.refused('text_encoder.norm.weight',
                     dit=dict(dit, **{'text_encoder.norm.weight': torch.zeros(4)}))
        self.refused('audio_model.blocks.1.cross_attn.norm_k_fusion.weight',
                     dit={k: v for k, v in dit.items()
                          if k != 'audio_model.blocks.1.cross_attn.norm_k_fusion.weight'})
        self.refused('video_model.blocks.2.ffn.0.weight',
                     dit=dict(dit, **{'video_model.blocks.2.ffn.0.weight': torch.zeros(4, 4)}))
        self.refused('audio_model.patch_embedding.0.weight', dit=dict(
            dit, **{'audio_model.patch_embedding.0.weight': torch.zeros(32, 6)}))
        self.refused('heads do not divide', args=['--num-heads', '5'])
        self.refused('audio VAE embed_dim', avae=U.mmaudio_state(dict(U.AVAE, embed_dim=5)))
        self.refused('exists', out_exists=True)

    def test_failed_write_leaves_nothing(self):
        """A tensor that fails while model.safetensors is being written (a read error, a full
        disk) removes the half-written folder: no OUT, no OUT.partial."""
        args = argparse.Namespace(
            **{k: v for k, v in self.paths.items()}, num_heads=2, text_len=512,
            video_latent_stats=self.stats, no_antialias=False, upsample_rates=[8, 8, 4],
            dilations=None, variant='720x720_5s')
        cfg, named, _ = convert_ovi.plan_all(args)

        def broken():
            raise OSError('simulated read error')
        named[len(named) // 2][1].make, named[len(named) // 2][1].source = broken, None
        out = os.path.join(self.tmp.name, 'broken')
        with self.assertRaises(OSError):
            convert_ovi.write_folder(out, cfg, named, self.paths['tokenizer'], quiet=True)
        self.assertFalse(os.path.exists(out))
        self.assertFalse(os.path.exists(out + '.partial'))

    def test_fp8_refused(self):
        """A DiT stored as F8_E4M3 (Ovi's fp8 variant) is refused with a message."""
        dit = U.dit_state()
        src = os.path.join(self.tmp.name, 'fp8.safetensors')
        save_file(dit, src)
        with open(src, 'rb') as f:
            n = struct.unpack('<Q', f.read(8))[0]
            head = json.loads(f.read(n))
            data = f.read()
        k = 'video_model.blocks.0.ffn.0.weight'
        head[k]['dtype'] = 'F8_E4M3'   # (its byte count no longer fits: refused before that)
        raw = json.dumps(head).encode()
        with open(src, 'wb') as f:
            f.write(struct.pack('<Q', len(raw)) + raw + data)
        with self.assertRaises(convert_ovi.ConvertError) as e:
            convert_ovi.read_safetensors_header(src)
        self.assertIn(k, str(e.exception))
        self.assertIn('fp8', str(e.exception))

    def render(self, work, job, *args):
        with open(os.path.join(work, 'job.json'), 'w') as f:
            json.dump(job, f)
        r = subprocess.run([DUET, 'render', 'job.json', '--backend', 'cpu', '--progress=json',
                            *args], cwd=work, capture_output=True, text=True, timeout=900)
        return r.returncode, r.stdout + r.stderr

    def test_render_end_to_end(self):
        """duet render loads every converted part and renders (random weights: the clip is
        noise; this checks loading, shapes and the pipeline, not quality), with the clip and
        sampler settings the folder's config.json gives."""
        self.assertTrue(os.access(DUET, os.X_OK), f'{DUET} not built (meson compile -C build, '
                        'or set DUET_BIN): the end-to-end test needs it')
        model = self.convert('ovi-aa')
        work = tempfile.mkdtemp(dir=self.tmp.name)
        for name in ('face.png', 'voice.wav'):
            shutil.copy(os.path.join(U.ROOT, 'samples', name), work)
        shots = [dict(prompt='A red round head says <S>ba di<E>. <AUDCAP>a voice<ENDAUDCAP>',
                      image='face.png', audio='voice.wav', duration_s=1),
                 dict(prompt='A blue square head. <AUDCAP>a low hum<ENDAUDCAP>',
                      duration_s=1)]
        # As converted, the folder holds Ovi's clip: 704 px sides in steps of 32, 24 fps, and
        # skip-layer guidance at block 11, which the two-block test DiT does not have.
        rc, log = self.render(work, dict(model=model, output='out.mp4', width=64, shots=shots))
        self.assertNotEqual(rc, 0, log)
        self.assertIn('width', log)
        self.assertIn('[352, 1408]', log)
        rc, log = self.render(work, dict(model=model, output='out.mp4', fps=16, shots=shots))
        self.assertNotEqual(rc, 0, log)
        self.assertIn("must be 24 (the model's frame rate)", log)
        # Ovi's frame area: 720 x 720 within 10 % (960 x 544 is, 1024 x 704 is not)
        rc, log = self.render(work, dict(model=model, output='out.mp4', width=1024, height=704,
                                         shots=shots))
        self.assertNotEqual(rc, 0, log)
        self.assertIn('1024x704 is 720896 pixels a frame; this model takes 466560 to 570240',
                      log)
        rc, log = self.render(work, dict(model=model, output='out.mp4', width=960, height=544,
                                         steps=1, shots=shots))
        self.assertNotEqual(rc, 0, log)
        self.assertIn('sampler.slg_layer 11: the DiT has 2 blocks', log)
        self.assertFalse(os.path.exists(os.path.join(work, 'out.mp4')))
        # A small clip for the small DiT; the job leaves size, fps and steps to the model.
        model = shutil.copytree(model, os.path.join(work, 'ovi-small'))
        cfg_path = os.path.join(model, 'config.json')
        with open(cfg_path) as f:
            cfg = json.load(f)
        cfg['clip'].update(size=64, target_area_px=64 * 64)
        cfg['sampler'].update(steps=2, slg_layer=1)
        with open(cfg_path, 'w') as f:
            json.dump(cfg, f)
        # The first shot's image is 2:1 and the job gives no size: the frames take its aspect
        # at the folder's frame area (64 x 64 = 4096 px, sides in 32s), as Ovi's i2v sizes them:
        # 96 x 32 (docs/job-script.md, "Frame size from a reference image").
        wide = np.zeros((64, 128, 3), np.uint8)
        wide[:, :64] = (200, 40, 40)
        write_png(os.path.join(work, 'wide.png'), wide)
        shots[0]['image'] = 'wide.png'
        frames = os.path.join(work, 'frames')
        os.mkdir(frames)
        rc, log = self.render(work, dict(model=model, output='out.mp4', seed=3, shots=shots),
                              '--frames', frames)
        self.assertEqual(rc, 0, log)
        self.assertIn("frame size 96x32 from shot 0's image", log)
        self.assertIn('"stage":"load","state":"done"', log)
        for shot, stage in ((0, 'reference_encode'), (1, 'video_vae'), (1, 'audio_vae'),
                            (1, 'vocoder')):
            self.assertIn(f'"shot":{shot},"stage":"{stage}","state":"done"', log)
        self.assertIn('"shot":1,"stage":"sample","step":2,"steps":2', log)
        pngs = sorted(os.listdir(frames))
        self.assertEqual(len(pngs), 48, pngs)          # two 1 s shots at Ovi's 24 fps
        with open(os.path.join(frames, pngs[0]), 'rb') as f:
            width, height = struct.unpack('>II', f.read(24)[16:24])
        self.assertEqual((width, height), (96, 32))
        self.assertGreater(os.path.getsize(os.path.join(work, 'out.mp4')), 0)


if __name__ == '__main__':
    unittest.main()
