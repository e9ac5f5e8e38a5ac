#!/usr/bin/env python3
"""Assemble a duet model folder from Ovi's released checkpoints: config.json, tokenizer.model
and one model.safetensors, the layout `duet render` loads (cli/render_model.c; duet-tiny's is
written by tools/duet_tiny/export.py).

    python3 tools/convert_ovi.py --ckpt-dir ckpts -o models/ovi-720x720-5s

with ckpts/ as Ovi's download_weights.py lays it out (each file can also be given alone):
    Ovi/model.safetensors                          --dit         joint DiT, bf16 (Ovi's names)
    Wan2.2-TI2V-5B/models_t5_umt5-xxl-enc-bf16.pth --t5          umT5-XXL encoder
    Wan2.2-TI2V-5B/google/umt5-xxl/spiece.model    --tokenizer   its SentencePiece model
    Wan2.2-TI2V-5B/Wan2.2_VAE.pth                  --video-vae   Wan2.2 VAE
    MMAudio/ext_weights/v1-16.pth                  --audio-vae   MMAudio 16 kHz mel VAE
    MMAudio/ext_weights/best_netG.pt               --vocoder     its BigVGAN vocoder

model.safetensors holds, in this order:
  video_model.*, audio_model.*  the DiT's tensors copied byte for byte under Ovi's own names
                                (every name must start with one of the two prefixes, and the
                                full set of names and shapes of FusionModel for the sizes the
                                shapes show must be present, nothing else; fp8 is refused)
  text_encoder.*                tools/convert_umt5.py's conversion (bf16)
  video_vae.*                   tools/convert_wan_vae.py's (f32, + latent_mean / latent_std)
  audio_vae.*                   tools/convert_mmaudio_vae.py's (MP weights baked, f32)
  vocoder.*                     tools/convert_bigvgan.py's (weight norm folded, f32, with
                                BigVGAN's anti-aliasing filters unless --no-antialias)
config.json: the towers' fields as Ovi's ovi/configs/model/dit/{video,audio}.json (sizes read
off the shapes and checked; num_heads, which the shapes do not show, is Ovi's 24), the parts'
inferred configs, MMAudio's 16 kHz mel, the clip and latent geometry of the variant
(ovi/ovi_fusion_engine.py NAME_TO_MODEL_SPECS_MAP; a square request snaps to multiples of 32,
720 -> 704, as snap_hw_to_multiple_of_32 does) and the sampler defaults of
ovi/configs/inference/inference_fusion.yaml (UniPC, 50 steps, shift 5, guidance 4.0 video /
3.0 audio, skip-layer guidance at block 11, the two default negative prompts).

Every part is read and checked before anything is written (wrong files fail in seconds), the
free disk space is checked, and the folder is written as OUT.partial/ and renamed to OUT when
complete; a failure removes OUT.partial/. Disk: about 39 GB for 720x720_5s (DiT 23.3 GB bf16,
umT5 11.4 GB bf16, Wan VAE 2.8 GB, MMAudio VAE 0.7 GB, BigVGAN 0.45 GB, all f32 but the first
two). Memory: the sources are memory-mapped and written one tensor at a time: at most one
tensor beyond the page cache (the largest is umT5's 2.1 GB embedding).
"""
import argparse
import json
import os
import shutil
import struct
import sys

import convert_bigvgan
import convert_mmaudio_vae
import convert_umt5
import convert_wan_vae
from convert_common import (ConvertError, Entry, Part, check_shapes, checkpoint_order, parse_ints,
                            shape_of, tensor_entry, write_safetensors)

# character-ai/Ovi ovi/ovi_fusion_engine.py NAME_TO_MODEL_SPECS_MAP (commit 5b69b25a) and
# download_weights.py: checkpoint file, latent frames / tokens, target area, audio prompt tag.
VARIANTS = {
    '720x720_5s': dict(file='model.safetensors', video_frames=31, audio_tokens=157,
                       area=720 * 720, audio_tag='<AUDCAP>...<ENDAUDCAP>'),
    '960x960_5s': dict(file='model_960x960.safetensors', video_frames=31, audio_tokens=157,
                       area=960 * 960, audio_tag='Audio: ...'),
    '960x960_10s': dict(file='model_960x960_10s.safetensors', video_frames=61,
                        audio_tokens=314, area=960 * 960, audio_tag='Audio: ...'),
}
# ovi/configs/model/dit/{video,audio}.json; text_dim is WanModel's default (4096), absent there.
OVI_TOWER = dict(dim=3072, ffn_dim=14336, freq_dim=256, num_heads=24, num_layers=30,
                 text_len=512, text_dim=4096, eps=1e-6)
