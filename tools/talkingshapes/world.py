"""TalkingShapes world: one clip (video, audio, caption, meta) from a seed.

This is duet-tiny's training data (DESIGN.md section 7): a flat-colour head that speaks
consonant-vowel syllables, and/or an object that falls and bounces with an impact sound at each
floor contact, on one of a few places, in one of four framings. Everything is deterministic in
(seed, n_frames, size, fps, sr, kind).

Timing convention (the metrics in tools/metrics/ use the same): video frame f shows the interval
[f / fps, (f + 1) / fps); its audio window is samples [round(f * sr / fps), round((f+1) * sr / fps)).
The mouth in frame f opens with the RMS of the mouth envelope over that window; a bouncing
object is drawn at the frame's centre time, except that the frame whose interval holds an
impact shows the object on the floor (squashed), so "visual contact frame" = floor(t * fps).

Conditioning for the conditional tasks comes from the clip itself (meta['conditioning']).
"""
import numpy as np

from . import captions, palette as P, render, sounds, speech

KINDS = ('talk', 'bounce', 'mixed')
KIND_P = (0.5, 0.25, 0.25)
OPEN_REF = 0.8       # mouth-envelope RMS that opens the mouth fully
OPEN_MIN = 0.08      # below this openness the mouth is drawn shut
MIN_BOUNCE_S = 0.22  # bounces closer than this end in rest (keeps contacts >= 3 frames apart)
AIR_MIN_PX = 4.0     # a frame without a contact shows the object at least this far up

CONDITIONING = {
    'image_to_video': 'video[0] given clean; video[1:] and audio generated',
    'audio_to_video': 'audio given clean (lip-sync to it); video generated',
    'video_to_audio': 'video given clean; audio generated',
    'continuation': 'video[:k] (and audio[:k * sr / fps]) given clean; the rest generated',
}


def _pick(rng, seq, p=None):
    seq = list(seq)
    return seq[int(rng.choice(len(seq), p=p))]


def frame_bounds(n_frames, sr, fps):
    """Sample index where each frame's audio window starts, plus the end: int [F + 1]."""
    return np.round(np.arange(n_frames + 1) * sr / fps).astype(np.int64)


def _window_rms(x, bounds):
    c = np.concatenate([[0.0], np.cumsum(x.astype(np.float64) ** 2)])
    n = np.maximum(bounds[1:] - bounds[:-1], 1)
    return np.sqrt(np.maximum(c[bounds[1:]] - c[bounds[:-1]], 0) / n)


def _head_place(rng, framing, S, mixed):
    """(cx, cy, r) of the head for a framing; in mixed clips it leaves room for the object."""
    u = rng.uniform
    if framing == 'close-up':
        return S * 0.5 + u(-3, 3), S * 0.5 + u(-2, 3), S * u(0.33, 0.37)
    if framing == 'wide':
        cx = S * (u(0.3, 0.38) if rng.random() < 0.5 else u(0.62, 0.7)) if mixed \
            else S * u(0.4, 0.6)
        return cx, S * u(0.45, 0.55), S * u(0.15, 0.18)
    cx = S * u(0.28, 0.34)
    return (cx if framing == 'left' else S - cx), S * u(0.45, 0.52), S * u(0.22, 0.26)


def _object_place(rng, framing, S, head):
    """(x centre, radius) of a bouncing object."""
    u = rng.uniform
    if head is not None:  # mixed: the half of the frame the head does not use
        r = S * u(0.05, 0.07)
        return (S * u(0.68, 0.85) if head[0] < S / 2 else S * u(0.15, 0.32)), r
    r = S * {'close-up': u(0.1, 0.13), 'wide': u(0.05, 0.07)}.get(framing, u(0.07, 0.09))
    lo, hi = {'left': (0.2, 0.4), 'right': (0.6, 0.8)}.get(framing, (0.3, 0.7))
    return S * u(lo, hi), r


def _bounce(rng, dur, S):
    """Drop and bounce plan: (t0, h0, g, impacts [(time s, strength, launch speed)])."""
    g = 7.0 * S
    e = rng.uniform(0.55, 0.75)
    h0 = S * rng.uniform(0.55, 0.95)
    t_fall = np.sqrt(2 * h0 / g)
    t1 = rng.uniform(min(0.25, 0.3 * dur), min(1.0, 0.45 * dur))
    impacts, t, v1 = [], t1, g * t_fall
    v = v1
    while t < dur - 0.03 and len(impacts) < 6:
        v_next = e * v
        last = 2 * v_next / g < MIN_BOUNCE_S or v_next / v1 < 0.15
        impacts.append((t, v / v1, 0.0 if last else v_next))
        if last:
            break
        t, v = t + 2 * v_next / g, v_next
    return t1 - t_fall, h0, g, impacts


