#!/usr/bin/env python3
"""Golden reference for the umT5-style text encoder (encoders/text_encoder.c).

Regenerate (from the repository root; deterministic, CPU only, about a second):

    python3 tools/golden/text_encoder.py tests/golden

Writes tests/golden/text_encoder.safetensors and tests/golden/text_encoder_umt5.safetensors.

The model is the project's PyTorch statement of Wan's T5 encoder, tools/duet_tiny/text.py
(T5Encoder, itself a restatement of Wan2.2 wan/modules/t5.py with shared_pos=False, as
umT5-XXL uses), at a small size with random weights: vocab 50, dim 32, dim_attn 24 (3 heads of
8: q/k/v narrower than the model so that a transposed projection cannot pass), FFN 40, 2 layers,
32 relative-position buckets, max distance 128, eps 1e-6.

Two id sequences, of 140 and 9 tokens (each ending with EOS = 1, no PAD = 0 inside), are
encoded the way duet-tiny and Ovi do it (text.py encode_context): as one padded batch [2, 140]
with the mask ids != PAD hiding padded keys, the output multiplied by the mask and zero-padded
to text_len = 150 rows. Both hold token 5, whose embedding row is scaled by 1e-3 (its mean
square, ~1e-6, is of the order of eps, so eps and its place matter). 140 tokens give relative
distances up to 139, past max_dist (128), so the saturated buckets are exercised.

Weights are stored the way duet-tiny's export stores them (tools/duet_tiny/export.py
_keep_f32): tensors with >= 1024 elements in float16 except the relative-position tables, the
rest float32, under the prefix "text_encoder."; the reference uses exactly these values. It runs
in float64 (the bucket table is computed as upstream does, in float32 and integers), so the
stored float32 outputs are exact to float32 precision.

Stored tensors (PyTorch shapes):
    text_encoder.*          the weights, Wan's T5 names
    ids [2, 140] int32      the padded batch (PAD = 0 after each sequence's end)
    lengths [2] int32       140, 9
    out [2, 150, 32]        encode_context output: rows past a sequence's length are zero
    out_bf16w [2, 150, 32]  the same with every matrix and the token embedding rounded to
                            bfloat16 (norms and position tables unchanged), as a loader that
                            keeps weights in bf16 (umT5-XXL's own dtype) sees them
    out_allbf16 [2, 150, 32]  the same with EVERY tensor rounded to bfloat16, norms and
                            position tables included: what the encoder computes from a
                            checkpoint converted by tools/convert_umt5.py (umT5-XXL's form)
    buckets [601] int32     relative_bucket(rel) for rel = key - query = -300 .. 300
Metadata: config (JSON: the text_encoder fields of duet-tiny's config.json), seed, generator.

text_encoder_umt5.safetensors is those all-bf16 weights saved as a PyTorch checkpoint (as Wan
ships models_t5_umt5-xxl-enc-bf16.pth) and converted by tools/convert_umt5.py: the converter's
output, names, metadata and all, as the C loader reads it.
"""
import argparse
import json
import math
import os
import sys
import tempfile

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..'))
from tools.golden import sorted_safetensors  # noqa: E402
from tools import convert_umt5  # noqa: E402
from tools.duet_tiny import text  # noqa: E402

SEED = 20251207
CFG = dict(vocab_size=50, dim=32, dim_attn=24, dim_ffn=40, num_heads=3, num_layers=2,
           num_buckets=32, max_dist=128, text_len=150, eps=1e-6)
LENGTHS = (140, 9)
PREFIX = 'text_encoder.'
REL_RANGE = 300
QUIET_ID = 5   # its embedding row is scaled by 1e-3: layer 0's norm1 then depends on eps


def stored_dtype(name, t):
    """duet-tiny's export rule (tools/duet_tiny/export.py _keep_f32)."""
    keep = t.ndim <= 1 or t.numel() < 1024 or 'pos_embedding' in name
    return torch.float32 if keep else torch.float16


def randomize(model, gen):
    """Every parameter re-drawn: matrices uniform with variance 1/fan_in (so GELU's input
    reaches its curved region), the token embedding and position tables randn (position
    biases of order 1 against scores of order sqrt(head_dim)), norm weights 1 +- 0.2.
    Returns the stored (rounded) state dict."""
    state = {}
    for name, p in sorted(model.named_parameters()):
        shape = tuple(p.shape)
        if name == 'token_embedding.weight' or 'pos_embedding' in name:
            v = torch.randn(shape, generator=gen)
        elif len(shape) == 2:
            v = (torch.rand(shape, generator=gen) * 2 - 1) * (3.0 / shape[1]) ** 0.5
        else:
            v = 1 + 0.2 * (torch.rand(shape, generator=gen) * 2 - 1)
        if name == 'token_embedding.weight':
            v[QUIET_ID] *= 1e-3
        state[name] = v.to(stored_dtype(name, v)).contiguous()
    return state


