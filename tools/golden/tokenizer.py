#!/usr/bin/env python3
"""Golden reference for duet's tokenizer (encoders/tokenizer.c).

Regenerate (from the repository root; deterministic, CPU only, about a second):

    python3 tools/golden/tokenizer.py tests/golden/tokenizer \
        --fuzz-seeds tests/fuzz/corpus/tokenizer

Trains a small SentencePiece unigram model on a fixed list of TalkingShapes-style captions with
the settings duet-tiny's tokenizer uses (tools/duet_tiny/text.py on branch `model`) and the
conventions of google/umt5-xxl as Wan/Ovi call it: pad 0, eos 1, unk 2, no bos, byte fallback,
nmt_nfkc normalization (compiled into the model's precompiled charsmap), and Ovi's prompt tags
<S>, <E>, <AUDCAP>, <ENDAUDCAP> as user-defined pieces so that each is one token.
Then it encodes a list of test strings with the python `sentencepiece` package and stores
the expected ids.

With --fuzz-seeds DIR it also writes the seed corpus of tests/fuzz/fuzz_tokenizer.c: two
small models (a hand-written normalization rule table compiled into a small charsmap trie, with
multi-character keys; and identity normalization), and a few prompt texts.

Writes into the output folder:
    tokenizer.model   the SentencePiece model (a serialized ModelProto)
    cases.json        {"model": ..., "sentencepiece_version": ..., "vocab_size": ...,
                       "pad_id": 0, "eos_id": 1, "unk_id": 2,
                       "cases": [{"name", "text_hex", "text" (when valid UTF-8),
                                  "ids" (pieces only, no EOS),
                                  "ids_clean" (pieces of Wan's whitespace-cleaned text)}]}
Texts are stored as hex of their UTF-8 bytes because some cases are deliberately not valid
UTF-8 (JSON strings cannot hold those bytes).

"ids_clean" mirrors Wan2.2 wan/modules/tokenizers.py (HuggingfaceTokenizer, clean='whitespace'):
whitespace_clean(basic_clean(text)) without ftfy.fix_text and html.unescape, i.e.
strip(); regex.sub(r'\\s+', ' '); strip(), using the `regex` module as Wan does (its \\s is the
Unicode White_Space set; str.strip() additionally strips U+001C..U+001F).
"""
import argparse
import io
import json
import os
import tempfile

import regex
import sentencepiece as spm

TAGS = ['<S>', '<E>', '<AUDCAP>', '<ENDAUDCAP>']
PAD_ID, EOS_ID, UNK_ID = 0, 1, 2
VOCAB_SIZE = 300

COLOURS = ['red', 'blue', 'green', 'yellow', 'purple', 'orange']
SHAPES = ['round', 'square', 'triangle']
PLACES = ['on a beach', 'at night', 'in a room', 'in a forest', 'on a street']
FRAMINGS = ['Close-up', 'Wide shot', 'Medium shot']
SYLLABLES = ['ba', 'di', 'mo', 'ta', 'ki', 'lo', 'ka', 'lu', 'ri', 'pe', 'so', 'ne']
SOUNDS = ['soft waves', 'crickets chirp', 'a quiet hum', 'wind in the trees', 'distant traffic',
          'a ball bounces', 'a door closes']
VOICES = ['a high voice speaks', 'a low voice speaks', 'a calm voice', 'a cheerful voice']


