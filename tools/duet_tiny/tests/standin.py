"""A trivial stand-in for tools/talkingshapes/world.py, used only by duet_tiny's tests: a
coloured disk head with a near-black mouth that opens with the loudness of tone-burst
"syllables", on a flat background, with an Ovi-tagged caption."""
import numpy as np

COLOURS = {'red': (200, 60, 50), 'green': (60, 180, 80), 'blue': (60, 90, 210),
           'yellow': (220, 200, 60)}
WORDS = ['ba', 'di', 'mo', 'ku', 'te', 'la']


def sample_clip(seed, n_frames=48, size=128, fps=16, sr=16000, kind=None):
    rng = np.random.default_rng(seed)
    name = list(COLOURS)[rng.integers(len(COLOURS))]
    bg = rng.integers(90, 200, size=3)
    n = int(round(n_frames / fps * sr))
    t = np.arange(n) / sr
    pitch = rng.uniform(120, 260)
    env = np.zeros(n, np.float32)
    words = []
    pos = int(0.2 * sr)
    while pos < n - int(0.3 * sr):
        ln = int(rng.uniform(0.12, 0.3) * sr)
        env[pos:pos + ln] = np.sin(np.linspace(0, np.pi, ln)) * rng.uniform(0.4, 0.9)
        words.append(WORDS[rng.integers(len(WORDS))])
        pos += ln + int(rng.uniform(0.05, 0.25) * sr)
    audio = (env * (np.sin(2 * np.pi * pitch * t) + 0.4 * np.sin(4 * np.pi * pitch * t)) *
             0.5).astype(np.float32)
    yy, xx = np.mgrid[0:size, 0:size]
    cx, cy, r = size / 2 + rng.uniform(-8, 8), size / 2, size * 0.3
    video = np.empty((n_frames, size, size, 3), np.uint8)
    for f in range(n_frames):
        frame = np.empty((size, size, 3), np.uint8)
        frame[:] = bg
        frame[(xx - cx) ** 2 + (yy - cy) ** 2 < r * r] = COLOURS[name]
        a = env[min(n - 1, int(f / fps * sr)):min(n, int((f + 1) / fps * sr))].mean()
        mh = 1 + a * r * 0.4
        mouth = ((xx - cx) / (r * 0.4)) ** 2 + ((yy - cy - r * 0.4) / mh) ** 2 < 1
        if a > 0.05:
            frame[mouth] = (10, 10, 10)
        video[f] = frame
    caption = f'A {name} round head talks. <S>{" ".join(words)}<E> <AUDCAP>a voice<ENDAUDCAP>'
    return dict(video=video, audio=audio, caption=caption, meta=dict(colour=name))
