"""Unit tests for tools/duet_tiny (run: python -m unittest discover -s tools/duet_tiny/tests -t .).

They check the properties the C engine relies on: chunked causal decoding equals whole-clip
decoding, layouts (patchify, unpatchify, token order), RoPE tables, per-token timesteps,
skip-layer guidance, T5 buckets and masking, mel shapes, MP weight baking, latent-scale folding,
the sampler against closed forms, and export round trips. (The modules were also compared once
against the upstream Wan2.2 / Ovi / MMAudio code with identical weights: max abs differences
<= 1.3e-6; that comparison needs the upstream sources and is not part of this suite.)
"""
import math
import os
import tempfile
import unittest

import numpy as np
import torch

from tools.duet_tiny import config as C
from tools.duet_tiny.audio import AudioVAE, MelConverter, Vocoder, mel_filterbank
from tools.duet_tiny.dit import FusionModel, rope_apply, rope_audio_angles, rope_video_angles
from tools.duet_tiny.schedulers import EulerSampler, UniPCSampler, shifted_schedule
from tools.duet_tiny.text import T5Encoder, encode_context, relative_bucket
from tools.duet_tiny.video_vae import WanVAE, patchify, unpatchify

torch.set_num_threads(2)


def small_cfg():
    cfg = C.preset('cpu')
    cfg['video_vae'] = dict(cfg['video_vae'], dim=4, dec_dim=4)
    cfg['audio_vae'] = dict(cfg['audio_vae'], hidden_dim=8)
    cfg['vocoder'] = dict(cfg['vocoder'], upsample_initial_channel=16)
    cfg['dit'] = dict(cfg['dit'], dim=32, ffn_dim=64, num_heads=2, num_layers=3)
    cfg['text'] = dict(cfg['text'], dim=32, dim_attn=32, dim_ffn=64, num_layers=2,
                       vocab_size=300)
    return cfg


class VideoVAE(unittest.TestCase):
    def setUp(self):
        torch.manual_seed(0)
        self.vae = WanVAE(small_cfg()['video_vae']).eval()
        for p in self.vae.parameters():       # non-trivial weights (attention proj is zero-init)
            p.data.normal_(0, 0.2)

    def test_patchify_layout(self):
        x = torch.arange(2 * 3 * 4 * 4, dtype=torch.float32).view(1, 2, 3, 4, 4)
        p = patchify(x)
        # channel c*4 + r*2 + q holds pixel (h*2 + q, w*2 + r) of channel c
        c, r, q, f, h, w = 1, 1, 0, 2, 1, 0
        self.assertEqual(p[0, c * 4 + r * 2 + q, f, h, w], x[0, c, f, h * 2 + q, w * 2 + r])
        self.assertTrue(torch.equal(unpatchify(p), x))

    def test_chunked_equals_whole(self):
        with torch.no_grad():
            x = torch.rand(1, 3, 9, 32, 32) * 2 - 1
            a, _ = self.vae.encode_raw(x)
            b, _ = self.vae.encode_raw(x, chunked=True)
            self.assertEqual(tuple(a.shape), (1, 16, 3, 2, 2))
            self.assertLess((a - b).abs().max().item(), 1e-4 * a.abs().max().item())
            z = torch.randn(1, 16, 3, 2, 2)
            y1, y2 = self.vae.decode_raw(z), self.vae.decode_raw(z, chunked=True)
            self.assertEqual(tuple(y1.shape), (1, 3, 9, 32, 32))
            self.assertLess((y1 - y2).abs().max().item(), 1e-4 * y1.abs().max().item())

    def test_causal(self):
        # later frames never change earlier outputs
        with torch.no_grad():
            z = torch.randn(1, 16, 3, 2, 2)
            y = self.vae.decode_raw(z)
            z2 = z.clone()
            z2[:, :, 2] += 1.0
            y2 = self.vae.decode_raw(z2)
            self.assertTrue(torch.allclose(y[:, :, :5], y2[:, :, :5], atol=1e-5))
            self.assertFalse(torch.allclose(y[:, :, 5:], y2[:, :, 5:], atol=1e-3))

    def test_normalization_and_clamp(self):
        self.vae.latent_mean.fill_(0.5)
        self.vae.latent_std.fill_(2.0)
        with torch.no_grad():
            x = torch.rand(1, 3, 5, 32, 32) * 2 - 1
            mu, _ = self.vae.encode_raw(x)
            self.assertTrue(torch.allclose(self.vae.encode(x), (mu - 0.5) / 2.0, atol=1e-6))
            y = self.vae.decode(torch.randn(1, 16, 2, 2, 2) * 10)
            self.assertLessEqual(y.abs().max().item(), 1.0)


