#!/usr/bin/env python3
"""Writes the seed corpus of fuzz_safetensors (tests/fuzz/corpus/safetensors/): a few tiny
valid files, mostly from the Python safetensors package so the seeds do not come from the
reader's own writer. Rerun to regenerate: python3 tests/fuzz/make_seeds.py"""
import json
import os
import struct

import numpy as np
from safetensors.numpy import save

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "safetensors")


def raw(header, data):
    """A file built by hand (dtypes numpy lacks, odd header lengths)."""
    h = json.dumps(header, separators=(",", ":")).encode()
    return struct.pack("<Q", len(h)) + h + data


def main():
    os.makedirs(OUT, exist_ok=True)
    seeds = {
        "f32_2x3.safetensors": save({"w": np.arange(6, dtype=np.float32).reshape(2, 3)}),
        "mixed_meta.safetensors": save(
            {
                "blocks.0.ffn.0.weight": np.ones((2, 2), dtype=np.float16),
                "blocks.0.ffn.0.bias": np.zeros((2,), dtype=np.float32),
                "ids": np.array([1, -2, 3], dtype=np.int32),
                "scalar": np.array(7.0, dtype=np.float32),
            },
            metadata={"format": "pt", "note": "seed"},
        ),
        "bf16_odd_header.safetensors": raw(
            {"b": {"dtype": "BF16", "shape": [1, 3], "data_offsets": [0, 6]}},
            bytes([0x80, 0x3F, 0x00, 0xC0, 0x00, 0x3F]),
        ),
        "empty_tensor.safetensors": raw(
            {"e": {"dtype": "F16", "shape": [0, 4], "data_offsets": [0, 0]}, "__metadata__": {}},
            b"",
        ),
        "empty_header.safetensors": raw({}, b""),
    }
    for name, blob in seeds.items():
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(blob)


if __name__ == "__main__":
    main()
