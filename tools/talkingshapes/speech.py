"""TalkingShapes speech: consonant-vowel syllables from a source-filter model, with the timing and
loudness tracks the renderer needs to move the mouth.

Where it sits: world.py plans a clip, calls plan_speech() for the utterances and
render_speech() for the waveform plus a per-sample "mouth envelope" (the loudness of what is being
said, zero while the lips are shut on m/b/p and in silence).

Model (Klatt-style, much reduced): a glottal impulse train at the voice pitch, spectrally tilted,
through a cascade of three formant resonators per vowel; nasals are a low resonance murmur,
liquids a weak vowel-like sound, fricatives band-passed noise, stops a silent closure then a short
noise burst (plus aspiration when voiceless). Every segment's carrier is normalised to unit RMS
and then shaped by its amplitude envelope, so the audio's short-time RMS follows the envelope
that also drives the mouth: lip-sync is exact by construction on real data.
"""
import functools

import numpy as np
from scipy import signal

from . import palette as P

SPEECH_RMS = 0.16  # waveform RMS of a syllable at amplitude 1

# Segment durations at normal speed, seconds.
DUR = dict(closure=0.045, burst=0.012, aspiration=0.035, nasal=0.07, liquid=0.055,
           s=0.10, f=0.09)
CONS_AMP = dict(nasal=0.22, liquid=0.35, s=0.30, f=0.15, burst_voiced=0.25, burst=0.35,
                aspiration=0.18)


def make_voice(rng, name=None, speed=None):
    """A voice: pitch, formant scale, speaking rate and loudness."""
    names = list(P.VOICES)
    k = names[rng.integers(len(names))]
    speeds = list(P.SPEEDS)
    s = speeds[rng.choice(len(speeds), p=[0.25, 0.5, 0.25])]
    name, speed = name or k, speed or s
    (lo, hi), fscale = P.VOICES[name]
    return dict(name=name, pitch_hz=float(rng.uniform(lo, hi)), formant_scale=fscale,
                speed=speed, rate=P.SPEEDS[speed], loudness=float(rng.uniform(0.75, 1.0)))


def random_syllable(rng):
    cons, vows = list(P.CONSONANTS), list(P.VOWELS)
    return cons[rng.integers(len(cons))] + vows[rng.integers(len(vows))]


def consonant_segments(c, rate):
    """[(segment kind, duration s, lips closed)] for consonant c, in time order."""
    manner, voiced, _, closes = P.CONSONANTS[c]
    if manner == 'stop':
        segs = [('closure', DUR['closure'] * rate, closes),
                ('burst', DUR['burst'], closes)]
        if not voiced:
            segs.append(('aspiration', DUR['aspiration'] * rate, False))
        return segs
    if manner == 'fricative':
        return [(c, DUR[c] * rate, closes)]
    return [(manner, DUR[manner] * rate, closes)]


def plan_speech(rng, voice, t_start, t_end, n_utterances=None, avoid=()):
    """Lay out 1-3 utterances of 2-5 syllables between t_start and t_end (seconds).

    Returns a list of utterances, each dict(start, end, syllables=[dict(text, start, end,
    vowel_start, amp, segments=[(kind, t0, t1, lips_closed)])]). Utterances that would not fit
    are shortened or dropped; at least one syllable is always planned when the span allows it.
    avoid: (t0, t1) spans no syllable may overlap (the speaker waits them out).
    """
    n_utt = int(n_utterances or rng.integers(1, 4))
    t = t_start
    utts = []
    for u in range(n_utt):
        n_syl = int(rng.integers(2, 6))
        syls = []
        for _ in range(n_syl):
            text = random_syllable(rng)
            t = _after(t, _syllable_span(text, voice), avoid)
            segs, tt = [], t
            for kind, d, closed in consonant_segments(text[0], voice['rate']):
                segs.append((kind, tt, tt + d, closed))
                tt += d
            vdur = float(rng.uniform(0.11, 0.17)) * voice['rate']
            if tt + vdur > t_end:
                break
            segs.append(('vowel', tt, tt + vdur, False))
            amp = voice['loudness'] * P.VOWELS[text[1]][1] * float(rng.uniform(0.85, 1.0))
            syls.append(dict(text=text, start=t, end=tt + vdur, vowel_start=tt, amp=amp,
                             segments=segs))
            t = tt + vdur + float(rng.uniform(0.0, 0.02))
        if not syls:
            break
        utts.append(dict(start=syls[0]['start'], end=syls[-1]['end'], syllables=syls))
        t = syls[-1]['end'] + float(rng.uniform(0.3, 0.6))
        if t >= t_end:
            break
    return utts


def _syllable_span(text, voice):
    """Longest duration a syllable starting with text's consonant can take."""
    return sum(d for _, d, _ in consonant_segments(text[0], voice['rate'])) + 0.17 * voice['rate']


def _after(t, span, avoid):
    """Earliest start >= t such that [start, start + span] overlaps no avoid interval."""
    moved = True
    while moved:
        moved = False
        for a0, a1 in avoid:
            if t < a1 and t + span > a0:
                t, moved = a1, True
    return t


@functools.lru_cache(maxsize=256)
def _bandpass(lo, hi, sr):
    hi = min(hi, 0.45 * sr)
    return signal.butter(2, [lo, hi], btype='bandpass', fs=sr, output='sos')


def _resonators(formants, bandwidths, sr):
    """Second-order sections of a cascade of 2-pole resonators (unit gain at DC)."""
    sos = []
    for f, bw in zip(formants, bandwidths):
        r = np.exp(-np.pi * bw / sr)
        c = 2 * r * np.cos(2 * np.pi * f / sr)
        g = 1 - c + r * r
        sos.append([g, 0, 0, 1, -c, r * r])
    return np.array(sos)