def _height(t, t0, h0, g, impacts):
    """Height of the object's bottom above the floor at time t (px)."""
    if t < impacts[0][0]:
        return max(0.0, h0 - 0.5 * g * max(0.0, t - t0) ** 2)
    k = int(np.searchsorted([i[0] for i in impacts], t, side='right')) - 1
    tk, _, v = impacts[k]
    return max(0.0, v * (t - tk) - 0.5 * g * (t - tk) ** 2)


def sample_clip(seed, n_frames=48, size=128, fps=16, sr=16000, kind=None):
    """One TalkingShapes clip.

    Returns dict(video uint8 [F, H, W, 3], audio float32 [N] in [-1, 1] with
    N = round(F * sr / fps), caption str (Ovi tags), meta dict (JSON-serialisable)).
    kind: 'talk', 'bounce', 'mixed' or None (drawn from the seed: 50/25/25). A seed gives the
    same clip whether its kind is drawn or passed explicitly.
    """
    rng = np.random.default_rng(seed)
    drawn = _pick(rng, KINDS, KIND_P)
    kind = kind or drawn
    if kind not in KINDS:
        raise ValueError(f'kind must be one of {KINDS}, got {kind!r}')
    S, F = int(size), int(n_frames)
    n = int(round(F * sr / fps))
    dur = n / sr
    bounds = frame_bounds(F, sr, fps)

    place = _pick(rng, P.PLACES)
    framings = ('left', 'right', 'wide') if kind == 'mixed' else tuple(P.FRAMINGS)
    framing = _pick(rng, framings)
    bg, horizon = render.background(place, S, rng)
    audio = np.zeros(n)
    meta = dict(kind=kind, seed=int(seed), n_frames=F, size=S, fps=fps, sr=sr, place=place,
                framing=framing, horizon_y=horizon, character=None, voice=None, utterances=[],
                syllables=[], mouth_open=[0.0] * F, mouth_vowel=[None] * F, blink_frames=[],
                head_bob_px=[0] * F, object=None, impacts=[], object_bottom=[], floor_y=None,
                ambient=None, conditioning=CONDITIONING)

    head = None
    if kind in ('talk', 'mixed'):
        head, hmeta = _make_character(rng, framing, S, F, fps, kind == 'mixed')
        meta.update(hmeta)

    obj = None
    if kind in ('bounce', 'mixed'):
        obj, ometa = _make_object(rng, framing, S, F, fps, dur, horizon,
                                  None if head is None else
                                  (head.cx, head.r, meta['character']['colour']))
        meta.update(ometa)
        for imp in ometa['impacts']:
            snd = sounds.impact(rng, obj['material'], imp['strength'], sr)
            i0 = int(round(imp['time'] * sr))
            m = min(len(snd), n - i0)
            audio[i0:i0 + m] += snd[:m]

    if head is not None:
        voice = speech.make_voice(rng)
        # The speaker pauses around impacts, so each sound stays measurable on its own.
        avoid = [(i['time'] - 0.06, i['time'] + 0.12) for i in meta['impacts']]
        utts = speech.plan_speech(rng, voice, rng.uniform(0.1, min(0.4, 0.2 * dur)), dur - 0.12,
                                  avoid=avoid)
        wave, mouth_env, vowel_id = speech.render_speech(utts, voice, n, sr, rng)
        audio += wave
        open_f, vowel_f = _mouth_track(mouth_env, vowel_id, bounds)
        meta.update(voice=voice, utterances=_utt_meta(utts), mouth_open=open_f.tolist(),
                    mouth_vowel=vowel_f)
        meta['syllables'] = [s for u in meta['utterances'] for s in u['syllables']]

    amb_p = 0.5
    if rng.random() < amb_p:
        meta['ambient'] = _pick(rng, P.PLACES[place][1])
        audio += sounds.ambient(rng, meta['ambient'], n, sr)
    peak = float(np.max(np.abs(audio))) if n else 0.0
    if peak > 0.98:
        audio *= 0.98 / peak

    video = _compose(bg, head, obj, meta, F)
    caption = captions.caption(meta)
    return dict(video=video, audio=audio.astype(np.float32), caption=caption, meta=meta)


def _make_character(rng, framing, S, F, fps, mixed):
    shape = _pick(rng, P.HEAD_SHAPES)
    colour = _pick(rng, P.COLOURS)
    cx, cy, r = _head_place(rng, framing, S, mixed)
    head = render.Head(shape, P.COLOURS[colour], cx, cy, r, gaze=rng.uniform(-1, 1))
    eyes = np.ones(F, bool)
    t = rng.uniform(0.3, 2.5)
    blink_len = max(1, int(round(0.12 * fps)))
    while t * fps < F:
        f0 = int(t * fps)
        eyes[f0:f0 + blink_len] = False
        t += rng.uniform(1.5, 4.0)
    amp = int(rng.integers(0, 3)) * S / 128
    bob = np.round(amp * np.sin(2 * np.pi * rng.uniform(0.3, 0.8) * np.arange(F) / fps
                                + rng.uniform(0, 6.3))).astype(int)
    meta = dict(character=dict(shape=shape, colour=colour, rgb=list(P.COLOURS[colour]),
                               center=[float(cx), float(cy)], radius=float(r),
                               mouth_center=[float(head.mouth_cx), float(head.mouth_cy)]),
                blink_frames=np.flatnonzero(~eyes).tolist(), head_bob_px=bob.tolist())
    head.eyes_open, head.bob = eyes, bob
    return head, meta


