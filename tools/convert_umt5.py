#!/usr/bin/env python3
"""Convert Wan's umT5-XXL encoder checkpoint (models_t5_umt5-xxl-enc-bf16.pth, a PyTorch pickle
of T5Encoder's state dict, as shipped with Wan2.1/Wan2.2 and used by Ovi) into the safetensors
file duet's text encoder loads (encoders/text_encoder.h).

    python3 tools/convert_umt5.py models_t5_umt5-xxl-enc-bf16.pth umt5-xxl-enc.safetensors

Names: Wan's own (token_embedding.weight, blocks.N.norm1.weight, blocks.N.attn.{q,k,v,o}.weight,
blocks.N.norm2.weight, blocks.N.ffn.gate.0.weight, blocks.N.ffn.{fc1,fc2}.weight,
blocks.N.pos_embedding.embedding.weight, norm.weight), each under the prefix "text_encoder."
by default: the prefix duet-tiny's model.safetensors uses for its encoder, so one loader call
(duet_text_encoder_load(cfg, st, "text_encoder.", ...)) reads either file. --prefix '' writes
the bare names. Any other key (a decoder, a shared position table, an unexpected wrapper) is
refused, so a wrong file fails here rather than in the engine.

Dtype: bf16 (the checkpoint's own; --dtype f32 doubles the file). Sizes are read off the
shapes and stored as the JSON metadata "config" (the fields duet_text_encoder_config_parse
reads: vocab_size 256384, dim 4096, dim_attn 4096, dim_ffn 10240, num_heads 64, num_layers 24,
num_buckets 32, max_dist 128, text_len 512, eps 1e-6; the last three are Wan's constants, not
visible in the weights); --config-out also writes them to a JSON file.

Memory: the checkpoint is opened with torch.load(mmap=True, weights_only=True) and written one
tensor at a time (the header first, from the shapes alone), so the 11 GB file needs about one
tensor's worth of RAM (the 2.1 GB embedding) beyond the page cache. A checkpoint in PyTorch's
legacy (non-zip) format cannot be memory-mapped; it is then loaded whole (with a warning).
The output is written to OUT.tmp and renamed when complete.
"""
import argparse
import json
import os
import re
import struct
import sys
import warnings

import torch

BLOCK_NAMES = ('norm1.weight', 'attn.q.weight', 'attn.k.weight', 'attn.v.weight',
               'attn.o.weight', 'norm2.weight', 'ffn.gate.0.weight', 'ffn.fc1.weight',
               'ffn.fc2.weight', 'pos_embedding.embedding.weight')
TOP_NAMES = ('token_embedding.weight', 'norm.weight')
# Wan's umt5_xxl constants that the weights do not show (wan/modules/t5.py, T5EncoderModel).
FIXED = dict(max_dist=128, text_len=512, eps=1e-6)
DTYPES = {'bf16': (torch.bfloat16, 'BF16'), 'f32': (torch.float32, 'F32')}


class ConvertError(Exception):
    pass


def open_state_dict(path):
    """The checkpoint's state dict, memory-mapped when the file format allows it."""
    try:
        obj = torch.load(path, map_location='cpu', mmap=True, weights_only=True)
    except RuntimeError as e:
        if 'mmap' not in str(e) and 'zip' not in str(e):
            raise
        warnings.warn(f'{path}: legacy (non-zip) checkpoint, loading it whole into memory')
        obj = torch.load(path, map_location='cpu', weights_only=True)
    for key in ('state_dict', 'model'):      # wrappers some tools add around a state dict
        if isinstance(obj, dict) and key in obj and isinstance(obj[key], dict):
            obj = obj[key]
    if not isinstance(obj, dict) or not all(torch.is_tensor(v) for v in obj.values()):
        raise ConvertError(f'{path}: not a state dict of tensors')
    return obj


def block_index(name):
    m = re.fullmatch(r'blocks\.(\d+)\.(.+)', name)
    return (int(m.group(1)), m.group(2)) if m else (None, None)


def check_names(sd, path):
    """Every key is a T5 encoder name, layers 0..n-1 complete. Returns n_layers."""
    layers, bad = {}, []
    for name in sd:
        i, rest = block_index(name)
        if name in TOP_NAMES:
            continue
        if i is not None and rest in BLOCK_NAMES:
            layers.setdefault(i, set()).add(rest)
        else:
            bad.append(name)
    if bad:
        raise ConvertError(f'{path}: not a Wan T5 encoder tensor: {", ".join(sorted(bad)[:8])}'
                           f'{" ..." if len(bad) > 8 else ""} (a shared pos_embedding, a decoder '
                           'or a wrapper prefix is not supported)')
    n = len(layers)
    missing = [n_ for n_ in TOP_NAMES if n_ not in sd]
    for i in range(n):
        missing += [f'blocks.{i}.{r}' for r in BLOCK_NAMES if r not in layers.get(i, ())]
    if missing or sorted(layers) != list(range(n)) or n == 0:
        what = ', '.join(missing[:8]) or 'layers'
        raise ConvertError(f'{path}: incomplete encoder: missing {what}')
    return n


