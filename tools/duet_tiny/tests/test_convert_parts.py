"""The per-part converters on tiny random checkpoints in upstream formats (ovi_upstream.py):
tools/convert_wan_vae.py (names, values bit for bit, inferred sizes, Wan2.2's latent table),
tools/convert_mmaudio_vae.py (magnitude-preserving weights baked: against a float64 statement of
MMAudio's formula and, through duet-tiny's decoder, against evaluating the raw weights),
tools/convert_bigvgan.py (weight norm folded as torch's own remove_parametrizations, both
name forms, filters passed through, --no-antialias), and their refusals: the offending tensor
named, exit status 1, no output and no temporary left.

Run (needs torch + safetensors): python3 -m unittest discover -s tools/duet_tiny/tests -t ."""
import contextlib
import io
import json
import math
import os
import tempfile
import unittest

import torch
from safetensors import safe_open

from tools.duet_tiny.tests import ovi_upstream as U
import convert_bigvgan  # noqa: E402  (tools/ is on sys.path via ovi_upstream)
import convert_mmaudio_vae  # noqa: E402
import convert_wan_vae  # noqa: E402
from tools.duet_tiny.audio import AudioVAE, Vocoder  # noqa: E402
from tools.duet_tiny.video_vae import WanVAE  # noqa: E402


def read(path):
    with safe_open(path, framework='pt') as f:
        return {k: f.get_tensor(k) for k in f.keys()}, f.metadata()


