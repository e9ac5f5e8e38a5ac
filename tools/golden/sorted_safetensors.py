"""A safetensors writer whose bytes depend only on its inputs, for the committed golden files.

safetensors.torch.save_file writes __metadata__ in the order of a randomly seeded hash map, so
its files differ from run to run; this writes the same format (u64 header length, JSON header
padded with spaces to 8 bytes so the data is aligned, then the data) with every key sorted, so a
rerun reproduces the committed files exactly. Dtypes: F32, F16 and I32, the ones
core/safetensors.c reads (it has no U8). Metadata values that are not strings are stored as
their JSON text. Used by tools/golden/*.py and tools/duet_tiny/golden.py.
"""
import json
import struct

import torch

_DTYPES = {torch.float32: 'F32', torch.float16: 'F16', torch.int32: 'I32'}


def save(path, tensors, metadata):
    header = {'__metadata__': {k: v if isinstance(v, str) else json.dumps(v)
                               for k, v in sorted(metadata.items())}}
    blobs, offset = [], 0
    for name in sorted(tensors):
        v = tensors[name]
        t = (v.detach() if torch.is_tensor(v) else torch.as_tensor(v)).contiguous()
        blob = t.reshape(-1).view(torch.uint8).numpy().tobytes()  # little-endian everywhere
        header[name] = {'dtype': _DTYPES[t.dtype], 'shape': list(t.shape),
                        'data_offsets': [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header, separators=(',', ':')).encode()
    text += b' ' * (-len(text) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(text)) + text + b''.join(blobs))