def infer_config(sd, n_layers, path):
    """Sizes from the shapes, checked for consistency with each other."""
    vocab, dim = sd['token_embedding.weight'].shape
    dim_attn = sd['blocks.0.attn.q.weight'].shape[0]
    dim_ffn = sd['blocks.0.ffn.fc1.weight'].shape[0]
    buckets, heads = sd['blocks.0.pos_embedding.embedding.weight'].shape
    want = {'norm.weight': (dim,)}
    for i in range(n_layers):
        p = f'blocks.{i}.'
        want.update({p + 'norm1.weight': (dim,), p + 'norm2.weight': (dim,),
                     p + 'attn.q.weight': (dim_attn, dim), p + 'attn.k.weight': (dim_attn, dim),
                     p + 'attn.v.weight': (dim_attn, dim), p + 'attn.o.weight': (dim, dim_attn),
                     p + 'ffn.gate.0.weight': (dim_ffn, dim), p + 'ffn.fc1.weight': (dim_ffn, dim),
                     p + 'ffn.fc2.weight': (dim, dim_ffn),
                     p + 'pos_embedding.embedding.weight': (buckets, heads)})
    for name, shape in want.items():
        if tuple(sd[name].shape) != shape:
            raise ConvertError(f'{path}: {name} has shape {list(sd[name].shape)}, expected '
                               f'{list(shape)}')
    if dim_attn % heads:
        raise ConvertError(f'{path}: {heads} heads do not divide the attention width {dim_attn}')
    for name, t in sd.items():
        if not t.is_floating_point():
            raise ConvertError(f'{path}: {name} has dtype {t.dtype}, expected a float type')
    return dict(vocab_size=vocab, dim=dim, dim_attn=dim_attn, dim_ffn=dim_ffn, num_heads=heads,
                num_layers=n_layers, num_buckets=buckets, **FIXED)


def order(names):
    """token_embedding, blocks in numeric order (each in BLOCK_NAMES order), norm."""
    def key(n):
        i, rest = block_index(n)
        if i is None:
            return (0 if n == TOP_NAMES[0] else 2, 0, 0)
        return (1, i, BLOCK_NAMES.index(rest))
    return sorted(names, key=key)


def write_safetensors(sd, out, prefix, dtype_name, metadata):
    """Header from the shapes, then the tensors one at a time, converted as they are written."""
    torch_dtype, st_dtype = DTYPES[dtype_name]
    size = torch.tensor([], dtype=torch_dtype).element_size()
    names = order(sd)
    header, offset = {'__metadata__': metadata}, 0
    for name in names:
        n = sd[name].numel() * size
        header[prefix + name] = {'dtype': st_dtype, 'shape': list(sd[name].shape),
                                 'data_offsets': [offset, offset + n]}
        offset += n
    head = json.dumps(header, separators=(',', ':')).encode()
    head += b' ' * (-len(head) % 8)  # the data section starts 8-byte aligned
    tmp = out + '.tmp'
    with open(tmp, 'wb') as f:
        f.write(struct.pack('<Q', len(head)) + head)
        for name in names:
            t = sd[name].to(torch_dtype).contiguous()
            raw = t.view(torch.int16) if torch_dtype == torch.bfloat16 else t
            f.write(memoryview(raw.numpy()).cast('B'))
            del t, raw
        f.flush()
        os.fsync(f.fileno())
        if f.tell() != 8 + len(head) + offset:
            raise ConvertError(f'{tmp}: wrote {f.tell()} bytes, expected {8 + len(head) + offset}')
    os.replace(tmp, out)
    return 8 + len(head) + offset


def convert(src, out, prefix='text_encoder.', dtype='bf16', config_out=None):
    sd = open_state_dict(src)
    n_layers = check_names(sd, src)
    cfg = infer_config(sd, n_layers, src)
    meta = {'config': json.dumps(cfg, sort_keys=True), 'converter': 'tools/convert_umt5.py',
            'format': 'pt', 'prefix': prefix, 'source': os.path.basename(src)}
    nbytes = write_safetensors(sd, out, prefix, dtype, meta)
    if config_out:
        with open(config_out, 'w') as f:
            json.dump({'text_encoder': cfg}, f, indent=2, sort_keys=True)
            f.write('\n')
    return cfg, nbytes


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('src', help="Wan's models_t5_umt5-xxl-enc-bf16.pth")
    ap.add_argument('out', help='safetensors file to write')
    ap.add_argument('--prefix', default='text_encoder.',
                    help='prefix of every tensor name (default "text_encoder."; "" for none)')
    ap.add_argument('--dtype', choices=sorted(DTYPES), default='bf16')
    ap.add_argument('--config-out', help='also write {"text_encoder": {...sizes}} to this JSON')
    args = ap.parse_args(argv)
    try:
        cfg, nbytes = convert(args.src, args.out, args.prefix, args.dtype, args.config_out)
    except ConvertError as e:
        print(f'convert_umt5: {e}', file=sys.stderr)
        return 1
    print(f'wrote {args.out} ({nbytes / 1e9:.2f} GB, {args.dtype}, prefix "{args.prefix}"): '
          f'{json.dumps(cfg, sort_keys=True)}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
