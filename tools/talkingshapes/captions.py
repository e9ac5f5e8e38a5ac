"""TalkingShapes captions in Ovi's prompt format, and their parser.

Where it sits: world.py calls caption(meta) for every clip; tools/metrics/adherence.py calls
parse() to read back what a caption asks for. Speech is the syllables spoken, one `<S>...<E>`
per utterance; the sound description sits inside `<AUDCAP>...<ENDAUDCAP>` (Ovi's 720x720 model
uses these tags: character-ai/Ovi, prompt format in its README and example prompts).
Example: "A red round head on a beach, close-up, says <S>ba lo mi<E>.
<AUDCAP>a high voice speaks, soft waves<ENDAUDCAP>"
"""
import re

from . import palette as P

TIMES = {1: 'once', 2: 'twice', 3: 'three times', 4: 'four times', 5: 'five times',
         6: 'six times'}


def _a(word):
    return ('an ' if word[0] in 'aeiou' else 'a ') + word


def _speech(meta):
    parts = ['<S>' + ' '.join(s['text'] for s in u['syllables']) + '<E>'
             for u in meta['utterances']]
    return 'says ' + ' then '.join(parts) if parts else 'stays silent'


def _voice(meta):
    v = meta['voice']
    return f"a {v['name']} voice speaks" + ('' if v['speed'] == 'normal' else ' ' + v['speed'])


def caption(meta):
    kind = meta['kind']
    where = P.PLACES[meta['place']][0]
    framing = P.FRAMINGS[meta['framing']]
    sounds = []
    if kind in ('talk', 'mixed'):
        ch = meta['character']
        scene = f"{_a(ch['colour']).capitalize()} {ch['shape']} head {where}, {framing}, " \
            f"{_speech(meta)}"
        sounds.append(_voice(meta))
    if kind in ('bounce', 'mixed'):
        ob = meta['object']
        times = TIMES.get(len(meta['impacts']), f"{len(meta['impacts'])} times")
        if kind == 'bounce':
            scene = f"{_a(ob['colour']).capitalize()} {ob['name']} falls and bounces {where}, " \
                f"{framing}"
            sounds.append(f"a {ob['material']} {ob['name']} hits the ground {times}")
        else:
            scene += f" while {_a(ob['colour'])} {ob['name']} bounces"
            sounds.append(f"a {ob['name']} bounces {times}")
    if meta['ambient']:
        sounds.append(P.AMBIENT_PHRASES[meta['ambient']])
    return f"{scene}. <AUDCAP>{', '.join(sounds)}<ENDAUDCAP>"


_COL = '|'.join(P.COLOURS)
_HEAD_RE = re.compile(rf"\b({_COL})\s+({'|'.join(P.HEAD_SHAPES)})\s+head\b")
_OBJ_RE = re.compile(rf"\b({_COL})\s+({'|'.join(P.OBJECTS)})\b")
_SPEECH_RE = re.compile(r'<S>(.*?)<E>', re.S)
_AUD_RE = re.compile(r'<AUDCAP>(.*?)<ENDAUDCAP>', re.S)
_TIMES_RE = re.compile(r"\b(once|twice|three times|four times|five times|six times|(\d+) times)\b")


def parse(text):
    """What a caption asks for: dict(head=(colour, shape) | None, object=(colour, name) | None,
    utterances=[[syllable, ...], ...], n_syllables, n_impacts (from the sound text) | None,
    audcap str | None)."""
    h = _HEAD_RE.search(text)
    scene = _SPEECH_RE.sub(' ', _AUD_RE.sub(' ', text))
    o = _OBJ_RE.search(scene)
    utts = [u.split() for u in _SPEECH_RE.findall(text)]
    a = _AUD_RE.search(text)
    n_imp = None
    if a:
        t = _TIMES_RE.search(a.group(1))
        if t:
            word = t.group(1)
            n_imp = int(t.group(2)) if t.group(2) else \
                {v: k for k, v in TIMES.items()}[word]
    return dict(head=(h.group(1), h.group(2)) if h else None,
                object=(o.group(1), o.group(2)) if o else None,
                utterances=utts, n_syllables=sum(len(u) for u in utts), n_impacts=n_imp,
                audcap=a.group(1) if a else None)
