"""TalkingShapes drawing: places (backgrounds), heads with eyes and a mouth, bouncing objects and
their shadows, all as flat-colour numpy masks (no anti-aliasing, so colour classes stay exact).

Where it sits: world.py builds one background and one head sprite per clip, then composes each
frame as background + sprite shifted by the head bob + the mouth for that frame + the object.
Colour rules (palette.py): backgrounds are pushed at least MIN_PALETTE_DIST away from every
subject colour (repel()) and every channel is >= FLOOR, so only the open mouth is near-black.
"""
import numpy as np

from . import palette as P

_PAL = np.array(list(P.COLOURS.values()), np.float32)


def repel(img, dist=P.MIN_PALETTE_DIST + 4.0):
    """Push pixels closer than dist to any subject colour out to dist; clamp to [FLOOR, 255].

    The push is along (pixel - palette colour); the extra margin (+4) covers rounding. Only the
    pixels found near a colour are touched (distances via one matrix product, for speed).
    """
    x = np.clip(img.reshape(-1, 3).astype(np.float32), P.FLOOR, 255)
    p2 = (_PAL * _PAL).sum(1)
    d2 = (x * x).sum(1)[:, None] - 2.0 * x @ _PAL.T + p2
    idx = np.flatnonzero(d2.min(1) < dist * dist)
    for _ in range(4):  # a push away from one colour can land near another: iterate
        if len(idx) == 0:
            break
        y = x[idx]
        d = y[:, None, :] - _PAL[None, :, :]
        n = np.sqrt((d * d).sum(-1))
        k = n.argmin(1)
        rows = np.arange(len(y))
        near = n[rows, k] < dist
        idx, y, k, d, n = idx[near], y[near], k[near], d[near], n[near]
        nv = n[np.arange(len(y)), k][:, None]
        dv = d[np.arange(len(y)), k]
        dv = np.where(nv > 1e-3, dv / np.maximum(nv, 1e-3), np.array([0.0, 0.0, 1.0], np.float32))
        x[idx] = np.clip(_PAL[k] + dv * dist, P.FLOOR, 255)
    lift = np.maximum(P.BRIGHT - x.max(1), 0.0)  # too dark overall: lift every channel
    x += lift[:, None]
    return np.clip(np.rint(x), P.FLOOR, 255).astype(np.uint8).reshape(img.shape)


def _vgrad(size, top, bottom, y0=0.0, y1=1.0):
    a = np.clip((np.linspace(0, 1, size) - y0) / max(y1 - y0, 1e-6), 0, 1)[:, None, None]
    return (1 - a) * np.array(top, np.float32) + a * np.array(bottom, np.float32)


