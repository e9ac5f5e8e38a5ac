"""tools/convert_umt5.py on small random T5 encoder state dicts (Wan's names, as in
models_t5_umt5-xxl-enc-bf16.pth): names, prefix, dtypes, values bit for bit, the config
metadata, the legacy pickle format, and refusals of files that are not a Wan T5 encoder.

Run (needs torch + safetensors): python3 -m unittest discover -s tools/duet_tiny/tests -t ."""
import json
import os
import struct
import sys
import tempfile
import unittest

import torch
from safetensors import safe_open

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(os.path.dirname(HERE)))  # tools/
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(HERE))))  # the repository root
import convert_umt5  # noqa: E402
from tools.duet_tiny import text  # noqa: E402

CFG = dict(vocab_size=37, dim=16, dim_attn=12, dim_ffn=20, num_heads=3, num_layers=3,
           num_buckets=32, max_dist=128, text_len=512, eps=1e-6)


def random_state(dtype=torch.bfloat16, seed=1):
    """T5Encoder's state dict with random values (Wan ships it in bf16)."""
    torch.manual_seed(seed)
    model = text.T5Encoder(CFG)
    return {k: (torch.randn(v.shape) * 0.5).to(dtype) for k, v in model.state_dict().items()}


class ConvertTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = self.tmp.name

    def tearDown(self):
        self.tmp.cleanup()

    def save(self, sd, legacy=False):
        path = os.path.join(self.dir, 'enc.pth')
        torch.save(sd, path, _use_new_zipfile_serialization=not legacy)
        return path

    def convert(self, sd, *args, legacy=False):
        out = os.path.join(self.dir, 'out.safetensors')
        rc = convert_umt5.main([self.save(sd, legacy), out, *args])
        return rc, out

    def read(self, path):
        with safe_open(path, framework='pt') as f:
            return {k: f.get_tensor(k) for k in f.keys()}, f.metadata()

    def test_names_values_config(self):
        sd = random_state()
        rc, out = self.convert(sd, '--config-out', os.path.join(self.dir, 'cfg.json'))
        self.assertEqual(rc, 0)
        got, meta = self.read(out)
        self.assertEqual(set(got), {'text_encoder.' + k for k in sd})
        for k, v in sd.items():
            t = got['text_encoder.' + k]
            self.assertEqual(t.dtype, torch.bfloat16)
            self.assertTrue(torch.equal(t.view(torch.int16), v.view(torch.int16)), k)
        cfg = json.loads(meta['config'])
        self.assertEqual(cfg, CFG)
        with open(os.path.join(self.dir, 'cfg.json')) as f:
            self.assertEqual(json.load(f), {'text_encoder': CFG})
        # header padded so the data section is 8-byte aligned; nothing after the last tensor
        with open(out, 'rb') as f:
            n = struct.unpack('<Q', f.read(8))[0]
            header = json.loads(f.read(n))
        self.assertEqual(n % 8, 0)
        end = max(v['data_offsets'][1] for k, v in header.items() if k != '__metadata__')
        self.assertEqual(os.path.getsize(out), 8 + n + end)
        self.assertFalse(os.path.exists(out + '.tmp'))

    def test_loads_into_t5encoder(self):
        """The names are upstream's: the converted file loads strictly into text.T5Encoder."""
        sd = random_state()
        rc, out = self.convert(sd, '--prefix', '')
        self.assertEqual(rc, 0)
        got, _ = self.read(out)
        model = text.T5Encoder(CFG)
        model.load_state_dict({k: v.float() for k, v in got.items()}, strict=True)

    def test_f32_source_rounds_to_nearest(self):
        sd = random_state(torch.float32)
        rc, out = self.convert(sd)
        self.assertEqual(rc, 0)
        got, _ = self.read(out)
        for k, v in sd.items():
            self.assertTrue(torch.equal(got['text_encoder.' + k], v.to(torch.bfloat16)), k)
        rc, out = self.convert(sd, '--dtype', 'f32')
        got, _ = self.read(out)
        self.assertTrue(all(torch.equal(got['text_encoder.' + k], v) for k, v in sd.items()))

    def test_legacy_format(self):
        sd = random_state()
        with self.assertWarns(UserWarning):
            rc, out = self.convert(sd, legacy=True)
        self.assertEqual(rc, 0)
        got, _ = self.read(out)
        self.assertEqual(len(got), len(sd))

    def test_wrapped_state_dict(self):
        rc, out = self.convert({'state_dict': random_state()})
        self.assertEqual(rc, 0)

    def refused(self, sd):
        out = os.path.join(self.dir, 'bad.safetensors')
        self.assertEqual(convert_umt5.main([self.save(sd), out]), 1)
        self.assertFalse(os.path.exists(out))

    def test_refusals(self):
        sd = random_state()
        shared = dict(sd, **{'pos_embedding.embedding.weight': sd['blocks.0.pos_embedding.'
                                                                   'embedding.weight']})
        self.refused(shared)                                       # shared_pos=True
        self.refused({'module.' + k: v for k, v in sd.items()})    # a wrapper prefix
        self.refused({k: v for k, v in sd.items() if k != 'blocks.1.ffn.fc2.weight'})
        self.refused({k: v for k, v in sd.items() if not k.startswith('blocks.2.')} |
                     {'blocks.3.' + k[9:]: v for k, v in sd.items() if k.startswith('blocks.2.')})
        wrong = dict(sd)
        wrong['blocks.2.attn.o.weight'] = wrong['blocks.2.attn.o.weight'][:, :-1]
        self.refused(wrong)
        ints = dict(sd)
        ints['norm.weight'] = torch.ones(CFG['dim'], dtype=torch.int32)
        self.refused(ints)


if __name__ == '__main__':
    unittest.main()