class Base(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = self.tmp.name

    def tearDown(self):
        self.tmp.cleanup()

    def path(self, name):
        return os.path.join(self.dir, name)

    def run_main(self, main, args):
        err, out = io.StringIO(), io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
            rc = main(args)
        return rc, out.getvalue(), err.getvalue()

    def refused(self, main, src, extra, needle):
        """Conversion fails with exit 1, the message names `needle`, nothing is left behind."""
        out = self.path('bad.safetensors')
        rc, _, err = self.run_main(main, [src, out, *extra])
        self.assertEqual(rc, 1, err)
        self.assertIn(needle, err)
        self.assertFalse(os.path.exists(out))
        self.assertFalse(os.path.exists(out + '.tmp'))


class WanVAETest(Base):
    def convert(self, sd, *args):
        src, out = self.path('Wan2.2_VAE.pth'), self.path('vae.safetensors')
        torch.save(sd, src)
        rc, stdout, err = self.run_main(convert_wan_vae.main, [src, out, *args])
        self.assertEqual(rc, 0, err)
        return read(out), stdout

    def stats(self, z):
        p = self.path('stats.json')
        with open(p, 'w') as f:
            json.dump({'mean': [0.01 * i for i in range(z)], 'std': [1 + 0.1 * i
                                                                     for i in range(z)]}, f)
        return p

    def test_names_values_config(self):
        sd = U.wan_vae_state()
        (got, meta), _ = self.convert(sd, '--latent-stats', self.stats(8), '--config-out',
                                      self.path('cfg.json'))
        self.assertEqual(set(got), {'video_vae.' + k for k in sd} |
                         {'video_vae.latent_mean', 'video_vae.latent_std'})
        for k, v in sd.items():
            self.assertTrue(torch.equal(got['video_vae.' + k], v), k)
        self.assertTrue(torch.equal(got['video_vae.latent_std'],
                                    torch.tensor([1 + 0.1 * i for i in range(8)])))
        self.assertEqual(json.loads(meta['config']), U.VAE)
        with open(self.path('cfg.json')) as f:
            self.assertEqual(json.load(f), {'video_vae': U.VAE})
        # the file loads strictly into the Wan2.2 VAE class (duet-tiny's restatement)
        WanVAE(U.VAE).load_state_dict({k[len('video_vae.'):]: v for k, v in got.items()})

    def test_other_sizes_and_dtype(self):
        cfg = dict(U.VAE, dim=6, dec_dim=10, num_res_blocks=2,
                   temperal_downsample=[True, False, True])
        (got, meta), _ = self.convert(U.wan_vae_state(cfg), '--latent-stats', self.stats(8),
                                      '--dtype', 'bf16', '--prefix', '')
        self.assertEqual(json.loads(meta['config']), cfg)
        self.assertEqual(got['decoder.head.2.weight'].dtype, torch.bfloat16)
        self.assertEqual(got['latent_mean'].dtype, torch.float32)

    def test_legacy_pickle(self):
        """A checkpoint in PyTorch's legacy (non-zip) format cannot be memory-mapped: loaded
        whole, with a warning."""
        src, out = self.path('legacy.pth'), self.path('vae.safetensors')
        torch.save(U.wan_vae_state(), src, _use_new_zipfile_serialization=False)
        with self.assertWarns(UserWarning):
            rc, _, err = self.run_main(convert_wan_vae.main,
                                       [src, out, '--latent-stats', self.stats(8)])
        self.assertEqual(rc, 0, err)

    def test_wan22_latent_table(self):
        """z = 48: the 48 means and stds of Wan2.2's vae2_2.py, without a stats file."""
        sd = U.wan_vae_state(dict(U.VAE, z_dim=48))
        (got, _), stdout = self.convert(sd)
        self.assertTrue(torch.equal(got['video_vae.latent_mean'],
                                    torch.tensor(convert_wan_vae.WAN22_LATENT_MEAN)))
        self.assertTrue(torch.equal(got['video_vae.latent_std'],
                                    torch.tensor(convert_wan_vae.WAN22_LATENT_STD)))
        self.assertEqual(len(convert_wan_vae.WAN22_LATENT_MEAN), 48)
        self.assertAlmostEqual(convert_wan_vae.WAN22_LATENT_STD[39], 1.6887)
        self.assertIn('vae2_2.py', stdout)

    def test_refusals(self):
        sd = U.wan_vae_state()
        src = self.path('bad.pth')
        st = ['--latent-stats', self.stats(8)]

        def bad(d, needle, extra=st):
            torch.save(d, src)
            self.refused(convert_wan_vae.main, src, extra, needle)
        bad({'module.' + k: v for k, v in sd.items()}, 'encoder.conv1.weight')
        bad(dict(sd, latent_mean=torch.zeros(8)), 'latent_mean')
        bad(dict(sd, **{'encoder.conv1.weight': torch.zeros(8, 12)}), 'encoder.conv1.weight')
        bad(dict(sd, **{'decoder.extra.weight': torch.zeros(3)}), 'decoder.extra.weight')
        gone = 'decoder.upsamples.2.upsamples.2.resample.1.bias'
        self.assertIn(gone, sd)
        bad({k: v for k, v in sd.items() if k != gone}, gone)
        wrong = dict(sd)
        wrong['decoder.middle.1.proj.weight'] = torch.zeros(32, 31, 1, 1)
        bad(wrong, 'decoder.middle.1.proj.weight')
        bad(sd, 'latent-stats', extra=[])            # z = 8 has no hard-coded table
        ints = dict(sd)
        ints['conv2.bias'] = torch.zeros(8, dtype=torch.int32)
        bad(ints, 'conv2.bias')
        bad([1, 2, 3], 'state dict')


def mp_reference(w):
    """MMAudio's MPConv1D.remove_weight_norm in float64: w / (1e-4 + |w_o| / sqrt(fan_in)) /
    sqrt(fan_in), |w_o| the norm of output channel o's weights."""
    w = w.double()
    fan_in = w[0].numel()
    norm = w.reshape(w.shape[0], -1).norm(dim=1).view(-1, *([1] * (w.ndim - 1)))
    return w / (1e-4 + norm / math.sqrt(fan_in)) / math.sqrt(fan_in)


class MMAudioVAETest(Base):
    def convert(self, sd, *args):
        src, out = self.path('v1-16.pth'), self.path('avae.safetensors')
        torch.save(sd, src)
        rc, stdout, err = self.run_main(convert_mmaudio_vae.main, [src, out, *args])
        self.assertEqual(rc, 0, err)
        return read(out), stdout

    def test_baked_weights(self):
        sd = U.mmaudio_state()
        (got, meta), _ = self.convert(sd, '--prefix', '')
        self.assertEqual(set(got), set(sd))
        cfg = json.loads(meta['config'])
        self.assertEqual(cfg, dict(U.AVAE, weights='mp_baked'))
        n_weights = 0
        for k, v in sd.items():
            if k.endswith('.weight'):
                n_weights += 1
                ref = mp_reference(v)
                err = (got[k].double() - ref).abs().max().item()
                self.assertLess(err, 1e-6 * ref.abs().max().item(), k)
                # each output channel's baked weights have norm 1 (up to eps = 1e-4 against
                # row RMS magnitudes of 0.1 and more here)
                rows = got[k].reshape(v.shape[0], -1).norm(dim=1)
                self.assertLess((rows - 1).abs().max().item(), 2e-3, k)
            else:  # statistics and gains copied bit for bit
                self.assertTrue(torch.equal(got[k], v), k)
        self.assertGreater(n_weights, 20)

    def test_decoder_matches_raw_evaluation(self):
        """duet-tiny's decoder (and encoder) on the converted file == the same modules
        normalizing the raw weights on the fly (the magnitude-preserving forward)."""
        sd = U.mmaudio_state(seed=3)
        (got, _), _ = self.convert(sd, '--prefix', '')
        raw = AudioVAE(U.AVAE)
        raw.load_state_dict(sd)
        baked = AudioVAE(U.AVAE)
        baked.bake()
        baked.load_state_dict(got)
        torch.manual_seed(0)
        z, mel = torch.randn(2, 6, 9), torch.randn(2, 80, 18) - 1.5
        with torch.no_grad():
            for a, b in ((raw.decode(z), baked.decode(z)), (raw.encode(mel), baked.encode(mel))):
                self.assertLess((a - b).abs().max().item(), 1e-5 * a.abs().max().item())
        self.assertGreater(float(sd['decoder.learnable_gain']), 0)  # the gain was exercised

    def test_data_stats_from_table_when_absent(self):
        sd = {k: v for k, v in U.mmaudio_state().items() if not k.startswith('data_')}
        (got, _), stdout = self.convert(sd)
        self.assertEqual(tuple(got['audio_vae.data_mean'].shape), (1, 80, 1))
        self.assertTrue(torch.equal(got['audio_vae.data_std'].flatten(),
                                    torch.tensor(convert_mmaudio_vae.DATA_STD_80D)))
        self.assertAlmostEqual(convert_mmaudio_vae.DATA_MEAN_80D[0], -1.6058)
        self.assertIn('DATA_MEAN_80D', stdout)

    def test_refusals(self):
        sd = U.mmaudio_state()
        src = self.path('bad.pth')

        def bad(d, needle):
            torch.save(d, src)
            self.refused(convert_mmaudio_vae.main, src, [], needle)
        bad({'generator': sd}, 'generator')                       # not a bare state dict
        bad(dict(sd, **{'vocoder.conv_pre.weight': torch.zeros(4, 80, 7)}),
            'vocoder.conv_pre.weight')
        bad({k: v for k, v in sd.items() if k != 'decoder.up.1.upsample.conv.weight'},
            'decoder.up.1.upsample.conv.weight')
        wrong = dict(sd)
        wrong['decoder.mid.attn_1.qkv.weight'] = torch.zeros(95, 32, 1)
        bad(wrong, 'decoder.mid.attn_1.qkv.weight')
        neg = dict(sd)
        neg['data_std'] = -neg['data_std']
        bad(neg, 'data_std')


class BigVGANTest(Base):
    ARGS = ['--upsample-rates', '8,8,4']

    def convert(self, gen, *args):
        src, out = self.path('best_netG.pt'), self.path('voc.safetensors')
        torch.save({'generator': gen, 'steps': 5}, src)   # other entries are ignored
        rc, stdout, err = self.run_main(convert_bigvgan.main, [src, out, *self.ARGS, *args])
        self.assertEqual(rc, 0, err)
        return read(out), stdout

    def check_folded(self, old_names):
        voc = U.weight_normed_vocoder(seed=1)
        gen = U.bigvgan_state(voc, old_names=old_names)
        (got, meta), _ = self.convert(gen, '--prefix', '')
        ref = U.folded_reference(voc)
        filters = {k for k in gen if k.endswith('filter')}
        self.assertEqual(set(got), set(ref) | filters)
        for k, v in ref.items():
            scale = v.abs().max().item()
            self.assertLess((got[k] - v).abs().max().item(), 1e-6 * scale, k)
        for k in filters:
            self.assertTrue(torch.equal(got[k], gen[k]), k)
        self.assertEqual(json.loads(meta['config']), dict(U.VOC, antialias=True))

    def test_fold_old_names(self):
        self.check_folded(True)

    def test_fold_parametrization_names(self):
        self.check_folded(False)

    def test_no_antialias_loads_into_vocoder(self):
        voc = U.weight_normed_vocoder(seed=2)
        (got, meta), stdout = self.convert(U.bigvgan_state(voc), '--no-antialias')
        self.assertFalse([k for k in got if k.endswith('filter')])
        self.assertFalse(json.loads(meta['config'])['antialias'])
        self.assertIn('--no-antialias', stdout)
        plain = Vocoder(U.VOC)
        plain.load_state_dict({k[len('vocoder.'):]: v for k, v in got.items()})  # strict
        ref = Vocoder(U.VOC)
        ref.load_state_dict({k: v for k, v in U.folded_reference(voc).items()})
        x = torch.randn(1, 80, 5)
        with torch.no_grad():
            a, b = plain(x), ref(x)
        self.assertLess((a - b).abs().max().item(), 1e-4)   # f32 rounding of the folds

    def test_refusals(self):
        gen = U.bigvgan_state(U.weight_normed_vocoder())
        src = self.path('bad.pt')

        def bad(obj, needle, extra=self.ARGS):
            torch.save(obj, src)
            self.refused(convert_bigvgan.main, src, extra, needle)
        bad(gen, "'generator'")                                    # bare state dict
        bad({'generator': {k: v for k, v in gen.items() if k != 'ups.1.0.weight_g'}},
            'ups.1.0.weight_g')
        plain = {k: v for k, v in gen.items() if not k.startswith('conv_post.weight')}
        plain['conv_post.weight'] = torch.zeros(1, 2, 7)
        bad({'generator': plain}, 'conv_post.weight')
        bad({'generator': dict(gen, **{'resblocks.9.convs1.0.bias': torch.zeros(2)})},
            'resblocks.9.convs1.0.bias')
        wrong = dict(gen)
        wrong['resblocks.4.activations.3.act.beta'] = torch.zeros(5)
        bad({'generator': wrong}, 'resblocks.4.activations.3.act.beta')
        bad({'generator': gen}, 'upsample rates', extra=[])        # MMAudio's 6 rates vs 3 ups
        mixed = dict(gen)
        mixed['conv_pre.parametrizations.weight.original0'] = mixed.pop('conv_pre.weight_g')
        bad({'generator': mixed}, 'conv_pre')


if __name__ == '__main__':
    unittest.main()