def _envelope(n, sr, attack_s, release_s, decay_to=1.0):
    """Raised-cosine attack, linear sustain from 1 to decay_to, raised-cosine release."""
    env = np.linspace(1.0, decay_to, n)
    na, nr = min(n // 2, int(attack_s * sr)), min(n // 2, int(release_s * sr))
    if na > 0:
        env[:na] *= 0.5 - 0.5 * np.cos(np.pi * np.arange(na) / na)
    if nr > 0:
        env[n - nr:] *= 0.5 + 0.5 * np.cos(np.pi * np.arange(1, nr + 1) / nr)
    return env


def _unit_rms(x):
    r = np.sqrt(np.mean(x * x))
    return x / r if r > 1e-9 else x


def _glottal_source(n, sr, f0):
    """Impulse train at the per-sample pitch f0, tilted (-12 dB/oct glottis, +6 lip radiation)."""
    phase = np.cumsum(f0 / sr)
    src = np.diff(np.floor(phase), prepend=0.0)
    a = np.exp(-2 * np.pi * 250.0 / sr)
    src = signal.lfilter([1 - a], [1, -a], src)
    src = signal.lfilter([1 - a], [1, -a], src)
    return np.diff(src, prepend=0.0)


def _pitch_track(utts, voice, n, sr):
    """Per-sample pitch: declination over each utterance, a small accent per syllable."""
    f0 = np.full(n, voice['pitch_hz'])
    for u in utts:
        dur = max(u['end'] - u['start'], 1e-3)
        for k, s in enumerate(u['syllables']):
            i0, i1 = int(s['start'] * sr), min(n, int(s['end'] * sr))
            tt = (np.arange(i0, i1) / sr - u['start']) / dur
            accent = 1.0 + 0.05 * np.cos(1.7 * k + 0.3 * len(u['syllables']))
            f0[i0:i1] = voice['pitch_hz'] * accent * (1.06 - 0.12 * tt)
    return f0


def render_speech(utts, voice, n, sr, rng):
    """Waveform float32 [n], mouth envelope float32 [n] (>= 0) and vowel id int8 [n] (-1 none).

    The mouth envelope is the amplitude envelope of what is sounding, zero where the lips are
    shut; the vowel track names the vowel of the syllable being said (it sets the mouth shape).
    """
    wave = np.zeros(n)
    mouth = np.zeros(n)
    vowel_id = np.full(n, -1, np.int8)
    if not utts:
        return wave.astype(np.float32), mouth.astype(np.float32), vowel_id
    src = _glottal_source(n, sr, _pitch_track(utts, voice, n, sr))
    noise = rng.standard_normal(n)
    fs = voice['formant_scale']
    vowel_names = list(P.VOWELS)
    for u in utts:
        for s in u['syllables']:
            formants = tuple(f * fs for f in P.VOWELS[s['text'][1]][0])
            v_sos = _resonators(formants, (80, 100, 140), sr)
            for kind, t0, t1, closed in s['segments']:
                i0, i1 = int(round(t0 * sr)), min(n, int(round(t1 * sr)))
                m = i1 - i0
                if m <= 4 or kind == 'closure':
                    continue
                carrier, amp, env = _segment(kind, s, src[i0:i1], noise[i0:i1], v_sos,
                                             formants, sr)
                env = env * amp * s['amp']
                wave[i0:i1] += SPEECH_RMS * _unit_rms(carrier) * env
                if not closed:
                    mouth[i0:i1] = np.maximum(mouth[i0:i1], env)
            i0, i1 = int(round(s['start'] * sr)), min(n, int(round(s['end'] * sr)))
            vowel_id[i0:i1] = vowel_names.index(s['text'][1])
    return wave.astype(np.float32), mouth.astype(np.float32), vowel_id


def _segment(kind, syl, src, noise, v_sos, formants, sr):
    """(carrier, relative amplitude, envelope) of one segment."""
    m = len(src)
    c = syl['text'][0]
    if kind == 'vowel':
        return signal.sosfilt(v_sos, src), 1.0, _envelope(m, sr, 0.015, 0.03, 0.8)
    if kind == 'nasal':
        sos = _resonators((250.0, 2500.0), (60.0, 200.0), sr)
        return signal.sosfilt(sos, src), CONS_AMP['nasal'], _envelope(m, sr, 0.01, 0.01)
    if kind == 'liquid':
        sos = _resonators((350.0, 1200.0, 2800.0), (70.0, 110.0, 160.0), sr)
        return signal.sosfilt(sos, src), CONS_AMP['liquid'], _envelope(m, sr, 0.01, 0.01)
    if kind in ('s', 'f'):
        lo, hi = (4000.0, 7500.0) if kind == 's' else (1500.0, 6000.0)
        return (signal.sosfilt(_bandpass(lo, hi, sr), noise), CONS_AMP[kind],
                _envelope(m, sr, 0.015, 0.015))
    if kind == 'burst':
        centre = P.CONSONANTS[c][2]
        car = signal.sosfilt(_bandpass(0.6 * centre, 1.5 * centre, sr), noise)
        amp = CONS_AMP['burst_voiced' if P.CONSONANTS[c][1] else 'burst']
        return car, amp, _envelope(m, sr, 0.001, 0.008)
    if kind == 'aspiration':
        sos = _resonators(formants, (200, 250, 300), sr)
        return signal.sosfilt(sos, noise), CONS_AMP['aspiration'], _envelope(m, sr, 0.005, 0.01)
    raise ValueError(kind)