OVI_VIDEO_IO = dict(in_dim=48, out_dim=48, patch_size=[1, 2, 2])
OVI_AUDIO_IO = dict(in_dim=20, out_dim=20, patch_size=[1])
AUDIO_ROPE_SCALE = 0.19676  # audio.json temporal_rope_scaling_factor
# ovi/configs/inference/inference_fusion.yaml (what inference.py passes to generate()).
SAMPLER = dict(solver='unipc', steps=50, shift=5.0, video_guidance_scale=4.0,
               audio_guidance_scale=3.0, slg_layer=11,
               video_negative_prompt='jitter, bad hands, blur, distortion',
               audio_negative_prompt='robotic, muffled, echo, distorted')
# MMAudio mmaudio/ext/mel_converter.py get_mel_converter('16k').
MEL = dict(sample_rate_hz=16000, n_fft=1024, hop=256, win=1024, n_mels=80, fmin_hz=0.0,
           fmax_hz=8000.0, log_clamp=1e-5)
FPS = 24  # ovi/utils/io_utils.py save_video default, what Ovi writes
PREFIXES = ('video_model.', 'audio_model.', 'text_encoder.', 'video_vae.', 'audio_vae.',
            'vocoder.')
CKPT_LAYOUT = dict(t5='Wan2.2-TI2V-5B/models_t5_umt5-xxl-enc-bf16.pth',
                   tokenizer='Wan2.2-TI2V-5B/google/umt5-xxl/spiece.model',
                   video_vae='Wan2.2-TI2V-5B/Wan2.2_VAE.pth',
                   audio_vae='MMAudio/ext_weights/v1-16.pth',
                   vocoder='MMAudio/ext_weights/best_netG.pt')
DIT_DTYPES = {'BF16': 2, 'F16': 2, 'F32': 4}

# ---------------------------------------------------------------------------------------------
# The DiT: Ovi's model.safetensors, copied unchanged


def read_safetensors_header(path):
    """{name: (dtype, shape, absolute offset, nbytes)} from a safetensors file's header."""
    if not os.path.isfile(path):
        raise ConvertError(f'{path}: no such file')
    size = os.path.getsize(path)
    with open(path, 'rb') as f:
        raw = f.read(8)
        n = struct.unpack('<Q', raw)[0] if len(raw) == 8 else 0
        if n < 2 or n > min(size - 8, 256 << 20):
            raise ConvertError(f'{path}: not a safetensors file (header length {n})')
        try:
            header = json.loads(f.read(n))
        except ValueError as e:
            raise ConvertError(f'{path}: safetensors header is not JSON ({e})') from None
    out, start = {}, 8 + n
    for name, d in header.items():
        if name == '__metadata__':
            continue
        dt, shape, (a, b) = d.get('dtype'), d.get('shape'), d.get('data_offsets', (-1, -1))
        if dt and dt.startswith('F8'):
            raise ConvertError(f'{path}: tensor {name} is {dt}: the fp8 checkpoint is not '
                               'supported (duet loads f32, f16 or bf16); use model.safetensors')
        if dt not in DIT_DTYPES:
            raise ConvertError(f'{path}: tensor {name} has dtype {dt} (expected BF16, F16 or '
                               'F32)')
        count = 1
        for s in shape:
            count *= s
        if not 0 <= a <= b or b - a != count * DIT_DTYPES[dt] or start + b > size:
            raise ConvertError(f'{path}: tensor {name}: data offsets {a}..{b} do not fit '
                               f'{dt}{shape} inside the file')
        out[name] = (dt, tuple(shape), start + a, b - a)
    return out


def _lin(s, name, n_out, n_in):
    s[name + '.weight'] = (n_out, n_in)
    s[name + '.bias'] = (n_out,)