def corpus():
    """A fixed caption list (no randomness): every colour, shape, place, framing and sound
    appears, speech is syllables inside <S>..<E>, sound inside <AUDCAP>..<ENDAUDCAP>."""
    lines = []
    for i in range(90):
        c, s = COLOURS[i % 6], SHAPES[(i // 6) % 3]
        place, framing = PLACES[i % 5], FRAMINGS[i % 3]
        speech = ' '.join(SYLLABLES[(i * 7 + k * 5) % 12] for k in range(2 + i % 3))
        voice, sound = VOICES[i % 4], SOUNDS[i % 7]
        if i % 4 == 3:
            lines.append(f'{framing} of a {c} {s} head {place}; a {COLOURS[(i + 2) % 6]} ball '
                         f'bounces. <AUDCAP>{sound}<ENDAUDCAP>')
        else:
            lines.append(f'A {c} {s} head {place}, {framing.lower()}, says <S>{speech}<E>. '
                         f'<AUDCAP>{voice}, {sound}<ENDAUDCAP>')
    return lines


def train():
    """The serialized model. Written through model_writer so that no temporary path ends up
    in the model's trainer_spec (the file is then byte-for-byte reproducible)."""
    out = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(corpus()), model_writer=out,
        model_type='unigram', vocab_size=VOCAB_SIZE, byte_fallback=True,
        character_coverage=1.0, pad_id=PAD_ID, eos_id=EOS_ID, unk_id=UNK_ID, bos_id=-1,
        user_defined_symbols=TAGS, hard_vocab_limit=False, num_threads=1,
        shuffle_input_sentence=False, normalization_rule_name='nmt_nfkc', minloglevel=2)
    return out.getvalue()


# (name, text as str or bytes). Bytes cases are not valid UTF-8.
CASES = [
    ('empty', ''),
    ('caption', 'A red round head on a beach, close-up, says <S>ba di mo<E>. '
                '<AUDCAP>a high voice speaks, soft waves<ENDAUDCAP>'),
    ('caption_unseen_words', 'A violet hexagon head juggles in the kitchen, says <S>zu ga<E>.'),
    ('tags_only', '<S><E><AUDCAP><ENDAUDCAP>'),
    ('tags_glued', 'x<S>y<E>z<AUDCAP>w<ENDAUDCAP>v'),
    ('tag_lookalikes', '<s> <e> </S> <AUDCAP <ENDAUDCAP> <S'),
    ('accents', 'café naïve Zoë résumé über'),
    ('combining_accent', 'cafe\u0301 e\u0301te\u0301'),
    ('cjk', '\u8d64\u3044\u4e38\u3044\u982d\u304c\u8a71\u3059'),
    ('hangul', '\ud55c\uad6d\uc5b4 \ud14d\uc2a4\ud2b8'),
    ('emoji', 'a ball \U0001f3c0 bounces \U0001f600\U0001f44d\U0001f3fd'),
    ('fullwidth', '\uff21 \uff52\uff45\uff44 \uff48\uff45\uff41\uff44\uff01 \uff11\uff12\uff13'),
    ('nfkc_compat', '\ufb01ne \u2460 \u00bd \u2122 \u3300 \u00b2'),
    ('repeated_spaces', 'a   red    head     says'),
    ('leading_trailing_spaces', '   a red head   '),
    ('only_spaces', '     '),
    ('tabs_newlines', 'a\tred\nhead\r\nsays\x0bhi\x0cthere'),
    ('unicode_spaces', 'a\u00a0red\u3000head\u2003says\u200bhi\u2028end'),
    ('file_separators', '\x1c\x1da\x1eb\x1f'),
    ('digits_punct', 'Shot 3: 12.5 s, 720x720 @ 24 fps -- "quoted" (paren) [x] {y} 100%!?'),
    ('control_chars', 'a\x01b\x07c\x7fd'),
    ('rare_ascii', '~`^|\\#$&*+=_'),
    ('long_word', 'supercalifragilisticexpialidocious' * 3),
    ('mixed_scripts', 'Ovi \u0441\u043a\u0430\u0437\u0430\u043b \u0645\u0631\u062d\u0628\u0627 '
                      '\u05e9\u05dc\u05d5\u05dd \u0928\u092e\u0938\u094d\u0924\u0947'),
    ('invalid_utf8_lone_continuation', b'a\x80b'),
    ('invalid_utf8_truncated_sequence', b'caf\xc3'),
    ('invalid_utf8_overlong', b'x\xc0\xafy\xed\xa0\x80z'),
    ('invalid_utf8_ff', b'\xff\xfe head'),
    ('long_caption', ' '.join(corpus()[:12])),
]


def wan_whitespace_clean(text):
    """Wan's whitespace_clean(basic_clean(text)) without ftfy and html.unescape."""
    text = text.strip()
    text = regex.sub(r'\s+', ' ', text)
    return text.strip()


def encode(sp, raw):
    """Ids of raw bytes; sentencepiece's python API takes str, and for invalid UTF-8 the C++
    library receives the exact bytes when given bytes."""
    return sp.encode(raw)


# Normalization rules for the small fuzz-seed model: source code points -> target code points.
SEED_RULES = [('FF21', '41'), ('FF22', '42'), ('FF41', '61'), ('FB01', '66 69'), ('2460', '31'),
              ('3000', '20'), ('9', '20'), ('65 301', 'E9'), ('41 301', 'C9'), ('2026', '2E 2E 2E'),
              ('200B', '')]


def train_small(captions, norm):
    """A 60-piece model without byte fallback (a small file for the fuzzer)."""
    out = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(captions), model_writer=out, model_type='unigram',
        vocab_size=60, character_coverage=1.0, pad_id=PAD_ID, eos_id=EOS_ID, unk_id=UNK_ID,
        bos_id=-1, user_defined_symbols=TAGS, hard_vocab_limit=False, num_threads=1,
        shuffle_input_sentence=False, minloglevel=2, **norm)
    return out.getvalue()