def make_ids(gen):
    ids = torch.zeros(len(LENGTHS), max(LENGTHS), dtype=torch.long)
    for i, n in enumerate(LENGTHS):
        ids[i, :n - 1] = torch.randint(3, CFG['vocab_size'], (n - 1,), generator=gen)
        ids[i, n - 1] = text.EOS_ID
        ids[i, n // 2] = QUIET_ID
    return ids


def round_matrices(state, dtype):
    """Matrices and the token embedding rounded (what a loader forcing `dtype` keeps)."""
    return {k: v.to(dtype) if v.ndim == 2 and 'pos_embedding' not in k else v
            for k, v in state.items()}


def encode(state, ids, cfg=CFG, patch=None):
    """encode_context in float64 with the given weights; `patch` may alter the model first
    (semantic slips)."""
    model = text.T5Encoder(cfg).double().eval()
    sd = {k: v.double() for k, v in state.items()}
    model.load_state_dict(sd)
    if patch:
        patch(model)
    mask = ids != text.PAD_ID
    with torch.no_grad():
        return text.encode_context(model, ids, mask, cfg['text_len']).float()


def nmse(a, b):
    return float(((a - b) ** 2).sum() / (b ** 2).sum())


def slips(state, ids, out):
    """How far the subtlest plausible mistakes move the output (for the test's tolerances)."""
    def gelu_erf(m):
        for b in m.blocks:
            b.ffn.gate[1] = torch.nn.GELU()

    def scaled(m):
        for b in m.blocks:
            b.attn.q.weight.data /= math.sqrt(CFG['dim_attn'] // CFG['num_heads'])

    def shared_pos(m):
        for b in m.blocks[1:]:
            b.pos_embedding.embedding.weight.data.copy_(m.blocks[0].pos_embedding.embedding.weight)

    def no_mask(m):
        m.forward_orig = m.forward
        m.forward = lambda ids_, mask_: m.forward_orig(ids_, None)

    cases = {'GELU-erf for GELU-tanh': dict(patch=gelu_erf),
             '1/sqrt(head_dim) score scaling': dict(patch=scaled),
             "layer 0's position table in every layer": dict(patch=shared_pos),
             'padded keys not masked': dict(patch=no_mask),
             'eps 1e-5': dict(cfg=dict(CFG, eps=1e-5)),
             'max_dist 64': dict(cfg=dict(CFG, max_dist=64))}
    for what, kw in cases.items():
        print(f'  slip: {what}: nmse {nmse(encode(state, ids, **kw), out):.3e}')


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('out_dir', help='folder to write the two safetensors files to')
    ap.add_argument('--slips', action='store_true', help='also report what mistakes cost')
    args = ap.parse_args()
    torch.set_num_threads(1)
    gen = torch.Generator().manual_seed(SEED)
    state = randomize(text.T5Encoder(CFG), gen)
    ids = make_ids(gen)

    out = encode(state, ids)
    out_bf16w = encode(round_matrices(state, torch.bfloat16), ids)
    all_bf16 = {k: v.to(torch.bfloat16) for k, v in state.items()}
    out_allbf16 = encode(all_bf16, ids)
    # Ovi's trimming equals encoding each sequence alone at its true length (what the C code
    # does): the masked keys contribute exactly zero and positions depend only on differences.
    for i, n in enumerate(LENGTHS):
        alone = encode(state, ids[i:i + 1, :n], cfg=dict(CFG, text_len=n))[0]
        assert torch.allclose(alone, out[i, :n], rtol=0, atol=1e-6), 'trim != mask'
        assert not out[i, n:].any()

    rel = torch.arange(-REL_RANGE, REL_RANGE + 1)
    buckets = text.relative_bucket(rel, CFG['num_buckets'], CFG['max_dist']).to(torch.int32)
    tensors = {PREFIX + k: v for k, v in state.items()}
    tensors.update({'ids': ids.to(torch.int32), 'lengths': torch.tensor(LENGTHS,
                                                                        dtype=torch.int32),
                    'out': out, 'out_bf16w': out_bf16w, 'out_allbf16': out_allbf16,
                    'buckets': buckets})
    meta = {'config': json.dumps(CFG, sort_keys=True), 'seed': str(SEED),
            'generator': 'tools/golden/text_encoder.py'}
    os.makedirs(args.out_dir, exist_ok=True)
    path = os.path.join(args.out_dir, 'text_encoder.safetensors')
    sorted_safetensors.save(path, tensors, meta)
    umt5 = os.path.join(args.out_dir, 'text_encoder_umt5.safetensors')
    with tempfile.TemporaryDirectory() as tmp:
        pth = os.path.join(tmp, 'models_t5_tiny-enc-bf16.pth')
        torch.save(all_bf16, pth)
        convert_umt5.convert(pth, umt5)
    print(f'wrote {path} ({os.path.getsize(path) / 1e3:.0f} kB) and {umt5}: rms out '
          f'{out.pow(2).mean().sqrt():.3f}; nmse vs out: out_bf16w {nmse(out_bf16w, out):.3e}, '
          f'out_allbf16 {nmse(out_allbf16, out):.3e}; nmse(seq 1 vs seq 0 rows 0..8) '
          f'{nmse(out[1, :9], out[0, :9]):.3e}')
    if args.slips:
        slips(state, ids, out)


if __name__ == '__main__':
    main()