class Text(unittest.TestCase):
    def test_buckets(self):
        # bidirectional, 32 buckets, max distance 128: 0..7 exact, 16 + n for keys after the
        # query, logarithmic beyond 8, saturating at 15 / 31.
        rel = torch.tensor([0, -1, -7, 1, 7, -8, 8, -127, 127, -500, 500])
        got = relative_bucket(rel, 32, 128).tolist()
        exp = [0, 1, 7, 17, 23]
        exp += [8 + int(math.log(8 / 8) / math.log(128 / 8) * 8)] * 2
        exp[-1] += 16
        self.assertEqual(got[:7], exp)
        self.assertEqual(got[7:], [15, 31, 15, 31])

    def test_mask_equals_trimmed(self):
        torch.manual_seed(0)
        enc = T5Encoder(small_cfg()['text']).eval()
        ids = torch.randint(3, 300, (2, 12))
        mask = torch.ones(2, 12, dtype=torch.bool)
        mask[1, 7:] = False
        with torch.no_grad():
            ctx = encode_context(enc, ids, mask, 20)
            alone = enc(ids[1:, :7])
        self.assertEqual(tuple(ctx.shape), (2, 20, 32))
        self.assertLess((ctx[1, :7] - alone[0]).abs().max().item(), 1e-5)
        self.assertEqual(ctx[1, 7:].abs().max().item(), 0.0)

    def test_tokenizer(self):
        from tools.duet_tiny.tests.standin import sample_clip
        from tools.duet_tiny.text import EOS_ID, Tokenizer, train_tokenizer
        caps = [sample_clip(i, n_frames=4, size=16)['caption'] for i in range(40)]
        with tempfile.TemporaryDirectory() as d:
            tok = Tokenizer(train_tokenizer(caps, os.path.join(d, 'tok'), 300))
            ids = tok.encode(caps[0], 64)
            self.assertEqual(ids[-1], EOS_ID)
            self.assertEqual(tok.sp.decode(ids[:-1]), caps[0])
            self.assertEqual(tok.sp.id_to_piece(tok.encode('<AUDCAP>', 8)[-2]), '<AUDCAP>')
            self.assertEqual(len(tok.encode(caps[0], 5)), 5)
            self.assertEqual(tok.encode('', 5), [EOS_ID])
            self.assertGreater(len(tok.encode('\u00e9\u4e2d', 16)), 2)   # byte fallback