def _mouth_track(mouth_env, vowel_id, bounds):
    """Per-frame openness in [0, 1] (0 = shut) and the vowel shaping the mouth (or None)."""
    rms = _window_rms(mouth_env, bounds)
    open_f = np.clip(rms / OPEN_REF, 0.0, 1.0)
    open_f[open_f < OPEN_MIN] = 0.0
    names = list(P.VOWELS)
    per_v = []
    for k in range(len(names)):
        c = np.concatenate([[0.0], np.cumsum(np.where(vowel_id == k, mouth_env, 0.0) ** 2)])
        per_v.append(c[bounds[1:]] - c[bounds[:-1]])
    best = np.argmax(np.stack(per_v), 0)
    vowels = [names[b] if o > 0 else None for b, o in zip(best, open_f)]
    return open_f, vowels


def _utt_meta(utts):
    out = []
    for u in utts:
        syls = [dict(text=s['text'], start=round(s['start'], 5), end=round(s['end'], 5),
                     vowel_start=round(s['vowel_start'], 5), loudness=round(s['amp'], 4))
                for s in u['syllables']]
        out.append(dict(start=round(u['start'], 5), end=round(u['end'], 5), syllables=syls))
    return out


def _make_object(rng, framing, S, F, fps, dur, horizon, head):
    name = _pick(rng, P.OBJECTS)
    shape, material = P.OBJECTS[name]
    colours = [c for c in P.COLOURS if head is None or c != head[2]]
    colour = _pick(rng, colours)
    x, r = _object_place(rng, framing, S, head)
    floor_y = min(max(horizon + 0.12 * S, S * rng.uniform(0.8, 0.9)), S - 0.3 * r - 3)
    t0, h0, g, impacts = _bounce(rng, dur, S)
    vx = rng.uniform(-0.1, 0.1) * S
    lo, hi = (0.15 * S, 0.85 * S) if head is None else (x - 0.05 * S, x + 0.05 * S)
    contact = {int(np.floor(t * fps)) for t, _, _ in impacts}
    bottoms, xs, squash = [], [], []
    for f in range(F):
        tc = (f + 0.5) / fps
        h = 0.0 if f in contact else _height(tc, t0, h0, g, impacts)
        if f not in contact and tc < impacts[-1][0]:
            h = max(h, AIR_MIN_PX)  # airborne frames stay clear of the floor line
        bottoms.append(float(floor_y - h))
        xs.append(float(np.clip(x + vx * max(0.0, tc - t0), lo, hi)))
        squash.append(f in contact)
    obj = dict(name=name, shape=shape, material=material, colour=colour,
               rgb=P.COLOURS[colour], radius=float(r), x=xs, bottom=bottoms, squash=squash,
               floor_y=float(floor_y))
    meta = dict(object=dict(name=name, colour=colour, material=material, radius=float(r)),
                impacts=[dict(time=round(float(t), 5), frame=int(np.floor(t * fps)),
                              strength=round(float(s), 4)) for t, s, _ in impacts],
                object_bottom=bottoms, object_x=xs, floor_y=float(floor_y))
    return obj, meta


def _compose(bg, head, obj, meta, F):
    """Frames: background + head (one cached base per bob/blink state) + mouth + object. In
    mixed clips head and object never overlap, so their drawing order does not matter."""
    video = np.empty((F,) + bg.shape, np.uint8)
    shadow_bg = None
    if obj is not None:
        shadow_bg = render.repel(np.maximum(bg.astype(np.float32) * 0.72, P.FLOOR))
    bases = {}
    for f in range(F):
        fr = video[f]
        if head is None:
            fr[:] = bg
        else:
            key = (int(head.bob[f]), bool(head.eyes_open[f]))
            if key not in bases:
                b = bg.copy()
                head.paste(b, *key)
                bases[key] = b
            fr[:] = bases[key]
            v = meta['mouth_vowel'][f]
            head.draw_mouth(fr, key[0], meta['mouth_open'][f], P.VOWELS[v][2] if v else 1.0)
        if obj is not None:
            render.draw_object(fr, shadow_bg, obj['shape'], obj['rgb'], obj['x'][f],
                               obj['bottom'][f], obj['radius'], obj['floor_y'], obj['squash'][f])
    return video
