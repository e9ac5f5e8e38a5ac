#!/usr/bin/env python3
"""Draws samples/face.png, the reference image of samples/reference_image.json: a
TalkingShapes-style close-up (a red round head with two eyes and a closed mouth, in a room)
at duet-tiny's 128x128. Standard library only: shapes are sampled 4x4 per pixel for smooth
edges and the PNG is written with zlib. Deterministic: rerunning gives the same bytes.

TalkingShapes convention kept here: only an open mouth is near-black (every RGB channel below
40); this face's mouth is closed, so no pixel is that dark.
"""
import os
import struct
import zlib

W = H = 128
SS = 4  # samples per pixel along each axis

WALL = (196, 178, 150)
FLOOR = (140, 104, 76)
HEAD = (212, 52, 48)
EYE = (245, 245, 240)
PUPIL = (52, 60, 112)
MOUTH = (118, 32, 40)  # closed mouth: a dark red line, not near-black


def in_ellipse(x, y, cx, cy, rx, ry):
    return ((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2 <= 1.0


def colour_at(x, y):
    """Colour of the scene at continuous pixel coordinates (x right, y down)."""
    if in_ellipse(x, y, 64, 66, 40, 40):
        for ex in (48, 80):
            if in_ellipse(x, y, ex + 1, 58, 4, 4):
                return PUPIL
            if in_ellipse(x, y, ex, 57, 9, 8):
                return EYE
        if in_ellipse(x, y, 64, 86, 13, 2.2):
            return MOUTH
        return HEAD
    return FLOOR if y >= 104 else WALL


def render():
    rows = []
    for py in range(H):
        row = bytearray([0])  # PNG filter type 0 (none) for each scanline
        for px in range(W):
            acc = [0, 0, 0]
            for sy in range(SS):
                for sx in range(SS):
                    c = colour_at(px + (sx + 0.5) / SS, py + (sy + 0.5) / SS)
                    for k in range(3):
                        acc[k] += c[k]
            row += bytes(round(a / (SS * SS)) for a in acc)
        rows.append(bytes(row))
    return b"".join(rows)


def png(raw):
    def chunk(tag, data):
        body = tag + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    ihdr = struct.pack(">IIBBBBB", W, H, 8, 2, 0, 0, 0)  # 8-bit RGB, no interlace
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw, 9))
            + chunk(b"IEND", b""))


def main():
    raw = render()
    darkest = min(max(raw[i + 1 + 3 * x: i + 4 + 3 * x])
                  for i in range(0, len(raw), 1 + 3 * W) for x in range(W))
    assert darkest >= 40, "a closed-mouth face must have no near-black pixel"
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "samples", "face.png")
    with open(out, "wb") as f:
        f.write(png(raw))
    print(f"wrote {os.path.normpath(out)}")


if __name__ == "__main__":
    main()