def _disc(yy, xx, cy, cx, r):
    return (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r


def background(place, size, rng):
    """(image uint8 [S, S, 3], horizon row): the place, lightly randomised, colour-safe."""
    S = size
    yy, xx = np.mgrid[0:S, 0:S].astype(np.float32)
    img = np.zeros((S, S, 3), np.float32)
    hz = S * rng.uniform(0.5, 0.6)
    wob = 1.5 * np.sin(xx * rng.uniform(0.05, 0.12) + rng.uniform(0, 6.3))
    ground = yy > hz + wob
    if place == 'beach':
        img[:] = _vgrad(S, (120, 170, 225), (175, 210, 240))
        shore = hz + S * 0.12 + 2 * np.sin(xx * 0.09 + rng.uniform(0, 6.3))
        sea = (yy > hz) & (yy <= shore)
        img[sea] = _vgrad(S, (60, 125, 165), (85, 150, 180), hz / S, (hz + S * 0.12) / S) \
            .repeat(S, 1)[sea]
        crest = sea & (np.sin(yy * 1.3 + np.sin(xx * 0.2) * 2) > 0.93)
        img[crest] = (105, 165, 195)
        img[yy > shore] = (222, 200, 150)
        img[_disc(yy, xx, S * 0.16, S * rng.uniform(0.1, 0.9), S * 0.07)] = (255, 240, 178)
    elif place == 'night':
        img[:] = _vgrad(S, (48, 52, 92), (70, 78, 128))
        stars = rng.integers(0, S * S, int(S * S / 400))
        img.reshape(-1, 3)[stars] = (220, 225, 235)
        mx, my, mr = S * rng.uniform(0.15, 0.85), S * 0.18, S * 0.06
        img[_disc(yy, xx, my, mx, mr) & ~_disc(yy, xx, my - mr * 0.3, mx + mr * 0.45, mr)] = \
            (235, 235, 215)
        img[ground] = _vgrad(S, (62, 72, 84), (74, 86, 96)).repeat(S, 1)[ground]
    elif place == 'room':
        img[:] = _vgrad(S, (200, 182, 150), (188, 170, 140))
        wx, wy = S * rng.uniform(0.1, 0.6), S * 0.12
        win = (xx > wx) & (xx < wx + S * 0.3) & (yy > wy) & (yy < wy + S * 0.28)
        img[win] = (235, 235, 230)
        inner = (xx > wx + 2) & (xx < wx + S * 0.3 - 2) & (yy > wy + 2) & (yy < wy + S * 0.28 - 2)
        img[inner] = (165, 205, 235)
        img[ground] = (150, 108, 76)
        img[ground & (np.mod(xx + 0.3 * yy, S / 6) < 1.0)] = (128, 90, 62)
        img[np.abs(yy - hz - wob) < 1.2] = (235, 230, 220)
    elif place == 'forest':
        img[:] = _vgrad(S, (170, 205, 225), (200, 220, 232))
        for _ in range(int(rng.integers(4, 8))):
            tx, th = S * rng.uniform(0, 1), S * rng.uniform(0.25, 0.4)
            tri = (yy < hz + 1) & (yy > hz - th) & \
                (np.abs(xx - tx) < (yy - (hz - th)) * 0.35)
            img[tri] = (48, 98, 64) if rng.random() < 0.5 else (58, 112, 72)
        img[ground] = _vgrad(S, (128, 150, 96), (110, 135, 84)).repeat(S, 1)[ground]
    elif place == 'snow':
        img[:] = _vgrad(S, (200, 215, 235), (225, 232, 242))
        for _ in range(int(rng.integers(1, 4))):
            tx, th = S * rng.uniform(0, 1), S * rng.uniform(0.2, 0.35)
            tri = (yy < hz + 1) & (yy > hz - th) & (np.abs(xx - tx) < (yy - (hz - th)) * 0.9)
            img[tri] = (150, 160, 180)
            img[tri & (yy < hz - th * 0.7)] = (240, 242, 248)
        img[ground] = _vgrad(S, (236, 240, 246), (220, 226, 236)).repeat(S, 1)[ground]
    elif place == 'desert':
        img[:] = _vgrad(S, (238, 160, 120), (250, 205, 150))
        img[_disc(yy, xx, hz, S * rng.uniform(0.2, 0.8), S * 0.1)] = (255, 235, 180)
        dune = yy > hz + 4 * np.sin(xx * rng.uniform(0.04, 0.08) + rng.uniform(0, 6.3))
        img[dune] = _vgrad(S, (212, 162, 112), (190, 140, 96)).repeat(S, 1)[dune]
    else:
        raise ValueError(f'unknown place {place!r}')
    img += rng.uniform(-6, 6, size=3).astype(np.float32)
    return repel(img), float(hz)


# Face layout per head shape, in units of the head radius R: eye row, eye x offset, eye radius,
# mouth row, mouth max half-width, mouth max half-height. Chosen so the largest mouth stays
# inside the head outline.
FACES = {
    'round': (-0.25, 0.35, 0.13, 0.38, 0.42, 0.30),
    'square': (-0.30, 0.38, 0.14, 0.40, 0.50, 0.32),
    'triangle': (0.05, 0.24, 0.11, 0.48, 0.42, 0.22),
    'diamond': (-0.20, 0.25, 0.11, 0.32, 0.36, 0.22),
    'oval': (-0.28, 0.28, 0.12, 0.40, 0.34, 0.30),
}


def shape_mask(shape, dx, dy, r):
    """Boolean mask of a shape of radius r at offsets (dx, dy) from its centre (pixel centres)."""
    ax, ay = np.abs(dx), np.abs(dy)
    if shape == 'round':
        return dx * dx + dy * dy <= r * r
    if shape == 'square':
        return (ax <= 0.9 * r) & (ay <= 0.9 * r)
    if shape == 'triangle':  # apex up at -r, base at +0.8 r, half-width r at the base
        return (dy >= -r) & (dy <= 0.8 * r) & (ax <= (dy + r) / 1.8)
    if shape == 'diamond':
        return ax / (0.85 * r) + ay / r <= 1.0
    if shape == 'oval':
        return (dx / (0.75 * r)) ** 2 + (dy / r) ** 2 <= 1.0
    raise ValueError(f'unknown shape {shape!r}')


class Head:
    """A head sprite (eyes open and shut) and its mouth geometry, centred at (cx, cy)."""

    def __init__(self, shape, rgb, cx, cy, r, gaze):
        self.shape, self.rgb, self.cx, self.cy, self.r = shape, rgb, cx, cy, r
        ey, ex, er, my, mw, mh = FACES[shape]
        pad = 2
        self.x0, self.y0 = int(np.floor(cx - r)) - pad, int(np.floor(cy - r)) - pad
        n = int(np.ceil(2 * r)) + 2 * pad + 1
        yy, xx = np.mgrid[0:n, 0:n].astype(np.float32)
        dx, dy = xx + self.x0 + 0.5 - cx, yy + self.y0 + 0.5 - cy
        self.mask = shape_mask(shape, dx, dy, r)
        base = np.zeros((n, n, 3), np.uint8)
        base[:] = rgb
        self.open_eyes, self.shut_eyes = base.copy(), base.copy()
        for side in (-1, 1):
            ecx, ecy = side * ex * r, ey * r
            white = (dx - ecx) ** 2 + (dy - ecy) ** 2 <= (er * r) ** 2
            self.open_eyes[white] = P.EYE_WHITE_RGB
            pr = max(0.75, 0.5 * er * r)
            pupil = (dx - ecx - gaze * er * r * 0.4) ** 2 + (dy - ecy) ** 2 <= pr * pr
            self.open_eyes[pupil] = P.PUPIL_RGB
            lid = (np.abs(dy - ecy) <= max(0.6, 0.12 * er * r)) & (np.abs(dx - ecx) <= er * r)
            self.shut_eyes[lid] = P.PUPIL_RGB
        self.mouth_cx, self.mouth_cy = cx, cy + my * r
        self.mouth_w, self.mouth_h = mw * r, mh * r
        self.area_max = 0.8 * np.pi * self.mouth_w * self.mouth_h
        # The mouth window's pixel grid, relative to the mouth centre, and the head outline in
        # it; a head bob moves it by whole pixels, so this is computed once.
        bw, bh = int(np.ceil(self.mouth_w)) + 2, int(np.ceil(self.mouth_h)) + 2
        self.mx0, self.my0 = int(np.floor(self.mouth_cx)) - bw, int(np.floor(self.mouth_cy)) - bh
        yy, xx = np.ogrid[0:2 * bh + 1, 0:2 * bw + 1]
        self.mdx = (xx + self.mx0 + 0.5 - self.mouth_cx).astype(np.float32)
        self.mdy = (yy + self.my0 + 0.5 - self.mouth_cy).astype(np.float32)
        self.mhead = shape_mask(shape, self.mdx + (self.mouth_cx - cx),
                                self.mdy + (self.mouth_cy - cy), r)
        t = max(0.6, 0.025 * r)
        self.shut_mouth = (np.abs(self.mdy) <= t) & (np.abs(self.mdx) <= 0.3 * r) & self.mhead

    def mouth_axes(self, openness, aspect):
        """Half-axes (w, h) of the open mouth: area = openness * area_max, width/height = aspect
        (clamped to the mouth box, keeping the area where the other axis has room)."""
        area = openness * self.area_max
        h = np.sqrt(area / (np.pi * aspect))
        w = aspect * h
        if w > self.mouth_w:
            w = self.mouth_w
            h = min(self.mouth_h, area / (np.pi * w))
        if h > self.mouth_h:
            h = self.mouth_h
            w = min(self.mouth_w, area / (np.pi * h))
        return w, h

    def paste(self, frame, dy_px, eyes_open):
        """Paste the head (without mouth) shifted down by dy_px."""
        spr = self.open_eyes if eyes_open else self.shut_eyes
        _paste(frame, spr, self.mask, self.x0, self.y0 + dy_px)

    def draw_mouth(self, frame, dy_px, openness, aspect):
        """The mouth: a near-black ellipse of the given openness, or the lips' line when 0."""
        if openness > 0:
            w, h = self.mouth_axes(openness, aspect)
            m = ((self.mdx / max(w, 0.5)) ** 2 + (self.mdy / max(h, 0.5)) ** 2 <= 1.0) & \
                self.mhead
            _fill(frame, m, self.mx0, self.my0 + dy_px, P.MOUTH_RGB)
        else:
            _fill(frame, self.shut_mouth, self.mx0, self.my0 + dy_px, P.LIPS_RGB)


def _fill(frame, mask, x0, y0, rgb):
    """frame[y0:, x0:][mask] = rgb, clipped to the frame."""
    H, W = frame.shape[:2]
    h, w = mask.shape
    ax, ay = max(0, -x0), max(0, -y0)
    bx, by = min(w, W - x0), min(h, H - y0)
    if bx > ax and by > ay:
        frame[y0 + ay:y0 + by, x0 + ax:x0 + bx][mask[ay:by, ax:bx]] = rgb


def _paste(frame, img, mask, x0, y0):
    """frame[y0:, x0:][mask] = img[mask], clipped to the frame (img at least as large as the
    part of the window that lies in the frame)."""
    H, W = frame.shape[:2]
    h, w = mask.shape
    ax, ay = max(0, -x0), max(0, -y0)
    bx, by = min(w, W - x0), min(h, H - y0)
    if bx <= ax or by <= ay:
        return
    m = mask[ay:by, ax:bx]
    dst = frame[y0 + ay:y0 + by, x0 + ax:x0 + bx]
    dst[m] = img[ay:by, ax:bx][m]


def draw_object(frame, shadow_bg, shape, rgb, cx, bottom_y, r, floor_y, squash):
    """An object (ball or box) of radius r whose bottom is at bottom_y, with its shadow."""
    h_above = max(0.0, floor_y - bottom_y)
    sw = r * (1.15 - 0.5 * min(1.0, h_above / (6 * r)))
    sh = max(1.0, 0.22 * r)
    bw = int(np.ceil(1.3 * r)) + 2
    x0, y0 = int(np.floor(cx)) - bw, int(np.floor(floor_y)) - int(np.ceil(sh)) - 1
    yy, xx = np.ogrid[0:int(2 * np.ceil(sh)) + 3, 0:2 * bw + 1]
    sm = ((xx + x0 + 0.5 - cx) / sw) ** 2 + ((yy + y0 + 0.5 - floor_y) / sh) ** 2 <= 1.0
    _paste(frame, shadow_bg[max(0, y0):, max(0, x0):], sm[max(0, -y0):, max(0, -x0):],
           max(0, x0), max(0, y0))
    rx, ry = (1.2 * r, 0.8 * r) if squash and shape == 'round' else \
        ((1.1 * r, 0.9 * r) if squash else (r, r))
    cy = bottom_y - ry
    bh = int(np.ceil(ry)) + 2
    x0, y0 = int(np.floor(cx)) - bw, int(np.floor(cy)) - bh
    yy, xx = np.ogrid[0:2 * bh + 1, 0:2 * bw + 1]
    dx, dy = xx + x0 + 0.5 - cx, yy + y0 + 0.5 - cy
    if shape == 'round':
        m = (dx / rx) ** 2 + (dy / ry) ** 2 <= 1.0
    else:
        m = (np.abs(dx) <= 0.9 * rx) & (np.abs(dy) <= ry)
    _fill(frame, m, x0, y0, rgb)