class DiT(unittest.TestCase):
    def setUp(self):
        torch.manual_seed(0)
        vc, ac = C.tower_configs(small_cfg())
        self.m = FusionModel(vc, ac).eval()
        for p in self.m.parameters():
            p.data.normal_(0, 0.1)

    def inputs(self, b=1):
        g = torch.Generator().manual_seed(1)
        return (torch.randn(b, 16, 3, 4, 4, generator=g), torch.randn(b, 10, 20, generator=g),
                torch.full((b, 12), 500.0), torch.full((b, 10), 500.0),
                torch.randn(b, 7, 32, generator=g), torch.randn(b, 9, 32, generator=g))

    def test_rope_tables(self):
        ang = rope_video_angles(32, 3, 4, 5).reshape(3, 4, 5, 16)
        # 6 temporal pairs vary with f only, 5 h pairs with h only, 5 w pairs with w only
        self.assertTrue(torch.equal(ang[1, 0, 0, :6], ang[1, 3, 4, :6]))
        self.assertTrue(torch.equal(ang[0, 2, 0, 6:11], ang[2, 2, 3, 6:11]))
        self.assertAlmostEqual(ang[1, 0, 0, 1].item(), 10000 ** (-2 / 12), places=12)
        self.assertAlmostEqual(ang[0, 1, 0, 7].item(), 10000 ** (-2 / 10), places=12)
        aud = rope_audio_angles(32, 8, 0.25)
        self.assertAlmostEqual(aud[4, 0].item(), 1.0, places=12)      # 4 * 0.25 = frame 1
        self.assertTrue(torch.equal(aud[:, 6:], torch.zeros(8, 10, dtype=torch.float64)))
        # audio token 4 (at 0.25 scale) and video frame 1 share temporal angles
        self.assertTrue(torch.allclose(aud[4, :6], ang[1, 0, 0, :6]))
        x = torch.randn(1, 8, 2, 32)
        y = rope_apply(x, aud)
        self.assertTrue(torch.equal(y[..., 12:], x[..., 12:]))
        self.assertTrue(torch.allclose(y.norm(dim=-1), x.norm(dim=-1), atol=1e-5))

    def test_shapes_and_batch_independence(self):
        with torch.no_grad():
            a = self.inputs(2)
            v, au = self.m(*a)
            self.assertEqual(tuple(v.shape), (2, 16, 3, 4, 4))
            self.assertEqual(tuple(au.shape), (2, 10, 20))
            v1, a1 = self.m(*[x[1:] for x in a])
            self.assertLess((v[1:] - v1).abs().max().item(), 1e-5)
            self.assertLess((au[1:] - a1).abs().max().item(), 1e-5)

    def test_per_token_time_and_slg(self):
        with torch.no_grad():
            xv, xa, tv, ta, cv, ca = self.inputs()
            v0, a0 = self.m(xv, xa, tv, ta, cv, ca)
            tv2 = tv.clone()
            tv2[:, :4] = 0.0                        # first latent frame given clean
            v1, _ = self.m(xv, xa, tv2, ta, cv, ca)
            self.assertGreater((v0 - v1).abs().max().item(), 1e-4)
            v2, a2 = self.m(xv, xa, tv, ta, cv, ca, slg_layer=1)
            self.assertGreater((v0 - v2).abs().max().item(), 1e-4)
            v3, _ = self.m(xv, xa, tv, ta, cv, ca, slg_layer=0)   # Ovi: slg 0 skips nothing
            self.assertTrue(torch.equal(v0, v3))

    def test_text_padding_counts(self):
        # Ovi pads the context with zero rows before the text MLP and does not mask them
        with torch.no_grad():
            xv, xa, tv, ta, cv, ca = self.inputs()
            pad = torch.cat([cv, torch.zeros(1, 3, 32)], 1)
            a = self.m(xv, xa, tv, ta, cv, ca)[0]
            b = self.m(xv, xa, tv, ta, pad, ca)[0]
            self.assertLess((a - b).abs().max().item(), 1e-5)

    def test_unpatchify_order(self):
        V = self.m.video_model
        h = torch.arange(2 * 3 * 4 * 64, dtype=torch.float32).view(1, 24, 64)
        out = V.unpatchify(h.view(1, 24, 64), (2, 3, 4))
        # token (f, y, x), channel (q r c): q = row offset, r = column offset
        f, y, x, q, r, c = 1, 2, 3, 1, 0, 5
        tok = (f * 3 + y) * 4 + x
        self.assertEqual(out[0, c, f, y * 2 + q, x * 2 + r], h[0, tok, (q * 2 + r) * 16 + c])


class Audio(unittest.TestCase):
    def test_mel(self):
        fb = mel_filterbank()
        self.assertEqual(fb.shape, (80, 513))
        self.assertTrue((fb >= 0).all())
        self.assertTrue((fb.sum(1) > 0).all())
        self.assertEqual(fb[:, 513 - 1].sum(), 0.0)       # nothing at 8 kHz exactly
        mel = MelConverter(C.MEL)
        w = torch.sin(torch.arange(4096) / 16000 * 2 * math.pi * 1000)[None] * 0.5
        m = mel(w)
        self.assertEqual(tuple(m.shape), (1, 80, 16))
        peak = m[0, :, 8].argmax().item()
        centers = np.argmax(fb, axis=1) * 16000 / 1024
        self.assertLess(abs(centers[peak] - 1000), 100)
        self.assertAlmostEqual(mel(torch.zeros(1, 1024)).min().item(), -5.0, places=4)

    def test_bake_and_fold(self):
        torch.manual_seed(0)
        av = AudioVAE(small_cfg()['audio_vae']).eval()
        m = torch.randn(2, 80, 16)
        with torch.no_grad():
            z = av.encode(m)
            d = av.decode(z)
            av.bake()
            self.assertLess((av.encode(m) - z).abs().max().item(), 1e-5)
            std = torch.linspace(0.5, 2.0, 20)
            av.fold_latent_scale(std)
            z2 = av.encode(m)
            self.assertLess((z2 - z / std.view(1, -1, 1)).abs().max().item(), 1e-5)
            self.assertLess((av.decode(z2) - d).abs().max().item(), 1e-4)
        self.assertEqual(tuple(z.shape), (2, 20, 8))

    def test_vocoder_length(self):
        voc = Vocoder(small_cfg()['vocoder']).eval()
        with torch.no_grad():
            y = voc(torch.randn(1, 80, 6))
        self.assertEqual(tuple(y.shape), (1, 1, 6 * 256))
        self.assertLessEqual(y.abs().max().item(), 1.0)


