"""Random-weight duet-tiny export for the e2e tests, in tools/duet_tiny/export.py's layout
(model.safetensors, config.json, tokenizer.model = the golden test tokenizer, 300 pieces).

Two steps, so that CI needs only numpy:
  make_random_model.py --manifest SRC      (needs torch) builds the 'cpu' preset with
      export.py, saves it to a temp dir, and writes tests/e2e/random_model_manifest.json:
      config.json's content and, per tensor, name, dtype, shape and the mean/std/min/max of
      its initialised values.
  make_random_model.py SRC OUT             (numpy only) draws each tensor from a normal with
      that mean and std, clipped to the recorded [min, max] (so positive tables stay
      positive), and writes the export to OUT with a deterministic seed."""
import json
import os
import struct
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
MANIFEST = os.path.join(HERE, 'random_model_manifest.json')


def write_manifest(src):
    import tempfile

    import torch
    from safetensors.numpy import load_file
    sys.path.insert(0, os.path.join(src, 'tools'))
    from duet_tiny import config as C, export as E
    torch.manual_seed(0)
    cfg = C.preset('cpu')
    with tempfile.TemporaryDirectory() as d:
        E.save(E.build(cfg, vocab_size=300), cfg,
               os.path.join(src, 'tests', 'golden', 'tokenizer', 'tokenizer.model'), d, '')
        tensors = load_file(os.path.join(d, 'model.safetensors'))
        with open(os.path.join(d, 'config.json')) as f:
            config = json.load(f)
    entries = []
    for name in sorted(tensors):
        v = tensors[name].astype(np.float64)
        entries.append(dict(name=name, dtype=str(tensors[name].dtype), shape=list(v.shape),
                            mean=float(v.mean()), std=float(v.std()),
                            min=float(v.min()), max=float(v.max())))
    with open(MANIFEST, 'w') as f:
        json.dump(dict(config=config, tensors=entries), f, indent=0)
        f.write('\n')


def write_model(src, out):
    with open(MANIFEST) as f:
        man = json.load(f)
    rng = np.random.default_rng(0)
    header, blobs, offset = {}, [], 0
    for e in man['tensors']:
        n = int(np.prod(e['shape'])) if e['shape'] else 1
        v = rng.normal(e['mean'], e['std'], n).clip(e['min'], e['max'])
        dt = np.float16 if e['dtype'] == 'float16' else np.float32
        b = v.astype(dt).tobytes()
        header[e['name']] = dict(dtype='F16' if dt == np.float16 else 'F32', shape=e['shape'],
                                 data_offsets=[offset, offset + len(b)])
        blobs.append(b)
        offset += len(b)
    header['__metadata__'] = {'format': 'pt', 'model': 'duet-tiny'}
    h = json.dumps(header, separators=(',', ':')).encode()
    h += b' ' * (-len(h) % 8)
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, 'model.safetensors'), 'wb') as f:
        f.write(struct.pack('<Q', len(h)) + h)
        for b in blobs:
            f.write(b)
    with open(os.path.join(out, 'config.json'), 'w') as f:
        json.dump(man['config'], f, indent=2)
    with open(os.path.join(src, 'tests', 'golden', 'tokenizer', 'tokenizer.model'), 'rb') as f:
        tok = f.read()
    with open(os.path.join(out, 'tokenizer.model'), 'wb') as f:
        f.write(tok)


if __name__ == '__main__':
    if sys.argv[1] == '--manifest':
        write_manifest(sys.argv[2])
    else:
        write_model(sys.argv[1], sys.argv[2])