def write_fuzz_seeds(seed_dir):
    os.makedirs(seed_dir, exist_ok=True)
    captions = corpus()[:30]
    seed_dir = os.path.abspath(seed_dir)
    cwd = os.getcwd()
    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(tmp)  # the model records the rule file's path: keep it relative, reproducible
        try:
            with open('rules.tsv', 'w') as f:
                f.writelines(f'{src}\t{dst}\n' for src, dst in SEED_RULES)
            for name, norm in (('rules', dict(normalization_rule_tsv='rules.tsv')),
                               ('identity', dict(normalization_rule_name='identity'))):
                with open(os.path.join(seed_dir, f'{name}.model'), 'wb') as f:
                    f.write(train_small(captions, norm))
        finally:
            os.chdir(cwd)
    texts = {'caption.txt': captions[0],
             'unicode.txt': '\uff21 caf\u00e9 \u2460 \U0001f600 \u3000x',
             'spaces.txt': '  a\t\tb \u00a0\u2003 c  ', 'invalid.txt': b'a\x80\xc3 \xff'}
    for name, t in texts.items():
        with open(os.path.join(seed_dir, name), 'wb') as f:
            f.write(t if isinstance(t, bytes) else t.encode('utf-8'))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('out_dir')
    ap.add_argument('--fuzz-seeds', metavar='DIR', help='also write fuzz seeds into DIR')
    args = ap.parse_args()
    if args.fuzz_seeds:
        write_fuzz_seeds(args.fuzz_seeds)
    os.makedirs(args.out_dir, exist_ok=True)
    dst = os.path.join(args.out_dir, 'tokenizer.model')
    with open(dst, 'wb') as f:
        f.write(train())
    sp = spm.SentencePieceProcessor(model_file=dst)
    assert (sp.pad_id(), sp.eos_id(), sp.unk_id(), sp.bos_id()) == (PAD_ID, EOS_ID, UNK_ID, -1)
    for t in TAGS:  # each tag is one piece, glued to text or not
        assert sp.piece_to_id(t) in sp.encode(f'x{t}y') and sp.encode(t)[-1] == sp.piece_to_id(t), t
    cases = []
    for name, text in CASES:
        raw = text if isinstance(text, bytes) else text.encode('utf-8')
        case = dict(name=name, text_hex=raw.hex(), ids=encode(sp, raw))
        if isinstance(text, str):
            case['text'] = text
            case['ids_clean'] = encode(sp, wan_whitespace_clean(text).encode('utf-8'))
        cases.append(case)
    doc = dict(model='tokenizer.model', sentencepiece_version=spm.__version__,
               vocab_size=sp.get_piece_size(), pad_id=PAD_ID, eos_id=EOS_ID, unk_id=UNK_ID,
               cases=cases)
    with open(os.path.join(args.out_dir, 'cases.json'), 'w', encoding='utf-8') as f:
        json.dump(doc, f, ensure_ascii=True, indent=1)
        f.write('\n')
    print(f'{dst}: {os.path.getsize(dst)} bytes, {sp.get_piece_size()} pieces; '
          f'{len(cases)} cases')


if __name__ == '__main__':
    main()
