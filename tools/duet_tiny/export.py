"""duet-tiny model bundle: build the modules from a config, export them to the files the C engine
loads (models/duet-tiny/{model.safetensors, config.json, tokenizer.model, MODEL_CARD.md}) and load
such an export back.

One safetensors file holds every module under a prefix, each with its upstream key names:
  video_model. / audio_model.  Ovi FusionModel towers (Wan names)
  text_encoder.                Wan T5 encoder names
  video_vae.                   Wan2.2 VAE names (+ latent_mean, latent_std)
  audio_vae.                   MMAudio VAE names (+ data_mean, data_std), MP weights baked
  vocoder.                     BigVGAN names, weight norm folded
Dtypes: matrices and conv kernels with >= 1024 elements are f16; vectors (biases, norms, snake
parameters, statistics), modulation tables and relative-position tables stay f32.
"""
import hashlib
import json
import os
import shutil

import torch
from safetensors.torch import load_file, save_file

from . import config as C
from .audio import AudioVAE, MelConverter, Vocoder
from .dit import FusionModel
from .text import EOS_ID, PAD_ID, T5Encoder, Tokenizer
from .video_vae import WanVAE

PREFIXES = ('video_model.', 'audio_model.', 'text_encoder.', 'video_vae.', 'audio_vae.',
            'vocoder.')


def build(cfg, vocab_size=None):
    """Fresh modules for a preset dict (text vocab from the trained tokenizer if given)."""
    tcfg = dict(cfg['text'])
    if vocab_size is not None:
        tcfg['vocab_size'] = vocab_size
    cfg['text'] = tcfg
    vcfg, acfg = C.tower_configs(cfg)
    return dict(dit=FusionModel(vcfg, acfg), text_encoder=T5Encoder(tcfg),
                video_vae=WanVAE(cfg['video_vae']), audio_vae=AudioVAE(cfg['audio_vae']),
                vocoder=Vocoder(cfg['vocoder']), mel=MelConverter(C.MEL))


def _keep_f32(name, t):
    return (t.ndim <= 1 or t.numel() < 1024 or name.endswith('modulation') or
            'pos_embedding' in name or name.endswith('data_mean') or name.endswith('data_std'))


def flat_state(models):
    out = {}
    dit = models['dit'].state_dict()
    for k, v in dit.items():
        out[k] = v
    for key in ('text_encoder', 'video_vae', 'audio_vae', 'vocoder'):
        for k, v in models[key].state_dict().items():
            out[f'{key}.{k}'] = v
    res = {}
    for k, v in out.items():
        v = v.detach().float().contiguous()
        res[k] = v if _keep_f32(k, v) else v.half()
    return res


# What `duet render` accepts with this model (cli/model_defaults.h reads them from config.json):
# shots up to 4 s (trained on 49-frame, ~3 s clips; RoPE carries a little past that), square
# or not, sides from 64 to 256 px in steps of one latent cell after patching (16 px).
RENDER_LIMITS = dict(max_seconds=4.0, size_multiple=16, min_size=64, max_size=256)


def full_config(cfg):
    vcfg, acfg = C.tower_configs(cfg)
    t = dict(cfg['text'])
    t.update(tokenizer='tokenizer.model', pad_id=PAD_ID, eos_id=EOS_ID, relative_attention=
             'per-layer bidirectional buckets, unscaled scores (Wan T5)', key_names='wan_t5')
    return dict(
        model='duet-tiny', format_version=1, clip=dict(C.CLIP, **RENDER_LIMITS), mel=C.MEL,
        latent=C.LATENT,
        video_model=vcfg, audio_model=acfg, text_encoder=t, video_vae=cfg['video_vae'],
        audio_vae=dict(cfg['audio_vae'], weights='mp_baked'), vocoder=cfg['vocoder'],
        sampler=cfg['sampler'], prefixes=list(PREFIXES))


def save(models, cfg, tokenizer_path, out_dir, card_text):
    os.makedirs(out_dir, exist_ok=True)
    models['audio_vae'].bake()
    round_trip_f16(models)          # the in-memory modules now equal the file
    st = flat_state(models)
    path = os.path.join(out_dir, 'model.safetensors')
    save_file(st, path, metadata={'format': 'pt', 'model': 'duet-tiny'})
    with open(os.path.join(out_dir, 'config.json'), 'w') as f:
        json.dump(full_config(cfg), f, indent=2)
        f.write('\n')
    shutil.copyfile(tokenizer_path, os.path.join(out_dir, 'tokenizer.model'))
    with open(os.path.join(out_dir, 'MODEL_CARD.md'), 'w') as f:
        f.write(card_text)
    return path


def file_sha256(path):
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            h.update(chunk)
    return h.hexdigest()


def load(model_dir):
    """(models, cfg, tokenizer) from an export directory; modules in f32 eval mode."""
    with open(os.path.join(model_dir, 'config.json')) as f:
        full = json.load(f)
    cfg = dict(text=full['text_encoder'], video_vae=full['video_vae'],
               audio_vae={k: v for k, v in full['audio_vae'].items() if k != 'weights'},
               vocoder=full['vocoder'], sampler=full['sampler'],
               dit={k: full['video_model'][k] for k in ('dim', 'ffn_dim', 'num_heads',
                                                       'num_layers', 'freq_dim', 'eps',
                                                       'qk_norm', 'cross_attn_norm')})
    models = build(cfg)
    models['audio_vae'].bake()
    st = {k: v.float() for k, v in load_file(os.path.join(model_dir, 'model.safetensors')).items()}
    models['dit'].load_state_dict({k: v for k, v in st.items()
                                   if k.startswith(('video_model.', 'audio_model.'))})
    for key in ('text_encoder', 'video_vae', 'audio_vae', 'vocoder'):
        p = key + '.'
        models[key].load_state_dict({k[len(p):]: v for k, v in st.items() if k.startswith(p)})
    for m in models.values():
        m.eval()
    tok = Tokenizer(os.path.join(model_dir, 'tokenizer.model'))
    return models, cfg, tok


def round_trip_f16(models):
    """Round every exported-f16 tensor through f16 in place, so references computed from the
    in-memory modules equal what the C engine computes from the file."""
    st = flat_state(models)
    with torch.no_grad():
        for key, mod in (('dit', models['dit']), ('text_encoder', models['text_encoder']),
                         ('video_vae', models['video_vae']), ('audio_vae', models['audio_vae']),
                         ('vocoder', models['vocoder'])):
            p = '' if key == 'dit' else key + '.'
            sd = {k[len(p):]: v.float() for k, v in st.items() if k.startswith(p) and
                  (key != 'dit' or k.startswith(('video_model.', 'audio_model.')))}
            mod.load_state_dict(sd)
