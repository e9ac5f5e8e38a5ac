"""TalkingShapes vocabulary: the named colours, shapes, places, framings, phonemes and voices the
world draws from, and the colour conventions the evaluators rely on (DESIGN.md section 7).

Shared by the world (tools/talkingshapes/world.py) and the metrics (tools/metrics/): a classifier
reads a frame back into these names, so every value here is part of the data contract.

Colour rules:
- MOUTH_RGB (the open mouth) is the only colour with every channel below NEAR_BLACK (40).
- Every other colour drawn has every channel >= FLOOR (48) and its brightest channel >= BRIGHT
  (72); backgrounds and shadows are forced there (render.repel), fixed colours are chosen so.
- Scene colours (backgrounds, shadows, eyes, lips) stay >= MIN_PALETTE_DIST (RGB Euclidean) from
  every subject colour, so "the dominant pixels near a palette colour" is the subject.
"""

NEAR_BLACK = 40          # a pixel is "mouth" when all of R, G, B are below this
FLOOR = 48               # every non-mouth channel is at least this
BRIGHT = 72              # ... and every non-mouth colour has some channel at least this, so a
                         # generated frame's noise or blur cannot make it pass for mouth
MIN_PALETTE_DIST = 64.0  # scene colours keep this far from every subject colour
CLASSIFY_DIST = 50.0     # a classifier may call a pixel a subject colour within this distance

MOUTH_RGB = (10, 6, 8)  # 30 below the threshold: survives blur and codecs
LIPS_RGB = (120, 48, 64)        # the closed mouth line
EYE_WHITE_RGB = (246, 246, 240)
PUPIL_RGB = (56, 56, 76)

# Subject colours: heads and bouncing objects. Saturated, far from each other and from scenes.
COLOURS = {
    'red': (215, 50, 50),
    'orange': (240, 140, 52),
    'yellow': (240, 215, 50),
    'green': (60, 175, 75),
    'blue': (55, 95, 225),
    'purple': (145, 75, 195),
    'pink': (240, 125, 185),
    'cyan': (60, 200, 210),
}

# Head shapes, with the features the adherence classifier separates them by: fill ratio of the
# bounding box, width/height aspect, and where the widest row lies (0 top .. 1 bottom).
HEAD_SHAPES = ('round', 'square', 'triangle', 'diamond', 'oval')
OBJECTS = {  # name -> (shape drawn, material of its impact sound)
    'ball': ('round', 'rubber'),
    'box': ('square', 'wood'),
}

PLACES = {  # name -> (caption phrase, ambient beds that suit it)
    'beach': ('on a beach', ('waves', 'wind')),
    'night': ('under a night sky', ('wind', 'hum')),
    'room': ('in a room', ('hum', 'rain')),
    'forest': ('in a forest', ('rain', 'wind')),
    'snow': ('in the snow', ('wind',)),
    'desert': ('in a desert at sunset', ('wind',)),
}

FRAMINGS = {  # name -> caption phrase
    'close-up': 'close-up',
    'wide': 'wide shot',
    'left': 'on the left',
    'right': 'on the right',
}

AMBIENT_PHRASES = {
    'waves': 'soft waves',
    'wind': 'gentle wind',
    'hum': 'a low hum',
    'rain': 'light rain',
}

# Vowels: formants F1..F3 (Hz, adult low voice; scaled up for higher voices), relative loudness
# (open vowels are louder, which is also why the mouth opens widest on "a"), and the mouth's
# width/height aspect for that vowel (spread for i/e, rounded for o/u).
VOWELS = {
    'a': ((730, 1090, 2440), 1.00, 1.35),
    'e': ((530, 1840, 2480), 0.85, 1.9),
    'i': ((300, 2250, 3000), 0.72, 2.6),
    'o': ((570, 840, 2410), 0.85, 1.0),
    'u': ((320, 870, 2240), 0.72, 0.8),
}

# Consonants: manner, voicing, the centre of its noise (Hz) and whether the lips are closed
# while it sounds (the mouth is drawn shut on m, b and p).
CONSONANTS = {
    'b': ('stop', True, 700, True),
    'p': ('stop', False, 800, True),
    'd': ('stop', True, 3500, False),
    't': ('stop', False, 4000, False),
    'k': ('stop', False, 1800, False),
    'm': ('nasal', True, 0, True),
    'n': ('nasal', True, 0, False),
    'l': ('liquid', True, 0, False),
    's': ('fricative', False, 5500, False),
    'f': ('fricative', False, 3000, False),
}

# Voices: base pitch range (Hz) and formant scale.
VOICES = {
    'low': ((95.0, 120.0), 1.0),
    'mid': ((145.0, 185.0), 1.08),
    'high': ((220.0, 280.0), 1.17),
}
SPEEDS = {'slowly': 1.3, 'normal': 1.0, 'quickly': 0.78}


def colour_distance(a, b):
    return sum((float(x) - float(y)) ** 2 for x, y in zip(a, b)) ** 0.5