def swiglu_hidden(dim):
    """ConvMLP(dim, 4 dim, multiple_of=256)'s hidden width (ovi/modules/model.py)."""
    h = int(2 * (4 * dim) / 3)
    return 256 * ((h + 255) // 256)


def tower_shapes(p, c, audio):
    """Every tensor of one Ovi WanModel tower with FusionModel's fusion layers (ovi/modules/
    model.py, fusion.py) under prefix p."""
    d, f = c['dim'], c['ffn_dim']
    s = {}
    if audio:
        h = swiglu_hidden(d)
        s[p + 'patch_embedding.0.weight'] = (d, c['in_dim'], 7)
        s[p + 'patch_embedding.0.bias'] = (d,)
        s[p + 'patch_embedding.2.w1.weight'] = (h, d, 7)
        s[p + 'patch_embedding.2.w2.weight'] = (d, h, 7)
        s[p + 'patch_embedding.2.w3.weight'] = (h, d, 7)
    else:
        s[p + 'patch_embedding.weight'] = (d, c['in_dim'], *c['patch_size'])
        s[p + 'patch_embedding.bias'] = (d,)
    _lin(s, p + 'text_embedding.0', d, c['text_dim'])
    _lin(s, p + 'text_embedding.2', d, d)
    _lin(s, p + 'time_embedding.0', d, c['freq_dim'])
    _lin(s, p + 'time_embedding.2', d, d)
    _lin(s, p + 'time_projection.1', 6 * d, d)
    for i in range(c['num_layers']):
        b = f'{p}blocks.{i}.'
        for att in ('self_attn', 'cross_attn'):
            for m in 'qkvo':
                _lin(s, f'{b}{att}.{m}', d, d)
            s[f'{b}{att}.norm_q.weight'] = (d,)
            s[f'{b}{att}.norm_k.weight'] = (d,)
        s[b + 'norm3.weight'] = (d,)
        s[b + 'norm3.bias'] = (d,)
        _lin(s, b + 'cross_attn.k_fusion', d, d)
        _lin(s, b + 'cross_attn.v_fusion', d, d)
        s[b + 'cross_attn.pre_attn_norm_fusion.weight'] = (d,)
        s[b + 'cross_attn.pre_attn_norm_fusion.bias'] = (d,)
        s[b + 'cross_attn.norm_k_fusion.weight'] = (d,)
        _lin(s, b + 'ffn.0', f, d)
        _lin(s, b + 'ffn.2', d, f)
        s[b + 'modulation.modulation'] = (1, 6, d)
    s[p + 'head.modulation'] = (1, 2, d)
    n_patch = 1
    for x in c['patch_size']:
        n_patch *= x
    _lin(s, p + 'head.head', c['out_dim'] * n_patch, d)
    return s


def _need(hdr, path, name, rank=2):
    return shape_of({name: hdr[name][1]} if name in hdr else {}, path, name, rank,
                    'an Ovi fusion checkpoint')


def infer_tower(hdr, path, p, audio, num_heads, text_len):
    if audio:
        dim, in_dim, _ = _need(hdr, path, p + 'patch_embedding.0.weight', 3)
        patch = [1]
    else:
        pe = _need(hdr, path, p + 'patch_embedding.weight', 5)
        dim, in_dim, patch = pe[0], pe[1], list(pe[2:])
    n = 0
    while f'{p}blocks.{n}.self_attn.q.weight' in hdr:
        n += 1
    head = _need(hdr, path, p + 'head.head.weight')[0]
    n_patch = patch[0] * (patch[1] * patch[2] if len(patch) == 3 else 1)
    if head % n_patch:
        raise ConvertError(f'{path}: {p}head.head.weight: {head} outputs are not a multiple of '
                           f'the patch {patch}')
    if num_heads < 1 or dim % num_heads:
        raise ConvertError(f'{path}: {num_heads} heads do not divide {p[:-1]} dim {dim}; pass '
                           '--num-heads')
    c = dict(patch_size=patch, model_type='t2a' if audio else 'ti2v', dim=dim,
             ffn_dim=_need(hdr, path, p + 'blocks.0.ffn.0.weight')[0],
             freq_dim=_need(hdr, path, p + 'time_embedding.0.weight')[1],
             num_heads=num_heads, num_layers=n, in_dim=in_dim, out_dim=head // n_patch,
             text_len=text_len,
             text_dim=_need(hdr, path, p + 'text_embedding.0.weight')[1],
             window_size=[-1, -1], qk_norm=True, cross_attn_norm=True, eps=1e-6)
    if audio:
        c['temporal_rope_scaling_factor'] = AUDIO_ROPE_SCALE
    return c


def plan_dit(path, num_heads=24, text_len=512):
    """(entries with full names, video tower config, audio tower config, notes)."""
    hdr = read_safetensors_header(path)
    stray = [n for n in hdr if not n.startswith(('video_model.', 'audio_model.'))]
    if stray:
        raise ConvertError(f'{path}: tensor {sorted(stray)[0]} is outside video_model. / '
                           f'audio_model. ({len(stray)} such): not Ovi\'s fusion checkpoint')
    v = infer_tower(hdr, path, 'video_model.', False, num_heads, text_len)
    a = infer_tower(hdr, path, 'audio_model.', True, num_heads, text_len)
    for k in ('dim', 'num_heads', 'num_layers'):
        if v[k] != a[k]:
            raise ConvertError(f'{path}: video {k} {v[k]} != audio {k} {a[k]} (the fusion '
                               'blocks pair the towers layer by layer)')
    want = tower_shapes('video_model.', v, False) | tower_shapes('audio_model.', a, True)
    check_shapes(path, {n: h[1] for n, h in hdr.items()}, want,
                 hint=' (an Ovi fusion model with the sizes its patch embeddings, blocks and '
                      'heads show)')
    entries = [Entry(n, hdr[n][1], hdr[n][0], source=(path, hdr[n][2], hdr[n][3]))
               for n in sorted(hdr, key=checkpoint_order)]
    notes = []
    for name, c, io in (('video', v, OVI_VIDEO_IO), ('audio', a, OVI_AUDIO_IO)):
        ovi = dict(OVI_TOWER, **io)
        diff = {k: c[k] for k in ovi if c[k] != ovi[k]}
        if diff:
            notes.append(f'{name} tower differs from Ovi\'s config: {json.dumps(diff)}')
    return entries, v, a, notes


# ---------------------------------------------------------------------------------------------
# Text encoder and tokenizer


def plan_t5(path):
    if not os.path.isfile(path):
        raise ConvertError(f'{path}: no such file')
    try:
        sd = convert_umt5.open_state_dict(path)
        cfg = convert_umt5.infer_config(sd, convert_umt5.check_names(sd, path), path)
    except convert_umt5.ConvertError as e:
        raise ConvertError(str(e)) from None
    entries = [tensor_entry(n, sd[n], 'BF16') for n in convert_umt5.order(sd)]
    return Part(entries, cfg)


def check_tokenizer(path, vocab_size):
    """The SentencePiece model loads and fits the encoder's vocabulary; (pad_id, eos_id)."""
    if not os.path.isfile(path):
        raise ConvertError(f'{path}: no such file')
    try:
        import sentencepiece
    except ImportError:
        return 0, 1, ['sentencepiece (Python) not installed: tokenizer.model copied unchecked']
    sp = sentencepiece.SentencePieceProcessor()
    try:
        sp.Load(path)
    except (OSError, RuntimeError) as e:
        raise ConvertError(f'{path}: not a SentencePiece model ({e})') from None
    if sp.GetPieceSize() > vocab_size:
        raise ConvertError(f'{path}: {sp.GetPieceSize()} pieces, more than the text encoder\'s '
                           f'{vocab_size} embeddings')
    notes = []
    if (sp.pad_id(), sp.eos_id()) != (0, 1):
        notes.append(f'tokenizer pad/eos ids are {sp.pad_id()}/{sp.eos_id()}, not umT5\'s 0/1')
    return max(sp.pad_id(), 0), sp.eos_id(), notes

# ---------------------------------------------------------------------------------------------
# Assembly


def clip_geometry(variant):
    v = VARIANTS[variant]
    side = max(32, round(v['area'] ** 0.5 / 32) * 32)   # Python's round, as Ovi's _n32
    n_frames = 1 + 4 * (v['video_frames'] - 1)
    n_samples = v['audio_tokens'] * 2 * MEL['hop']       # one x2 upsample in the audio VAE
    # size_multiple: Ovi rounds frame sides to multiples of 32 (_n32: the Wan2.2 VAE's 16x
    # and the DiT's 2x2 patch); duet render's other limits default from size, n_frames, fps
    clip = dict(fps=FPS, n_frames=n_frames, size=side, size_multiple=32,
                sample_rate_hz=MEL['sample_rate_hz'], n_samples=n_samples,
                target_area_px=v['area'], audio_prompt=v['audio_tag'])
    latent = dict(video_frames=v['video_frames'], video_h=side // 16, video_w=side // 16,
                  audio_tokens=v['audio_tokens'])
    return clip, latent


def cross_check(cfg):
    """The parts must fit together (the C loaders check each part alone)."""
    v, a, t = cfg['video_model'], cfg['audio_model'], cfg['text_encoder']
    vv, av, voc = cfg['video_vae'], cfg['audio_vae'], cfg['vocoder']
    rules = [
        (v['in_dim'] == v['out_dim'] == vv['z_dim'],
         f'video tower in/out {v["in_dim"]}/{v["out_dim"]} vs video VAE z_dim {vv["z_dim"]}'),
        (a['in_dim'] == a['out_dim'] == av['embed_dim'],
         f'audio tower in/out {a["in_dim"]}/{a["out_dim"]} vs audio VAE embed_dim '
         f'{av["embed_dim"]}'),
        (v['text_dim'] == a['text_dim'] == t['dim'],
         f'DiT text_dim {v["text_dim"]} vs text encoder dim {t["dim"]}'),
        (v['text_len'] == t['text_len'],
         f'DiT text_len {v["text_len"]} vs text encoder text_len {t["text_len"]}'),
        (av['data_dim'] == voc['num_mels'] == MEL['n_mels'],
         f'audio VAE data_dim {av["data_dim"]}, vocoder num_mels {voc["num_mels"]}, mel '
         f'bins {MEL["n_mels"]}'),
    ]
    prod = 1
    for u in voc['upsample_rates']:
        prod *= u
    rules.append((prod == MEL['hop'], f'vocoder upsample rates multiply to {prod}, not the '
                  f'mel hop {MEL["hop"]}'))
    for ok, what in rules:
        if not ok:
            raise ConvertError(f'the parts do not fit together: {what}')


def plan_all(a):
    """Every part read and checked; nothing written yet."""
    dit, vcfg, acfg, notes = plan_dit(a.dit, a.num_heads, a.text_len)
    t5 = plan_t5(a.t5)
    vae = convert_wan_vae.plan(a.video_vae, 'keep', a.video_latent_stats)
    avae = convert_mmaudio_vae.plan(a.audio_vae, 'f32')
    voc = convert_bigvgan.plan(a.vocoder, 'f32', not a.no_antialias, a.upsample_rates,
                               a.dilations)
    pad, eos, tok_notes = check_tokenizer(a.tokenizer, t5.config['vocab_size'])
    text = dict(t5.config, tokenizer='tokenizer.model', pad_id=pad, eos_id=eos,
                relative_attention='per-layer bidirectional buckets, unscaled scores (Wan T5)',
                key_names='wan_t5')
    clip, latent = clip_geometry(a.variant)
    cfg = dict(model=f'ovi-{a.variant}', format_version=1, clip=clip,
               mel=dict(MEL, n_mels=avae.config['data_dim']), latent=latent,
               video_model=vcfg, audio_model=acfg, text_encoder=text, video_vae=vae.config,
               audio_vae=avae.config, vocoder=voc.config, sampler=SAMPLER,
               prefixes=list(PREFIXES))
    cross_check(cfg)
    named = [(e.name, e) for e in dit]
    for prefix, part, label in (('text_encoder.', t5, 'umT5'), ('video_vae.', vae, 'Wan VAE'),
                                ('audio_vae.', avae, 'MMAudio VAE'),
                                ('vocoder.', voc, 'BigVGAN')):
        named += [(prefix + e.name, e) for e in part.entries]
        notes += [f'{label}: {n}' for n in part.notes]
    return cfg, named, notes + tok_notes


def resolve_paths(a):
    """Fill each unset input from --ckpt-dir's layout."""
    missing = []
    for key, rel in dict(CKPT_LAYOUT, dit='Ovi/' + VARIANTS[a.variant]['file']).items():
        if getattr(a, key) is None:
            if a.ckpt_dir is None:
                missing.append('--' + key.replace('_', '-'))
            else:
                setattr(a, key, os.path.join(a.ckpt_dir, rel))
    if missing:
        raise ConvertError(f'no --ckpt-dir and no {", ".join(missing)}')


def write_folder(out, cfg, named, tokenizer, quiet=False):
    parent = os.path.dirname(os.path.abspath(out))
    total = sum(e.nbytes for _, e in named)
    free = shutil.disk_usage(parent).free
    if free < total + (64 << 20):
        raise ConvertError(f'{parent}: {free / 1e9:.1f} GB free, the model needs '
                           f'{total / 1e9:.1f} GB')
    partial = out.rstrip('/') + '.partial'
    if os.path.exists(partial):
        raise ConvertError(f'{partial} exists (a failed earlier run?): remove it first')
    last = [0.0]

    def progress(done, n):
        if not quiet and n > 1 << 30 and (done - last[0] >= n / 20 or done == n):
            last[0] = done
            print(f'  model.safetensors: {done / 1e9:.1f} / {n / 1e9:.1f} GB', file=sys.stderr)
    os.makedirs(partial)
    try:
        with open(os.path.join(partial, 'config.json'), 'w') as f:
            json.dump(cfg, f, indent=2)
            f.write('\n')
        shutil.copyfile(tokenizer, os.path.join(partial, 'tokenizer.model'))
        n = write_safetensors(os.path.join(partial, 'model.safetensors'), named,
                              {'format': 'pt', 'model': cfg['model'],
                               'converter': 'tools/convert_ovi.py'}, progress)
        os.replace(partial, out)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return n


def main(argv=None):
    desc, _, rest = __doc__.partition('\n\n')
    ap = argparse.ArgumentParser(description=desc, epilog=rest,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('-o', '--out', required=True, help='model folder to create (must not exist)')
    ap.add_argument('--ckpt-dir', help="Ovi's ckpts/ folder (download_weights.py's layout)")
    ap.add_argument('--variant', choices=sorted(VARIANTS), default='720x720_5s')
    for key, what in (('dit', "Ovi's model.safetensors"),
                      ('t5', 'models_t5_umt5-xxl-enc-bf16.pth'),
                      ('tokenizer', "umT5's spiece.model"), ('video-vae', 'Wan2.2_VAE.pth'),
                      ('audio-vae', "MMAudio's v1-16.pth"),
                      ('vocoder', "MMAudio's best_netG.pt")):
        ap.add_argument('--' + key, help=what + ' (default: from --ckpt-dir)')
    ap.add_argument('--no-antialias', action='store_true',
                    help='drop BigVGAN\'s anti-aliasing filters; vocoder "antialias": false')
    ap.add_argument('--num-heads', type=int, default=OVI_TOWER['num_heads'],
                    help='attention heads per tower (not visible in the weights; Ovi 24)')
    ap.add_argument('--text-len', type=int, default=OVI_TOWER['text_len'],
                    help=argparse.SUPPRESS)
    ap.add_argument('--video-latent-stats', help='JSON {"mean", "std"} for a video VAE whose '
                    'z_dim is not 48 (tests)')
    ap.add_argument('--upsample-rates', help='vocoder rates (default MMAudio 4,4,2,2,2,2)')
    ap.add_argument('--dilations', help='vocoder dilations (default MMAudio 1,3,5)')
    ap.add_argument('--check-only', action='store_true',
                    help='read and check every input, print the config, write nothing')
    ap.add_argument('--quiet', action='store_true')
    a = ap.parse_args(argv)
    try:
        a.upsample_rates = parse_ints(a.upsample_rates, '--upsample-rates') \
            if a.upsample_rates else None
        a.dilations = parse_ints(a.dilations, '--dilations') if a.dilations else None
        resolve_paths(a)
        if os.path.exists(a.out):
            raise ConvertError(f'{a.out} exists: choose a new folder')
        cfg, named, notes = plan_all(a)
        total = sum(e.nbytes for _, e in named)
        if not a.quiet:
            for n in notes:
                print(f'note: {n}')
        if a.check_only:
            print(json.dumps(cfg, indent=2))
            print(f'check only: {len(named)} tensors, {total / 1e9:.2f} GB would be written')
            return 0
        nbytes = write_folder(a.out, cfg, named, a.tokenizer, a.quiet)
    except ConvertError as e:
        print(f'convert_ovi: {e}', file=sys.stderr)
        return 1
    print(f'wrote {a.out}/ (model.safetensors {nbytes / 1e9:.2f} GB, {len(named)} tensors, '
          f'config.json, tokenizer.model)')
    return 0


if __name__ == '__main__':
    sys.exit(main())