class Samplers(unittest.TestCase):
    def test_schedule(self):
        ts, sig = shifted_schedule(50, 5.0)
        self.assertEqual(ts[0], 999)
        self.assertEqual(len(sig), 51)
        self.assertEqual(sig[-1], 0.0)
        s = np.linspace(0.999, 0, 51)[10]
        self.assertAlmostEqual(float(sig[10]), 5 * s / (1 + 4 * s), places=6)
        self.assertEqual(ts[10], int(5 * s / (1 + 4 * s) * 1000))

    def test_exact_on_straight_paths(self):
        # v = noise - x0 constant: both samplers must land on x0.
        g = torch.Generator().manual_seed(0)
        x0, noise = torch.randn(3, 4, generator=g), torch.randn(3, 4, generator=g)
        for cls in (UniPCSampler, EulerSampler):
            s = cls(7, 3.0)
            x = (1 - float(s.sigmas[0])) * x0 + float(s.sigmas[0]) * noise
            for _ in range(7):
                x = s.step(noise - x0, x)
            self.assertLess((x - x0).abs().max().item(), 1e-5, cls.__name__)

    def test_unipc_second_order(self):
        # On a curved field UniPC must beat Euler at equal steps.
        def field(x, sigma):
            return torch.sin(3 * x) * 0 + (x - 0.5 * torch.tanh(x)) / max(sigma, 1e-3) * 0.3
        errs = {}
        for cls in (UniPCSampler, EulerSampler):
            res = []
            for n in (8, 200):
                s = cls(n, 1.0)
                x = torch.linspace(-2, 2, 9, dtype=torch.float64)
                for i in range(n):
                    x = s.step(field(x, float(s.sigmas[i])), x)
                res.append(x)
            errs[cls.__name__] = (res[0] - res[1]).abs().max().item()
        self.assertLess(errs['UniPCSampler'], errs['EulerSampler'])


class Export(unittest.TestCase):
    def test_round_trip(self):
        from tools.duet_tiny import export as X
        from tools.duet_tiny.tests.standin import sample_clip
        from tools.duet_tiny.text import train_tokenizer
        torch.manual_seed(0)
        cfg = small_cfg()
        with tempfile.TemporaryDirectory() as d:
            caps = [sample_clip(i, n_frames=4, size=16)['caption'] for i in range(30)]
            tp = train_tokenizer(caps, os.path.join(d, 'tok'), 300)
            models = X.build(cfg, vocab_size=300)
            for m in models.values():
                m.eval()
            out = os.path.join(d, 'export')
            X.save(models, cfg, tp, out, '# card\n')
            loaded, cfg2, tok = X.load(out)
            self.assertEqual(cfg2['dit'], cfg['dit'])
            with torch.no_grad():
                for key in ('video_vae', 'audio_vae', 'vocoder', 'text_encoder'):
                    a, b = models[key].state_dict(), loaded[key].state_dict()
                    for k in a:
                        self.assertTrue(torch.equal(a[k].float(), b[k].float()), f'{key}.{k}')
                sd = loaded['dit'].state_dict()
                for k, v in models['dit'].state_dict().items():
                    self.assertTrue(torch.equal(v, sd[k]), k)
            names = set(X.flat_state(models))
            self.assertIn('video_model.blocks.0.cross_attn.k_fusion.weight', names)
            self.assertIn('audio_model.patch_embedding.2.w1.weight', names)
            self.assertIn('text_encoder.blocks.1.pos_embedding.embedding.weight', names)
            self.assertIn('video_vae.decoder.upsamples.0.upsamples.2.time_conv.weight', names)
            self.assertIn('vocoder.resblocks.0.activations.0.act.alpha', names)


if __name__ == '__main__':
    unittest.main()
