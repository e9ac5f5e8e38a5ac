"""Minimal RGB PNG writer (zlib + struct) so previews need neither PIL nor ffmpeg."""
import struct
import zlib

import numpy as np


def write_png(path, img):
    """Write uint8 [H, W, 3] as an 8-bit RGB PNG."""
    img = np.ascontiguousarray(img, np.uint8)
    h, w = img.shape[:2]
    raw = b''.join(b'\x00' + img[y].tobytes() for y in range(h))

    def chunk(tag, data):
        return struct.pack('>I', len(data)) + tag + data + \
            struct.pack('>I', zlib.crc32(tag + data) & 0xffffffff)
    with open(path, 'wb') as f:
        f.write(b'\x89PNG\r\n\x1a\n')
        f.write(chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, 8, 2, 0, 0, 0)))
        f.write(chunk(b'IDAT', zlib.compress(raw, 6)))
        f.write(chunk(b'IEND', b''))
